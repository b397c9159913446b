"""Pull and push as operations (generators of requests, see ``protocol.Op``): the sync and
async replicas run the same ones, so they differ only in how requests are sent.

Pull: ``GET records?_since=<timestamp>`` (tombstones included), page after page, each page
copied into SQLite by SQLite itself (``json_each`` over the page's bytes: no Python object
per record), all pages in one transaction that ends by storing the new timestamp. The new
timestamp is the list ETag of the *first* page, taken before any record was read: a
record changed on the server while later pages load has a newer ``last_modified`` than
that, so the next pull asks for it again (as kinto.js does). With conflicts left
(``"manual"``) the timestamp stays where it was, as kinto.js keeps it: the next pull
sees those server versions again. An interrupted pull (lost
connection, killed process) rolls back whole: the file stays at its last complete state,
and the next pull starts again from the same timestamp.

Push: each local change is one write with the server's concurrency control (creations with
``If-None-Match: *``, updates and deletions with ``If-Match`` of the version they were made
on), through ``POST /batch`` (``Batch``: chunks of the server's size, failures reported).
A 412 is a conflict, settled by the strategy.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from .. import protocol as core
from ..batch import Batch
from ..errors import KintoBatchException, KintoException
from ..protocol import Op, Request, Response
from .report import Conflict, SyncReport
from .store import Row, Store

#: Turns a stored record's JSON into the replica's model (None for None).
Make = Callable[[str | None], Any]

_LOAD_PAGE = (
    "INSERT OR REPLACE INTO incoming(id, data, last_modified, deleted) "
    "SELECT value ->> 'id', value, value ->> 'last_modified', ifnull(value ->> 'deleted', 0) "
    "FROM json_each(?, '$.data')"
)
_LOCALLY_CHANGED = (
    "SELECT i.id, i.data, i.last_modified, i.deleted, r.data, r.last_modified, r.status, r.base "
    "FROM incoming i JOIN records r ON r.id = i.id WHERE r.status != 'synced'"
)
_DELETED = "SELECT i.id FROM incoming i JOIN records r ON r.id = i.id WHERE i.deleted"
_CREATED = (
    "SELECT i.id FROM incoming i WHERE NOT i.deleted "
    "AND NOT EXISTS (SELECT 1 FROM records r WHERE r.id = i.id)"
)
# A version the replica already holds (the echo of its own push) is no update.
_UPDATED = (
    "SELECT i.id FROM incoming i JOIN records r ON r.id = i.id "
    "WHERE NOT i.deleted AND r.last_modified IS NOT i.last_modified"
)
_APPLY = (
    "INSERT INTO records(id, data, last_modified, status, base) "
    "SELECT id, data, last_modified, 'synced', last_modified FROM incoming WHERE NOT deleted "
    "ON CONFLICT(id) DO UPDATE SET data = excluded.data, last_modified = excluded.last_modified, "
    "status = 'synced', base = excluded.base"
)


# ---------------------------------------------------------------------------- pull


def pull_op(
    store: Store, path: str, server_url: str, strategy: str, make: Make, report: SyncReport[Any]
) -> Op[None]:
    """Bring the replica to the server's current state (see the module docstring)."""
    since = store.timestamp
    params = {"_since": core.quote_etag(since)} if since is not None else {}
    request: Request | None = Request("GET", path, params=params)
    first_etag: int | None = None
    conflicts = len(report.conflicts)
    # Rolled back whole if the pull stops part way: an error, or the op closed unfinished.
    with store.transaction():
        while request is not None:
            response = yield request
            if first_etag is None:
                first_etag = core.etag_value(response.headers)
            _apply_page(store, response, strategy, make, report)
            request = core.next_page_request(response, server_url)
            del response
        # Conflicts left (manual): the timestamp stays, so that the next pull brings
        # their server versions again (the others are not reported twice).
        if first_etag is not None and len(report.conflicts) == conflicts:
            store.set_timestamp(first_etag)


def _apply_page(
    store: Store, response: Response, strategy: str, make: Make, report: SyncReport[Any]
) -> None:
    db = store.db
    db.execute("DELETE FROM incoming")
    text = response.content.decode("utf-8")
    try:
        kind = db.execute("SELECT json_type(?, '$.data')", (text,)).fetchone()[0]
    except sqlite3.OperationalError:  # not JSON at all
        kind = None
    if kind != "array":
        raise response._unexpected("expected a JSON object with a 'data' list.")
    db.execute(_LOAD_PAGE, (text,))
    del text
    for found in db.execute(_LOCALLY_CHANGED).fetchall():
        local = Row(found[0], found[4], found[5], found[6], found[7])
        remote = None if found[3] else Row(found[0], found[1], found[2], "synced", found[2])
        _merge_change(store, local, remote, found[2], strategy, make, report)
        db.execute("DELETE FROM incoming WHERE id = ?", (found[0],))
    report.deleted += [rid for (rid,) in db.execute(_DELETED)]
    db.execute("DELETE FROM records WHERE id IN (SELECT id FROM incoming WHERE deleted)")
    report.created += [rid for (rid,) in db.execute(_CREATED)]
    report.updated += [rid for (rid,) in db.execute(_UPDATED)]
    db.execute(_APPLY)


def _merge_change(
    store: Store, local: Row, remote: Row | None, version: int, strategy: str, make: Make,
    report: SyncReport[Any],
) -> None:
    """A server change to a record changed locally too: settle it by ``strategy``."""
    if local.base == version:
        return  # the local change is made on this very version (a resolved conflict)
    if _settle(store, local, remote, strategy, make, report) == "same":
        report.updated.append(local.id)


def _settle(
    store: Store, local: Row, remote: Row | None, strategy: str, make: Make,
    report: SyncReport[Any],
) -> str:
    """A record changed both locally and on the server (``remote`` None: deleted there),
    met by a pull or by a push's 412, settled by ``strategy``. Returns what became of it:
    ``"gone"`` (deleted on both sides), ``"same"`` (the same change on both sides, now
    synced), ``"conflict"`` (left to the user: ``manual``), ``"remote"`` (the server's
    version taken) or ``"rebased"`` (the local change now goes over the server's version
    at the next push)."""
    if remote is None and local.status == "deleted":
        store.remove(local.id)
        return "gone"
    if remote is not None and local.status != "deleted" and local.content() == remote.content():
        store.synced(local.id, remote.data, remote.last_modified or 0)
        return "same"
    conflict = _conflict(local, remote, make)
    if strategy == "manual":
        report.conflicts.append(conflict)
        return "conflict"
    report.resolved.append(conflict)
    if strategy in ("server_wins", "pull_only"):
        _take_remote(store, local.id, remote, report)
        return "remote"
    _rebase(store, local, None if remote is None else remote.last_modified)
    return "rebased"


def _conflict(local: Row, remote: Row | None, make: Make) -> Conflict[Any]:
    return Conflict(
        local.id,
        None if local.status == "deleted" else make(local.data),
        None if remote is None else make(remote.data),
    )


def _take_remote(store: Store, id: str, remote: Row | None, report: SyncReport[Any]) -> None:
    if remote is None:
        store.remove(id)
        report.deleted.append(id)
    else:
        store.synced(id, remote.data, remote.last_modified or 0)
        report.updated.append(id)


def _rebase(store: Store, local: Row, version: int | None) -> None:
    """Make the local change apply over server version ``version`` (None: gone)."""
    if version is None:
        if local.status == "deleted":
            store.remove(local.id)
        else:  # recreate it
            store.put(Row(local.id, local.data, None, "created", None))
        return
    status = "deleted" if local.status == "deleted" else "updated"
    store.put(Row(local.id, local.data, version, status, version))


# ---------------------------------------------------------------------------- push


def push_op(
    client: Any, store: Store, record_path: Callable[[str], str], strategy: str, make: Make,
    report: SyncReport[Any],
) -> Op[None]:
    """Send the local changes; a second round sends what ``client_wins`` rebased."""
    if strategy == "pull_only":
        return
    skip = {conflict.id for conflict in report.conflicts}
    only: set[str] | None = None  # the second round: only what was rebased
    for _round in range(2):
        rebased: list[str] = []
        batch = Batch(client)
        for row in store.pending():
            if row.id in skip or (only is not None and row.id not in only):
                continue
            if row.status == "deleted" and row.base is None:
                store.remove(row.id)  # created and deleted locally: nothing to send
                continue
            op = _write_op(store, row, record_path(row.id), strategy, make, report, rebased)
            batch.queue(op, placeholder=True, tag=row.id)
        if not len(batch):
            return
        try:
            yield from batch._op_flush()
        except KintoBatchException:
            pass  # every failure is in batch.failures
        for rid, error in batch.failures:
            report.errors.append((rid, error or KintoException("failed")))
            skip.add(rid)
        if not rebased:
            return
        only = set(rebased)


def _write_request(row: Row, path: str) -> Request:
    if row.status == "deleted":
        return Request("DELETE", path, headers=core.save_headers(True, row.base))
    data = json.loads(row.data)
    data.pop("last_modified", None)
    return Request("PUT", path, json={"data": data}, headers=core.save_headers(True, row.base))


def _write_op(
    store: Store, row: Row, path: str, strategy: str, make: Make, report: SyncReport[Any],
    rebased: list[str],
) -> Op[None]:
    try:
        response = yield _write_request(row, path)
    except KintoException as exc:
        if exc.status_code != 412:
            raise
        existing = exc.details.get("existing") if isinstance(exc.details, dict) else None
        _push_conflict(store, row, existing, strategy, make, report, rebased)
        return
    report.published.append(row.id)
    if row.status == "deleted":
        store.remove(row.id)
        return
    data = (response.json() or {}).get("data") or {}
    version = int(data.get("last_modified") or 0)
    now = store.row(row.id)
    if now is not None and now.data != row.data:  # changed locally while being sent
        store.put(Row(row.id, now.data, version, now.status, version))
    else:
        store.synced(row.id, json.dumps(data, separators=(",", ":")), version)


def _push_conflict(
    store: Store, row: Row, existing: dict[str, Any] | None, strategy: str, make: Make,
    report: SyncReport[Any], rebased: list[str],
) -> None:
    """A write refused with 412: the server holds another version (``existing``)."""
    remote = None
    if existing is not None:
        version = int(existing.get("last_modified") or 0)
        remote = Row(row.id, json.dumps(existing, separators=(",", ":")), version, "synced",
                     version)
    outcome = _settle(store, row, remote, strategy, make, report)
    if outcome == "same":  # an earlier push landed
        report.published.append(row.id)
    elif outcome == "rebased":
        rebased.append(row.id)


__all__ = ["Make", "pull_op", "push_op"]
