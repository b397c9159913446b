"""kinto-http parity of ``dry_mode`` and of the AsyncClient: the same calls through
kinto-http and kinto-orm give the same answers (in dry mode, against a URL where nothing
listens, so any request sent would fail)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kinto_http
import pytest

from kinto_orm import AsyncClient, Client, Record

from .conftest import DEAD_URL, Raw, dataset, seed

DRY_CALLS: dict[str, Callable[[Any], Any]] = {
    "server_info": lambda c: c.server_info(),
    "get_buckets": lambda c: c.get_buckets(),
    "get_bucket": lambda c: c.get_bucket(id="b"),
    "create_bucket": lambda c: c.create_bucket(id="b"),
    "create_bucket if_not_exists": lambda c: c.create_bucket(id="b", if_not_exists=True),
    "update_bucket": lambda c: c.update_bucket(id="b", data={"a": 1}),
    "patch_bucket": lambda c: c.patch_bucket(id="b", data={"a": 1}),
    "get_groups": lambda c: c.get_groups(),
    "create_group": lambda c: c.create_group(id="g", data={"members": []}),
    "update_group": lambda c: c.update_group(id="g", data={"members": []}),
    "patch_group": lambda c: c.patch_group(id="g", data={"members": []}),
    "get_group": lambda c: c.get_group(id="g"),
    "get_collections": lambda c: c.get_collections(),
    "create_collection": lambda c: c.create_collection(id="c"),
    "update_collection": lambda c: c.update_collection(id="c", data={}),
    "patch_collection": lambda c: c.patch_collection(id="c", data={"a": 1}),
    "get_collection": lambda c: c.get_collection(id="c"),
    "get_records_timestamp": lambda c: c.get_records_timestamp(),
    "get_records": lambda c: c.get_records(done=False),
    "get_paginated_records": lambda c: list(c.get_paginated_records()),
    "get_record": lambda c: c.get_record(id="r"),
    "create_record": lambda c: c.create_record(data={"a": 1}),
    "create_record if_not_exists": lambda c: c.create_record(
        id="r", data={"a": 1}, if_not_exists=True
    ),
    "update_record": lambda c: c.update_record(id="r", data={"a": 1}),
    "patch_record": lambda c: c.patch_record(id="r", data={"a": 1}),
    "get_history": lambda c: c.get_history(),
    "get_changeset": lambda c: c.get_changeset(),
    "request_review": lambda c: c.request_review("please"),
    "decline_changes": lambda c: c.decline_changes("no"),
    "approve_changes": lambda c: c.approve_changes(),
    "rollback_changes": lambda c: c.rollback_changes("undo"),
    "remove_attachment": lambda c: c.remove_attachment(id="r"),
}


def dry_pair() -> tuple[kinto_http.Client, Client]:
    theirs = kinto_http.Client(
        server_url=DEAD_URL, auth=("u", "p"), bucket="b", collection="c", dry_mode=True
    )
    ours = Client(DEAD_URL, auth=("u", "p"), bucket="b", collection="c", dry_mode=True)
    return theirs, ours


@pytest.mark.parametrize("name", list(DRY_CALLS))
def test_dry_mode_answers_as_kinto_http(name: str) -> None:
    theirs, ours = dry_pair()
    expected = DRY_CALLS[name](theirs)
    assert DRY_CALLS[name](ours) == expected
    assert expected in ({}, [], "")  # kinto-http's shapes: nothing was sent anywhere


def test_dry_mode_attachment_and_batch(tmp_path: Path) -> None:
    theirs, ours = dry_pair()
    upload = tmp_path / "a.txt"
    upload.write_text("hello")
    assert ours.add_attachment(id="r", filepath=str(upload)) == theirs.add_attachment(
        id="r", filepath=str(upload)
    ) == {}
    results = []
    for target in (theirs, ours):
        with target.batch() as batch:
            batch.create_record(data={"a": 1})
            batch.update_record(id="r", data={"a": 2})
            batch.delete_record(id="x")
        results.append(batch.results())
    assert results[1] == results[0] == [{}, {}, {}]


def test_dry_mode_where_kinto_http_fails() -> None:
    # kinto-http raises KeyError('data') for these in dry mode; kinto-orm answers empty.
    theirs, ours = dry_pair()
    with pytest.raises(KeyError):
        theirs.delete_record(id="r")
    assert ours.delete_record(id="r") == {}
    assert ours.delete_records() == []
    assert ours.delete_bucket(id="b") == {}
    assert ours.get_permissions() == []


def test_dry_mode_models_and_queries() -> None:
    class Note(Record, bucket="b", collection="c"):
        title: str

    _, ours = dry_pair()
    note = Note(id="n1", title="kept").bind(ours)
    note.save()
    assert (note.id, note.title) == ("n1", "kept")
    assert ours.records(Note).all() == []


def test_async_dry_mode_same_answers() -> None:
    theirs, _ = dry_pair()
    names = ["create_record", "get_records", "get_record", "get_records_timestamp", "patch_record"]

    async def run() -> list[Any]:
        async with AsyncClient(DEAD_URL, bucket="b", collection="c", dry_mode=True) as aclient:
            out = [await DRY_CALLS[name](aclient) for name in names]
            out.append(list(await aclient.get_paginated_records()))
            async with aclient.batch() as batch:
                await batch.create_record(data={"a": 1})
            out.append(batch.results())
            return out

    expected = [DRY_CALLS[name](theirs) for name in names] + [[], [{}]]
    assert asyncio.run(run()) == expected


# ---------------------------------------------------------------------------- AsyncClient


def test_every_async_method_of_kinto_http_is_awaitable(kinto_server: Any) -> None:
    names = [
        name
        for name, _ in inspect.getmembers(kinto_http.AsyncClient, inspect.isfunction)
        if not name.startswith("_") and name not in ("clone", "batch")
    ]
    assert "get_paginated_records" in names and "get_endpoint" in names
    aclient = AsyncClient(kinto_server.url)
    for name in names:
        method = getattr(aclient, name)
        if name == "get_endpoint":
            assert inspect.isawaitable(method("bucket", bucket="b"))
        elif name == "get_paginated_records":
            stream = method(collection="c")
            assert inspect.isawaitable(stream) and hasattr(stream, "__aiter__")
        else:
            assert inspect.iscoroutinefunction(method), name
    asyncio.run(aclient.close())


def test_awaited_async_methods_return_what_kinto_http_returns(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    seed(raw, bid, cid, dataset(25))
    auth = client.session.auth
    theirs = kinto_http.AsyncClient(
        server_url=kinto_server.url, auth=auth, bucket=bid, collection=cid
    )

    async def calls(target: Any) -> list[Any]:
        pages = await target.get_paginated_records(_sort="n")
        return [
            list(pages),
            await target.get_endpoint("record", id="r1"),
            await target.get_records(_sort="-n", _limit=3),
            await target.get_records_timestamp(),
            (await target.get_record(id="r03"))["data"],
            (await target.server_info())["user"]["id"],
        ]

    async def ours() -> tuple[list[Any], list[Any]]:
        async with AsyncClient(kinto_server.url, auth=auth, bucket=bid, collection=cid) as a:
            streamed = [page async for page in a.get_paginated_records(_sort="n")]
            return await calls(a), streamed

    expected = asyncio.run(calls(theirs))
    got, streamed = asyncio.run(ours())
    assert got == expected
    assert [len(page["data"]) for page in got[0]] == [10, 10, 5]
    assert streamed == got[0]
    assert got[1] == f"/buckets/{bid}/collections/{cid}/records/r1"
