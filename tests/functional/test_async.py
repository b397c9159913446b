"""AsyncClient against the real server: the kinto-http method set as coroutines, the
object mapper's ``a*`` methods, async queries, concurrency, and the clear errors when
sync and async are mixed up. Server state is checked with plain ``requests`` (``raw``).

pytest-asyncio is not used: each test runs its coroutine with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from kinto_orm import (
    AsyncClient,
    Bucket,
    BucketNotFound,
    Client,
    Collection,
    Group,
    NotFound,
    PreconditionFailed,
)
from kinto_orm.testing import unique_id

from .conftest import Note, Raw, rec_path, seed


def run_async(
    kinto_server: Any, client: Client, body: Callable[[AsyncClient], Awaitable[Any]]
) -> Any:
    """Run ``body(aclient)`` with an AsyncClient of ``client``'s identity and bucket."""

    async def main() -> Any:
        async with AsyncClient(
            kinto_server.url, auth=client.session.auth, bucket=client.bucket_name
        ) as aclient:
            return await body(aclient)

    return asyncio.run(main())


def rows(count: int) -> list[dict[str, Any]]:
    return [{"id": f"r{i:02d}", "title": f"item {i:02d}", "n": i} for i in range(count)]


def record_count(raw: Raw, bid: str, cid: str) -> int:
    return int(raw.head(rec_path(bid, cid)).headers["Total-Objects"])


# ---------------------------------------------------------------------------- kinto-http set

KINTO_HTTP_METHODS = [
    "server_info", "create_bucket", "update_bucket", "patch_bucket", "get_buckets",
    "get_bucket", "delete_bucket", "delete_buckets", "get_groups", "create_group",
    "update_group", "patch_group", "get_group", "delete_group", "delete_groups",
    "get_collections", "create_collection", "update_collection", "patch_collection",
    "get_collection", "delete_collection", "delete_collections", "get_records_timestamp",
    "get_records", "get_record", "create_record", "update_record", "patch_record",
    "delete_record", "delete_records", "get_history", "purge_history", "get_permissions",
    "add_attachment", "remove_attachment", "download_attachment", "get_changeset",
    "request_review", "decline_changes", "approve_changes", "rollback_changes", "info",
]


def test_every_kinto_http_method_is_a_coroutine_function(kinto_server: Any) -> None:
    aclient = AsyncClient(kinto_server.url)
    sync_client = Client(kinto_server.url)
    for name in KINTO_HTTP_METHODS:
        method = getattr(aclient, name)
        assert inspect.iscoroutinefunction(method), name
        # Same parameters as the blocking twin.
        sync = getattr(sync_client, name)
        assert not inspect.iscoroutinefunction(sync), name
        assert inspect.signature(method) == inspect.signature(sync), name
    # Awaitable (kinto-http) and async-iterable (page by page).
    pages = aclient.get_paginated_records(collection="c")
    assert inspect.isawaitable(pages) and hasattr(pages, "__aiter__")
    assert inspect.isawaitable(aclient.get_endpoint("bucket", bucket="b"))
    asyncio.run(aclient.close())
    sync_client.close()


def test_async_buckets_groups_collections(
    kinto_server: Any, client: Client, raw: Raw, bid: str
) -> None:
    other = unique_id("b")

    async def body(aclient: AsyncClient) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out["info"] = await aclient.server_info()
        created = await aclient.create_bucket(id=other, data={"title": "other"})
        out["created"] = created
        out["again"] = await aclient.create_bucket(id=other, if_not_exists=True)
        with pytest.raises(PreconditionFailed):
            await aclient.create_bucket(id=other)
        out["patched"] = await aclient.patch_bucket(id=other, data={"label": "x"})
        out["buckets"] = await aclient.get_buckets()
        await aclient.create_group(id="g1", bucket=other, data={"members": ["account:a"]})
        await aclient.update_group(id="g1", bucket=other, data={"members": ["account:b"]})
        out["groups"] = await aclient.get_groups(bucket=other)
        await aclient.create_collection(id="c1", bucket=other, data={"cache_expires": 5})
        await aclient.patch_collection(id="c1", bucket=other, data={"title": "one"})
        out["collection"] = await aclient.get_collection(id="c1", bucket=other)
        out["collections"] = await aclient.get_collections(bucket=other)
        await aclient.delete_group(id="g1", bucket=other)
        assert await aclient.delete_group(id="g1", bucket=other, if_exists=True) is None
        await aclient.delete_collection(id="c1", bucket=other)
        await aclient.delete_bucket(id=other)
        assert await aclient.delete_bucket(id=other, if_exists=True) is None
        with pytest.raises(BucketNotFound):
            await aclient.get_bucket(id=other)
        return out

    try:
        out = run_async(kinto_server, client, body)
    finally:
        raw.delete(f"/buckets/{other}")
    assert out["info"]["project_name"] == "kinto"
    assert out["created"]["data"]["title"] == "other"
    assert set(out["created"]) == {"data", "permissions"}
    assert out["again"]["data"] == out["created"]["data"]
    assert out["patched"]["data"]["label"] == "x"
    assert {b["id"] for b in out["buckets"]} >= {bid, other}
    assert [g["members"] for g in out["groups"]] == [["account:b"]]
    assert out["collection"]["data"]["title"] == "one"
    assert out["collection"]["data"]["cache_expires"] == 5
    assert [c["id"] for c in out["collections"]] == ["c1"]
    assert raw.status(f"/buckets/{other}") == 403  # gone (Kinto: 403 for missing buckets)


def test_async_records_with_if_not_exists_if_exists_and_safe(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    async def body(aclient: AsyncClient) -> dict[str, Any]:
        out: dict[str, Any] = {}
        kw = {"collection": cid}
        first = await aclient.create_record(id="r1", data={"title": "one", "n": 1}, **kw)
        again = await aclient.create_record(
            id="r1", data={"title": "ignored"}, if_not_exists=True, **kw
        )
        assert again["data"] == first["data"]
        with pytest.raises(PreconditionFailed) as info:
            await aclient.create_record(id="r1", data={"title": "x"}, **kw)
        assert info.value.existing is not None and info.value.existing["title"] == "one"
        auto = await aclient.create_record(data={"title": "auto"}, **kw)
        out["auto"] = auto["data"]["id"]
        stale = first["data"]["last_modified"]
        await aclient.patch_record(id="r1", data={"n": 2}, **kw)
        with pytest.raises(PreconditionFailed):
            await aclient.update_record(id="r1", data={"title": "stale"}, if_match=stale, **kw)
        # safe=False: no If-Match, the stale version overwrites.
        await aclient.update_record(
            id="r1", data={"title": "forced"}, if_match=stale, safe=False, **kw
        )
        out["get"] = await aclient.get_record(id="r1", **kw)
        out["timestamp"] = await aclient.get_records_timestamp(**kw)
        out["filtered"] = await aclient.get_records(title="auto", **kw)
        tomb = await aclient.delete_record(id=out["auto"], **kw)
        assert tomb["deleted"] is True
        with pytest.raises(NotFound):
            await aclient.delete_record(id=out["auto"], **kw)
        assert await aclient.delete_record(id=out["auto"], if_exists=True, **kw) is None
        out["history"] = await aclient.get_history(resource_name="record")
        out["permissions"] = await aclient.get_permissions()
        return out

    out = run_async(kinto_server, client, body)
    stored = raw.data(rec_path(bid, cid, "r1"))
    assert stored["title"] == "forced" and "n" not in stored
    assert out["get"]["data"] == stored
    assert out["timestamp"] == str(stored["last_modified"])  # the last write before it
    assert [r["title"] for r in out["filtered"]] == ["auto"]
    assert raw.status(rec_path(bid, cid, out["auto"])) == 404
    assert len(out["auto"]) == 36
    assert any(h["action"] == "delete" for h in out["history"])
    assert any(p.get("bucket_id") == bid for p in out["permissions"])


def test_async_pagination_and_plural_deletes(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    seed(raw, bid, cid, rows(25))

    async def body(aclient: AsyncClient) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out["all"] = await aclient.get_records(collection=cid)
        out["one_page"] = await aclient.get_records(collection=cid, _limit=5)
        out["two_pages"] = await aclient.get_records(collection=cid, pages=2)
        out["pages"] = [
            page["data"] async for page in aclient.get_paginated_records(collection=cid)
        ]
        out["deleted"] = await aclient.delete_records(collection=cid, min_n=20)
        return out

    out = run_async(kinto_server, client, body)
    assert len(out["all"]) == 25 and len({r["id"] for r in out["all"]}) == 25
    assert len(out["one_page"]) == 5
    assert len(out["two_pages"]) == 20
    assert [len(page) for page in out["pages"]] == [10, 10, 5]
    assert sorted(r["id"] for r in out["deleted"]) == [f"r{i}" for i in range(20, 25)]
    assert record_count(raw, bid, cid) == 20


# ---------------------------------------------------------------------------- ORM entry points


def test_async_orm_entry_points_and_instance_methods(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    async def body(aclient: AsyncClient) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out["info"] = await aclient.info()
        bucket = await aclient.bucket(bid).arefresh()
        out["bucket"] = bucket
        out["buckets"] = await aclient.buckets().aall()
        newc = await aclient.collection(unique_id("c")).acreate()
        out["newc"] = newc
        group = await aclient.group("g1").acreate()
        group.members = ["account:x"]
        await group.asave()
        out["group"] = group
        out["children"] = await bucket.children().aall()

        coll = aclient.collection(cid)
        note = coll.record("n1", Note, title="first")
        assert await note.acreate() is note
        out["created_lm"] = note.last_modified
        note.title = "second"
        await note.asave()
        await note.apatch({"n": 5})
        note.title = "third"
        await note.apatch()  # only the changed field
        out["note"] = note.model_copy()
        server_side = await Note(title="auto").bind(aclient, collection=cid).acreate()
        out["auto"] = server_side
        same = await coll.record("n1", Note, title="ignored").acreate(if_not_exists=True)
        out["same"] = same
        fresh = await coll.record("n1", Note).arefresh()
        out["fresh"] = fresh
        await server_side.adelete()
        await server_side.adelete(if_exists=True)
        typed = await aclient.records(Note, collection=cid).aall()
        out["typed"] = typed
        return out

    out = run_async(kinto_server, client, body)
    assert out["info"].project_name == "kinto"
    assert isinstance(out["bucket"], Bucket) and out["bucket"].id == bid
    assert out["bucket"].last_modified == raw.data(f"/buckets/{bid}")["last_modified"]
    assert bid in {b.id for b in out["buckets"]}
    assert isinstance(out["newc"], Collection)
    assert raw.status(f"/buckets/{bid}/collections/{out['newc'].id}") == 200
    assert isinstance(out["group"], Group)
    assert raw.data(f"/buckets/{bid}/groups/g1")["members"] == ["account:x"]
    assert {c.id for c in out["children"]} == {cid, out["newc"].id, "g1"}

    stored = raw.data(rec_path(bid, cid, "n1"))
    note = out["note"]
    assert (stored["title"], stored["n"]) == ("third", 5)
    assert note.last_modified == stored["last_modified"] > out["created_lm"]
    assert (note.title, note.n) == ("third", 5)
    assert out["same"].title == "third" and out["same"].last_modified == stored["last_modified"]
    assert out["fresh"].title == "third" and out["fresh"].n == 5
    assert len(out["auto"].id) == 36
    assert raw.status(rec_path(bid, cid, out["auto"].id)) == 404
    assert [(t.id, t.title) for t in out["typed"]] == [("n1", "third")]
    assert all(isinstance(t, Note) for t in out["typed"])


# ---------------------------------------------------------------------------- queries


def test_async_for_streams_every_page(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    seed(raw, bid, cid, rows(25))

    async def body(aclient: AsyncClient) -> tuple[list[Note], list[int], list[Any]]:
        query = aclient.records(Note, collection=cid).sort("n")
        items = [note async for note in query]
        sizes = [len(page) async for page in query.apages()]
        pages = [page async for page in query.filter(n__gte=5).apages()]
        return items, sizes, pages

    items, sizes, pages = run_async(kinto_server, client, body)
    assert [note.n for note in items] == list(range(25))
    assert all(isinstance(note, Note) for note in items)
    assert sizes == [10, 10, 5]  # the session server pages by 10
    assert [len(page) for page in pages] == [10, 10]
    assert pages[0].next_url is not None and pages[-1].next_url is None
    etag = raw.head(rec_path(bid, cid)).headers["ETag"].strip('"')
    assert pages[0].etag == int(etag)


def test_every_async_terminal(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    seed(raw, bid, cid, rows(25))

    async def body(aclient: AsyncClient) -> dict[str, Any]:
        query = aclient.records(Note, collection=cid)
        out: dict[str, Any] = {}
        out["aall"] = await query.filter(n__lt=12).sort("-n").aall()
        out["afirst"] = await query.sort("-n").afirst()
        out["afirst_none"] = await query.filter(n=999).afirst()
        out["aget"] = await query.aget("r07")
        with pytest.raises(NotFound):
            await query.aget("nope")
        out["acount"] = await query.filter(n__gte=20).acount()
        out["acount_limited"] = await query.limit(3).acount()
        out["aexists"] = await query.filter(n=3).aexists()
        out["aexists_not"] = await query.filter(n=999).aexists()
        out["atimestamp"] = await query.atimestamp()
        out["limited"] = [n.id async for n in query.sort("n").limit(13)]
        out["adelete"] = await query.filter(n__gte=20).adelete()
        out["after"] = await query.acount()
        out["since"] = await query.since(out["atimestamp"]).aall()
        return out

    out = run_async(kinto_server, client, body)
    assert [n.n for n in out["aall"]] == list(range(11, -1, -1))
    assert out["afirst"].id == "r24"
    assert out["afirst_none"] is None
    assert (out["aget"].id, out["aget"].title) == ("r07", "item 07")
    assert out["acount"] == 5 and out["acount_limited"] == 3
    assert out["aexists"] is True and out["aexists_not"] is False
    assert out["limited"] == [f"r{i:02d}" for i in range(13)]
    assert sorted(t["id"] for t in out["adelete"]) == [f"r{i}" for i in range(20, 25)]
    assert out["after"] == 20 == record_count(raw, bid, cid)
    assert sorted(t.id for t in out["since"]) == [f"r{i}" for i in range(20, 25)]
    assert all(t["deleted"] is True for t in raw.all(rec_path(bid, cid), _since=out["atimestamp"]))
    assert out["atimestamp"] < int(raw.head(rec_path(bid, cid)).headers["ETag"].strip('"'))


# ---------------------------------------------------------------------------- concurrency


def test_hundred_asave_in_gather_all_land_once(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    async def body(aclient: AsyncClient) -> list[Note]:
        notes = [Note(title=f"note {i}", n=i).bind(aclient, collection=cid) for i in range(100)]
        saved = await asyncio.gather(*(note.asave() for note in notes))
        assert all(a is b for a, b in zip(saved, notes))
        return notes

    notes = run_async(kinto_server, client, body)
    stored = {row["id"]: row for row in raw.all(rec_path(bid, cid))}
    assert len(stored) == 100 == record_count(raw, bid, cid)
    assert sorted(row["n"] for row in stored.values()) == list(range(100))
    assert len({note.id for note in notes}) == 100
    for note in notes:
        assert note.id in stored
        assert note.last_modified == stored[note.id]["last_modified"]
        assert stored[note.id]["n"] == note.n


def test_async_conflict_raises_precondition_failed(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    raw.put(rec_path(bid, cid, "r1"), {"title": "original", "n": 1})

    async def body(aclient: AsyncClient) -> tuple[Note, PreconditionFailed, PreconditionFailed]:
        mine = await aclient.records(Note, collection=cid).aget("r1")
        raw.patch(rec_path(bid, cid, "r1"), {"title": "theirs"})
        mine.title = "mine"
        with pytest.raises(PreconditionFailed) as on_save:
            await mine.asave()
        with pytest.raises(PreconditionFailed) as on_delete:
            await mine.adelete()
        # After a refresh the next save goes through, with the server's new version.
        await mine.arefresh()
        assert mine.title == "theirs"
        mine.n = 10
        await mine.asave()
        return mine, on_save.value, on_delete.value

    mine, on_save, on_delete = run_async(kinto_server, client, body)
    assert on_save.status_code == 412 and on_save.existing is not None
    assert on_save.existing["title"] == "theirs"
    assert on_delete.status_code == 412
    stored = raw.data(rec_path(bid, cid, "r1"))
    assert (stored["title"], stored["n"]) == ("theirs", 10)
    assert mine.last_modified == stored["last_modified"]


# ---------------------------------------------------------------------------- sync/async mix-ups


def test_sync_methods_on_async_bound_objects_name_the_a_method(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    raw.put(rec_path(bid, cid, "r1"), {"title": "server"})

    async def body(aclient: AsyncClient) -> None:
        note = aclient.collection(cid).record("new", Note, title="x")
        for name in ("save", "create", "patch", "delete", "refresh"):
            with pytest.raises(TypeError, match=rf"await obj\.a{name}\(\)"):
                getattr(note, name)()
        query = aclient.records(Note, collection=cid)
        with pytest.raises(TypeError, match="async for"):
            for _ in query:
                pass
        with pytest.raises(TypeError, match="async for"):
            query.all()
        with pytest.raises(TypeError, match="async for"):
            query.first()
        with pytest.raises(TypeError, match="async for"):
            list(query.pages())
        for name, args in (("count", ()), ("get", ("r1",)), ("delete", ()),
                           ("timestamp", ()), ("exists", ())):
            expected = "acount" if name == "exists" else f"a{name}"
            with pytest.raises(TypeError, match=rf"{expected}\(\)"):
                getattr(query, name)(*args)

    run_async(kinto_server, client, body)
    # Nothing was sent by the refused calls.
    assert raw.status(rec_path(bid, cid, "new")) == 404
    assert [row["id"] for row in raw.all(rec_path(bid, cid))] == ["r1"]


def test_async_methods_on_sync_bound_objects_name_the_sync_method(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    raw.put(rec_path(bid, cid, "r1"), {"title": "server"})
    note = client.collection(cid).record("new", Note, title="x")
    query = client.records(Note, collection=cid)

    async def body() -> None:
        for name in ("save", "create", "patch", "delete", "refresh"):
            with pytest.raises(TypeError, match=rf"call {name}\(\) instead of a{name}\(\)"):
                await getattr(note, f"a{name}")()
        with pytest.raises(TypeError, match="plain `for`"):
            async for _ in query:
                pass
        with pytest.raises(TypeError, match="plain `for`"):
            await query.aall()
        with pytest.raises(TypeError, match=r"call count\(\) instead of acount\(\)"):
            await query.acount()
        with pytest.raises(TypeError, match=r"call get\(\) instead of aget\(\)"):
            await query.aget("r1")

    asyncio.run(body())
    assert raw.status(rec_path(bid, cid, "new")) == 404
    assert [row["id"] for row in raw.all(rec_path(bid, cid))] == ["r1"]
