"""Replicas against the real server: incremental pulls (records counted on the wire),
interrupted pulls, pushes with Kinto's concurrency control, conflicts per strategy.

The server paginates by 10 (``KINTO_ORM_PAGINATE_BY``), so a pull of a few dozen records
already spans several pages.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kinto_orm import Client, NotFound, Record, Replica
from kinto_orm.errors import NetworkError

from .conftest import Raw, rec_path, seed


class Todo(Record):
    title: str
    n: int = 0
    done: bool = False


def rows(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"id": f"t{i:04d}", "title": f"task {i}", "n": i, "done": i % 3 == 0}
            for i in range(start, start + count)]


class Wire:
    """Counts what crosses the wire: requests sent, records received in list pages."""

    def __init__(self, client: Client) -> None:
        self.requests: list[Any] = []
        self.records = 0
        self.bytes = 0
        client.on("response", self._seen)

    def _seen(self, event: Any) -> None:
        self.requests.append(event.request)
        response = event.response
        if response is not None and event.request.method == "GET" and response.content:
            self.bytes += len(response.content)
            body = json.loads(response.content)
            if isinstance(body.get("data"), list):
                self.records += len(body["data"])

    def reset(self) -> None:
        self.requests, self.records, self.bytes = [], 0, 0


def server_state(raw: Raw, bid: str, cid: str) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in raw.all(rec_path(bid, cid))}


def local_state(replica: Replica[Todo]) -> dict[str, dict[str, Any]]:
    return {t.id: t.to_data(include_meta=True) for t in replica.records().all()
            if t.id is not None}


@pytest.fixture
def replica(client: Client, cid: str, tmp_path: Path) -> Any:
    with client.records(Todo, collection=cid).replica(tmp_path / "todos.sqlite") as rep:
        yield rep


# ---------------------------------------------------------------------------- pull


def test_pull_is_incremental_counting_records_on_the_wire(
    client: Client, raw: Raw, bid: str, cid: str, replica: Replica[Todo]
) -> None:
    seed(raw, bid, cid, rows(45))
    wire = Wire(client)
    report = replica.pull()
    assert sorted(report.created) == [f"t{i:04d}" for i in range(45)]
    assert wire.records == 45 and len(wire.requests) == 5  # pages of 10
    assert replica.timestamp == int(raw.head(rec_path(bid, cid)).headers["ETag"].strip('"'))

    for i in range(5):
        raw.patch(rec_path(bid, cid, f"t{i:04d}"), {"title": "changed"})
    for i in range(40, 43):
        assert raw.delete(rec_path(bid, cid, f"t{i:04d}")) == 200
    seed(raw, bid, cid, rows(2, start=100))
    wire.reset()
    report = replica.pull()
    assert wire.records == 10  # 5 updates, 3 tombstones, 2 creations: nothing else
    assert sorted(report.updated) == [f"t{i:04d}" for i in range(5)]
    assert sorted(report.deleted) == ["t0040", "t0041", "t0042"]
    assert sorted(report.created) == ["t0100", "t0101"]
    assert local_state(replica) == server_state(raw, bid, cid)

    wire.reset()
    report = replica.pull()  # nothing changed: one request that returns nothing
    assert len(wire.requests) == 1 and wire.records == 0
    assert wire.requests[0].params["_since"].strip('"') == str(replica.timestamp)
    assert (report.created, report.updated, report.deleted) == ([], [], [])


def test_pull_lost_connection_on_a_later_page_leaves_the_last_state(
    client: Client, raw: Raw, bid: str, cid: str, replica: Replica[Todo],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(raw, bid, cid, rows(15))
    replica.pull()
    before, stamp = local_state(replica), replica.timestamp
    for i in range(15):
        raw.patch(rec_path(bid, cid, f"t{i:04d}"), {"title": f"v2 {i}"})
    seed(raw, bid, cid, rows(20, start=200))
    send, pages = client.session.send, []

    def cut_on_page_3(request: Any) -> Any:
        if request.method == "GET" and "records" in request.path:
            pages.append(request)
            if len(pages) == 3:
                raise NetworkError("connection lost (test)", request=request)
        return send(request)

    monkeypatch.setattr(client.session, "send", cut_on_page_3)
    with pytest.raises(NetworkError):
        replica.pull()
    assert local_state(replica) == before and replica.timestamp == stamp
    monkeypatch.setattr(client.session, "send", send)
    wire = Wire(client)
    report = replica.pull()
    assert wire.records == 35  # everything since the last complete pull, once
    assert len(report.updated) == 15 and len(report.created) == 20
    assert local_state(replica) == server_state(raw, bid, cid)


def test_a_record_changed_during_a_paginated_pull_is_not_lost(
    client: Client, raw: Raw, bid: str, cid: str, replica: Replica[Todo],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(raw, bid, cid, rows(30))
    send, pages = client.session.send, []

    def change_after_page_1(request: Any) -> Any:
        response = send(request)
        if request.method == "GET" and "records" in request.path:
            pages.append(request)
            if len(pages) == 1:  # t0000 is the oldest: on the last page, not read yet
                raw.patch(rec_path(bid, cid, "t0000"), {"title": "changed meanwhile"})
                assert raw.delete(rec_path(bid, cid, "t0001")) == 200
        return response

    monkeypatch.setattr(client.session, "send", change_after_page_1)
    replica.pull()
    monkeypatch.setattr(client.session, "send", send)
    replica.pull()
    assert replica.get("t0000").title == "changed meanwhile"
    with pytest.raises(NotFound):
        replica.get("t0001")
    assert local_state(replica) == server_state(raw, bid, cid)


_READER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
count = db.execute("SELECT count(*) FROM records").fetchone()[0]
stamp = db.execute("SELECT value FROM meta WHERE key = 'timestamp'").fetchone()
print(count, stamp[0] if stamp else None)
"""


def test_a_reader_process_sees_a_whole_state_during_a_pull(
    client: Client, raw: Raw, bid: str, cid: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(raw, bid, cid, rows(25))
    file = tmp_path / "r.sqlite"
    replica = client.records(Todo, collection=cid).replica(file)
    seen: list[str] = []
    send = client.session.send

    def read_between_pages(request: Any) -> Any:
        seen.append(subprocess.run([sys.executable, "-c", _READER, str(file)],
                                   capture_output=True, text=True, check=True).stdout.strip())
        in_process.append(replica.records().count())  # its own queries too
        with pytest.raises(RuntimeError, match="under way"):
            replica.save(Todo(title="meanwhile"))
        return send(request)

    in_process: list[int] = []
    monkeypatch.setattr(client.session, "send", read_between_pages)
    replica.pull()
    assert seen == ["0 None"] * 3  # three pages: before each, still the empty replica
    assert in_process == [0, 0, 0]
    out = subprocess.run([sys.executable, "-c", _READER, str(file)], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["25", str(replica.timestamp)]
    replica.close()


_KILLED = """
import sys, time
from kinto_orm import Client, Record
class Todo(Record):
    title: str
client = Client(sys.argv[1], auth=tuple(sys.argv[2].split(":", 1)), bucket=sys.argv[3])
send = client.session.send
def slow(request):
    response = send(request)
    print("page", flush=True)
    time.sleep(30 if request.params is None else 0)  # stuck after the first page
    return response
client.session.send = slow
client.records(Todo, collection=sys.argv[4]).replica(sys.argv[5]).pull()
"""


def test_a_pull_killed_midway_leaves_the_last_state(
    client: Client, kinto_server: Any, raw: Raw, bid: str, cid: str, tmp_path: Path
) -> None:
    seed(raw, bid, cid, rows(12))
    file = tmp_path / "k.sqlite"
    with client.records(Todo, collection=cid).replica(file) as replica:
        replica.pull()
        stamp = replica.timestamp
    seed(raw, bid, cid, rows(25, start=300))
    user, password = client.session.auth
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED, kinto_server.url, f"{user}:{password}", bid, cid,
         str(file)], stdout=subprocess.PIPE, text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "page"  # first page applied, then stuck
    assert child.stdout.readline().strip() == "page"
    child.kill()
    child.wait()
    with client.records(Todo, collection=cid).replica(file) as replica:
        assert replica.timestamp == stamp and replica.records().count() == 12
        wire = Wire(client)
        report = replica.pull()
        assert wire.records == 25 and len(report.created) == 25
        assert local_state(replica) == server_state(raw, bid, cid)


# ---------------------------------------------------------------------------- push


def test_push_sends_local_changes_with_concurrency_control(
    client: Client, raw: Raw, bid: str, cid: str, replica: Replica[Todo]
) -> None:
    seed(raw, bid, cid, rows(3))
    replica.pull()
    versions = {rid: r["last_modified"] for rid, r in server_state(raw, bid, cid).items()}
    done = replica.get("t0001")
    done.done = True
    replica.save(done)
    replica.delete("t0002")
    new = replica.save(Todo(title="offline"))
    assert new.id is not None
    assert replica.pending() == {"t0001": "updated", "t0002": "deleted", new.id: "created"}
    wire = Wire(client)
    report = replica.push()
    assert sorted(report.published) == sorted(["t0001", "t0002", new.id]) and report.ok
    sent = [r for r in wire.requests if r.path.endswith("/batch")]
    assert len(sent) == 1  # one batch
    subs = {sub["path"].rsplit("/", 1)[1]: sub for sub in sent[0].json["requests"]}
    assert subs["t0001"]["headers"]["If-Match"] == f'"{versions["t0001"]}"'
    assert subs["t0002"]["method"] == "DELETE"
    assert subs["t0002"]["headers"]["If-Match"] == f'"{versions["t0002"]}"'
    assert subs[new.id]["headers"]["If-None-Match"] == "*"
    state = server_state(raw, bid, cid)
    assert state["t0001"]["done"] is True and "t0002" not in state
    assert state[new.id]["title"] == "offline"
    assert replica.pending() == {} and local_state(replica) == state
    wire.reset()
    report = replica.pull()  # our own writes come back, and are not reported again
    assert (report.created, report.updated, report.deleted) == ([], [], [])


def _conflicting(raw: Raw, bid: str, cid: str, replica: Replica[Todo]) -> None:
    seed(raw, bid, cid, rows(2))
    replica.pull()
    raw.patch(rec_path(bid, cid, "t0000"), {"title": "server"})
    local = replica.get("t0000")
    local.title = "local"
    replica.save(local)
    local = replica.get("t0001")
    local.title = "local only"
    replica.save(local)


def test_manual_conflicts_are_reported_and_nothing_is_overwritten(
    raw: Raw, bid: str, cid: str, replica: Replica[Todo]
) -> None:
    _conflicting(raw, bid, cid, replica)
    report = replica.synchronize()
    assert not report.ok and [c.id for c in report.conflicts] == ["t0000"]
    conflict = report.conflicts[0]
    assert conflict.local is not None and conflict.local.title == "local"
    assert conflict.remote is not None and conflict.remote.title == "server"
    assert report.published == ["t0001"]  # the change without conflict went out
    assert server_state(raw, bid, cid)["t0000"]["title"] == "server"
    assert replica.get("t0000").title == "local"
    again = replica.pull()  # the timestamp stayed: the conflict is seen again, nothing else
    assert [c.id for c in again.conflicts] == ["t0000"]
    assert (again.created, again.updated, again.deleted) == ([], [], [])
    replica.resolve(conflict, Todo(id="t0000", title="merged"))
    report = replica.synchronize()
    assert report.ok and report.published == ["t0000"]
    assert server_state(raw, bid, cid)["t0000"]["title"] == "merged"
    assert local_state(replica) == server_state(raw, bid, cid)


def test_manual_conflict_found_by_the_push(
    raw: Raw, bid: str, cid: str, replica: Replica[Todo]
) -> None:
    _conflicting(raw, bid, cid, replica)
    report = replica.push()  # no pull first: the server refuses with 412
    assert [c.id for c in report.conflicts] == ["t0000"]
    assert report.conflicts[0].remote is not None
    assert report.conflicts[0].remote.title == "server"
    assert server_state(raw, bid, cid)["t0000"]["title"] == "server"


@pytest.mark.parametrize("pull_first", [True, False])
def test_server_wins(raw: Raw, bid: str, cid: str, replica: Replica[Todo],
                     pull_first: bool) -> None:
    _conflicting(raw, bid, cid, replica)
    report = replica.synchronize("server_wins") if pull_first else replica.push("server_wins")
    assert report.ok and [c.id for c in report.resolved] == ["t0000"]
    assert replica.get("t0000").title == "server"
    assert server_state(raw, bid, cid)["t0000"]["title"] == "server"
    assert replica.pending() == {}


@pytest.mark.parametrize("pull_first", [True, False])
def test_client_wins(raw: Raw, bid: str, cid: str, replica: Replica[Todo],
                     pull_first: bool) -> None:
    _conflicting(raw, bid, cid, replica)
    report = replica.synchronize("client_wins") if pull_first else replica.push("client_wins")
    assert report.ok and [c.id for c in report.resolved] == ["t0000"]
    assert server_state(raw, bid, cid)["t0000"]["title"] == "local"
    assert replica.pending() == {}
    assert local_state(replica) == server_state(raw, bid, cid)


def test_pull_only_takes_the_server_and_never_pushes(
    raw: Raw, bid: str, cid: str, replica: Replica[Todo]
) -> None:
    _conflicting(raw, bid, cid, replica)
    report = replica.synchronize("pull_only")
    assert report.published == [] and replica.get("t0000").title == "server"
    assert replica.pending() == {"t0001": "updated"}
    assert server_state(raw, bid, cid)["t0001"]["title"] == "task 1"


def test_deleted_on_the_server_while_changed_locally(
    raw: Raw, bid: str, cid: str, replica: Replica[Todo]
) -> None:
    seed(raw, bid, cid, rows(1))
    replica.pull()
    assert raw.delete(rec_path(bid, cid, "t0000")) == 200
    local = replica.get("t0000")
    local.title = "kept"
    replica.save(local)
    report = replica.synchronize()
    assert report.conflicts[0].remote is None and report.conflicts[0].local is not None
    report = replica.synchronize("client_wins")
    assert report.ok and server_state(raw, bid, cid)["t0000"]["title"] == "kept"


def test_bad_strategy_and_wrong_file(client: Client, cid: str, tmp_path: Path,
                                     replica: Replica[Todo]) -> None:
    with pytest.raises(ValueError, match="Unknown strategy 'mine'"):
        replica.pull("mine")  # type: ignore[arg-type]
    replica.pull()
    replica.close()
    other = client.records(Todo, collection=cid + "x")
    with pytest.raises(ValueError, match="one file per collection"):
        other.replica(tmp_path / "todos.sqlite")
    with pytest.raises(ValueError, match="whole collection"):
        client.records(Todo, collection=cid).filter(done=True).replica(":memory:")


def test_the_file_is_plain_sqlite(client: Client, raw: Raw, bid: str, cid: str,
                                  tmp_path: Path) -> None:
    seed(raw, bid, cid, rows(3))
    file = tmp_path / "plain.sqlite"
    with client.records(Todo, collection=cid).replica(file) as replica:
        replica.pull()
    db = sqlite3.connect(file)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    stored = db.execute("SELECT id, status, json_extract(data, '$.title') FROM records "
                        "ORDER BY id").fetchall()
    assert stored == [("t0000", "synced", "task 0"), ("t0001", "synced", "task 1"),
                      ("t0002", "synced", "task 2")]
    db.close()


def test_a_refused_write_is_reported_and_the_others_go_out(
    client: Client, raw: Raw, bid: str, cid: str, tmp_path: Path
) -> None:
    schema = {"type": "object", "properties": {"title": {"type": "string"}}}
    raw.put(f"/buckets/{bid}/collections/{cid}", {"schema": schema})
    with client.records(Record, collection=cid).replica(":memory:") as replica:
        replica.save(Record(id="good", title="fine"))
        replica.save(Record(id="bad", title=5))
        report = replica.push()
        assert report.published == ["good"] and not report.ok
        assert [rid for rid, _ in report.errors] == ["bad"]
        assert getattr(report.errors[0][1], "status_code", None) == 400
        assert replica.pending() == {"bad": "created"}  # kept, to fix and push again
        with pytest.raises(ValueError):
            replica.save(Record(id="no/slash", title="x"))
    assert set(server_state(raw, bid, cid)) == {"good"}
