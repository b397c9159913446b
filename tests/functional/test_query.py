"""Query[T] against the real server (``paginate_by`` is 10, the data set has 25 records,
so most reads cross page boundaries)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest

from kinto_orm import Client, KintoException, NotFound, Page, Query, Record
from kinto_orm.testing import new_credentials, unique_id

from .conftest import Item, Raw, dataset, expect, ids, rec_path, seed


@pytest.fixture(scope="module")
def shared(kinto_server: Any) -> Iterator[tuple[Client, str, str]]:
    """A read-only collection of the 25 ``dataset()`` records, shared by the read tests."""
    bid, cid = unique_id("b"), unique_id("c")
    client = Client(kinto_server.url, auth=new_credentials(), bucket=bid, collection=cid)
    raw = Raw(kinto_server.url, client.session.auth)
    raw.put(f"/buckets/{bid}", {})
    raw.put(f"/buckets/{bid}/collections/{cid}", {})
    seed(raw, bid, cid, dataset(25))
    yield client, bid, cid
    client.delete_bucket(id=bid, safe=False, if_exists=True)
    client.close()
    raw.close()


@pytest.fixture
def q(shared: tuple[Client, str, str]) -> Query[Record]:
    client, _, _ = shared
    return client.records()


@pytest.fixture
def typed(shared: tuple[Client, str, str]) -> Query[Item]:
    client, _, _ = shared
    return client.records(Item)


@pytest.fixture
def filled(raw: Raw, bid: str, cid: str) -> str:
    """A per-test copy of the data set, for tests that write."""
    seed(raw, bid, cid, dataset(25))
    return cid


# ---------------------------------------------------------------------------- lookups


@pytest.mark.parametrize(
    ("lookups", "pred"),
    [
        ({"n": 3}, lambda r: r["n"] == 3),
        ({"n__eq": 3}, lambda r: r["n"] == 3),
        ({"n__ne": 3}, lambda r: r["n"] != 3),
        ({"n__lt": 3}, lambda r: r["n"] < 3),
        ({"n__lte": 3}, lambda r: r["n"] <= 3),
        ({"n__gt": 21}, lambda r: r["n"] > 21),
        ({"n__gte": 21}, lambda r: r["n"] >= 21),
        ({"n__in": [1, 5, 7, 99]}, lambda r: r["n"] in (1, 5, 7)),
        ({"n__not_in": [1, 5, 7]}, lambda r: r["n"] not in (1, 5, 7)),
        ({"title__in": ["Item 01", "Item 02"]}, lambda r: r["n"] in (1, 2)),
        ({"even": True}, lambda r: r["even"]),
        ({"even": False, "n__gte": 20}, lambda r: not r["even"] and r["n"] >= 20),
        ({"title": "Item 07"}, lambda r: r["n"] == 7),
        ({"title__like": "Item 1*"}, lambda r: 10 <= r["n"] <= 19),
        ({"title__like": "item 2"}, lambda r: 20 <= r["n"] <= 24),
        ({"opt__has": True}, lambda r: "opt" in r),
        ({"opt__has": False}, lambda r: "opt" not in r),
        ({"tags__contains": ["five"]}, lambda r: "five" in r["tags"]),
        ({"tags__contains": ["t0", "five"]}, lambda r: r["n"] % 15 == 0),
        ({"tags__contains_any": ["t1", "five"]}, lambda r: "t1" in r["tags"] or r["n"] % 5 == 0),
        ({"meta__rank__gte": 3}, lambda r: r["meta"]["rank"] >= 3),
        ({"meta__rank": 0}, lambda r: r["meta"]["rank"] == 0),
        ({"meta.rank": 0}, lambda r: r["meta"]["rank"] == 0),
        ({"meta.rank__in": [1, 2]}, lambda r: r["meta"]["rank"] in (1, 2)),
        ({"due__gte": datetime.date(2024, 1, 20)}, lambda r: r["n"] >= 19),
        ({"due": datetime.date(2024, 1, 3)}, lambda r: r["n"] == 2),
    ],
    ids=lambda v: str(v) if isinstance(v, dict) else "",
)
def test_filter_lookups(q: Query[Record], lookups: dict[str, Any], pred: Any) -> None:
    assert set(ids(q.filter(**lookups))) == expect(pred)


@pytest.mark.parametrize(
    ("lookups", "pred"),
    [
        ({"even": True}, lambda r: not r["even"]),
        ({"n": 3}, lambda r: r["n"] != 3),
        ({"n__ne": 3}, lambda r: r["n"] == 3),
        ({"n__gte": 20}, lambda r: r["n"] < 20),
        ({"n__lt": 20}, lambda r: r["n"] >= 20),
        ({"n__lte": 20}, lambda r: r["n"] > 20),
        ({"n__gt": 20}, lambda r: r["n"] <= 20),
        ({"n__in": [1, 2, 3]}, lambda r: r["n"] not in (1, 2, 3)),
        ({"n__not_in": [1, 2, 3]}, lambda r: r["n"] in (1, 2, 3)),
        ({"opt__has": True}, lambda r: "opt" not in r),
    ],
    ids=lambda v: str(v) if isinstance(v, dict) else "",
)
def test_exclude(q: Query[Record], lookups: dict[str, Any], pred: Any) -> None:
    assert set(ids(q.exclude(**lookups))) == expect(pred)


def test_filter_and_exclude_combined(q: Query[Record]) -> None:
    result = q.filter(n__lt=10).exclude(even=True).exclude(n__in=[1])
    assert set(ids(result)) == {"r03", "r05", "r07", "r09"}


def test_string_that_looks_like_a_number_filters_as_string(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    seed(
        raw, bid, cid,
        [
            {"id": "s", "code": "42"}, {"id": "i", "code": 42}, {"id": "t", "code": "true"},
            {"id": "b", "code": True}, {"id": "n", "code": "null"},
        ],
    )
    q = client.records(collection=cid)
    assert ids(q.filter(code="42")) == ["s"]
    assert ids(q.filter(code=42)) == ["i"]
    assert ids(q.filter(code="true")) == ["t"]
    assert ids(q.filter(code=True)) == ["b"]
    assert ids(q.filter(code="null")) == ["n"]
    assert sorted(ids(q.filter(code__in=["42", "true"]))) == ["s", "t"]
    assert sorted(ids(q.exclude(code="42"))) == ["b", "i", "n", "t"]


# ---------------------------------------------------------------------------- sort, fields


def test_sort(q: Query[Record]) -> None:
    assert ids(q.sort("-n")) == [f"r{i:02d}" for i in reversed(range(25))]
    assert ids(q.sort("n")) == [f"r{i:02d}" for i in range(25)]
    by_rank = q.sort("meta__rank", "-n").all()
    expected = sorted(dataset(25), key=lambda r: (r["meta"]["rank"], -r["n"]))
    assert ids(by_rank) == ids(expected)
    assert ids(q.sort("meta.rank", "-n")) == ids(expected)


def test_fields(q: Query[Record]) -> None:
    items = q.fields("title", "meta.rank").sort("n").all()
    assert len(items) == 25
    first = items[0]
    assert first.id == "r00" and first.last_modified is not None
    assert first["title"] == "Item 00" and first["meta"] == {"rank": 0}
    assert "n" not in first and "tags" not in first


# ---------------------------------------------------------------------------- pagination


def test_iteration_crosses_pages(q: Query[Record], typed: Query[Item]) -> None:
    assert len(q.all()) == 25
    assert len(list(q)) == 25
    assert len(set(ids(typed))) == 25


def test_pages(shared: tuple[Client, str, str], q: Query[Record]) -> None:
    client, _, _ = shared
    pages = list(q.sort("n").pages())
    assert [len(p.items) for p in pages] == [10, 10, 5]
    assert all(isinstance(p, Page) for p in pages)
    stamp = q.timestamp()
    assert all(p.etag == stamp for p in pages)
    assert pages[0].next_url is not None and pages[1].next_url is not None
    assert pages[0].next_url.startswith(client.session.server_url)
    assert "_token" in pages[0].next_url
    assert pages[-1].next_url is None
    assert [r.id for p in pages for r in p] == [f"r{i:02d}" for i in range(25)]


def test_page_size(q: Query[Record]) -> None:
    assert [len(p) for p in q.page_size(4).pages()] == [4, 4, 4, 4, 4, 4, 1]
    # The server caps the page size at paginate_by.
    assert [len(p) for p in q.page_size(50).pages()] == [10, 10, 5]


def test_limit_across_page_boundaries(q: Query[Record]) -> None:
    assert ids(q.sort("n").limit(13)) == [f"r{i:02d}" for i in range(13)]
    assert [len(p) for p in q.limit(13).pages()] == [10, 3]
    assert [len(p) for p in q.page_size(4).limit(10).pages()] == [4, 4, 2]
    assert len(q.limit(25).all()) == 25
    assert len(q.limit(100).all()) == 25
    assert q.limit(0).all() == []
    assert len(q.filter(even=True).limit(11).all()) == 11


def test_query_is_lazy_and_immutable(dead: Client) -> None:
    # Building a query sends nothing (``dead`` has no server behind it).
    base = dead.records()
    narrowed = base.filter(n=1).exclude(even=True).sort("-n").fields("n").page_size(3).limit(2)
    assert narrowed is not base
    with pytest.raises(KintoException) as info:
        narrowed.all()
    assert info.value.response is None  # it failed on the network, when iterated


def test_builders_do_not_change_the_original(q: Query[Record]) -> None:
    even = q.filter(even=True)
    assert len(even.all()) == 13
    assert len(q.all()) == 25
    assert len(even.filter(n__lt=4).all()) == 2
    assert len(even.all()) == 13


# ---------------------------------------------------------------------------- terminals


def test_first(q: Query[Record]) -> None:
    first = q.sort("-n").first()
    assert first is not None and first.id == "r24"
    assert q.filter(n=99).first() is None


def test_get(q: Query[Record], typed: Query[Item]) -> None:
    item = typed.get("r07")
    assert isinstance(item, Item) and item.n == 7 and item.due == datetime.date(2024, 1, 8)
    assert item.last_modified is not None
    with pytest.raises(NotFound):
        q.get("r99")


def test_count_and_exists(q: Query[Record]) -> None:
    assert q.count() == 25
    assert q.filter(even=True).count() == 13
    assert q.filter(n__gte=20).exclude(n=22).count() == 4
    assert q.limit(5).count() == 5
    assert q.exists() is True
    assert q.filter(n=99).exists() is False
    assert q.filter(n=99).count() == 0


def test_timestamp(shared: tuple[Client, str, str], q: Query[Record]) -> None:
    client, bid, cid = shared
    raw = Raw(client.session.server_url, client.session.auth)
    stamp = q.timestamp()
    assert isinstance(stamp, int)
    assert stamp == int(raw.head(rec_path(bid, cid)).headers["ETag"].strip('"'))
    assert stamp == max(r["last_modified"] for r in raw.all(rec_path(bid, cid)))
    raw.close()


def test_delete_with_filters(client: Client, bid: str, filled: str, raw: Raw) -> None:
    q = client.records(collection=filled)
    deleted = q.filter(n__gte=20).delete()
    assert sorted(ids(deleted)) == ["r20", "r21", "r22", "r23", "r24"]
    assert all(d["deleted"] is True for d in deleted)
    assert len(raw.all(rec_path(bid, filled))) == 20


def test_delete_all_across_pages(client: Client, bid: str, filled: str, raw: Raw) -> None:
    deleted = client.records(collection=filled).delete()
    assert len(deleted) == 25
    assert raw.all(rec_path(bid, filled)) == []


def test_delete_respects_limit(client: Client, bid: str, filled: str, raw: Raw) -> None:
    try:
        deleted = client.records(collection=filled).limit(3).delete()
    finally:
        remaining = raw.all(rec_path(bid, filled))
    assert len(remaining) == 22
    assert len(deleted) == 3
    assert not set(ids(deleted)) & set(ids(remaining))


def test_sorted_query_delete_deletes_every_match(
    client: Client, bid: str, filled: str, raw: Raw
) -> None:
    deleted = client.records(collection=filled).sort("n").delete()
    assert raw.all(rec_path(bid, filled)) == []
    assert len(deleted) == 25


def test_since_and_before(client: Client, bid: str, cid: str, raw: Raw) -> None:
    seed(raw, bid, cid, [{"id": "a", "v": 1}, {"id": "b", "v": 1}, {"id": "c", "v": 1}])
    q = client.records(collection=cid)
    stamp = q.timestamp()
    raw.patch(rec_path(bid, cid, "a"), {"v": 2})
    assert raw.delete(rec_path(bid, cid, "b")) == 200
    raw.put(rec_path(bid, cid, "d"), {"v": 1})

    changed = {r.id: r for r in q.since(stamp)}
    assert set(changed) == {"a", "b", "d"}
    assert changed["a"]["v"] == 2
    assert changed["b"].get("deleted") is True  # the tombstone
    assert set(ids(q.since(str(stamp)))) == {"a", "b", "d"}
    # ``stamp`` is c's timestamp (created last); a and b changed after it.
    assert set(ids(q.before(stamp + 1))) == {"c"}
    assert set(ids(q.before(stamp))) == set()
    assert set(ids(q.since(stamp).filter(v=1))) == {"d"}
    newest = q.timestamp()
    assert newest > stamp and list(q.since(newest)) == []


def test_since_with_typed_model_keeps_tombstones(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    class Note(Record):
        title: str

    seed(raw, bid, cid, [{"id": "a", "title": "a"}, {"id": "b", "title": "b"}])
    q = client.records(Note, collection=cid)
    stamp = q.timestamp()
    raw.delete(rec_path(bid, cid, "a"))
    raw.patch(rec_path(bid, cid, "b"), {"title": "B"})
    items = {n.id: n for n in q.since(stamp)}
    assert set(items) == {"a", "b"}
    assert items["b"].title == "B"
    assert items["a"].get("deleted") is True


# ---------------------------------------------------------------------------- validation


@pytest.fixture
def mixed(client: Client, bid: str, cid: str, raw: Raw) -> Query[Any]:
    class Note(Record):
        title: str
        n: int

    seed(
        raw, bid, cid,
        [{"id": f"ok{i:02d}", "title": f"t{i}", "n": i} for i in range(12)]
        + [{"id": "bad1", "title": "x", "n": "NaN"}, {"id": "bad2", "n": 3}],
    )
    return client.records(Note, collection=cid)


def test_on_invalid_raise_names_the_record(mixed: Query[Any]) -> None:
    with pytest.raises(ValueError, match=r"bad[12]"):
        mixed.all()
    with pytest.raises(ValueError):
        mixed.on_invalid("raise").all()


def test_on_invalid_skip(mixed: Query[Any]) -> None:
    items = mixed.on_invalid("skip").all()
    assert sorted(ids(items)) == [f"ok{i:02d}" for i in range(12)]


def test_on_invalid_collect(mixed: Query[Any]) -> None:
    q = mixed.on_invalid("collect")
    items = q.all()
    assert len(items) == 12
    assert sorted(bad.id for bad in q.invalid) == ["bad1", "bad2"]
    assert all(bad.error is not None for bad in q.invalid)
    by_id = {bad.id: bad for bad in q.invalid}
    assert by_id["bad1"].data["n"] == "NaN"


# ---------------------------------------------------------------------------- typed models


def test_typed_items_and_dates(typed: Query[Item]) -> None:
    items = typed.filter(due__lt=datetime.date(2024, 1, 4)).sort("due").all()
    assert [i.id for i in items] == ["r00", "r01", "r02"]
    assert all(isinstance(i, Item) for i in items)
    assert items[0].due == datetime.date(2024, 1, 1)
    assert items[2].tags == ["t2"]
    assert items[0]["meta"] == {"rank": 0}  # undeclared fields stay as extras


def test_date_round_trip(client: Client, bid: str, cid: str, raw: Raw) -> None:
    class Event(Record):
        name: str
        day: datetime.date
        at: datetime.datetime | None = None

    coll = client.collection(cid)
    at = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
    coll.record("e1", Event, name="one", day=datetime.date(2024, 5, 6), at=at).save()
    coll.record("e2", Event, name="two", day=datetime.date(2024, 5, 7)).save()
    assert raw.data(rec_path(bid, cid, "e1"))["day"] == "2024-05-06"
    found = coll.records(Event).filter(day=datetime.date(2024, 5, 6)).all()
    assert [e.id for e in found] == ["e1"]
    assert found[0].day == datetime.date(2024, 5, 6) and found[0].at == at
    later = coll.records(Event).filter(day__gt=datetime.date(2024, 5, 6)).all()
    assert [e.id for e in later] == ["e2"] and later[0].at is None


def test_records_query_location(client: Client, bid: str, cid: str, raw: Raw) -> None:
    raw.put(rec_path(bid, cid, "mine"), {"n": 1})
    raw.put(f"/buckets/{bid}/collections/empty", {})
    assert ids(client.records(collection=cid)) == ["mine"]
    assert ids(client.records(bucket=bid, collection=cid)) == ["mine"]
    assert ids(client.records(collection="empty")) == []
    assert ids(client.clone(collection=cid).records()) == ["mine"]
