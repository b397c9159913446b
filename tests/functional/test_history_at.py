"""Query.at(timestamp) against a real Kinto with the history plugin."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kinto_orm import AsyncClient, Client, Record
from kinto_orm.history import HistoryUnavailable

from .conftest import Raw, rec_path

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


def test_at_refuses_filters(client: Client, cid: str) -> None:
    with pytest.raises(ValueError, match="filter the snapshot in Python"):
        client.records(Item, collection=cid).filter(title="x").at(1)


def test_aat(kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str) -> None:
    stamp = put(raw, bid, cid, "a", "a1")
    put(raw, bid, cid, "a", "a2")

    async def run() -> list[Item]:
        async with AsyncClient(kinto_server.url, auth=client.session.auth, bucket=bid) as ac:
            return [item async for item in ac.records(Item, collection=cid).at(stamp)]

    assert [i.title for i in asyncio.run(run())] == ["a1"]
