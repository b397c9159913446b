"""Bulk writes for pipelines: many saves, creates or deletes, chunked through batch.

>>> result = client.records(Todo).bulk_save(todos, progress=print)
>>> result.done, [str(f) for f in result.failed]
>>> result = await aclient.records(Todo).abulk_create(todos, concurrency=8)
>>> result = client.records(Todo).bulk_create(todos, concurrency=8)   # a thread pool

Nothing is lost silently: every item that was not written is in ``result.failed`` with
its id and the error, and the others are on the server.

With ``concurrency=N``, up to N batches are in flight at once, fewer while the server
struggles: a chunk that needed retries (conflicting transactions on PostgreSQL, 503s)
halves the number in flight, each chunk that went through at once adds one back, up
to N (see :class:`InFlight`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .bulk_runner import BulkFailure, BulkResult, InFlight, MakeOp, Progress, arun_bulk, run_bulk
from .dataframes import as_rows
from .models.base import KintoObject
from .models.validation import check_path, checked_patch, is_typed, plain_record
from .patch_type import BasicPatch
from .protocol import Op

if TYPE_CHECKING:
    from ._client_like import ClientLike
    from .pages import Source


class BulkMixin:
    """Bulk methods of :class:`~kinto_orm.Query`: items go to the query's collection."""

    _client: ClientLike
    _sources: list[Source]

    def _placed(self, item: Any) -> KintoObject:
        source = self._sources[0]
        if type(item) is source.model:  # the usual case, told at once
            item._binding = source.binding
            return item
        if isinstance(item, dict):
            item = source.model.model_validate(item)
        if isinstance(item, str):
            item = source.model.model_construct(id=item)
        if not isinstance(item, KintoObject):
            name = source.model.__name__
            raise TypeError(f"Cannot write {item!r}: pass {name} objects, dicts or ids.")
        item._binding = source.binding
        return item

    def _save_op(self, safe: bool) -> MakeOp:
        return lambda item: self._placed(item)._op_save(self._client, safe)

    def _create_op(self, if_not_exists: bool) -> MakeOp:
        return lambda item: self._placed(item)._op_create(self._client, if_not_exists, True)

    def _delete_op(self, if_exists: bool) -> MakeOp:
        return lambda item: self._placed(item)._op_delete(self._client, if_exists, True)

    def bulk_save(
        self, items: Iterable[Any], *, safe: bool = True, concurrency: int = 1,
        progress: Progress | None = None,
    ) -> BulkResult:
        """Save (create or replace) every item, in batches; see :class:`BulkResult`.

        ``progress(done, total)`` is called after each chunk (``total`` is None for a
        generator). Items can be models or dicts, or the rows of a pandas/polars DataFrame
        or Arrow table; they go to this query's collection. Each item is validated by
        the model first: an invalid one is in ``result.failed``, not sent.
        ``concurrency=N`` sends up to N batches at once from a thread pool (fewer while
        the server struggles); ``progress`` is then called from those threads, one at
        a time.
        """
        rows = as_rows(items, self._sources[0].model)
        return run_bulk(self._client, rows, self._save_op(safe), progress, concurrency)

    def bulk_create(
        self, items: Iterable[Any], *, if_not_exists: bool = False, concurrency: int = 1,
        progress: Progress | None = None,
    ) -> BulkResult:
        """Create every item (an existing id is a failure, unless ``if_not_exists``);
        ``concurrency`` as in :meth:`bulk_save`."""
        make = self._create_op(if_not_exists)
        return run_bulk(self._client, items, make, progress, concurrency)

    def bulk_delete(
        self, items_or_ids: Iterable[Any], *, if_exists: bool = False, concurrency: int = 1,
        progress: Progress | None = None,
    ) -> BulkResult:
        """Delete every item (models or ids); ``if_exists`` ignores missing ones;
        ``concurrency`` as in :meth:`bulk_save`."""
        make = self._delete_op(if_exists)
        return run_bulk(self._client, items_or_ids, make, progress, concurrency)

    async def abulk_save(
        self, items: Iterable[Any], *, safe: bool = True, concurrency: int = 4,
        progress: Progress | None = None,
    ) -> BulkResult:
        """Async :meth:`bulk_save`, with up to ``concurrency`` batches in flight (fewer
        while the server struggles)."""
        rows = as_rows(items, self._sources[0].model)
        return await arun_bulk(self._client, rows, self._save_op(safe), progress, concurrency)

    async def abulk_create(
        self, items: Iterable[Any], *, if_not_exists: bool = False, concurrency: int = 4,
        progress: Progress | None = None,
    ) -> BulkResult:
        """Async :meth:`bulk_create`, with up to ``concurrency`` batches in flight."""
        make = self._create_op(if_not_exists)
        return await arun_bulk(self._client, items, make, progress, concurrency)

    async def abulk_delete(
        self, items_or_ids: Iterable[Any], *, if_exists: bool = False, concurrency: int = 4,
        progress: Progress | None = None,
    ) -> BulkResult:
        """Async :meth:`bulk_delete`, with up to ``concurrency`` batches in flight."""
        make = self._delete_op(if_exists)
        return await arun_bulk(self._client, items_or_ids, make, progress, concurrency)

    # ------------------------------------------------------------------ update

    def _update_plan(self, changes: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        """The patch data (validated against the model) and an id-only query of targets."""
        if not changes:
            raise ValueError("update() needs the fields to change: update(done=True).")
        model = self._sources[0].model
        if is_typed(model):
            for key in changes:
                check_path(model, (key,), f"update({key}=...)", ())
        data = checked_patch(model.model_construct(), dict(changes))
        targets = self._ids()
        return data, targets

    def _update_op(self, data: dict[str, Any]) -> MakeOp:
        patch = BasicPatch(data=data)
        return lambda target: self._client._op_object_patch(
            target.path, patch, True, target.last_modified
        )

    def update(self, **changes: Any) -> BulkResult:
        """Patch every matching object with ``changes`` (validated against the model first):
        one PATCH each, through batch, with ``If-Match`` on the timestamp read, so a record
        changed meanwhile is reported in ``failed`` rather than overwritten.

        >>> client.records(Task).filter(status="open", due__lt=today).update(status="late")
        """
        data, targets = self._update_plan(changes)
        return self._bulk_update_of(targets.all(), data)

    def _bulk_update_of(self, targets: list[Any], data: dict[str, Any]) -> BulkResult:
        return run_bulk(self._client, targets, self._update_op(data), None)

    async def aupdate(self, **changes: Any) -> BulkResult:
        """Async :meth:`update` (up to 4 batches in flight)."""
        data, targets = self._update_plan(changes)
        items = await targets.aall()
        return await arun_bulk(self._client, items, self._update_op(data), None, 4)
    # ------------------------------------------------------------------ permissions

    def _permission_op(self, grant: bool, permission: str, principals: tuple[str, ...]) -> MakeOp:
        from .grants import grant_op, permission_name, revoke_op

        permission_name(permission)  # an unknown name fails before anything is sent
        make = grant_op if grant else revoke_op
        binding = self._sources[0].binding
        record = self._plain_model()

        def op(rid: str) -> Op[Any]:
            # An untyped stand-in: the answer is not read into the query's model, so a
            # record that does not fit it still gets the permission.
            target = record.model_construct(id=rid)
            target._binding = binding
            return make(self._client, target, permission, principals)

        return op

    def _plain_model(self) -> type[KintoObject]:
        """The plain ``Record`` (the query's model for other lists): what ids are read as."""
        model = self._sources[0].model
        plain: type[KintoObject] = plain_record(model) or model
        return plain

    def _ids(self) -> Any:
        """An id-only query of the targets, read as plain records (untyped)."""
        return self._with_model(self._plain_model()).fields("id")  # type: ignore[attr-defined]

    def grant(
        self, permission: str, *principals: str, progress: Progress | None = None
    ) -> BulkResult:
        """:meth:`Record.grant` on every matching record (one JSON Patch each: Kinto
        refuses JSON Patch inside a batch); failures are in the result."""
        make = self._permission_op(True, permission, principals)
        ids = [item.id for item in self._ids()]
        return run_bulk(self._client, ids, make, progress)

    def revoke(
        self, permission: str, *principals: str, progress: Progress | None = None
    ) -> BulkResult:
        """:meth:`Record.revoke` on every matching record."""
        make = self._permission_op(False, permission, principals)
        ids = [item.id for item in self._ids()]
        return run_bulk(self._client, ids, make, progress)

    async def agrant(
        self, permission: str, *principals: str, concurrency: int = 4,
        progress: Progress | None = None,
    ) -> BulkResult:
        """Async :meth:`grant`, with up to ``concurrency`` requests in flight."""
        make = self._permission_op(True, permission, principals)
        ids = [item.id for item in await self._ids().aall()]
        return await arun_bulk(self._client, ids, make, progress, concurrency)

    async def arevoke(
        self, permission: str, *principals: str, concurrency: int = 4,
        progress: Progress | None = None,
    ) -> BulkResult:
        """Async :meth:`revoke`, with up to ``concurrency`` requests in flight."""
        make = self._permission_op(False, permission, principals)
        ids = [item.id for item in await self._ids().aall()]
        return await arun_bulk(self._client, ids, make, progress, concurrency)


__all__ = ["BulkFailure", "BulkMixin", "BulkResult", "InFlight"]
