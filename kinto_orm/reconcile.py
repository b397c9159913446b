"""Declarative sync: make a collection hold exactly a list of records (``reconcile``).

>>> report = client.collection("todos").reconcile(todos, delete_missing=True)
>>> print(report)             # created / updated / deleted / unchanged / failed

The diff is pure (no I/O) and the whole run is one operation (see ``protocol.Op``), so
``Collection.reconcile`` and ``Collection.areconcile`` share every decision.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from . import protocol as core
from .batch import Batch
from .endpoints import check_id, endpoint
from .errors import KintoBatchException, KintoException
from .models.base import KintoObject
from .models.state import Binding
from .protocol import Op, Request

if TYPE_CHECKING:
    from ._client_like import ClientLike

Action = Literal["create", "update", "delete"]
#: Fields the server sets by itself: never a reason to write (as kinto-http's records_equal).
IGNORED = ("last_modified", "schema")
#: Fields a plugin manages (kinto-attachment): kept as stored unless the input names them.
PRESERVED = ("attachment",)


@dataclass
class ReconcileFailure:
    """A record reconcile could not handle: its id, what was tried, and why."""

    id: str | None
    action: str
    reason: str
    error: BaseException | None = field(default=None, repr=False)

    def __str__(self) -> str:
        return f"{self.action} {self.id}: {self.reason}"


@dataclass
class ReconcileReport:
    """What :meth:`Collection.reconcile` did (or, with ``dry_run``, would do).

    ``created``, ``updated``, ``deleted`` and ``unchanged`` list record ids;
    ``failed`` lists :class:`ReconcileFailure` (id, action, reason). ``changes`` maps each
    updated id to the names of what differs (``"title"``, ``"permissions.read"``).
    ``print(report)`` shows a plan table.
    """

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[ReconcileFailure] = field(default_factory=list)
    changes: dict[str, list[str]] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failed

    @property
    def writes(self) -> int:
        """How many writes were sent (or, in a dry run, would be)."""
        return len(self.created) + len(self.updated) + len(self.deleted)

    def rows(self) -> list[tuple[str, str, str]]:
        """``(action, id, detail)`` per record that changes or failed, for plan tables."""
        out = [("create", rid, "") for rid in self.created]
        out += [("update", rid, ", ".join(self.changes.get(rid, []))) for rid in self.updated]
        out += [("delete", rid, "") for rid in self.deleted]
        out += [(f"failed {f.action}", str(f.id), f.reason) for f in self.failed]
        return out

    def summary(self, max_rows: int = 50) -> str:
        """A plan table: counts first, then one line per change (at most ``max_rows``)."""
        verb = "would be " if self.dry_run else ""
        lines = [
            f"{len(self.created)} {verb}created, {len(self.updated)} {verb}updated, "
            f"{len(self.deleted)} {verb}deleted, {len(self.unchanged)} unchanged, "
            f"{len(self.failed)} failed" + (" (dry run: nothing sent)" if self.dry_run else "")
        ]
        rows = self.rows()
        if rows:
            width = max(len(action) for action, _, _ in rows)
            id_width = min(40, max(len(rid) for _, rid, _ in rows))
            for action, rid, detail in rows[:max_rows]:
                lines.append(f"  {action:<{width}}  {rid:<{id_width}}  {detail}".rstrip())
            if len(rows) > max_rows:
                lines.append(f"  ... and {len(rows) - max_rows} more")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        dry = " dry_run" if self.dry_run else ""
        return (
            f"<ReconcileReport created={len(self.created)} updated={len(self.updated)} "
            f"deleted={len(self.deleted)} unchanged={len(self.unchanged)} "
            f"failed={len(self.failed)}{dry}>"
        )


# ---------------------------------------------------------------------------- pure diff


def as_json(value: Any) -> Any:
    """``value`` as the server will store it (dates as ISO text, Decimals as numbers)."""
    return json.loads(core.dumps(value))


def data_changes(desired: dict[str, Any], stored: dict[str, Any]) -> list[str]:
    """Names of the data fields that differ, ignoring what the server stamps itself."""
    keys = (set(desired) | set(stored)) - set(IGNORED)
    return sorted(k for k in keys if desired.get(k, _MISSING) != stored.get(k, _MISSING))


def permission_changes(
    desired: dict[str, list[str]], stored: dict[str, list[str]], writer: str | None
) -> list[str]:
    """Names (``permissions.read``) of the permissions named in ``desired`` that differ
    on the server. Kinto adds the writer to ``write`` on every write, so that one
    principal is not a difference (else the next run would write again)."""
    out = []
    for name, principals in desired.items():
        want, have = set(principals), set(stored.get(name) or [])
        if name == "write" and writer is not None:
            want.discard(writer)
            have.discard(writer)
        if want != have:
            out.append(f"permissions.{name}")
    return out


@dataclass
class Desired:
    """One wanted record: the model instance, its data and named permissions as sent."""

    obj: KintoObject
    data: dict[str, Any]
    permissions: dict[str, list[str]]


def prepare(
    records: Iterable[Any], model: type[KintoObject] | None, failed: list[ReconcileFailure],
    default_model: type[KintoObject] = KintoObject,
) -> tuple[dict[str, Desired], set[str]]:
    """Validate the wanted records (dicts go through ``model``, else the type of the model
    instances among them, else ``default_model``: ``Collection.reconcile`` passes
    ``Record``). Returns them by id, and the ids that must not be deleted although they
    are not in the result (invalid or duplicated input: deleting those would lose data)."""
    items = list(records)
    if model is None:
        model = next((type(i) for i in items if isinstance(i, KintoObject)), default_model)
    desired: dict[str, Desired] = {}
    keep: set[str] = set()
    for item in items:
        raw_id = item.get("id") if isinstance(item, dict) else getattr(item, "id", None)
        try:
            if isinstance(item, dict) and not raw_id:
                # (a model would make up a random id: the record could never match)
                raise ValueError("no id: reconcile matches records by id")
            obj = model.model_validate(item) if isinstance(item, dict) else item
            if not isinstance(obj, KintoObject):
                raise TypeError(f"expected a {model.__name__} or a dict, got {item!r}")
            if not obj.id:
                raise ValueError("no id: reconcile matches records by id")
            if obj._partial:
                raise ValueError("read with fields(): its other fields would be dropped")
            rid = check_id(obj.id, "record id")
        except (ValidationError, TypeError, ValueError) as exc:
            if isinstance(raw_id, str):
                keep.add(raw_id)
            failed.append(ReconcileFailure(raw_id, "validate", _one_line(exc), exc))
            continue
        if rid in desired:
            keep.add(rid)
            failed.append(ReconcileFailure(rid, "validate", "duplicate id: the first one is used"))
            continue
        desired[rid] = Desired(obj, as_json(obj.to_data()), obj._permissions_dict())
    return desired, keep


@dataclass
class Plan:
    """The writes a reconcile needs, computed from the wanted and the stored records."""

    report: ReconcileReport
    #: ``(action, id, wanted or None, stored last_modified or None)``
    writes: list[tuple[Action, str, Desired | None, int | None]] = field(default_factory=list)


def diff(
    desired: dict[str, Desired],
    stored: dict[str, dict[str, Any]],
    stored_permissions: dict[str, dict[str, list[str]]],
    *,
    delete_missing: bool,
    keep: set[str],
    writer: str | None,
    report: ReconcileReport,
) -> Plan:
    """Compare wanted and stored records: what to create, update, delete, leave alone."""
    plan = Plan(report)
    for rid, want in desired.items():
        have = stored.get(rid)
        if have is None:
            plan.writes.append(("create", rid, want, None))
            report.created.append(rid)
            continue
        for name in PRESERVED:
            if name in have and name not in want.data:
                want.data[name] = have[name]
        changed = data_changes(want.data, have)
        if want.permissions:
            changed += permission_changes(
                want.permissions, stored_permissions.get(rid, {}), writer
            )
        if changed:
            plan.writes.append(("update", rid, want, have.get("last_modified")))
            report.updated.append(rid)
            report.changes[rid] = changed
        else:
            report.unchanged.append(rid)
    if delete_missing:
        for rid, have in stored.items():
            if rid not in desired and rid not in keep:
                plan.writes.append(("delete", rid, None, have.get("last_modified")))
                report.deleted.append(rid)
    return plan


def write_request(
    path: str,
    action: Action,
    want: Desired | None,
    last_modified: int | None,
    stored_permissions: dict[str, list[str]] | None,
) -> Request:
    """The conditional request of one planned write."""
    if action == "delete":
        return Request("DELETE", path, headers={"If-Match": core.quote_etag(last_modified)})
    assert want is not None
    permissions: dict[str, list[str]] | None = None
    if want.permissions:
        # A PUT with permissions replaces them all: keep those the input does not name.
        # (An empty list and an absent one mean the same to a PUT: leave those out, as
        # records refuse the create permissions of buckets and collections.)
        merged = {**(stored_permissions or {}), **want.permissions}
        permissions = {name: principals for name, principals in merged.items() if principals}
    if action == "create":
        headers = {"If-None-Match": "*"}
    else:
        headers = {"If-Match": core.quote_etag(last_modified)}
    return Request("PUT", path, headers=headers, json=core.envelope(want.data, permissions))


# ---------------------------------------------------------------------------- the operation


def reconcile_op(
    client: ClientLike,
    bucket: str,
    collection: str,
    records: Iterable[Any],
    *,
    model: type[KintoObject] | None,
    default_model: type[KintoObject],
    delete_missing: bool,
    dry_run: bool,
) -> Op[ReconcileReport]:
    """Read the collection, diff, and send only the changes in batch (see module doc)."""
    report = ReconcileReport(dry_run=dry_run)
    desired, keep = prepare(records, model, report.failed, default_model)
    info = yield from client._op_server_info()
    writer = (info.get("user") or {}).get("id")
    listed = yield from client._paginated(endpoint("records", bucket=bucket, collection=collection))
    stored = {r["id"]: r for r in listed if isinstance(r, dict) and "id" in r}
    # Lists carry no permissions: read them only for stored records whose input names some.
    wanted_perms = [rid for rid, want in desired.items() if want.permissions and rid in stored]

    def path(rid: str) -> str:
        return endpoint("record", bucket=bucket, collection=collection, id=rid)

    stored_perms: dict[str, dict[str, list[str]]] = {}
    if wanted_perms:
        unreadable = yield from _read_permissions(client, wanted_perms, path, stored_perms)
        for rid, error in unreadable.items():
            desired.pop(rid)
            keep.add(rid)
            report.failed.append(ReconcileFailure(rid, "read", _one_line(error), error))
    plan = diff(desired, stored, stored_perms, delete_missing=delete_missing, keep=keep,
                writer=writer, report=report)
    if dry_run or not plan.writes:
        return report
    batch = Batch(client)
    binding = Binding(client, bucket, collection)
    for action, rid, want, last_modified in plan.writes:
        request = write_request(path(rid), action, want, last_modified, stored_perms.get(rid))
        obj = want.obj if want is not None else None
        batch.queue(_write_op(client, request, obj, binding), placeholder=True, tag=(action, rid))
    try:
        yield from batch._op_flush()
    except KintoBatchException:
        pass  # every failure is in batch.failures
    lists = {"create": report.created, "update": report.updated, "delete": report.deleted}
    for (action, rid), failure in batch.failures:
        lists[action].remove(rid)
        report.changes.pop(rid, None)
        reason = _failure_reason(action, failure)
        report.failed.append(ReconcileFailure(rid, action, reason, failure))
    return report


def _write_op(
    client: ClientLike, request: Request, obj: KintoObject | None, binding: Binding
) -> Op[None]:
    response = yield request
    if obj is not None:  # the wanted instance now holds the server's copy
        try:
            obj._load(response.json())
        except ValueError:  # (a ValidationError too) the write happened: keep the input
            return
        obj._binding = binding


def _read_permissions(
    client: ClientLike,
    ids: list[str],
    path: Callable[[str], str],
    into: dict[str, dict[str, list[str]]],
) -> Op[dict[str, BaseException]]:
    """GET the records ``ids`` through batch (lists do not show permissions)."""
    batch = Batch(client)

    def read(rid: str) -> Op[None]:
        response = yield Request("GET", path(rid))
        into[rid] = dict((response.json() or {}).get("permissions") or {})

    for rid in ids:
        batch.queue(read(rid), placeholder=True, tag=rid)
    try:
        yield from batch._op_flush()
    except KintoBatchException:
        pass
    return {rid: error or KintoException("read failed") for rid, error in batch.failures}


def _failure_reason(action: str, error: BaseException | None) -> str:
    status = getattr(error, "status_code", None)
    if status == 412 and action == "create":
        return "created by someone else meanwhile (412); run reconcile again"
    if status == 412:
        return "changed on the server meanwhile (412); run reconcile again"
    return _one_line(error) if error is not None else "failed"


def _one_line(error: BaseException) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in error.errors()
        )
    return " ".join(str(error).split())


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()

__all__ = ["ReconcileFailure", "ReconcileReport", "reconcile_op"]
