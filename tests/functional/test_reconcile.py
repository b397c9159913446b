"""Collection.reconcile / areconcile against a real Kinto: only changes are written,
with preconditions, nothing is lost, and a second run writes nothing."""

from __future__ import annotations

import asyncio
import datetime
import io
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kinto_orm import AsyncClient, Client, Record
from kinto_orm.reconcile import ReconcileReport
from kinto_orm.testing import KintoServer, new_credentials, unique_id

from .conftest import Raw, rec_path, seed

pytestmark = pytest.mark.functional


class Item(Record):
    title: str
    n: int = 0
    due: datetime.date | None = None


class Sent:
    """Counts what a client sends, sub-requests of ``POST /batch`` included."""

    def __init__(self) -> None:
        self.methods: Counter[str] = Counter()
        self.headers: list[tuple[str, str, dict[str, str]]] = []

    def record(self, request: Any) -> None:
        if request.path == "/batch":
            for sub in request.json["requests"]:
                self.methods[sub["method"]] += 1
                self.headers.append((sub["method"], sub["path"], sub.get("headers", {})))
        else:
            self.methods[request.method] += 1

    @property
    def writes(self) -> int:
        return sum(n for method, n in self.methods.items() if method not in ("GET", "HEAD"))


def count_requests(client: Any, before: Callable[[Any], None] | None = None) -> Sent:
    """Count what ``client`` sends from now on (its ``request`` event); ``before`` runs
    before each request leaves."""
    sent = Sent()

    def on_request(event: Any) -> None:
        if before is not None:
            before(event.request)
        sent.record(event.request)

    client.on("request", on_request)
    return sent


def stamps(raw: Raw, bid: str, cid: str) -> dict[str, int]:
    return {r["id"]: r["last_modified"] for r in raw.all(rec_path(bid, cid))}


def rows(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"id": f"r{i:05d}", "title": f"item {i}", "n": i, "due": None}
            for i in range(start, start + count)]


def mixed_run(client: Client, raw: Raw, bid: str, cid: str, size: int) -> None:
    """The proof the issue asks for, at any size: a mix of creates, updates, deletes and
    unchanged records; only the changed ones are written, nothing is lost, and a second
    run sends no write at all."""
    stored = rows(size)
    seed(raw, bid, cid, stored)
    before = stamps(raw, bid, cid)
    tenth = size // 10
    wanted = [Item(**row) for row in stored[2 * tenth:]]          # first 20% deleted
    for item in wanted[:tenth]:                                  # 10% updated
        item.title += " (edited)"
    wanted += [Item(**row) for row in rows(2 * tenth, start=size)]  # 20% created

    sent = count_requests(client)
    started, cpu = time.perf_counter(), time.process_time()
    report = client.collection(cid).reconcile(wanted, delete_missing=True)
    first, first_cpu = time.perf_counter() - started, time.process_time() - cpu

    assert report.ok, report.failed
    assert len(report.created) == 2 * tenth and len(report.deleted) == 2 * tenth
    assert len(report.updated) == tenth
    assert len(report.unchanged) == size - 3 * tenth
    assert sent.methods["PUT"] == 3 * tenth and sent.methods["DELETE"] == 2 * tenth
    assert sent.writes == report.writes

    after = stamps(raw, bid, cid)
    expected = {item.id: item.to_data() for item in wanted}
    assert set(after) == set(expected)                           # nothing lost, no extra
    for rid in report.unchanged:
        assert after[rid] == before[rid]                         # not written at all
    for rid in report.updated:
        assert after[rid] > before[rid]
    server = {r["id"]: r for r in raw.all(rec_path(bid, cid))}
    for rid, data in expected.items():
        assert {k: v for k, v in server[rid].items() if k != "last_modified"} == {
            k: (v.isoformat() if isinstance(v, datetime.date) else v) for k, v in data.items()
        }

    collection_stamp = raw.head(rec_path(bid, cid)).headers["ETag"]
    again = count_requests(client)
    started, cpu = time.perf_counter(), time.process_time()
    second = client.collection(cid).reconcile(wanted, delete_missing=True)
    rerun, rerun_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert again.writes == 0 and set(again.methods) == {"GET"}
    assert second.writes == 0 and len(second.unchanged) == len(wanted)
    assert raw.head(rec_path(bid, cid)).headers["ETag"] == collection_stamp
    assert stamps(raw, bid, cid) == after
    print(f"\nreconcile of {size} records: first run {first:.1f} s (client CPU {first_cpu:.2f} s), "
          f"second {rerun:.1f} s (client CPU {rerun_cpu:.2f} s)")


def test_mixed_run_writes_only_changes(client: Client, raw: Raw, bid: str, cid: str) -> None:
    mixed_run(client, raw, bid, cid, 50)


@pytest.fixture(scope="module")
def big_server() -> Iterator[KintoServer]:
    """A server without history and with the default page size: the run measures the
    client, not the history plugin's write cost."""
    with KintoServer(history=False, attachments=False) as server:
        yield server


@pytest.mark.slow
def test_mixed_run_at_scale(big_server: KintoServer) -> None:
    """1,000 records in `make test`; `KINTO_ORM_RECONCILE_SIZE=5000` for the full proof."""
    size = int(os.environ.get("KINTO_ORM_RECONCILE_SIZE", "1000"))
    auth = new_credentials()
    bid, cid = unique_id("b"), unique_id("c")
    with Client(big_server.url, auth=auth, bucket=bid) as client:
        raw = Raw(big_server.url, auth)
        raw.put(f"/buckets/{bid}", {})
        raw.put(f"/buckets/{bid}/collections/{cid}", {})
        try:
            mixed_run(client, raw, bid, cid, size)
        finally:
            raw.delete(f"/buckets/{bid}")
            raw.close()


def test_writes_are_conditional(client: Client, raw: Raw, bid: str, cid: str) -> None:
    seed(raw, bid, cid, rows(3))
    stored = stamps(raw, bid, cid)
    sent = count_requests(client)
    wanted = [{"id": "r00000", "title": "changed"}, {"id": "new", "title": "new"}]
    report = client.collection(cid).reconcile(wanted, delete_missing=True)
    assert (report.created, report.updated, sorted(report.deleted)) == (
        ["new"], ["r00000"], ["r00001", "r00002"])
    headers = {(method, path.rsplit("/", 1)[-1]): h for method, path, h in sent.headers}
    assert headers[("PUT", "new")]["If-None-Match"] == "*"
    assert headers[("PUT", "r00000")]["If-Match"] == f'"{stored["r00000"]}"'
    assert headers[("DELETE", "r00001")]["If-Match"] == f'"{stored["r00001"]}"'
    assert raw.data(rec_path(bid, cid, "r00000")) == {
        "id": "r00000", "title": "changed", "last_modified": report_stamp(raw, bid, cid)}


def report_stamp(raw: Raw, bid: str, cid: str) -> int:
    return stamps(raw, bid, cid)["r00000"]


def test_without_delete_missing_extra_records_stay(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    seed(raw, bid, cid, rows(3))
    report = client.collection(cid).reconcile([Item(id="r00000", title="item 0")])
    assert report.unchanged == ["r00000"] and report.deleted == []
    assert len(stamps(raw, bid, cid)) == 3


def test_dry_run_sends_no_write_and_returns_the_plan(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    seed(raw, bid, cid, rows(4))
    before = stamps(raw, bid, cid)
    wanted = [*rows(2), {"id": "extra", "title": "x"}]
    wanted[0]["title"] = "new title"
    sent = count_requests(client)
    report = client.collection(cid).reconcile(
        wanted, delete_missing=True, dry_run=True, model=Item)
    assert sent.writes == 0
    assert stamps(raw, bid, cid) == before
    assert report.dry_run and report.created == ["extra"] and report.updated == ["r00000"]
    assert report.changes == {"r00000": ["title"]}
    assert sorted(report.deleted) == ["r00002", "r00003"] and report.unchanged == ["r00001"]
    text = str(report)
    assert text.startswith("1 would be created, 1 would be updated, 2 would be deleted")
    assert "update  r00000  title" in text and "dry run" in text
    assert repr(report) == ("<ReconcileReport created=1 updated=1 deleted=2 unchanged=1 "
                            "failed=0 dry_run>")


def test_invalid_input_is_reported_and_never_deleted(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    seed(raw, bid, cid, rows(3))
    wanted: list[Any] = [
        {"id": "r00000", "title": "item 0", "n": 0, "due": None},
        {"id": "r00001", "title": 12},                 # invalid for Item: kept on the server
        {"title": "no id"},
        {"id": "r00000", "title": "twice"},            # duplicate: the first one wins
    ]
    report = client.collection(cid).reconcile(wanted, delete_missing=True, model=Item)
    failed = {(f.id, f.action): f.reason for f in report.failed}
    assert failed[("r00001", "validate")] == "title: Input should be a valid string"
    assert "no id" in failed[(None, "validate")]
    assert "duplicate" in failed[("r00000", "validate")]
    assert report.deleted == ["r00002"] and report.unchanged == ["r00000"]
    assert set(stamps(raw, bid, cid)) == {"r00000", "r00001"}
    assert not report.ok


def test_permissions_are_compared_and_kept(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    raw.put(rec_path(bid, cid, "p1"), {"title": "p"},
            permissions={"read": ["account:carol"], "write": ["account:dan"]})
    wanted = Item(id="p1", title="p")
    wanted.permissions.read = ["system.Everyone"]
    report = client.collection(cid).reconcile([wanted])
    assert report.updated == ["p1"] and report.changes == {"p1": ["due", "n", "permissions.read"]}
    perms = raw.body(rec_path(bid, cid, "p1"))["permissions"]
    assert perms["read"] == ["system.Everyone"]
    assert set(perms["write"]) == {"account:dan", raw.user_id()}  # not named: kept
    assert wanted.last_modified == raw.data(rec_path(bid, cid, "p1"))["last_modified"]
    # The writer Kinto adds to `write` is not a difference: the next run writes nothing.
    wanted.permissions.write = ["account:dan"]
    sent = count_requests(client)
    assert client.collection(cid).reconcile([wanted]).unchanged == ["p1"]
    assert sent.writes == 0


def test_a_concurrent_change_is_a_reported_failure(
    client: Client, twin: Client, raw: Raw, bid: str, cid: str
) -> None:
    seed(raw, bid, cid, rows(3))

    def meddle(request: Any) -> None:
        if request.path == "/batch" and request.method == "POST":
            twin.patch_record(id="r00000", collection=cid, data={"title": "theirs"})

    count_requests(client, before=meddle)
    wanted = [{"id": f"r{i:05d}", "title": "mine", "n": i, "due": None} for i in range(3)]
    report = client.collection(cid).reconcile(wanted)
    assert sorted(report.updated) == ["r00001", "r00002"]
    (failure,) = report.failed
    assert (failure.id, failure.action) == ("r00000", "update")
    assert "412" in failure.reason and "r00000" not in report.changes
    assert raw.data(rec_path(bid, cid, "r00000"))["title"] == "theirs"   # theirs kept


def test_areconcile(kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str) -> None:
    seed(raw, bid, cid, rows(2))

    async def run() -> tuple[ReconcileReport, ReconcileReport, int]:
        async with AsyncClient(kinto_server.url, auth=client.session.auth, bucket=bid) as ac:
            coll = ac.collection(cid)
            first = await coll.areconcile([Item(**rows(1)[0]), Item(id="a", title="a")],
                                          delete_missing=True)
            sent = count_requests(ac)
            second = await coll.areconcile(
                [Item(**rows(1)[0]), Item(id="a", title="a")], delete_missing=True)
            return first, second, sent.writes

    first, second, writes = asyncio.run(run())
    assert (first.created, first.deleted, first.unchanged) == (["a"], ["r00001"], ["r00000"])
    assert second.writes == 0 and writes == 0 and sorted(second.unchanged) == ["a", "r00000"]
    assert set(stamps(raw, bid, cid)) == {"a", "r00000"}


def test_attachments_are_kept(client: Client, raw: Raw, bid: str, cid: str) -> None:
    """kinto-attachment manages the `attachment` field: an input that does not name it
    neither counts it as a difference nor drops it."""
    client.add_attachment(id="doc", filepath=io.BytesIO(b"hello"), filename="a.txt",
                          collection=cid, data={"title": "doc"})
    stored = raw.data(rec_path(bid, cid, "doc"))
    report = client.collection(cid).reconcile([{"id": "doc", "title": "doc"}])
    assert report.unchanged == ["doc"]
    report = client.collection(cid).reconcile([{"id": "doc", "title": "renamed"}])
    assert report.updated == ["doc"] and report.changes == {"doc": ["title"]}
    after = raw.data(rec_path(bid, cid, "doc"))
    assert after["title"] == "renamed" and after["attachment"] == stored["attachment"]
