"""No invalid value leaves the client: every write path checks data against the model,
and the server (read back raw) never holds what the model refuses."""

from __future__ import annotations

import asyncio
import datetime
import enum
from typing import Any

import pydantic
import pytest

from kinto_orm import AsyncClient, Client, KintoBatchException, Record
from kinto_orm.patch_type import BasicPatch, JSONPatch, MergePatch

from .conftest import Raw, rec_path


class Status(str, enum.Enum):
    open = "open"
    done = "done"


class Task(Record):
    title: str
    due: datetime.date
    status: Status = Status.open
    tags: list[str] = []
    note: str | None = None


@pytest.fixture
def task(client: Client, cid: str, raw: Raw, bid: str) -> Task:
    raw.put(rec_path(bid, cid, "t1"), {"title": "t", "due": "2026-01-01", "status": "open"})
    return client.records(Task, collection=cid).get("t1")


def stored(raw: Raw, bid: str, cid: str, rid: str = "t1") -> dict[str, Any]:
    data = raw.data(rec_path(bid, cid, rid))
    data.pop("last_modified")
    return data


BEFORE = {"id": "t1", "title": "t", "due": "2026-01-01", "status": "open"}


def test_assignments_are_validated_and_coerced(task: Task) -> None:
    with pytest.raises(pydantic.ValidationError, match="due"):
        task.due = "not a date"  # type: ignore[assignment]
    with pytest.raises(pydantic.ValidationError, match="status"):
        task.status = "archived"  # type: ignore[assignment]
    with pytest.raises(pydantic.ValidationError, match="title"):
        task["title"] = None
    task.due = "2026-01-02"  # type: ignore[assignment]
    assert task.due == datetime.date(2026, 1, 2)
    task.status = "done"  # type: ignore[assignment]
    assert task.status is Status.done


def test_the_issue_scenario_leaves_the_server_and_readers_intact(
    client: Client, task: Task, raw: Raw, bid: str, cid: str
) -> None:
    for field, value in (("due", "not a date"), ("status", "archived")):
        with pytest.raises(pydantic.ValidationError):
            setattr(task, field, value)
    task.patch()  # nothing valid changed: nothing to send
    assert stored(raw, bid, cid) == BEFORE
    assert [t.id for t in client.records(Task, collection=cid).all()] == ["t1"]


def test_save_checks_in_place_changes(task: Task, raw: Raw, bid: str, cid: str) -> None:
    task.tags.append(5)  # type: ignore[arg-type]  # not seen by assignment validation
    with pytest.raises(pydantic.ValidationError, match="tags"):
        task.save()
    assert stored(raw, bid, cid) == BEFORE


def test_create_refuses_an_unvalidated_object(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    sneaky = Task.model_construct(id="sneaky", title="x", due="soon")
    sneaky.bind(client, collection=cid)
    with pytest.raises(pydantic.ValidationError, match="due"):
        sneaky.create()
    missing = Task.model_construct(id="missing", title="x")  # no due at all
    missing.bind(client, collection=cid)
    with pytest.raises(pydantic.ValidationError, match="due"):
        missing.save()
    assert raw.status(rec_path(bid, cid, "sneaky")) == 404
    assert raw.status(rec_path(bid, cid, "missing")) == 404


@pytest.mark.parametrize(
    "changes",
    [
        {"due": "not a date"},
        BasicPatch(data={"status": "archived"}),
        MergePatch({"due": 12}),
        MergePatch({"title": None}),  # would remove a required field
        JSONPatch([{"op": "replace", "path": "/data/status", "value": "archived"}]),
        JSONPatch([{"op": "remove", "path": "/data/due"}]),
    ],
    ids=["dict", "basic", "merge", "merge-remove-required", "jsonpatch", "jsonpatch-remove"],
)
def test_explicit_patches_are_checked(
    task: Task, raw: Raw, bid: str, cid: str, changes: Any
) -> None:
    with pytest.raises(ValueError):  # pydantic.ValidationError is a ValueError
        task.patch(changes)
    assert stored(raw, bid, cid) == BEFORE


def test_explicit_patches_send_coerced_values(task: Task, raw: Raw, bid: str, cid: str) -> None:
    task.patch({"due": datetime.date(2026, 3, 4), "status": Status.done, "color": "red"})
    assert stored(raw, bid, cid) == {**BEFORE, "due": "2026-03-04", "status": "done",
                                     "color": "red"}
    task.patch(MergePatch({"note": None, "tags": ["a"]}))
    task.patch(JSONPatch([{"op": "add", "path": "/data/due", "value": "2026-05-06"}]))
    assert stored(raw, bid, cid)["due"] == "2026-05-06"
    assert task.due == datetime.date(2026, 5, 6)


def test_batch_refuses_invalid_objects_before_anything_is_sent(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    good = Task(id="good", title="g", due=datetime.date(2026, 1, 1)).bind(
        client, collection=cid
    )
    bad = Task.model_construct(id="bad", title="b", due="never").bind(client, collection=cid)
    with pytest.raises(pydantic.ValidationError), client.batch():
        good.save()
        bad.save()
    assert raw.status(rec_path(bid, cid, "good")) == 404  # the block failed: nothing sent
    assert raw.status(rec_path(bid, cid, "bad")) == 404


def test_bulk_reports_invalid_items_and_writes_the_others(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    items: list[Any] = [
        {"id": "ok1", "title": "a", "due": "2026-01-01"},
        {"id": "bad1", "title": "b", "due": "not a date"},
        Task.model_construct(id="bad2", title="c", due="never"),
        Task(id="ok2", title="d", due=datetime.date(2026, 1, 2)),
    ]
    result = client.records(Task, collection=cid).bulk_save(items)
    assert result.done == 2
    assert sorted(f.id for f in result.failed) == ["bad1", "bad2"]
    assert raw.status(rec_path(bid, cid, "bad1")) == 404
    assert raw.status(rec_path(bid, cid, "bad2")) == 404
    assert stored(raw, bid, cid, "ok1")["due"] == "2026-01-01"


def test_async_twins_check_too(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str, task: Task
) -> None:
    async def main() -> None:
        async with AsyncClient(kinto_server.url, auth=client.session.auth, bucket=bid) as aclient:
            mine = await aclient.records(Task, collection=cid).aget("t1")
            with pytest.raises(pydantic.ValidationError):
                await mine.apatch({"status": "archived"})
            sneaky = Task.model_construct(id="sneaky", title="x", due="soon")
            sneaky.bind(aclient, collection=cid)
            with pytest.raises(pydantic.ValidationError):
                await sneaky.asave()
            with pytest.raises(pydantic.ValidationError):
                await sneaky.acreate()
            result = await aclient.records(Task, collection=cid).abulk_create(
                [{"id": "nope", "title": "x", "due": "nope"}]
            )
            assert result.failed_ids == ["nope"]

    asyncio.run(main())
    assert stored(raw, bid, cid) == BEFORE
    assert raw.status(rec_path(bid, cid, "sneaky")) == 404
    assert raw.status(rec_path(bid, cid, "nope")) == 404


# ---------------------------------------------------------------------------- query.update


def seed_tasks(raw: Raw, bid: str, cid: str, count: int = 30) -> None:
    for i in range(count):
        raw.put(rec_path(bid, cid, f"t{i:02d}"),
                {"title": f"t{i}", "due": "2026-01-01", "status": "open" if i % 3 else "done"})


def test_query_update_patches_every_match_through_batch(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    seed_tasks(raw, bid, cid)
    query = client.records(Task, collection=cid).filter(status="open").page_size(7)
    result = query.update(due="2026-02-02", note="moved")
    assert result.ok and result.done == 20
    rows = raw.all(rec_path(bid, cid))
    moved = {r["id"] for r in rows if r.get("note") == "moved"}
    assert len(moved) == 20
    assert all(r["due"] == "2026-02-02" for r in rows if r["id"] in moved)
    assert all(r["due"] == "2026-01-01" and r["status"] == "done"
               for r in rows if r["id"] not in moved)


def test_query_update_validates_before_sending(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    seed_tasks(raw, bid, cid, 3)
    query = client.records(Task, collection=cid)
    with pytest.raises(pydantic.ValidationError, match="due"):
        query.update(due="not a date")
    with pytest.raises(ValueError, match="stauts"):
        query.update(stauts="done")
    with pytest.raises(ValueError, match="needs the fields"):
        query.update()
    assert all(r["due"] == "2026-01-01" for r in raw.all(rec_path(bid, cid)))


def test_query_update_reports_records_changed_meanwhile(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    seed_tasks(raw, bid, cid, 4)
    query = client.records(Task, collection=cid)
    targets = query._update_plan({"note": "x"})[1].all()
    raw.patch(rec_path(bid, cid, "t01"), {"note": "theirs"})  # a concurrent writer
    result = client.records(Task, collection=cid)._bulk_update_of(targets, {"note": "x"})
    assert result.failed_ids == ["t01"] and result.done == 3
    assert raw.data(rec_path(bid, cid, "t01"))["note"] == "theirs"


def test_query_aupdate(kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str) -> None:
    seed_tasks(raw, bid, cid, 10)

    async def main() -> int:
        async with AsyncClient(kinto_server.url, auth=client.session.auth, bucket=bid) as aclient:
            result = await aclient.records(Task, collection=cid).filter(status="done").aupdate(
                status=Status.open
            )
            return result.done

    assert asyncio.run(main()) == 4
    assert all(r["status"] == "open" for r in raw.all(rec_path(bid, cid)))


# ---------------------------------------------------------------------------- names, reports


def test_typed_queries_refuse_unknown_names(client: Client, cid: str) -> None:
    query = client.records(Task, collection=cid)
    with pytest.raises(ValueError, match="Did you mean 'status'"):
        query.filter(stauts="open")
    with pytest.raises(ValueError, match="'before' is not a lookup"):
        query.filter(due__before="2026-01-01")
    with pytest.raises(ValueError, match="title"):
        query.sort("-titel")
    with pytest.raises(ValueError, match="Fields of Task"):
        query.fields("nope")
    with pytest.raises(ValueError, match="exclude"):
        query.exclude(colour="red")
    # known names, lookups and meta fields pass; the untyped Record keeps free names
    query.filter(due__lte="2026-12-31", status__in=["open"], id="x", last_modified__gt=1)
    client.records(Record, collection=cid).filter(anything__goes=1).sort("free")


def test_long_failure_reports_are_summarised(client: Client, raw: Raw, bid: str, cid: str) -> None:
    items = [{"id": f"b{i:03d}", "title": "x", "due": "bad"} for i in range(150)]
    result = client.records(Task, collection=cid).bulk_create(items)
    assert len(result.failed) == 150
    with pytest.raises(KintoBatchException) as info:
        result.raise_on_failure()
    message = str(info.value)
    assert message.startswith("150 of the bulk items failed:")
    assert "b000: " in message and "b009: " in message and "b010" not in message
    assert "... and 140 more" in message
    assert len(message) < 5000
    assert len(info.value.exceptions) == 150 and len(info.value.failures) == 150


class Flat(Record):
    """Only immutable fields: validated assignments keep it valid, so a write of an
    object that was validated does not validate it again; the other ways in still do."""

    title: str
    due: datetime.date
    status: Status = Status.open


def test_scalar_models_are_still_checked_where_validation_was_skipped(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    constructed = Flat.model_construct(id="c1", title="x", due="never")
    constructed.bind(client, collection=cid)
    with pytest.raises(pydantic.ValidationError, match="due"):
        constructed.save()
    valid = Flat(id="v1", title="ok", due=datetime.date(2026, 1, 1)).bind(client, collection=cid)
    copied = valid.model_copy(update={"id": "c2", "status": "archived"})
    with pytest.raises(pydantic.ValidationError, match="status"):
        copied.save()
    reference = client.collection(cid).record("c3", Flat)  # unfetched: no title, no due
    with pytest.raises(pydantic.ValidationError):
        reference.save()
    valid.save()
    valid.status = "done"  # type: ignore[assignment]
    valid.save()
    for rid in ("c1", "c2", "c3"):
        assert raw.status(rec_path(bid, cid, rid)) == 404
    assert stored(raw, bid, cid, "v1")["status"] == "done"
