"""Typical code a kinto-orm user writes: it must type-check clean in pyright strict and
mypy --strict (with and without the pydantic plugin), with these exact types."""

from __future__ import annotations

import asyncio
import datetime
import enum
from typing import Any

from typing_extensions import assert_type

from kinto_orm import (
    AsyncClient,
    Bucket,
    Client,
    Collection,
    Conflict,
    Group,
    KintoBatchException,
    KintoException,
    Page,
    Permissions,
    PreconditionFailed,
    Query,
    Record,
    Replica,
    SyncReport,
)
from kinto_orm.bulk import BulkResult
from kinto_orm.models.extra import ServerInfo
from kinto_orm.patch_type import JSONPatch, MergePatch


class Status(str, enum.Enum):
    open = "open"
    done = "done"


class Task(Record, bucket="work", collection="tasks"):
    title: str
    due: datetime.date
    status: Status = Status.open
    tags: list[str] = []
    estimate: float | None = None
    meta: dict[str, Any] = {}


def sync_usage(client: Client) -> None:
    task = Task(title="write", due=datetime.date(2026, 12, 1), tags=["doc"])
    assert_type(task.id, str)
    assert_type(task.last_modified, int | None)
    assert_type(task.permissions, Permissions)
    assert_type(task.bind(client), Task)
    assert_type(task.create(), Task)
    assert_type(task.save(), Task)
    task.status = Status.done
    assert_type(task.patch(), Task)
    assert_type(task.patch(MergePatch({"estimate": None})), Task)
    assert_type(task.patch(JSONPatch([{"op": "add", "path": "/data/tags/-", "value": "x"}])), Task)
    assert_type(task.refresh(), Task)
    same = Task(id="fixed", title="t", due=datetime.date.today(), permissions=Permissions())
    assert_type(same.id, str)

    query = client.records(Task).filter(status=Status.open, due__lte="2026-12-31")
    assert_type(query, Query[Task])
    assert_type(query.sort("-due").limit(10).all(), list[Task])
    assert_type(query.first(), Task | None)
    assert_type(query.get(task.id), Task)
    assert_type(query.count(), int)
    assert_type(query.exists(), bool)
    assert_type(query.timestamp(), int)
    assert_type(query.delete(), list[dict[str, Any]])
    for page in query.pages():
        assert_type(page, Page[Task])
        assert_type(page.items, list[Task])
    for item in query:
        assert_type(item, Task)
        assert_type(item.due, datetime.date)
    assert_type(query.update(status=Status.done), BulkResult)

    result = client.records(Task).bulk_save([task, same])
    assert_type(result, BulkResult)
    assert_type(result.failed_ids, list[str | None])
    try:
        result.raise_on_failure()
    except KintoBatchException as exc:
        assert_type(exc.exceptions, list[KintoException])

    with client.batch() as batch:
        assert_type(batch, Client)
        task.save()
        batch.create_record(data={"title": "x"}, bucket="work", collection="tasks")
    assert_type(batch.results(), list[dict[str, Any]])

    bucket = client.bucket("work")
    assert_type(bucket, Bucket)
    assert_type(bucket.collection("tasks"), Collection)
    assert_type(bucket.group("admins"), Group)
    assert_type(bucket.collections(), Query[Collection])
    assert_type(bucket.children(), Query[Collection | Group])
    tasks = client.collection("tasks", bucket="work")
    assert_type(tasks.record("abc"), Record)
    assert_type(tasks.record("abc", Task), Task)
    assert_type(tasks.records(Task), Query[Task])
    assert_type(tasks.children(Task), Query[Task])
    assert_type(client.info(), ServerInfo)

    assert_type(client.get_records(bucket="work", collection="tasks"), list[dict[str, Any]])
    assert_type(client.get_record(id="x", bucket="work", collection="tasks"), dict[str, Any])

    try:
        task.save()
    except PreconditionFailed as conflict:
        assert_type(conflict.existing, dict[str, Any] | None)


async def async_usage(aclient: AsyncClient) -> None:
    task = Task(title="write", due=datetime.date(2026, 12, 1)).bind(aclient)
    assert_type(await task.asave(), Task)
    assert_type(await task.acreate(if_not_exists=True), Task)
    assert_type(await task.apatch({"title": "x"}), Task)
    query = aclient.records(Task)
    assert_type(await query.aall(), list[Task])
    assert_type(await query.afirst(), Task | None)
    assert_type(await query.aget(task.id), Task)
    assert_type(await query.acount(), int)
    assert_type(await query.aupdate(title="y"), BulkResult)
    async for item in query:
        assert_type(item, Task)
    results = await asyncio.gather(*(t.asave() for t in [task]))
    assert_type(results, list[Task])
    assert_type(await query.abulk_create([task], concurrency=4), BulkResult)
    async with aclient.batch() as batch:
        assert_type(batch, AsyncClient)
        await task.asave()
    assert_type(batch.results(), list[dict[str, Any]])
    assert_type(await aclient.get_records(bucket="work", collection="tasks"),
                list[dict[str, Any]])
    assert_type(await aclient.info(), ServerInfo)


def sync_and_permissions(client: Client) -> None:
    """Declarative sync, history snapshots, grants and capability errors (issue 13)."""
    from kinto_orm import MissingCapability, ReconcileReport
    from kinto_orm.history import HistoryUnavailable

    tasks = client.collection("tasks", bucket="work")
    wanted = [Task(id="t1", title="write", due=datetime.date(2026, 12, 1)),
              {"id": "t2", "title": "review", "due": "2026-12-02"}]
    report = tasks.reconcile(wanted, model=Task, delete_missing=True, dry_run=True)
    assert_type(report, ReconcileReport)
    assert_type(report.created, list[str])
    assert_type(report.changes, dict[str, list[str]])
    for failure in report.failed:
        assert_type(failure.id, str | None)
        assert_type(failure.reason, str)
    task = Task(id="t1", title="write", due=datetime.date(2026, 12, 1)).bind(client)
    assert_type(task.grant("read", "account:bob"), Task)
    assert_type(task.revoke("read", "account:bob", "account:carol"), Task)
    assert_type(tasks.grant("record:create", "system.Authenticated"), Collection)
    query = client.records(Task)
    assert_type(query.grant("read", "system.Everyone"), BulkResult)
    try:
        assert_type(query.filter(status="open").at(1_700_000_000_000).all(), list[Task])
    except HistoryUnavailable as exc:
        assert_type(exc.reaches_back_to, int | None)
    except MissingCapability as exc:
        assert_type(exc.capability, str)


async def async_sync_and_permissions(aclient: AsyncClient) -> None:
    from kinto_orm import ReconcileReport

    tasks = aclient.collection("tasks", bucket="work")
    wanted = [Task(id="t1", title="write", due=datetime.date(2026, 12, 1))]
    assert_type(await tasks.areconcile(wanted), ReconcileReport)
    task = Task(id="t1", title="write", due=datetime.date(2026, 12, 1)).bind(aclient)
    assert_type(await task.agrant("write", "account:bob"), Task)
    assert_type(await task.arevoke("write", "account:bob"), Task)
    assert_type(await aclient.records(Task).agrant("read", "account:bob"), BulkResult)
    assert_type(await aclient.records(Task).at(1).aall(), list[Task])


async def kinto_http_async_batch(aclient: AsyncClient) -> None:
    """kinto-http's spelling of an async batch (kinto-wizard's loader)."""
    from kinto_orm.endpoints import MissingArgument

    with await aclient.batch() as batch:
        assert_type(batch, AsyncClient)
        await batch.create_bucket(id="work", safe=False)
        queued = batch.session.requests
        assert_type(queued, list[tuple[str, str, dict[str, Any], dict[str, str] | None]])
    assert_type(batch.results(), list[dict[str, Any]])
    try:
        await aclient.get_collection(bucket="work")
    except MissingArgument as exc:
        assert_type(exc.message, str | None)


def typed_filters(client: Client) -> None:
    query = client.records(Task)
    assert_type(query.where(lambda t: t.due >= datetime.date(2026, 1, 1)), Query[Task])
    assert_type(
        query.where(lambda t: t.status == Status.open, lambda t: t.title != "x").all(),
        list[Task],
    )
    assert_type(query.where(lambda t: (t.estimate == 2.5) & (t.title > "m")), Query[Task])
    assert_type(query.filter(status=Status.open, due__lt=datetime.date(2026, 1, 1)), Query[Task])


def replica_usage(client: Client) -> None:
    replica = client.records(Task).replica("tasks.sqlite")
    assert_type(replica, Replica[Task])
    report = replica.synchronize(strategy="server_wins")
    assert_type(report, SyncReport[Task])
    assert_type(report.conflicts, list[Conflict[Task]])
    for conflict in replica.pull().conflicts:
        assert_type(conflict.local, Task | None)
        if conflict.remote is not None:
            replica.resolve(conflict, conflict.remote)
    assert_type(replica.records().filter(status=Status.open).sort("-due").all(), list[Task])
    assert_type(replica.records().exclude(title="x").first(), Task | None)
    assert_type(replica.records().count(), int)
    assert_type(replica.get("t1"), Task)
    assert_type(replica.timestamp, int | None)
    assert_type(replica.save(Task(title="offline", due=datetime.date(2024, 1, 1))), Task)
    replica.delete("t1")
    assert_type(replica.push().published, list[str])


async def async_replica_usage(aclient: AsyncClient) -> None:
    replica = aclient.records(Task).replica(":memory:")
    assert_type(await replica.apull(), SyncReport[Task])
    assert_type(await replica.apush("client_wins"), SyncReport[Task])
    assert_type((await replica.asynchronize()).ok, bool)
