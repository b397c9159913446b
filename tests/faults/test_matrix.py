"""Bulk writes through a faulty network: nothing lost, nothing duplicated, every failure
reported by id.

For each fault of the proxy and each of four write modes (sync batch, sync single saves,
async batch, async single saves under ``asyncio.gather`` + a semaphore), typed records
with client-chosen ids are saved through the proxy with ``retry=3, retry_after=0``.
Afterwards the collection is read straight from the server and compared with what was
sent and with what the library reported.

``pytest -s tests/faults/test_matrix.py`` prints the fault matrix at the end.
Counts: 200 records per batch run and 100 per single-save run by default (the whole
folder then runs in about 75 s); ``KINTO_ORM_FAULT_RECORDS=2000`` writes 2000 in every run
(about 15 minutes).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from kinto_orm import AsyncClient, Client, KintoBatchException, KintoException

from .conftest import Item, Place
from .proxy import AFTER_FORWARDING, BACKOFF, FAULTS, SLOW, Event, FaultProxy, Rule

#: Records per run: ``KINTO_ORM_FAULT_RECORDS`` for every mode when set (2000 for the
#: full-size run: ~15 minutes), else 200 per batch run and 100 per single-save run.
RECORDS = os.environ.get("KINTO_ORM_FAULT_RECORDS")
MODES = ("sync_batch", "sync_single", "async_batch", "async_single")
RETRY = 3
CONCURRENCY = 8
TIMEOUT = 10.0
#: Slow answers: the client gives up after SLOW_TIMEOUT, the proxy answers after SLOW_DELAY.
SLOW_TIMEOUT = 1.0
SLOW_DELAY = 1.5


def count_for(mode: str) -> int:
    """Records written by one run (single saves are one request each: half as many,
    unless the size is set)."""
    if RECORDS:
        return int(RECORDS)
    return 200 if mode.endswith("batch") else 100


def plan_for(fault: str, mode: str) -> list[Rule]:
    """Where the fault hits: every 3rd ``POST /batch`` in batch modes, every 7th record
    ``PUT`` in single modes. The retry of a faulted request is let through
    (``spare_retries``): with 8 requests in flight, it could otherwise land on the next
    multiple of ``every`` four times in a row and be reported after ``RETRY`` tries, which
    is right of the client but not what this matrix tests. Slow answers and ``Backoff``
    cost real seconds: they fire at most twice (once) per run."""
    where: dict[str, Any] = {"spare_retries": True}
    if mode.endswith("batch"):
        where.update(path=r"/batch$", methods=["POST"], every=3)
    else:
        where.update(path=r"/records/", methods=["PUT"], every=7)
    if fault == SLOW:
        return [Rule(fault, delay=SLOW_DELAY, limit=2, **where)]
    if fault == BACKOFF:
        return [Rule(fault, backoff="1", limit=1, **where)]
    return [Rule(fault, **where)]


# ---------------------------------------------------------------------------- running


@dataclass
class Outcome:
    """What one run sent, what the library reported, what the server holds."""

    fault: str
    mode: str
    sent: list[Item]
    reported: dict[str, BaseException] = field(default_factory=dict)
    unattributed: list[BaseException] = field(default_factory=list)
    seconds: float = 0.0
    server: list[dict[str, Any]] = field(default_factory=list)
    injected: int = 0
    requests: int = 0
    refused_writes: list[str] = field(default_factory=list)

    @property
    def ids(self) -> set[str]:
        return {str(item.id) for item in self.sent}

    @property
    def found(self) -> set[str]:
        return {r["id"] for r in self.server}

    @property
    def duplicated(self) -> int:
        return len(self.server) - len(self.found)

    @property
    def extra(self) -> set[str]:
        return self.found - self.ids

    @property
    def refused(self) -> set[str]:
        """Records whose write the server refused in an answer the fault then hid (on
        PostgreSQL, concurrent writes get transient 409s: "Integrity constraint violated,
        please retry"). Not applied, and the client cannot know it: reported, not lost."""
        return set(self.refused_writes)

    @property
    def lost(self) -> set[str]:
        """Missing on the server and never reported: silently lost."""
        return self.ids - self.found - set(self.reported)

    @property
    def phantom(self) -> set[str]:
        """Reported as failed, yet on the server (the write went through)."""
        return set(self.reported) & self.found

    @property
    def wrong_data(self) -> list[str]:
        sent = {str(item.id): item for item in self.sent}
        return [
            r["id"] for r in self.server
            if r["id"] in sent
            and (r.get("n"), r.get("title")) != (sent[r["id"]].n, sent[r["id"]].title)
        ]

    @property
    def raw_errors(self) -> list[BaseException]:
        """Exceptions that are not :class:`KintoException` (a leak of the transport)."""
        errors = [*self.reported.values(), *self.unattributed]
        return [e for e in errors if not isinstance(e, KintoException)]

    @property
    def stale(self) -> list[str]:
        """Saved without error, but the model does not hold the server's state."""
        server = {r["id"]: r for r in self.server}
        return [
            str(item.id) for item in self.sent
            if str(item.id) not in self.reported
            and str(item.id) in server
            and item.last_modified != server[str(item.id)]["last_modified"]
        ]


def _record_id(exc: BaseException) -> str | None:
    request = getattr(exc, "request", None)
    path = getattr(request, "path", None)
    return path.rsplit("/", 1)[-1] if isinstance(path, str) and "/records/" in path else None


def _collect_batch_error(exc: BaseException, outcome: Outcome, batch: Any) -> None:
    """A batch raises KintoBatchException (4xx answers), or, as kinto-http, the error of
    the chunk that stopped it: then ``batch.failures`` reports each operation."""
    if isinstance(exc, KintoBatchException):
        errors: list[Any] = exc.exceptions
    else:
        errors = [error for _, error in batch.failures if error is not None]
        if not errors:  # the whole batch raised something that names no operation
            outcome.unattributed.append(exc)
    for error in errors:
        rid = _record_id(error)
        if rid is None:
            outcome.unattributed.append(error)
        else:
            outcome.reported[rid] = error


def run_sync(mode: str, client: Client, items: list[Item], outcome: Outcome) -> None:
    if mode == "sync_batch":
        batch = client.batch()
        try:
            with batch:
                for item in items:
                    item.save()
        except Exception as exc:
            _collect_batch_error(exc, outcome, batch)
        return
    for item in items:
        try:
            item.save()
        except Exception as exc:
            outcome.reported[str(item.id)] = exc


async def run_async(mode: str, client: AsyncClient, items: list[Item], outcome: Outcome) -> None:
    try:
        if mode == "async_batch":
            batch = client.batch()
            try:
                async with batch:
                    for item in items:
                        await item.asave()
            except Exception as exc:
                _collect_batch_error(exc, outcome, batch)
            return
        limit = asyncio.Semaphore(CONCURRENCY)

        async def save(item: Item) -> None:
            async with limit:
                try:
                    await item.asave()
                except Exception as exc:
                    outcome.reported[str(item.id)] = exc

        await asyncio.gather(*(save(item) for item in items))
    finally:
        await client.close()


def refused_writes(events: list[Event]) -> list[str]:
    """The records the server refused in the answers the proxy hid or garbled: a single
    write's own status, or the sub-responses of a batch."""
    ids = []
    for event in events:
        if event.upstream is None:
            continue
        status, content = event.upstream
        if "/records/" in event.path and status >= 400:
            ids.append(event.path.rsplit("/", 1)[-1])
        elif event.path.endswith("/batch") and status < 400:
            for answer in json.loads(content).get("responses", []):
                if answer["status"] >= 400 and "/records/" in answer["path"]:
                    ids.append(answer["path"].rsplit("/", 1)[-1])
    return ids


def bulk_write(fault: str, mode: str, place: Place, proxy: FaultProxy) -> Outcome:
    """Write ``count_for(mode)`` records through ``proxy`` under ``fault``; read back."""
    timeout = SLOW_TIMEOUT if fault == SLOW else TIMEOUT
    settings: dict[str, Any] = {"retry": RETRY, "retry_after": 0, "timeout": timeout}
    proxy.set_plan(plan_for(fault, mode))
    started = time.monotonic()
    if mode.startswith("sync"):
        client = place.client(proxy, **settings)
        outcome = Outcome(fault, mode, place.items(client, count_for(mode)))
        try:
            run_sync(mode, client, outcome.sent, outcome)
        finally:
            client.close()
    else:
        aclient = place.aclient(proxy, **settings)
        outcome = Outcome(fault, mode, place.items(aclient, count_for(mode)))
        asyncio.run(run_async(mode, aclient, outcome.sent, outcome))
    outcome.seconds = time.monotonic() - started
    outcome.injected = sum(proxy.injected.values())
    outcome.requests = proxy.requests
    outcome.server = place.server_records()
    outcome.refused_writes = refused_writes(proxy.events_for())
    RESULTS.append(outcome)
    return outcome


# ---------------------------------------------------------------------------- the matrix

#: Faults a retry (or a wait) fully hides: no failure may be reported.
RECOVERABLE = (frozenset(FAULTS) - AFTER_FORWARDING) | {BACKOFF}

#: Known library bugs, by (fault, mode): see the final report and the dedicated tests.
KNOWN_BUGS: dict[tuple[str, str], str] = {}

RESULTS: list[Outcome] = []


def _cases() -> list[Any]:
    cases = []
    for fault in FAULTS:
        for mode in MODES:
            bug = KNOWN_BUGS.get((fault, mode))
            marks = [pytest.mark.xfail(reason=f"BUG: {bug}", strict=True)] if bug else []
            cases.append(pytest.param(fault, mode, id=f"{fault}-{mode}", marks=marks))
    return cases


def check(outcome: Outcome) -> None:
    """The invariants of a bulk write through faults."""
    what = f"{outcome.fault} x {outcome.mode}"
    assert outcome.injected > 0, f"{what}: the proxy injected nothing"
    assert not outcome.raw_errors, f"{what}: not KintoException: {outcome.raw_errors[:3]!r}"
    assert not outcome.unattributed, (
        f"{what}: failures not reported by id: {outcome.unattributed[:3]!r}"
    )
    assert outcome.duplicated == 0, f"{what}: {outcome.duplicated} duplicated records"
    assert not outcome.extra, f"{what}: records nobody sent: {sorted(outcome.extra)[:5]}"
    assert not outcome.wrong_data, f"{what}: records with other data: {outcome.wrong_data[:5]}"
    assert not outcome.lost, f"{what}: {len(outcome.lost)} lost without a report: " + str(
        sorted(outcome.lost)[:5]
    )
    assert not outcome.stale, f"{what}: saved models without the server state: {outcome.stale[:5]}"
    if outcome.fault in RECOVERABLE:
        assert not outcome.reported, (
            f"{what}: a recoverable fault was reported as a failure: "
            f"{next(iter(outcome.reported.values()))}"
        )
        assert outcome.found == outcome.ids
    else:  # the proxy forwarded every request: the server applied every write it accepted
        # (but a batch stops at a failed chunk, as kinto-http's: what it did not send is
        # reported as "not sent")
        unsent = {rid for rid, error in outcome.reported.items()
                  if "not sent" in getattr(error, "description", "")}
        missing = outcome.ids - outcome.found - unsent
        assert missing <= outcome.refused, (
            f"{what}: the server lacks forwarded writes: {sorted(missing - outcome.refused)[:5]}"
        )


@pytest.mark.parametrize(("fault", "mode"), _cases())
def test_bulk_write_through_fault(fault: str, mode: str, place: Place, proxy: FaultProxy) -> None:
    check(bulk_write(fault, mode, place, proxy))


def _verdict(outcome: Outcome) -> str:
    try:
        check(outcome)
    except AssertionError as exc:
        return "BUG: " + str(exc).split("\n")[0].split(": ", 1)[-1][:60]
    return "ok (phantom)" if outcome.phantom else "ok"


def format_matrix(results: list[Outcome]) -> str:
    head = (
        f"{'fault':<12} {'mode':<13} {'expected':>8} {'found':>6} {'reported':>8} "
        f"{'phantom':>7} {'lost':>5} {'dup':>4} {'raw':>4} {'faults':>6} {'reqs':>5} "
        f"{'secs':>5}  verdict"
    )
    lines = [head, "-" * len(head)]
    for o in results:
        lines.append(
            f"{o.fault:<12} {o.mode:<13} {len(o.ids):>8} {len(o.found & o.ids):>6} "
            f"{len(o.reported) + len(o.unattributed):>8} {len(o.phantom):>7} "
            f"{len(o.lost):>5} {o.duplicated:>4} {len(o.raw_errors):>4} {o.injected:>6} "
            f"{o.requests:>5} {o.seconds:>5.1f}  {_verdict(o)}"
        )
    lines += [
        "",
        "expected: records sent (all should end on the server); found: on the server;",
        "reported: failures raised by id (+ errors naming no record); phantom: reported but",
        "on the server (the write went through, the answer was lost); lost: missing and",
        "never reported; raw: errors that are not KintoException; faults: injected.",
    ]
    return "\n".join(lines)


def test_zz_print_fault_matrix() -> None:
    """Print the matrix of the runs above (``pytest -s``)."""
    print(f"\n\nFAULT MATRIX (retry={RETRY}, retry_after=0)\n" + format_matrix(RESULTS))

