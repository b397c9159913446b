"""Batches (``client.batch()`` / ``async with aclient.batch()``) against the real server.

What is on the server is always checked with plain ``requests`` (``raw``), and what went
over the wire with transport hooks (a ``requests`` response hook, an ``httpx`` request
hook): nothing is mocked.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from kinto_orm import (
    AsyncClient,
    BadRequest,
    BatchError,
    Client,
    Collection,
    KintoBatchException,
    NotFound,
    PreconditionFailed,
)
from kinto_orm.patch_type import MergePatch
from kinto_orm.testing import KintoServer, new_credentials, unique_id

from .conftest import Note, Raw, rec_path

# ---------------------------------------------------------------------------- helpers


class Wire:
    """Every request a client really sent: ``(method, path under /v1, json body)``."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any]] = []

    def _add(self, method: str, url: str, body: bytes | str | None) -> None:
        path = urlsplit(url).path
        path = path[len("/v1") :] if path.startswith("/v1") else path
        parsed = None
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
        self.sent.append((method, path or "/", parsed))

    @classmethod
    def on(cls, client: Client) -> Wire:
        wire = cls()

        def hook(response: Any, *args: Any, **kwargs: Any) -> None:
            request = response.request
            wire._add(request.method, request.url, request.body)

        client.session.session.hooks["response"].append(hook)
        return wire

    @classmethod
    def on_async(cls, client: AsyncClient) -> Wire:
        wire = cls()

        async def hook(request: Any) -> None:
            wire._add(request.method, str(request.url), request.content)

        client.session.session.event_hooks["request"].append(hook)
        return wire

    def count(self, method: str, path: str) -> int:
        return sum(1 for m, p, _ in self.sent if (m, p) == (method, path))

    def batches(self) -> list[list[dict[str, Any]]]:
        """The sub-requests of every ``POST /batch`` sent, batch by batch."""
        return [body["requests"] for m, p, body in self.sent if (m, p) == ("POST", "/batch")]

    def clear(self) -> None:
        self.sent.clear()


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


def fresh(kinto_server: Any, client: Client, **kwargs: Any) -> Client:
    """A new Client (nothing cached) with ``client``'s identity and bucket."""
    return Client(
        kinto_server.url, auth=client.session.auth, bucket=client.bucket_name, **kwargs
    )


def record_count(raw: Raw, bid: str, cid: str) -> int:
    response = raw.head(rec_path(bid, cid))
    assert response.status_code == 200, response.status_code
    return int(response.headers["Total-Objects"])


# ---------------------------------------------------------------------------- sync: queueing


def test_kinto_http_calls_are_queued_then_sent_at_exit(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    wire = Wire.on(client)
    newc = unique_id("c")
    with client.batch() as batch:
        batch.create_collection(id=newc, data={"title": "made in a batch"})
        batch.create_record(id="r1", collection=newc, data={"title": "one", "n": 1})
        batch.create_record(id="r2", collection=newc, data={"title": "two", "n": 2})
        batch.update_record(id="r2", collection=newc, data={"title": "two bis"})
        batch.patch_record(id="r1", collection=newc, data={"n": 10})
        batch.create_group(id="editors", data={"members": ["account:alice"]})
        batch.create_record(id="doomed", collection=cid, data={})
        batch.delete_record(id="doomed", collection=cid)
        batch.patch_bucket(id=bid, data={"label": "batched"})
        # Nothing has been sent yet: not one request, and nothing on the server.
        assert wire.sent == []
        assert raw.status(f"/buckets/{bid}/collections/{newc}") == 404
        assert raw.status(f"/buckets/{bid}/groups/editors") == 404
        assert record_count(raw, bid, cid) == 0

    assert len(wire.batches()) == 1
    assert len(wire.batches()[0]) == 9
    assert raw.data(f"/buckets/{bid}/collections/{newc}")["title"] == "made in a batch"
    r1 = raw.data(rec_path(bid, newc, "r1"))
    assert (r1["title"], r1["n"]) == ("one", 10)
    r2 = raw.data(rec_path(bid, newc, "r2"))
    assert r2["title"] == "two bis" and "n" not in r2  # PUT replaced the whole record
    assert raw.data(f"/buckets/{bid}/groups/editors")["members"] == ["account:alice"]
    assert raw.status(rec_path(bid, cid, "doomed")) == 404
    assert raw.data(f"/buckets/{bid}")["label"] == "batched"


def test_results_one_entry_per_request_in_order_reads_included(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    raw.put(rec_path(bid, cid, "old"), {"title": "old"})
    with client.batch(collection=cid, ignore_4xx_errors=True) as batch:
        batch.create_record(id="r1", data={"title": "first"})
        batch.get_record(id="r1")
        batch.get_records()
        batch.get_collection(id=cid)
        batch.delete_record(id="old")
        batch.get_record(id="old")  # a failing read: 404 (ignored here)
        batch.update_record(id="r1", data={"title": "second"})
        batch.get_record(id="r1")
        batch.delete_record(id="r1")
        batch.get_records()

    results = batch.results()
    assert len(results) == 10
    assert results[0]["data"]["title"] == "first"
    assert results[1]["data"] == results[0]["data"]  # the read saw the earlier write
    assert sorted(r["id"] for r in results[2]["data"]) == ["old", "r1"]
    assert results[3]["data"]["id"] == cid
    assert results[4]["data"] == {
        "id": "old", "last_modified": results[4]["data"]["last_modified"], "deleted": True
    }
    assert results[5]["code"] == 404 and results[5]["errno"] == 110
    assert results[6]["data"]["title"] == "second"
    assert results[7]["data"]["title"] == "second"
    assert results[8]["data"]["deleted"] is True
    assert results[9]["data"] == []
    # The client remembers its last batch too (kinto-http's client.results()).
    assert client.results() == results
    assert record_count(raw, bid, cid) == 0


def test_model_calls_inside_block_are_queued_and_hold_server_state_after(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    raw.put(rec_path(bid, cid, "existing"), {"title": "before", "n": 1})
    raw.put(rec_path(bid, cid, "gone"), {"title": "to delete"})
    coll = client.collection(cid)
    existing = coll.records(Note).get("existing")
    gone = coll.records(Note).get("gone")
    user = raw.user_id()
    newc = unique_id("c")

    wire = Wire.on(client)
    saved = coll.record("saved", Note, title="saved")
    created = coll.record("created", Note, title="created", n=2)
    server_id = Note(title="no id yet").bind(client, collection=cid)
    new_coll = client.collection(newc)
    with client.batch():
        new_coll.create()
        assert saved.save() is saved
        assert created.create() is created
        assert server_id.create() is server_id
        existing.title = "after"
        existing.patch()
        gone.delete()
        assert wire.sent == []
        assert saved.last_modified is None and server_id.last_modified is None
        assert record_count(raw, bid, cid) == 2
        assert raw.status(f"/buckets/{bid}/collections/{newc}") == 404

    assert len(wire.batches()) == 1 and len(wire.batches()[0]) == 6
    for model in (saved, created, server_id, existing):
        stored = raw.data(rec_path(bid, cid, model.id))
        assert model.last_modified == stored["last_modified"]
        assert model.title == stored["title"]
        assert user in model.permissions.write  # added by the server
    assert server_id.id is not None and len(server_id.id) == 36  # chosen by the server
    assert raw.data(rec_path(bid, cid, "existing"))["n"] == 1  # a PATCH: the rest is kept
    assert existing.n == 1 and existing.changes() == {}
    assert raw.status(rec_path(bid, cid, "gone")) == 404
    assert new_coll.last_modified == raw.data(f"/buckets/{bid}/collections/{newc}")[
        "last_modified"
    ]
    assert len(batch_results := client.results()) == 6
    assert batch_results[3]["data"]["id"] == server_id.id


def test_sixty_requests_go_in_three_batches_and_server_info_is_read_once(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    assert raw.body("/")["settings"]["batch_max_requests"] == 25
    mine = fresh(kinto_server, client)
    wire = Wire.on(mine)
    models = [
        mine.collection(cid).record(f"m{i:02d}", Note, title=f"model {i}", n=i)
        for i in range(35)
    ]
    with mine.batch(collection=cid) as batch:
        for model in models:
            model.save()
        for i in range(25):
            batch.create_record(id=f"h{i:02d}", data={"title": f"http {i}", "n": i})

    sizes = [len(subs) for subs in wire.batches()]
    assert sizes == [25, 25, 10]
    assert wire.count("GET", "/") == 1
    assert record_count(raw, bid, cid) == 60
    stored = {row["id"]: row for row in raw.all(rec_path(bid, cid))}
    for model in models:
        assert model.last_modified == stored[model.id]["last_modified"]
    results = batch.results()
    assert [r["data"]["id"] for r in results] == [m.id for m in models] + [
        f"h{i:02d}" for i in range(25)
    ]

    # A second batch does not ask for the server settings again.
    wire.clear()
    with mine.batch(collection=cid) as batch:
        for i in range(30):
            batch.delete_record(id=f"h{i:02d}" if i < 25 else f"m{i:02d}")
    assert [len(subs) for subs in wire.batches()] == [25, 5]
    assert wire.count("GET", "/") == 0
    assert record_count(raw, bid, cid) == 30
    mine.close()


def test_batch_follows_the_servers_batch_max_requests() -> None:
    """The chunk size is the server's ``batch_max_requests``, not a constant: a server
    configured with 10 gets chunks of 10."""
    settings = {"kinto.batch_max_requests": "10"}
    with KintoServer(history=False, attachments=False, settings=settings) as server:
        small = Client(server.url, auth=new_credentials(), bucket="b")
        small.create_bucket(id="b")
        wire = Wire.on(small)
        with small.batch() as batch:
            batch.create_collection(id="c")
            for i in range(22):
                batch.create_record(id=f"r{i:02d}", collection="c", data={"n": i})
        assert [len(subs) for subs in wire.batches()] == [10, 10, 3]
        assert len(batch.results()) == 23
        count = requests.head(
            f"{server.url}{rec_path('b', 'c')}", auth=small.session.auth, timeout=10
        ).headers["Total-Objects"]
        assert count == "22"
        small.close()


# ---------------------------------------------------------------------------- sync: failures


def test_mixed_batch_raises_after_running_everything(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    raw.put(rec_path(bid, cid, "exists"), {"title": "server"})
    clash = client.collection(cid).record("exists", Note, title="local")
    fine = client.collection(cid).record("fine", Note, title="fine")
    with pytest.raises(KintoBatchException) as info, client.batch(collection=cid) as batch:
        batch.create_record(id="exists", data={"title": "again"})  # 412
        batch.create_record(id="ok1", data={"title": "ok"})
        batch.delete_record(id="missing")  # 404
        batch.update_record(id="ghost", data={"title": "x"}, if_match=123)  # 412
        batch.create_record(id="perm", data={}, permissions={"bogus": ["x"]})  # 400
        clash.save()  # 412: exists and we know no version
        fine.save()
        for i in range(25):  # a second chunk, after the failures
            batch.create_record(id=f"late{i:02d}", data={"n": i})

    exc = info.value
    assert isinstance(exc, BatchError)
    failed = [(e.request.method, e.request.path, e.status_code) for e in exc.exceptions]
    records = f"/buckets/{bid}/collections/{cid}/records"
    assert failed == [
        ("PUT", f"{records}/exists", 412),
        ("DELETE", f"{records}/missing", 404),
        ("PUT", f"{records}/ghost", 412),
        ("PUT", f"{records}/perm", 400),
        ("PUT", f"{records}/exists", 412),
    ]
    assert [type(e) for e in exc.exceptions] == [
        PreconditionFailed, NotFound, PreconditionFailed, BadRequest, PreconditionFailed
    ]
    message = str(exc)  # kinto-http's text: one line per failed request
    assert message == "\n".join(str(e) for e in exc.exceptions)
    assert "5 request(s) of the batch failed" in exc.description
    for method, path, status in failed:
        assert f"{method} {path} - {status}" in message
    assert "Resource was modified meanwhile" in message
    assert "bogus" in message or "permission" in message.lower()
    assert exc.exceptions[0].existing is not None
    assert exc.exceptions[0].existing["title"] == "server"

    # The successes are on the server, the failures are not.
    stored = {row["id"]: row for row in raw.all(rec_path(bid, cid))}
    assert set(stored) == {"exists", "ok1", "fine"} | {f"late{i:02d}" for i in range(25)}
    assert stored["exists"]["title"] == "server"
    # Models: the saved one holds its server state, the refused one kept its local state.
    assert fine.last_modified == stored["fine"]["last_modified"]
    assert clash.last_modified is None and clash.title == "local"
    # results() still has one entry per request, failures included.
    results = batch.results()
    assert len(results) == 32
    assert results[0]["code"] == 412 and results[1]["data"]["id"] == "ok1"
    assert results[4]["code"] == 400


def test_ignore_4xx_errors_does_not_raise(client: Client, raw: Raw, bid: str, cid: str) -> None:
    raw.put(rec_path(bid, cid, "exists"), {"title": "server"})
    with client.batch(collection=cid, ignore_4xx_errors=True) as batch:
        batch.create_record(id="exists", data={"title": "again"})
        batch.create_record(id="ok", data={"title": "ok"})
        batch.delete_record(id="missing")
    results = batch.results()
    assert [r.get("code") for r in results] == [412, None, 404]
    stored = {row["id"]: row["title"] for row in raw.all(rec_path(bid, cid))}
    assert stored == {"exists": "server", "ok": "ok"}


def test_client_ignore_batch_4xx_is_the_default_for_its_batches(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    lenient = fresh(kinto_server, client, ignore_batch_4xx=True)
    try:
        with lenient.batch(collection=cid) as batch:
            batch.delete_record(id="missing")
            batch.create_record(id="ok", data={"title": "ok"})
        assert batch.results()[0]["code"] == 404
        assert raw.data(rec_path(bid, cid, "ok"))["title"] == "ok"
        # Its clones keep the setting; an explicit ignore_4xx_errors=False wins.
        with lenient.clone().batch(collection=cid) as batch:
            batch.delete_record(id="missing")
        with pytest.raises(KintoBatchException), lenient.batch(
            collection=cid, ignore_4xx_errors=False
        ) as batch:
            batch.delete_record(id="missing")
    finally:
        lenient.close()


def test_if_not_exists_inside_a_batch_returns_the_existing_object(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    raw.put(rec_path(bid, cid, "exists"), {"title": "server", "n": 7})
    model = client.collection(cid).record("exists", Note, title="local")
    with client.batch(collection=cid) as batch:
        batch.create_record(id="exists", data={"title": "again"}, if_not_exists=True)
        model.create(if_not_exists=True)
        batch.delete_record(id="missing", if_exists=True)
    assert raw.data(rec_path(bid, cid, "exists"))["title"] == "server"
    assert (model.title, model.n) == ("server", 7)
    assert model.last_modified == raw.data(rec_path(bid, cid, "exists"))["last_modified"]
    assert len(batch.results()) == 3


def test_results_of_if_not_exists_hold_the_existing_object(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    raw.put(rec_path(bid, cid, "exists"), {"title": "server"})
    with client.batch(collection=cid) as batch:
        batch.create_record(id="exists", data={"title": "again"}, if_not_exists=True)
    result = batch.results()[0]
    assert "code" not in result
    assert result["data"]["title"] == "server"


# ------------------------------------------------------------------ sync: ids with "batch"


def test_ids_containing_batch_work_inside_a_batch(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    wire = Wire.on(client)
    model = client.collection(cid).record("batch-model", Note, title="model")
    with client.batch(collection=cid) as batch:
        batch.create_record(id="batch-1", data={"title": "one"})
        batch.create_record(id="mybatch", data={"title": "mine"})
        batch.create_record(id="plain", data={"title": "plain"})
        model.save()
        batch.create_collection(id="batch-coll")
        batch.create_record(id="batchc", collection="batch-coll", data={"title": "c"})

    stored = {row["id"]: row["title"] for row in raw.all(rec_path(bid, cid))}
    assert stored == {"batch-1": "one", "mybatch": "mine", "plain": "plain",
                      "batch-model": "model"}
    assert raw.data(rec_path(bid, "batch-coll", "batchc"))["title"] == "c"
    assert model.last_modified == raw.data(rec_path(bid, cid, "batch-model"))["last_modified"]
    # No sub-request path holds "/batch" (Kinto refuses them): those went on their own.
    sub_paths = [sub["path"] for subs in wire.batches() for sub in subs]
    assert sub_paths and not any("/batch" in path for path in sub_paths)
    direct = {(m, p) for m, p, _ in wire.sent}
    assert ("PUT", rec_path(bid, cid, "batch-1")) in direct
    assert ("PUT", rec_path(bid, "batch-coll", "batchc")) in direct


def test_batch_id_request_keeps_its_place_in_the_order(
    client: Client, raw: Raw, bid: str
) -> None:
    newc = unique_id("c")
    with client.batch() as batch:
        batch.create_collection(id=newc)
        batch.create_record(id="batch-1", collection=newc, data={"title": "one"})
    assert raw.data(rec_path(bid, newc, "batch-1"))["title"] == "one"


def test_exception_in_block_cancels_batch_id_requests_too(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    with pytest.raises(RuntimeError), client.batch(collection=cid) as batch:
        batch.create_record(id="batch-1", data={"title": "one"})
        raise RuntimeError("changed my mind")
    assert raw.status(rec_path(bid, cid, "batch-1")) == 404


def test_results_line_up_with_calls_when_ids_contain_batch(
    client: Client, cid: str
) -> None:
    with client.batch(collection=cid) as batch:
        batch.create_record(id="a", data={})
        batch.create_record(id="batch-1", data={})
        batch.create_record(id="b", data={})
    assert [r["data"]["id"] for r in batch.results()] == ["a", "batch-1", "b"]


# ---------------------------------------------------------------------------- sync: block rules


def test_exception_inside_block_sends_nothing(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    wire = Wire.on(client)
    model = client.collection(cid).record("m1", Note, title="model")
    with pytest.raises(ZeroDivisionError), client.batch(collection=cid) as batch:
        batch.create_record(id="r1", data={"title": "x"})
        model.save()
        batch.create_collection(id=unique_id("c"))
        1 / 0  # noqa: B018
    assert wire.sent == []
    assert record_count(raw, bid, cid) == 0
    assert model.last_modified is None
    # The client is usable (and not batching) afterwards.
    assert client.create_record(id="after", collection=cid, data={})["data"]["id"] == "after"
    assert raw.status(rec_path(bid, cid, "after")) == 200


def test_batch_bucket_and_collection_defaults(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    other = unique_id("b")
    raw.put(f"/buckets/{other}", {})
    try:
        with client.batch(bucket=other, collection="things") as batch:
            batch.create_collection(id="things")
            batch.create_record(id="r1", data={"title": "in other"})
            batch.create_record(id="r2", data={"title": "explicit"}, bucket=bid, collection=cid)
            batch.create_group(id="g1", data={"members": []})
        assert raw.data(rec_path(other, "things", "r1"))["title"] == "in other"
        assert raw.data(rec_path(bid, cid, "r2"))["title"] == "explicit"
        assert raw.status(f"/buckets/{other}/groups/g1") == 200
        assert raw.status(f"/buckets/{bid}/groups/g1") == 404
        # The client's own defaults did not change.
        assert (client.bucket_name, client.collection_name) == (bid, None)
    finally:
        raw.delete(f"/buckets/{other}")


def test_nested_batches_are_refused(client: Client, raw: Raw, bid: str, cid: str) -> None:
    wire = Wire.on(client)
    with pytest.raises(RuntimeError, match="nest"), client.batch(collection=cid) as batch:
        batch.create_record(id="r1", data={})
        with client.batch():
            pass
    with (
        pytest.raises(RuntimeError, match="nest"),
        client.batch(collection=cid) as batch,
        batch.batch(),
    ):
        pass
    assert wire.sent == []
    assert record_count(raw, bid, cid) == 0
    # A new batch works after the refused ones.
    with client.batch(collection=cid) as batch:
        batch.create_record(id="r2", data={})
    assert raw.status(rec_path(bid, cid, "r2")) == 200


def test_async_with_on_a_sync_client_batch_is_a_type_error(client: Client, cid: str) -> None:
    async def use() -> None:
        async with client.batch() as batch:
            await batch.create_record(id="r1", collection=cid, data={})

    with pytest.raises(TypeError, match=r"with client\.batch\(\)"):
        asyncio.run(use())
    # Still usable with a plain `with`.
    with client.batch(collection=cid) as batch:
        batch.create_record(id="r1", data={})
    assert batch.results()[0]["data"]["id"] == "r1"


# ---------------------------------------------------------------------------- async


def test_kinto_http_spelling_with_await_on_an_async_client(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    """kinto-http's ``with await aclient.batch() as batch:`` with awaited methods: sent
    at the end of the block (blocking, as kinto-http's), and ``async with`` right after."""
    async def body(aclient: AsyncClient) -> None:
        with await aclient.batch(collection=cid) as batch:
            await batch.create_record(id="r1", data={"n": 1})
            await batch.create_record(id="r2", data={"n": 2})
            assert [r[:2] for r in batch.session.requests] == [
                ("put", rec_path(bid, cid, "r1")), ("put", rec_path(bid, cid, "r2"))]
            assert raw.status(rec_path(bid, cid, "r1")) == 404  # queued, not sent
        assert [r["data"]["id"] for r in batch.results()] == ["r1", "r2"]
        async with aclient.batch(collection=cid) as batch:
            await batch.delete_record(id="r2")

    run_async(kinto_server, client, body)
    assert raw.status(rec_path(bid, cid, "r1")) == 200
    assert raw.status(rec_path(bid, cid, "r2")) == 404


def test_async_batch_queues_and_flushes(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    raw.put(rec_path(bid, cid, "existing"), {"title": "before", "n": 1})
    newc = unique_id("c")

    async def body(aclient: AsyncClient) -> tuple[Any, list[Any], Wire]:
        coll = aclient.collection(cid)
        existing = await coll.records(Note).aget("existing")
        wire = Wire.on_async(aclient)
        models = [coll.record(f"m{i:02d}", Note, title=f"m{i}", n=i) for i in range(40)]
        server_id = Note(title="server id").bind(aclient, collection=cid)
        async with aclient.batch(collection=cid) as batch:
            await batch.create_collection(id=newc)
            await batch.create_record(id="r1", collection=newc, data={"title": "one"})
            for model in models:
                assert await model.asave() is model
            await server_id.acreate()
            await existing.apatch({"n": 2})
            await batch.get_record(id="existing")
            await batch.update_record(id="u1", data={"title": "u"})
            await batch.delete_record(id="u1")
            # Nothing sent yet.
            assert wire.sent == []
            assert raw.status(f"/buckets/{bid}/collections/{newc}") == 404
            assert record_count(raw, bid, cid) == 1
        return batch.results(), [*models, server_id, existing], wire

    results, models, wire = run_async(kinto_server, client, body)
    assert [len(subs) for subs in wire.batches()] == [25, 22]
    assert len(results) == 47
    assert results[1]["data"]["title"] == "one"
    assert results[-3]["data"]["n"] == 2  # the read sees the patch queued before it
    assert results[-1]["data"]["deleted"] is True
    stored = {row["id"]: row for row in raw.all(rec_path(bid, cid))}
    assert len(stored) == 42
    for model in models:
        assert model.last_modified == stored[model.id]["last_modified"]
        assert model.title == stored[model.id]["title"]
    assert stored["existing"]["n"] == 2 and models[-1].n == 2
    assert raw.data(rec_path(bid, newc, "r1"))["title"] == "one"


def test_async_sixty_requests_go_in_three_batches(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    async def body(aclient: AsyncClient) -> Wire:
        wire = Wire.on_async(aclient)
        async with aclient.batch(collection=cid) as batch:
            for i in range(60):
                await batch.create_record(id=f"r{i:02d}", data={"n": i})
        assert [r["data"]["n"] for r in batch.results()] == list(range(60))
        return wire

    wire = run_async(kinto_server, client, body)
    assert [len(subs) for subs in wire.batches()] == [25, 25, 10]
    assert wire.count("GET", "/") == 1
    assert record_count(raw, bid, cid) == 60


def test_async_mixed_batch_raises_after_running_everything(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    raw.put(rec_path(bid, cid, "exists"), {"title": "server"})

    async def body(aclient: AsyncClient) -> tuple[KintoBatchException, Note, list[Any]]:
        clash = aclient.collection(cid).record("exists", Note, title="local")
        with pytest.raises(KintoBatchException) as info:
            async with aclient.batch(collection=cid) as batch:
                await batch.create_record(id="ok", data={"title": "ok"})
                await clash.asave()
                await batch.delete_record(id="missing")
                await batch.create_record(id="ok2", data={"title": "ok2"})
        return info.value, clash, batch.results()

    exc, clash, results = run_async(kinto_server, client, body)
    records = f"/buckets/{bid}/collections/{cid}/records"
    assert [(e.request.method, e.request.path, e.status_code) for e in exc.exceptions] == [
        ("PUT", f"{records}/exists", 412),
        ("DELETE", f"{records}/missing", 404),
    ]
    assert f"PUT {records}/exists - 412" in str(exc)
    assert f"DELETE {records}/missing - 404" in str(exc)
    assert clash.last_modified is None and clash.title == "local"
    assert len(results) == 4
    stored = {row["id"]: row["title"] for row in raw.all(rec_path(bid, cid))}
    assert stored == {"exists": "server", "ok": "ok", "ok2": "ok2"}


def test_async_ignore_4xx_errors_and_exception_in_block(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    async def body(aclient: AsyncClient) -> list[Any]:
        async with aclient.batch(collection=cid, ignore_4xx_errors=True) as batch:
            await batch.delete_record(id="missing")
            await batch.create_record(id="ok", data={})
        with pytest.raises(KeyError):
            async with aclient.batch(collection=cid) as other:
                await other.create_record(id="never", data={})
                raise KeyError("stop")
        with pytest.raises(RuntimeError, match="nest"):
            async with aclient.batch(collection=cid) as outer:
                await outer.create_record(id="never2", data={})
                async with aclient.batch():
                    pass
        return batch.results()

    results = run_async(kinto_server, client, body)
    assert results[0]["code"] == 404 and results[1]["data"]["id"] == "ok"
    assert [row["id"] for row in raw.all(rec_path(bid, cid))] == ["ok"]


def test_async_ids_containing_batch(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    async def body(aclient: AsyncClient) -> Note:
        model = aclient.collection(cid).record("batch-m", Note, title="m")
        async with aclient.batch(collection=cid) as batch:
            await batch.create_record(id="batch-1", data={"title": "one"})
            await batch.create_record(id="mybatch", data={"title": "mine"})
            await model.asave()
        return model

    model = run_async(kinto_server, client, body)
    stored = {row["id"]: row for row in raw.all(rec_path(bid, cid))}
    assert set(stored) == {"batch-1", "mybatch", "batch-m"}
    assert model.last_modified == stored["batch-m"]["last_modified"]


def test_collection_model_queued_in_batch_holds_server_state(
    client: Client, raw: Raw, bid: str
) -> None:
    colls = [Collection(id=unique_id("c"), cache_expires=i).bind(client) for i in range(3)]
    with client.batch():
        for coll in colls:
            coll.save()
    for coll in colls:
        stored = raw.data(f"/buckets/{bid}/collections/{coll.id}")
        assert coll.last_modified == stored["last_modified"]
        assert coll.cache_expires == stored["cache_expires"]


def test_async_gather_inside_a_batch_queues_everything(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    async def body(aclient: AsyncClient) -> tuple[list[Note], Wire]:
        wire = Wire.on_async(aclient)
        notes = [aclient.collection(cid).record(f"g{i:02d}", Note, title=f"{i}") for i in range(30)]
        async with aclient.batch():
            await asyncio.gather(*(note.asave() for note in notes))
            assert wire.sent == []
        return notes, wire

    notes, wire = run_async(kinto_server, client, body)
    assert [len(subs) for subs in wire.batches()] == [25, 5]
    stored = {row["id"]: row for row in raw.all(rec_path(bid, cid))}
    assert len(stored) == 30
    assert all(note.last_modified == stored[note.id]["last_modified"] for note in notes)


def test_async_batch_does_not_capture_other_tasks(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    raw.put(rec_path(bid, cid, "known"), {"title": "known"})

    async def body(aclient: AsyncClient) -> dict[str, Any]:
        started, release = asyncio.Event(), asyncio.Event()
        seen: dict[str, Any] = {}

        async def batcher() -> None:
            async with aclient.batch(collection=cid) as batch:
                await batch.create_record(id="in-batch", data={})
                started.set()
                await release.wait()

        async def other() -> None:
            await started.wait()
            try:
                seen["read"] = await aclient.get_record(id="known", collection=cid)
                note = aclient.collection(cid).record("outside", Note, title="x")
                await note.asave()
                seen["outside_status"] = raw.status(rec_path(bid, cid, "outside"))
            finally:
                release.set()

        await asyncio.gather(batcher(), other())
        return seen

    seen = run_async(kinto_server, client, body)
    assert seen["read"]["data"]["title"] == "known"
    assert seen["outside_status"] == 200


def test_saving_a_model_twice_in_a_batch_keeps_the_last_version(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    model = client.collection(cid).record("r1", Note, title="first")
    try:
        with client.batch():
            model.save()
            model.title = "second"
            model.save()
    except KintoBatchException:
        pass
    server_title = raw.data(rec_path(bid, cid, "r1"))["title"]
    assert "second" in (server_title, model.title)


# ---------------------------------------------------------------------------- merge patches


def test_merge_patch_in_a_batch_removes_fields_as_outside(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    """Kinto's batch view gives every sub-request ``Content-Type: application/json``, so
    a merge patch inside ``/batch`` would be applied as a plain PATCH (``null`` stored,
    nested objects replaced). It is sent on its own at flush time, in its place."""
    client.create_record(id="m1", data={"a": 1, "b": {"x": 1, "y": 2}, "c": 3},
                         bucket=bid, collection=cid)
    wire = Wire.on(client)
    with client.batch() as batch:
        batch.patch_record(id="m1", changes=MergePatch({"a": None, "b": {"x": None}}),
                           bucket=bid, collection=cid)
        batch.create_record(id="m2", data={"n": 2}, bucket=bid, collection=cid)
    data = raw.get(rec_path(bid, cid, "m1")).json()["data"]
    assert "a" not in data  # removed, not set to null
    assert data["b"] == {"y": 2}  # merged recursively, not replaced
    assert data["c"] == 3
    assert raw.get(rec_path(bid, cid, "m2")).status_code == 200
    assert wire.count("PATCH", rec_path(bid, cid, "m1")) == 1
    assert [sub["method"] for chunk in wire.batches() for sub in chunk] == ["PUT"]
    assert [r["data"]["id"] for r in batch.results()] == ["m1", "m2"]
