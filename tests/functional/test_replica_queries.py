"""``replica.records()`` means what the same query means on the server: each lookup, sort
and error is checked against the real server's answer (memory and PostgreSQL backends)."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Iterator
from typing import Any

import pytest

from kinto_orm import AsyncClient, Client, NotFound, Record, Replica
from kinto_orm.testing import new_credentials, unique_id

from .conftest import Item, Raw, dataset, ids, seed

MIXED = [
    {"id": "s", "code": "42"}, {"id": "i", "code": 42}, {"id": "t", "code": "true"},
    {"id": "b", "code": True}, {"id": "n", "code": None}, {"id": "f", "code": 4.5},
    {"id": "l", "code": [1, 2]}, {"id": "m"},
]


@pytest.fixture(scope="module")
def shared(kinto_server: Any) -> Iterator[tuple[Client, str, str]]:
    """The 25 ``dataset()`` records and some of mixed types, read-only, with a replica."""
    bid, cid, mixed = unique_id("b"), unique_id("c"), unique_id("m")
    client = Client(kinto_server.url, auth=new_credentials(), bucket=bid, collection=cid)
    raw = Raw(kinto_server.url, client.session.auth)
    raw.put(f"/buckets/{bid}", {})
    raw.put(f"/buckets/{bid}/collections/{cid}", {})
    raw.put(f"/buckets/{bid}/collections/{mixed}", {})
    seed(raw, bid, cid, dataset(25))
    seed(raw, bid, mixed, MIXED)
    yield client, cid, mixed
    client.delete_bucket(id=bid, safe=False, if_exists=True)
    client.close()
    raw.close()


@pytest.fixture(scope="module")
def replica(shared: tuple[Client, str, str]) -> Iterator[Replica[Record]]:
    client, cid, _ = shared
    with client.records(collection=cid).replica(":memory:") as rep:
        rep.pull()
        yield rep


LOOKUPS: list[dict[str, Any]] = [
    {"n": 3}, {"n__ne": 3}, {"n__lt": 3}, {"n__lte": 3}, {"n__gt": 21}, {"n__gte": 21},
    {"n__in": [1, 5, 7, 99]}, {"n__not_in": [1, 5, 7]}, {"title__in": ["Item 01", "Item 02"]},
    {"even": True}, {"even": False, "n__gte": 20}, {"title": "Item 07"},
    {"title__like": "Item 1*"}, {"title__like": "item 2"},
    {"opt__has": True}, {"opt__has": False}, {"tags__contains": ["five"]},
    {"tags__contains": ["t0", "five"]}, {"tags__contains_any": ["t1", "five"]},
    {"meta__rank__gte": 3}, {"meta__rank": 0}, {"meta.rank__in": [1, 2]},
    {"due__gte": datetime.date(2024, 1, 20)}, {"due": datetime.date(2024, 1, 3)},
    {"id": "r03"}, {"id__in": ["r01", "r02"]}, {"opt": "yes"}, {"title__lt": "Item 05"},
]


@pytest.mark.parametrize("lookups", LOOKUPS, ids=str)
def test_filters_match_the_server(shared: Any, replica: Replica[Record],
                                  lookups: dict[str, Any]) -> None:
    client, cid, _ = shared
    server = client.records(collection=cid)
    assert sorted(ids(replica.records().filter(**lookups))) == sorted(ids(server.filter(**lookups)))
    if not any(k.endswith(("like", "contains", "contains_any")) for k in lookups):
        local = replica.records().exclude(**lookups)
        assert sorted(ids(local)) == sorted(ids(server.exclude(**lookups)))


@pytest.mark.parametrize("order", [("n",), ("-n",), ("even", "-n"), ("-meta.rank", "title"),
                                   ("opt", "n"), ("-due",), ("title",)], ids=str)
def test_sort_matches_the_server(shared: Any, replica: Replica[Record],
                                 order: tuple[str, ...]) -> None:
    client, cid, _ = shared
    server = client.records(collection=cid).sort(*order).filter(n__gte=2)
    local = replica.records().sort(*order).filter(n__gte=2)
    assert ids(local.all()) == ids(server.all())


@pytest.mark.parametrize("lookups", [
    {"code": "42"}, {"code": 42}, {"code": "true"}, {"code": True}, {"code": None},
    {"code__gt": 4}, {"code__lt": "5"}, {"code__gte": True}, {"code__in": ["42", 42]},
    {"code__has": True},
], ids=str)
def test_mixed_types_match_the_server(shared: Any, lookups: dict[str, Any]) -> None:
    client, _, mixed = shared
    server = client.records(collection=mixed)
    with server.replica(":memory:") as replica:
        replica.pull()
        assert sorted(ids(replica.records().filter(**lookups))) == sorted(
            ids(server.filter(**lookups)))


def test_typed_results_and_terminals(shared: Any) -> None:
    client, cid, _ = shared
    with client.records(Item, collection=cid).replica(":memory:") as replica:
        replica.pull()
        query = replica.records().filter(even=True, n__lt=10).sort("-n")
        found = query.all()
        assert [item.n for item in found] == [8, 6, 4, 2, 0]
        assert isinstance(found[0].due, datetime.date)
        assert query.count() == 5 and query.exists()
        first = query.first()
        assert first is not None and first.n == 8
        assert replica.get("r03").title == "Item 03"
        assert replica.records().filter(n=99).first() is None
        with pytest.raises(NotFound):
            replica.get("nope")
        assert replica.records().limit(3).count() == 3


@pytest.mark.parametrize("build", [
    lambda q: q.filter(colour="red"),
    lambda q: q.filter(n__startswith=1),
    lambda q: q.exclude(title__like="x"),
    lambda q: q.sort("nope"),
    lambda q: q.filter(n=3, n__eq=4),
    lambda q: q.filter(n__in=3),
    lambda q: q.filter(n__gte="many"),
    lambda q: q.exclude(due__lt="not a date"),
])
def test_same_errors_as_query(shared: Any, build: Any) -> None:
    client, cid, _ = shared
    with client.records(Item, collection=cid).replica(":memory:") as replica:
        with pytest.raises((ValueError, TypeError)) as on_server:
            build(client.records(Item, collection=cid))
        with pytest.raises(type(on_server.value)) as locally:
            build(replica.records())
        assert str(locally.value) == str(on_server.value)


def test_values_converted_as_query_converts_them(shared: Any) -> None:
    """Values the model accepts are sent as the model sends them, on the server and in
    the replica alike (a date object, a numeric string for an int)."""
    client, cid, _ = shared
    server = client.records(Item, collection=cid)
    with server.replica(":memory:") as replica:
        replica.pull()
        for lookups in ({"due__lt": datetime.date(2026, 1, 10)}, {"n__gte": "21"}):
            expected = sorted(item.id or "" for item in server.filter(**lookups))
            local = sorted(item.id or "" for item in replica.records().filter(**lookups))
            assert local == expected and expected, lookups


def test_async_twins(kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str) -> None:
    seed(raw, bid, cid, dataset(12))

    async def main() -> None:
        async with AsyncClient(kinto_server.url, auth=client.session.auth,
                               bucket=bid) as aclient:
            replica = aclient.records(Item, collection=cid).replica(":memory:")
            report = await replica.apull()
            assert len(report.created) == 12
            item = replica.get("r01")
            item.title = "async"
            replica.save(item)
            raw.patch(f"/buckets/{bid}/collections/{cid}/records/r02", {"title": "srv"})
            report = await replica.asynchronize()
            assert report.ok and report.published == ["r01"] and report.updated == ["r02"]
            report = await replica.apush()
            assert report.published == []
            with pytest.raises(TypeError, match="apull"):
                replica.pull()
            replica.close()

    asyncio.run(main())
    assert raw.data(f"/buckets/{bid}/collections/{cid}/records/r01")["title"] == "async"
