"""Bulk writes (``Query.bulk_save/bulk_create/bulk_delete`` and their async ``abulk_*``
twins) against the real server. Every item is either on the server or listed in the
``BulkResult`` with its id and reason; what is stored is checked with plain ``requests``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from kinto_orm import (
    AsyncClient,
    Client,
    KintoBatchException,
    NotFound,
    PreconditionFailed,
    Record,
)

from .conftest import Note, Raw, rec_path, seed

Progress = list[tuple[int, "int | None"]]


def run_async(
    kinto_server: Any, client: Client, body: Callable[[AsyncClient], Awaitable[Any]]
) -> Any:
    """Run ``body(aclient)`` with an AsyncClient of ``client``'s identity and bucket."""

    async def main() -> Any:
        async with AsyncClient(
            kinto_server.url, auth=client.session.auth, bucket=client.bucket_name
        ) as aclient:
            return await body(aclient)

    return asyncio.run(main())


def stored(raw: Raw, bid: str, cid: str) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in raw.all(rec_path(bid, cid))}


def notes(count: int, prefix: str = "n") -> list[Note]:
    return [Note(id=f"{prefix}{i:03d}", title=f"note {i}", n=i) for i in range(count)]


def check_progress(calls: Progress, total: int | None, final: int) -> None:
    done = [count for count, _ in calls]
    assert done == sorted(set(done)), calls  # strictly increasing
    assert done[-1] == final
    assert all(t == total for _, t in calls)


# ---------------------------------------------------------------------------- sync


def test_bulk_save_writes_every_item_with_progress(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    items = notes(120)
    calls: Progress = []
    result = client.records(Note, collection=cid).bulk_save(
        items, progress=lambda done, total: calls.append((done, total))
    )
    assert result.ok and result.done == 120 and result.failed == []
    assert calls == [(25, 120), (50, 120), (75, 120), (100, 120), (120, 120)]
    rows = stored(raw, bid, cid)
    assert len(rows) == 120
    for item in items:
        assert rows[item.id]["title"] == item.title
        assert item.last_modified == rows[item.id]["last_modified"]  # server state


def test_bulk_save_of_loaded_models_uses_their_version(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    seed(raw, bid, cid, [{"id": f"r{i}", "title": f"t{i}", "n": i} for i in range(30)])
    loaded = client.records(Note, collection=cid).sort("n").all()
    raw.patch(rec_path(bid, cid, "r3"), {"title": "changed elsewhere"})
    for note in loaded:
        note.n += 100
    result = client.records(Note, collection=cid).bulk_save(loaded)
    assert result.done == 29
    assert result.failed_ids == ["r3"]
    assert isinstance(result.failed[0].error, PreconditionFailed)
    assert result.failed[0].item is loaded[3]
    rows = stored(raw, bid, cid)
    assert rows["r3"]["title"] == "changed elsewhere" and rows["r3"]["n"] == 3
    assert all(rows[f"r{i}"]["n"] == i + 100 for i in range(30) if i != 3)
    # safe=False overwrites whatever is there.
    again = client.records(Note, collection=cid).bulk_save([loaded[3]], safe=False)
    assert again.ok and raw.data(rec_path(bid, cid, "r3"))["n"] == 103


def test_bulk_create_reports_exactly_the_failed_items(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    raw.put(rec_path(bid, cid, "exists"), {"title": "server"})
    items: list[Any] = [
        *notes(10),
        Note(id="exists", title="clash"),  # existing id
        {"id": "bad id", "title": "invalid id"},  # invalid Kinto id (dict item)
        {"id": "d1", "title": "from a dict"},  # good dict item
        {"id": "d2"},  # missing required field: does not fit Note
        *notes(20, prefix="m"),
        Note(id="batch-1", title="id with batch"),  # cannot go in POST /batch
    ]
    result = client.records(Note, collection=cid).bulk_create(items)

    assert result.done == 32
    assert sorted(result.failed_ids) == ["bad id", "d2", "exists"]
    reasons = {f.id: f.error for f in result.failed}
    assert isinstance(reasons["exists"], PreconditionFailed)
    assert "412" in str(reasons["exists"])
    assert isinstance(reasons["bad id"], ValueError) and "bad id" in str(reasons["bad id"])
    assert isinstance(reasons["d2"], ValidationError) and "title" in str(reasons["d2"])
    assert any(str(f).startswith("exists: ") for f in result.failed)
    assert not result.ok
    rows = stored(raw, bid, cid)
    expected = {f"n{i:03d}" for i in range(10)} | {f"m{i:03d}" for i in range(20)}
    assert set(rows) == expected | {"exists", "d1", "batch-1"}
    assert rows["exists"]["title"] == "server"
    assert rows["d1"]["title"] == "from a dict"

    with pytest.raises(KintoBatchException) as info:
        result.raise_on_failure()
    assert len(info.value.exceptions) == 3

    # if_not_exists: an existing id is not a failure, and it is left as it was.
    again = client.records(Note, collection=cid).bulk_create(
        [Note(id="exists", title="x"), Note(id="fresh", title="fresh")], if_not_exists=True
    )
    assert again.ok and again.done == 2
    assert raw.data(rec_path(bid, cid, "exists"))["title"] == "server"
    assert raw.data(rec_path(bid, cid, "fresh"))["title"] == "fresh"


def test_bulk_delete_reports_missing_records(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    seed(raw, bid, cid, [{"id": f"r{i:02d}", "title": "x"} for i in range(40)])
    models = client.records(Note, collection=cid).sort("id").limit(5).all()
    assert [m.id for m in models] == [f"r{i:02d}" for i in range(5)]
    raw.patch(rec_path(bid, cid, models[0].id), {"title": "touched"})  # stale model
    ids: list[Any] = [f"r{i:02d}" for i in range(20, 40)] + ["missing", "bad id"]
    calls: Progress = []
    result = client.records(Note, collection=cid).bulk_delete(
        [*models, *ids], progress=lambda done, total: calls.append((done, total))
    )
    assert sorted(result.failed_ids) == sorted([models[0].id, "missing", "bad id"])
    reasons = {f.id: f.error for f in result.failed}
    assert isinstance(reasons[models[0].id], PreconditionFailed)
    assert isinstance(reasons["missing"], NotFound) and "404" in str(reasons["missing"])
    assert isinstance(reasons["bad id"], ValueError)
    assert result.done == 24
    check_progress(calls, 27, 27)
    deleted = {m.id for m in models[1:]} | {f"r{i:02d}" for i in range(20, 40)}
    remaining = set(stored(raw, bid, cid))
    assert remaining == {f"r{i:02d}" for i in range(40)} - deleted
    assert models[0].id in remaining

    # if_exists: missing ones are fine.
    again = client.records(Note, collection=cid).bulk_delete(
        ["missing", "r20", models[0].id], if_exists=True
    )
    assert again.ok and again.done == 3
    assert models[0].id not in stored(raw, bid, cid)


def test_bulk_save_takes_a_generator_and_dicts(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    produced: list[int] = []

    def generate() -> Iterator[dict[str, Any]]:
        for i in range(60):
            produced.append(i)
            yield {"id": f"g{i:02d}", "title": f"gen {i}", "n": i, "extra": {"i": i}}

    calls: Progress = []
    result = client.records(Note, collection=cid).bulk_save(
        generate(), progress=lambda done, total: calls.append((done, total))
    )
    assert result.ok and result.done == 60
    assert calls == [(25, None), (50, None), (60, None)]
    assert produced == list(range(60))
    rows = stored(raw, bid, cid)
    assert len(rows) == 60
    assert rows["g42"]["extra"] == {"i": 42} and rows["g42"]["n"] == 42


def test_bulk_on_untyped_records_and_empty_input(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    query = client.collection(cid).records()
    result = query.bulk_save([{"id": "a", "anything": [1, 2]}, Record(id="b", x=1)])
    assert result.ok and result.done == 2
    assert stored(raw, bid, cid)["a"]["anything"] == [1, 2]
    empty = query.bulk_delete([])
    assert empty.ok and empty.done == 0
    odd = query.bulk_save([42])  # neither a model, a dict nor an id
    assert odd.done == 0 and odd.failed[0].item == 42
    assert isinstance(odd.failed[0].error, TypeError)
    with pytest.raises(KintoBatchException, match="Cannot write 42"):
        odd.raise_on_failure()


def test_bulk_reports_values_json_cannot_carry_and_sends_the_rest(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    """Untyped data holding a value JSON has no form for (an arbitrary object, NaN) fails
    alone, named, "not sent"; the rest of its batch is written."""
    items = [
        Record(id="a", x=1), Record(id="obj", x=object()), Record(id="b", x={"y": [1]}),
        {"id": "nan", "x": float("nan")}, Record(id="c", x="z"),
    ]
    result = client.collection(cid).records().bulk_create(items)
    assert result.done == 3
    assert sorted(result.failed_ids) == ["nan", "obj"]
    reasons = {f.id: str(f.error) for f in result.failed}
    assert "records/obj - not sent: Object of type object is not JSON serializable" in (
        reasons["obj"]
    )
    assert "records/nan - not sent" in reasons["nan"] and "NaN" in reasons["nan"]
    assert sorted(stored(raw, bid, cid)) == ["a", "b", "c"]

    async def body(aclient: AsyncClient) -> Any:
        query = aclient.records(Record, collection=cid)
        return await query.abulk_save([{"id": "d", "x": 1}, {"id": "e", "x": object()}])

    later = run_async(kinto_server, client, body)
    assert later.done == 1 and later.failed_ids == ["e"]
    assert sorted(stored(raw, bid, cid)) == ["a", "b", "c", "d"]

    with pytest.raises(KintoBatchException) as caught, client.batch() as batch:
        batch.create_record(id="f", data={"x": 1}, collection=cid)
        batch.create_record(id="g", data={"x": object()}, collection=cid)
    assert "records/g - not sent" in str(caught.value)
    assert sorted(stored(raw, bid, cid)) == ["a", "b", "c", "d", "f"]


# ---------------------------------------------------------------------------- async


def test_abulk_save_with_concurrency(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    items = notes(120)
    calls: Progress = []

    async def body(aclient: AsyncClient) -> Any:
        query = aclient.records(Note, collection=cid)
        return await query.abulk_save(
            items, concurrency=4, progress=lambda done, total: calls.append((done, total))
        )

    result = run_async(kinto_server, client, body)
    assert result.ok and result.done == 120, [str(f) for f in result.failed]
    assert len(calls) == 5
    check_progress(calls, 120, 120)
    rows = stored(raw, bid, cid)
    assert len(rows) == 120
    for item in items:
        assert item.last_modified == rows[item.id]["last_modified"]


def test_abulk_create_and_delete_report_failures(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    raw.put(rec_path(bid, cid, "exists"), {"title": "server"})

    def generate() -> Iterator[Any]:
        yield from notes(30)
        yield {"id": "exists", "title": "clash"}
        yield Note(id="bad id", title="invalid")
        yield from notes(30, prefix="m")

    async def body(aclient: AsyncClient) -> tuple[Any, Any, Progress]:
        query = aclient.records(Note, collection=cid)
        created = await query.abulk_create(generate(), concurrency=3)
        calls: Progress = []
        ids = [f"n{i:03d}" for i in range(30)] + ["missing", "batch-x"]
        deleted = await query.abulk_delete(
            ids, concurrency=2, progress=lambda done, total: calls.append((done, total))
        )
        return created, deleted, calls

    created, deleted, calls = run_async(kinto_server, client, body)
    assert created.done == 60
    assert sorted(created.failed_ids) == ["bad id", "exists"]
    reasons = {f.id: f.error for f in created.failed}
    assert isinstance(reasons["exists"], PreconditionFailed)
    assert isinstance(reasons["bad id"], ValueError)

    assert deleted.done == 30
    assert sorted(deleted.failed_ids) == ["batch-x", "missing"]
    assert all(isinstance(f.error, NotFound) for f in deleted.failed)
    check_progress(calls, 32, 32)
    rows = stored(raw, bid, cid)
    assert set(rows) == {"exists"} | {f"m{i:03d}" for i in range(30)}
    assert rows["exists"]["title"] == "server"


def test_abulk_refuses_a_concurrency_below_one(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    async def body(aclient: AsyncClient) -> None:
        with pytest.raises(ValueError, match="concurrency"):
            await aclient.records(Note, collection=cid).abulk_save(notes(3), concurrency=0)

    run_async(kinto_server, client, body)
    assert stored(raw, bid, cid) == {}
