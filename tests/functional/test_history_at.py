"""Query.at(timestamp) against a real Kinto with the history plugin."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import pytest

from kinto_orm import AsyncClient, Client, Record
from kinto_orm.history import HistoryUnavailable

from .conftest import Raw, dataset, ids, rec_path, seed

pytestmark = pytest.mark.functional


class Item(Record):
    title: str


def put(raw: Raw, bid: str, cid: str, rid: str, title: str) -> int:
    return int(raw.put(rec_path(bid, cid, rid), {"title": title})["data"]["last_modified"])


def test_at_rebuilds_past_states(client: Client, raw: Raw, bid: str, cid: str) -> None:
    put(raw, bid, cid, "a", "a1")
    t1 = put(raw, bid, cid, "b", "b1")
    put(raw, bid, cid, "a", "a2")
    assert raw.delete(rec_path(bid, cid, "b")) == 200
    t2 = put(raw, bid, cid, "c", "c1")
    query = client.records(Item, collection=cid)

    then = query.at(t1).all()
    assert {i.id: i.title for i in then} == {"a": "a1", "b": "b1"}
    assert all(isinstance(i, Item) for i in then)
    assert {i.id: i.title for i in query.at(t2).all()} == {"a": "a2", "c": "c1"}
    assert {i.id: i.title for i in query.at(t2)} == {i.id: i.title for i in query.all()}
    assert len(query.limit(1).at(t1).all()) == 1


def test_at_forgets_a_deleted_collection(client: Client, raw: Raw, bid: str, cid: str) -> None:
    old = put(raw, bid, cid, "old", "from the first collection")
    assert raw.delete(f"/buckets/{bid}/collections/{cid}") == 200
    raw.put(f"/buckets/{bid}/collections/{cid}", {})
    now = put(raw, bid, cid, "new", "from the second")
    query = client.records(Item, collection=cid)
    assert [i.id for i in query.at(old).all()] == ["old"]
    assert [i.id for i in query.at(now).all()] == ["new"]


def test_at_refuses_before_history_starts(client: Client, raw: Raw, bid: str, cid: str) -> None:
    first = put(raw, bid, cid, "a", "a1")
    query = client.records(Item, collection=cid)
    with pytest.raises(HistoryUnavailable, match="only reaches back to") as caught:
        query.at(1000).all()
    assert caught.value.reaches_back_to is not None and caught.value.reaches_back_to <= first


def test_at_refuses_when_history_was_purged(client: Client, raw: Raw, bid: str, cid: str) -> None:
    put(raw, bid, cid, "a", "a1")
    middle = put(raw, bid, cid, "b", "b1")
    put(raw, bid, cid, "a", "a2")                    # an update, then its create is purged
    client.purge_history()
    put(raw, bid, cid, "a", "a3")
    with pytest.raises(HistoryUnavailable) as caught:
        client.records(Item, collection=cid).at(middle).all()
    assert "reaches back" in str(caught.value) or "purged" in str(caught.value)


LOOKUPS: list[tuple[str, dict[str, Any]]] = [
    ("filter", {"n": 3}), ("filter", {"n__ne": 3}), ("filter", {"n__lt": 3}),
    ("filter", {"n__lte": 3}), ("filter", {"n__gt": 21}), ("filter", {"n__gte": 21}),
    ("filter", {"n__in": [1, 5, 7, 99]}), ("filter", {"n__not_in": [1, 5, 7]}),
    ("filter", {"title__in": ["Item 01", "Item 02"]}), ("filter", {"even": True}),
    ("filter", {"title__like": "Item 1*"}), ("filter", {"title__like": "item 2"}),
    ("filter", {"opt__has": True}), ("filter", {"opt__has": False}),
    ("filter", {"opt": "yes"}), ("filter", {"opt__ne": "yes"}),
    ("filter", {"tags__contains": ["t0", "five"]}),
    ("filter", {"tags__contains_any": ["t1", "five"]}),
    ("filter", {"meta__rank__gte": 3}), ("filter", {"meta.rank__in": [1, 2]}),
    ("filter", {"due__gte": datetime.date(2024, 1, 20)}),
    ("filter", {"id__in": ["r01", "r02"]}), ("filter", {"title__gt": "Item 2"}),
    ("exclude", {"even": True, "n__in": [1, 2, 3]}), ("exclude", {"n__gte": 20}),
]


@pytest.mark.parametrize(("how", "lookups"), LOOKUPS, ids=lambda v: str(v))
def test_snapshot_filters_mean_what_the_server_means(
    how: str, lookups: dict[str, Any], client: Client, raw: Raw, bid: str, cid: str
) -> None:
    """At the latest timestamp, a filtered snapshot equals the server's own answer."""
    seed(raw, bid, cid, dataset())
    query = getattr(client.records(collection=cid), how)(**lookups)
    now = query.timestamp()
    assert ids(query.at(now).all()) == ids(query.all())


def test_snapshot_sort_and_limit(client: Client, raw: Raw, bid: str, cid: str) -> None:
    seed(raw, bid, cid, dataset())
    for order in (("-n",), ("meta.rank", "-title"), ("opt", "n"), ("-due",)):
        query = client.records(collection=cid).sort(*order).limit(7)
        assert ids(query.at(query.timestamp()).all()) == ids(query.all()), order


def test_at_refuses_fields(client: Client, cid: str) -> None:
    with pytest.raises(ValueError, match="fields"):
        client.records(Item, collection=cid).fields("title").at(1)


def test_aat(kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str) -> None:
    stamp = put(raw, bid, cid, "a", "a1")
    put(raw, bid, cid, "a", "a2")

    async def run() -> list[Item]:
        async with AsyncClient(kinto_server.url, auth=client.session.auth, bucket=bid) as ac:
            return [item async for item in ac.records(Item, collection=cid).at(stamp)]

    assert [i.title for i in asyncio.run(run())] == ["a1"]
