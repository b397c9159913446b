"""``Replica[T]``: a collection kept in a SQLite file, synced incrementally both ways.

>>> replica = client.records(Todo).replica("todos.sqlite")
>>> replica.pull()                                   # only what changed since the last pull
>>> replica.records().filter(done=False).sort("-priority").all()   # local, no network
>>> replica.save(Todo(title="offline"))              # a local write...
>>> replica.push()                                   # ...sent with the server's concurrency control
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import TypeAdapter

from .. import protocol as core
from ..endpoints import check_id
from ..errors import NotFound
from ..models.base import KintoObject
from ..models.state import Binding, share_state
from .local import LocalQuery
from .report import STRATEGIES, Conflict, Strategy, SyncReport
from .store import Row, Store
from .sync import pull_op, push_op

if TYPE_CHECKING:
    from .._client_like import ClientLike

T = TypeVar("T", bound=KintoObject)


@lru_cache(maxsize=128)
def _list_of(model: type[KintoObject]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def _check_strategy(strategy: str) -> None:
    if strategy not in STRATEGIES:
        raise ValueError(
            f"Unknown strategy {strategy!r}: use one of " + ", ".join(map(repr, STRATEGIES)) + "."
        )


class Replica(Generic[T]):
    """A Kinto collection kept in a local SQLite file (``":memory:"`` for none), synced
    incrementally: :meth:`pull` brings what changed on the server, :meth:`push` sends
    what changed locally, :meth:`synchronize` does both; :meth:`records` queries the
    local copy. Get one with ``client.records(Todo).replica("todos.sqlite")``.

    Sync methods need a ``Client``; on an ``AsyncClient`` use :meth:`apull`,
    :meth:`apush` and :meth:`asynchronize`. The local methods are the same for both.
    """

    def __init__(
        self, client: ClientLike, model: type[T], path: str, binding: Binding,
        file: str | os.PathLike[str],
    ) -> None:
        self._client = client
        self._model = model
        self._path = path  # the records list, e.g. /buckets/b/collections/c/records
        self._binding = binding
        self._store = Store(file, client.server_url, path)

    def __repr__(self) -> str:
        return (f"<Replica {self._model.__name__} {self._path} in {self._store.path} "
                f"at {self.timestamp}>")

    # ------------------------------------------------------------------ objects

    def _make(self, text: str | None) -> T | None:
        if text is None:
            return None
        return self._make_many([text])[0]

    def _make_many(self, texts: list[str]) -> list[T]:
        items: list[T] = _list_of(self._model).validate_json("[" + ",".join(texts) + "]")
        share_state(items, _binding=self._binding)
        return items

    def _record_path(self, id: str) -> str:
        return f"{self._path}/{id}"

    # ------------------------------------------------------------------ local state

    @property
    def timestamp(self) -> int | None:
        """The server timestamp of the last complete pull (None before the first)."""
        return self._store.timestamp

    @property
    def path(self) -> str:
        """The SQLite file (or ``":memory:"``)."""
        return self._store.path

    def records(self) -> LocalQuery[T]:
        """A query over the local copy: ``replica.records().filter(done=False).all()``."""
        return LocalQuery(self._store, self._model, self._make_many)

    def get(self, id: str) -> T:
        """The local version of record ``id``; raises ``NotFound`` when it has none."""
        return self.records().get(id)

    def save(self, obj: T) -> T:
        """Keep ``obj`` as the local version of its record (an id is given to a new one);
        the next :meth:`push` sends it. Returns ``obj``."""
        if not isinstance(obj, self._model):
            raise TypeError(f"This replica holds {self._model.__name__} objects, "
                            f"not {type(obj).__name__}.")
        data = obj._write_data()  # checked against the model, as a save to Kinto would be
        if obj.id is None:
            obj.id = core.new_record_id()
            data["id"] = obj.id
        check_id(obj.id)
        with self._store.transaction():
            row = self._store.row(obj.id)
            if row is None:
                row = Row(obj.id, "", None, "created", None)
            elif row.status in ("synced", "deleted"):
                row.status = "updated"
            if row.last_modified is not None:
                data["last_modified"] = row.last_modified
            row.data = core.dumps(data).decode()
            self._store.put(row)
        return obj

    def delete(self, id: str) -> None:
        """Delete record ``id`` locally; the next :meth:`push` deletes it on the server."""
        with self._store.transaction():
            row = self._store.row(id)
            if row is None or row.status == "deleted":
                raise NotFound(f"No record {id!r} in the replica {self._store.path}.")
            if row.status == "created":
                self._store.remove(id)  # never sent: nothing to delete on the server
            else:
                row.status = "deleted"
                self._store.put(row)

    def resolve(self, conflict: Conflict[T], obj: T | None) -> None:
        """Settle ``conflict`` by keeping ``obj`` (None: the record deleted) as the local
        version; the next push sends it over the server's version it conflicted with."""
        remote = conflict.remote
        version = None if remote is None else remote.last_modified
        with self._store.transaction():
            if obj is None:
                row = self._store.row(conflict.id)
                if version is None:
                    self._store.remove(conflict.id)
                elif row is not None:
                    self._store.put(Row(conflict.id, row.data, version, "deleted", version))
                return
            data = obj._write_data()
            data["id"] = conflict.id
            if version is not None:
                data["last_modified"] = version
            status = "created" if version is None else "updated"
            self._store.put(Row(conflict.id, core.dumps(data).decode(), version, status, version))

    def pending(self) -> dict[str, str]:
        """The local changes the next push sends: ``{id: "created" | "updated" | "deleted"}``."""
        return {row.id: row.status for row in self._store.pending()}

    def close(self) -> None:
        """Close the SQLite file."""
        self._store.close()

    def __enter__(self) -> Replica[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ operations

    def _op_pull(self, strategy: str, report: SyncReport[T]) -> core.Op[SyncReport[T]]:
        yield from pull_op(self._store, self._path, self._client.server_url, strategy,
                           self._make, report)
        return report

    def _op_push(self, strategy: str, report: SyncReport[T]) -> core.Op[SyncReport[T]]:
        yield from push_op(self._client, self._store, self._record_path, strategy, self._make,
                           report)
        return report

    def _op_synchronize(self, strategy: str) -> core.Op[SyncReport[T]]:
        _check_strategy(strategy)  # before any request
        report: SyncReport[T] = SyncReport()
        yield from self._op_pull(strategy, report)
        yield from self._op_push(strategy, report)
        return report

    # ------------------------------------------------------------------ sync

    def pull(self, strategy: Strategy = "manual") -> SyncReport[T]:
        """Apply what changed on the server since :attr:`timestamp` (all of it the first
        time), in one transaction. Records changed locally too are conflicts, settled by
        ``strategy`` (``"manual"``: reported, nothing changed)."""
        _check_strategy(strategy)
        return self._client._run(self._op_pull(strategy, SyncReport()), name="pull")

    def push(self, strategy: Strategy = "manual") -> SyncReport[T]:
        """Send the local changes (``If-None-Match: *`` for creations, ``If-Match`` of
        their base version for updates and deletions), in batches."""
        _check_strategy(strategy)
        return self._client._run(self._op_push(strategy, SyncReport()), name="push")

    def synchronize(self, strategy: Strategy = "manual") -> SyncReport[T]:
        """:meth:`pull`, then :meth:`push` (records left in conflict are not pushed)."""
        return self._client._run(self._op_synchronize(strategy), name="synchronize")

    sync = synchronize

    # ------------------------------------------------------------------ async

    async def apull(self, strategy: Strategy = "manual") -> SyncReport[T]:
        """Async :meth:`pull`."""
        _check_strategy(strategy)
        return await self._client._arun(self._op_pull(strategy, SyncReport()), name="apull")

    async def apush(self, strategy: Strategy = "manual") -> SyncReport[T]:
        """Async :meth:`push`."""
        _check_strategy(strategy)
        return await self._client._arun(self._op_push(strategy, SyncReport()), name="apush")

    async def asynchronize(self, strategy: Strategy = "manual") -> SyncReport[T]:
        """Async :meth:`synchronize`."""
        return await self._client._arun(self._op_synchronize(strategy), name="asynchronize")


__all__ = ["Replica"]
