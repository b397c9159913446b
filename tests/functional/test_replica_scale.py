"""A replica at scale: the first pull of a large collection, then 100 changes and 50
deletions by another client, then a pull that transfers only those (records counted on
the wire), with the pull's memory measured (pages are streamed into SQLite).

``KINTO_ORM_REPLICA_SIZE`` sets the size: 3,000 records in ``make test`` (1,000 on
PostgreSQL), 100,000 for the
full proof: ``KINTO_ORM_REPLICA_SIZE=100000 pytest -s tests/functional/test_replica_scale.py``
(the memory backend then takes several minutes to store the records).
"""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kinto_orm import Client, Record
from kinto_orm.testing import KintoServer, new_credentials, unique_id

from .conftest import Raw, rec_path
from .test_replicas import Wire

#: Writes cost PostgreSQL several times what they cost the memory backend.
DEFAULT_SIZE = {"memory": 3000, "postgresql": 1000}
PAGE = 1000  # the server's page size here
CHUNK = 500  # records per seeding batch (memory)


class Entry(Record):
    title: str
    n: int
    group: str
    notes: str


@pytest.fixture(scope="module")
def big_server(kinto_backend: str, kinto_server: Any) -> Iterator[Any]:
    """On memory, a server of its own: no history, no attachments, big batches, and no
    permissions stored per record (the memory backend scans them all on every write).
    On PostgreSQL, the session's server (a second cluster costs more than it saves)."""
    if kinto_backend != "memory":
        yield kinto_server
        return
    settings = {"kinto.batch_max_requests": str(CHUNK), "kinto.explicit_permissions": "false"}
    with KintoServer(history=False, attachments=False, paginate_by=PAGE, settings=settings,
                     backend=kinto_backend) as server:
        yield server


def fill(raw: Raw, bid: str, cid: str, size: int) -> None:
    """Write ``size`` records with plain requests (batches of the server's size)."""
    chunk = int(raw.body("/")["settings"]["batch_max_requests"])
    for start in range(0, size, chunk):
        requests = [
            {"method": "PUT", "path": rec_path(bid, cid, f"e{i:06d}"),
             "body": {"data": {"title": f"entry {i}", "n": i, "group": f"g{i % 7}",
                               "notes": "lorem ipsum dolor sit amet " * 3}}}
            for i in range(start, min(start + chunk, size))
        ]
        response = raw.session.post(raw.url + "/batch", json={"requests": requests},
                                    timeout=300)
        assert response.status_code == 200, response.text
        assert all(r["status"] in (200, 201) for r in response.json()["responses"])


def changes(raw: Raw, bid: str, cid: str, size: int) -> None:
    """Another client: 100 updates and 50 deletions, through batch."""
    chunk = int(raw.body("/")["settings"]["batch_max_requests"])
    step = size // 150
    updated = [f"e{i * step:06d}" for i in range(100)]
    deleted = [f"e{i * step:06d}" for i in range(100, 150)]
    for method, ids, body in (("PATCH", updated, {"data": {"title": "changed"}}),
                              ("DELETE", deleted, None)):
        requests = [{"method": method, "path": rec_path(bid, cid, rid),
                     **({"body": body} if body else {})} for rid in ids]
        for start in range(0, len(requests), chunk):
            response = raw.session.post(raw.url + "/batch", timeout=300,
                                        json={"requests": requests[start:start + chunk]})
            assert all(r["status"] == 200 for r in response.json()["responses"])


@pytest.mark.slow
@pytest.mark.timeout(3600)  # the set-up: the memory backend stores 100,000 records in minutes
def test_incremental_pull_at_scale(big_server: KintoServer, kinto_backend: str,
                                   tmp_path: Path) -> None:
    size = int(os.environ.get("KINTO_ORM_REPLICA_SIZE") or DEFAULT_SIZE[kinto_backend])
    auth = new_credentials()
    bid, cid = unique_id("b"), unique_id("c")
    raw = Raw(big_server.url, auth)
    # Without explicit permissions the creator is not a writer: say it.
    raw.put(f"/buckets/{bid}", {}, permissions={"write": [raw.user_id()]})
    raw.put(f"/buckets/{bid}/collections/{cid}", {})
    fill(raw, bid, cid, size)
    with Client(big_server.url, auth=auth, bucket=bid) as client:
        replica = client.records(Entry, collection=cid).replica(tmp_path / "big.sqlite")
        wire = Wire(client)
        tracemalloc.start()
        started, cpu = time.perf_counter(), time.process_time()
        report = replica.pull()
        first_pull, cpu = time.perf_counter() - started, time.process_time() - cpu
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        wire_bytes = wire.bytes
        assert wire.records == size and len(report.created) == size
        assert replica.records().count() == size
        print(f"\nfirst pull of {size:,} records: {first_pull:.2f} s ({cpu:.2f} s client CPU), "
              f"{len(wire.requests)} requests, {wire_bytes / 1e6:.1f} MB on the wire, "
              f"peak Python memory {peak / 1e6:.1f} MB")
        # Memory flat: pages go into SQLite as they come; what grows with the size is
        # the report's id list (about 60 bytes an id), never the records.
        assert peak < 4 * (wire_bytes / len(wire.requests)) + 100 * size + 5e6

        changes(raw, bid, cid, size)
        wire.reset()
        started = time.perf_counter()
        report = replica.pull()
        second_pull = time.perf_counter() - started
        assert wire.records == 150  # only the changes, tombstones included
        assert len(report.updated) == 100 and len(report.deleted) == 50
        assert report.created == []
        assert replica.records().count() == size - 50
        assert replica.records().filter(title="changed").count() == 100
        print(f"then 100 changes and 50 deletions: pull {second_pull * 1000:.0f} ms, "
              f"{len(wire.requests)} request(s), {wire.records} records on the wire")
        wire.reset()
        assert replica.pull().ok and len(wire.requests) == 1 and wire.records == 0
        query_versus_round_trip(client, replica, cid)
        replica.close()
    raw.delete(f"/buckets/{bid}")
    raw.close()



def query_versus_round_trip(client: Client, replica: Any, cid: str) -> None:
    """The same filtered, sorted query: its first page from the server (one round trip,
    over the same records) against the replica (best of 3 each)."""
    def timed(run: Any) -> tuple[float, Any]:
        best, result = float("inf"), None
        for _ in range(3):
            started = time.perf_counter()
            result = run()
            best = min(best, time.perf_counter() - started)
        return best * 1000, result

    server = client.records(Entry, collection=cid).filter(group="g3", n__gte=10) \
        .sort("-n", "title").limit(10)
    local = replica.records().filter(group="g3", n__gte=10).sort("-n", "title")
    trip, remote = timed(server.all)
    first, found = timed(local.limit(10).all)
    every, matched = timed(local.all)
    assert [e.id for e in found] == [e.id for e in remote]
    print(f"filtered sorted query: one round trip {trip:.1f} ms (first 10 of the server's "
          f"answer); the replica: first 10 in {first:.1f} ms, all {len(matched):,} in "
          f"{every:.1f} ms")
    assert first < trip
