"""History snapshots: a collection's records as they were at a timestamp (``Query.at``).

>>> old = client.records(Todo).at(timestamp).all()

Rebuilt from the history plugin's entries of the collection, checked against the
records of today: the rebuild is pure (:func:`rebuild`) and the reading one operation,
shared by the sync and async clients. When history cannot tell the state at that time
(it starts later, or entries were purged), :class:`HistoryUnavailable` says so.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .capabilities import require
from .endpoints import endpoint
from .errors import KintoException
from .local_filters import matches, sort_records
from .models.base import KintoObject
from .models.state import Binding
from .protocol import Op

if TYPE_CHECKING:
    from ._client_like import ClientLike

T = TypeVar("T", bound=KintoObject)


class HistoryUnavailable(KintoException):
    """History does not reach back far enough to rebuild the collection at that time.

    ``.reaches_back_to`` is the oldest timestamp history covers for the collection (None
    when it has no entry at all).
    """

    def __init__(
        self, message: str | None = None, exception: BaseException | None = None, *,
        reaches_back_to: int | None = None, **kwargs: Any,
    ) -> None:
        super().__init__(message, exception, **kwargs)
        self.reaches_back_to = reaches_back_to


def _when(timestamp: int | None) -> str:
    if timestamp is None:
        return "never"
    moment = datetime.datetime.fromtimestamp(timestamp / 1000, tz=datetime.timezone.utc)
    return f"{timestamp} ({moment.isoformat(timespec='milliseconds')})"


def _stamp(entry: dict[str, Any]) -> int:
    """When the change an entry describes happened: the object's own timestamp."""
    target = entry.get("target") or {}
    return int((target.get("data") or {}).get("last_modified") or entry["last_modified"])


def rebuild(
    entries: list[dict[str, Any]],
    current: list[dict[str, Any]],
    timestamp: int,
    where: str,
) -> list[dict[str, Any]]:
    """The records (``{"data", "permissions"}``) of a collection at ``timestamp``, from
    its history ``entries`` (records and the collection itself) and today's records.

    Raises :class:`HistoryUnavailable` when some record's state at that time is unknown.
    """
    if not entries:
        raise HistoryUnavailable(
            f"No history for {where}: it cannot be rebuilt at {_when(timestamp)}. Was the "
            "history plugin enabled when it changed, or was its history purged?")
    reach = min(_stamp(e) for e in entries)
    if timestamp < reach:
        raise HistoryUnavailable(
            f"The history of {where} only reaches back to {_when(reach)}; "
            f"{_when(timestamp)} is older.", reaches_back_to=reach)
    # Deleting a collection logs no deletion of its records: entries older than its last
    # deletion before `timestamp` belong to a former collection of the same id.
    cutoff = max((_stamp(e) for e in entries if e.get("resource_name") == "collection"
                  and e.get("action") == "delete" and _stamp(e) <= timestamp), default=None)
    by_record: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        if entry.get("resource_name") != "record" or not entry.get("record_id"):
            continue
        if cutoff is not None and _stamp(entry) <= cutoff:
            continue
        by_record.setdefault(entry["record_id"], []).append(entry)
    out: list[dict[str, Any]] = []
    for record_id, changes in by_record.items():
        changes.sort(key=_stamp)
        before = [e for e in changes if _stamp(e) <= timestamp]
        if before:
            latest = before[-1]
            if latest.get("action") != "delete":
                target = latest.get("target") or {}
                out.append({"data": target.get("data") or {},
                            "permissions": target.get("permissions") or {}})
        elif changes[0].get("action") != "create":
            # Its first known change came later and was not its creation: what it held
            # at `timestamp` was never recorded.
            raise HistoryUnavailable(
                f"The history of {where} does not hold the state of record {record_id!r} at "
                f"{_when(timestamp)} (its first entry, at {_when(_stamp(changes[0]))}, is "
                f"an {changes[0].get('action')}): it was purged or predates the history "
                "plugin.", reaches_back_to=reach)
    for record in current:
        if record.get("id") in by_record:
            continue
        if int(record.get("last_modified") or 0) > timestamp:
            raise HistoryUnavailable(
                f"Record {record.get('id')!r} of {where} changed at "
                f"{_when(record.get('last_modified'))} without a history entry: history "
                f"cannot tell what it held at {_when(timestamp)}.", reaches_back_to=reach)
        out.append({"data": record, "permissions": {}})  # unchanged since before then
    out.sort(key=lambda body: -int(body["data"].get("last_modified") or 0))
    return out


def snapshot_op(
    client: ClientLike, bucket: str, collection: str, timestamp: int
) -> Op[list[dict[str, Any]]]:
    """Read the collection's history and records, and :func:`rebuild` it."""
    yield from require(client, "history", "Query.at()")
    entries = yield from client._paginated(
        endpoint("history", bucket=bucket), {"collection_id": collection}
    )
    current = yield from client._paginated(
        endpoint("records", bucket=bucket, collection=collection)
    )
    own = [e for e in entries if e.get("resource_name") in ("record", "collection")]
    where = endpoint("collection", bucket=bucket, collection=collection)
    return rebuild(own, current, timestamp, where)


@dataclass
class Snapshot(Generic[T]):
    """A collection as it was at ``timestamp`` (see :meth:`Query.at`): iterate it, or
    read it with :meth:`all` (``aall`` on an async client). Typed like the query."""

    client: ClientLike
    model: type[T]
    binding: Binding
    timestamp: int
    limit: int | None = None
    #: The query's filters and sort, applied to the rebuilt records (Kinto's meaning).
    filters: dict[str, str] = field(default_factory=dict)
    sort: tuple[str, ...] = ()

    def _op(self) -> Op[list[T]]:
        bucket, collection = self.binding.bucket, self.binding.collection
        assert bucket is not None and collection is not None
        bodies = yield from snapshot_op(self.client, bucket, collection, self.timestamp)
        if self.filters:
            bodies = [b for b in bodies if matches(b["data"], self.filters)]
        if self.sort:
            order = {id(b["data"]): b for b in bodies}
            bodies = [order[id(d)] for d in sort_records([b["data"] for b in bodies], self.sort)]
        return [self.model.from_kinto(b, self.binding) for b in bodies[: self.limit]]

    def all(self) -> list[T]:
        """Every record of the collection at ``timestamp`` that matches the query's
        filters, in the query's order (default: newest first)."""
        result: list[T] = self.client._run(self._op(), name="all")
        return result

    async def aall(self) -> list[T]:
        """Async :meth:`all`."""
        result: list[T] = await self.client._arun(self._op(), name="aall")
        return result

    def __iter__(self) -> Iterator[T]:
        return iter(self.all())

    async def __aiter__(self) -> AsyncIterator[T]:
        for item in await self.aall():
            yield item


__all__ = ["HistoryUnavailable", "Snapshot", "rebuild", "snapshot_op"]
