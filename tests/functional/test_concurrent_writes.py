"""Concurrent writes with default settings: zero failed, zero duplicated.

On PostgreSQL, concurrent transactions into one collection lose races and get a
``409 errno 122 "Integrity constraint violated, please retry."`` (rolled back, safe to
resend); the memory backend serialises writes and never does. The client resends those
by default, and bulk concurrency backs off while they come. Every test reads the server
back with plain requests.

Sizes are CI-sized; ``KINTO_ORM_STRESS=1`` runs the sizes of the issue (1,000 saves in one
gather, 10,000 records in a bulk create, ...).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import Counter
from typing import Any

import pytest

from kinto_orm import AsyncClient, Client
from kinto_orm.testing import unique_id

from .conftest import Note, Raw, rec_path

STRESS = os.environ.get("KINTO_ORM_STRESS") == "1"


def size(ci: int, full: int) -> int:
    return full if STRESS else ci


def assert_exactly(raw: Raw, bid: str, cid: str, expected: set[int]) -> None:
    """The collection holds one record per expected ``n``: nothing lost, nothing twice."""
    found = Counter(r["n"] for r in raw.all(rec_path(bid, cid), _limit=10000))
    duplicated = {n: c for n, c in found.items() if c > 1}
    assert not duplicated, f"{len(duplicated)} values written twice"
    missing = expected - set(found)
    assert not missing, f"{len(missing)} missing, e.g. {sorted(missing)[:5]}"
    assert set(found) == expected


def test_asave_in_one_gather(kinto_server: Any, client: Client, raw: Raw, bid: str,
                             cid: str) -> None:
    count = size(200, 1000)

    async def run() -> None:
        async with AsyncClient(kinto_server.url, auth=client.session.auth, bucket=bid,
                               collection=cid) as aclient:
            notes = [Note(title=f"note {i}", n=i).bind(aclient) for i in range(count)]
            await asyncio.gather(*(note.asave() for note in notes))
            assert all(note.last_modified for note in notes)

    asyncio.run(run())
    assert_exactly(raw, bid, cid, set(range(count)))


def test_abulk_create_with_concurrency_8(kinto_server: Any, client: Client, raw: Raw,
                                         bid: str, cid: str) -> None:
    count = size(400, 10_000)

    async def run() -> None:
        async with AsyncClient(kinto_server.url, auth=client.session.auth, bucket=bid,
                               collection=cid) as aclient:
            notes = [Note(title=f"note {i}", n=i) for i in range(count)]
            result = await aclient.records(Note).abulk_create(notes, concurrency=8)
            assert result.ok, [str(f) for f in result.failed[:3]]
            assert result.done == count

    asyncio.run(run())
    assert_exactly(raw, bid, cid, set(range(count)))


def test_eight_threads_each_running_a_sync_bulk_create(client: Client, raw: Raw, bid: str,
                                                       cid: str) -> None:
    per_thread = size(25, 500)
    results: dict[int, Any] = {}

    def work(thread: int) -> None:
        notes = [Note(title="t", n=thread * per_thread + i) for i in range(per_thread)]
        results[thread] = client.records(Note, collection=cid).bulk_create(notes)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r.ok and r.done == per_thread for r in results.values()), results
    assert_exactly(raw, bid, cid, set(range(8 * per_thread)))


def test_sync_bulk_create_with_concurrency(client: Client, raw: Raw, bid: str,
                                           cid: str) -> None:
    count = size(200, 2000)
    seen: list[int] = []
    notes = (Note(title="t", n=i) for i in range(count))  # a generator: read lazily
    result = client.records(Note, collection=cid).bulk_create(
        notes, concurrency=8, progress=lambda done, total: seen.append(done)
    )
    assert result.ok and result.done == count, result.failed[:3]
    assert seen[-1] == count and seen == sorted(seen)
    assert_exactly(raw, bid, cid, set(range(count)))


def test_sync_bulk_create_keeps_every_connection_of_its_threads(
    client: Client, raw: Raw, bid: str, cid: str, caplog: pytest.LogCaptureFixture
) -> None:
    # 16 chunks in flight need 16 connections; requests' default pool keeps 10 and throws
    # the others away, each with a WARNING on the user's stderr.
    notes = [Note(title="t", n=i) for i in range(16 * 25)]
    with caplog.at_level("WARNING", logger="urllib3"):
        result = client.records(Note, collection=cid).bulk_create(notes, concurrency=16)
    assert result.ok and result.done == len(notes), result.failed[:3]
    assert not [r.getMessage() for r in caplog.records if r.name.startswith("urllib3")]
    assert_exactly(raw, bid, cid, set(range(len(notes))))


def test_sync_bulk_save_and_delete_with_concurrency(client: Client, raw: Raw, bid: str,
                                                    cid: str) -> None:
    query = client.records(Note, collection=cid)
    notes = [Note(id=f"n{i:04d}", title="t", n=i) for i in range(100)]
    assert query.bulk_save(notes, concurrency=4).ok
    assert_exactly(raw, bid, cid, set(range(100)))
    result = query.bulk_delete([f"n{i:04d}" for i in range(0, 100, 2)], concurrency=4)
    assert result.ok and result.done == 50
    assert_exactly(raw, bid, cid, set(range(1, 100, 2)))


def test_kinto_http_batch_in_threads(client: Client, raw: Raw, bid: str, cid: str) -> None:
    per_thread = size(20, 250)
    errors: list[BaseException] = []

    def work(thread: int) -> None:
        try:
            with client.batch() as batch:
                for i in range(per_thread):
                    batch.create_record(data={"n": thread * per_thread + i}, collection=cid)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:2]
    assert_exactly(raw, bid, cid, set(range(8 * per_thread)))


def test_kinto_http_create_record_in_gather(kinto_server: Any, client: Client, raw: Raw,
                                            bid: str, cid: str) -> None:
    count = size(200, 1000)

    async def run() -> None:
        async with AsyncClient(kinto_server.url, auth=client.session.auth, bucket=bid,
                               collection=cid) as aclient:
            await asyncio.gather(*(aclient.create_record(data={"n": i}) for i in range(count)))

    asyncio.run(run())
    assert_exactly(raw, bid, cid, set(range(count)))


def test_conflicts_can_be_left_to_the_caller(kinto_server: Any, kinto_backend: str,
                                             client: Client, bid: str) -> None:
    """``conflict_retries = 0`` gives kinto-http's behaviour back: on PostgreSQL the
    409 then reaches the caller (the race is real, the default retry is what hides it)."""
    if kinto_backend != "postgresql":
        pytest.skip("the memory backend serialises writes: no conflict to see")
    cid = unique_id("c")
    client.create_collection(id=cid)

    async def run() -> list[Any]:
        async with AsyncClient(kinto_server.url, auth=client.session.auth, bucket=bid,
                               collection=cid) as aclient:
            aclient.session.policy.conflict_retries = 0
            return await asyncio.gather(
                *(aclient.create_record(data={"n": i}) for i in range(200)),
                return_exceptions=True,
            )

    outcomes = asyncio.run(run())
    conflicts = [o for o in outcomes if isinstance(o, Exception)]
    assert conflicts, "no 409 without the default retry: the test proves nothing"
    assert all(getattr(c, "status_code", None) == 409 and c.errno == 122 for c in conflicts)
