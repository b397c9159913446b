"""The hard cases: the server applied the write, the client never got (a readable) answer.

Each test states what a correct library does. Where kinto-orm does something else the test
is an ``xfail(strict=True)`` whose reason names the bug; the same scenario on the other
transport, when it behaves, runs as a plain test (the control).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kinto_orm import KintoBatchException, KintoException

from .conftest import Item, Place
from .proxy import DROP_AFTER, MALFORMED_JSON, TRUNCATED, FaultProxy, Rule

SETTINGS: dict[str, Any] = {"retry": 3, "retry_after": 0, "timeout": 10}

def transports() -> pytest.MarkDecorator:
    return pytest.mark.parametrize(
        "is_async", [pytest.param(False, id="sync"), pytest.param(True, id="async")]
    )


def run(is_async: bool, place: Place, proxy: FaultProxy, sync_action: Any, async_action: Any,
        **settings: Any) -> BaseException | None:
    """Run the action on a fresh client through the proxy; return any exception."""
    settings = {**SETTINGS, **settings}
    try:
        if is_async:

            async def go() -> None:
                async with place.aclient(proxy, **settings) as aclient:
                    await async_action(aclient)

            asyncio.run(go())
        else:
            with place.client(proxy, **settings) as client:
                sync_action(client)
    except Exception as exc:
        return exc
    return None


# ---------------------------------------------------------------------------- cut answers


@transports()
def test_truncated_answer_to_a_read_is_retried(
    is_async: bool, place: Place, proxy: FaultProxy
) -> None:
    """A page cut short is a network failure: the idempotent GET is sent again and the
    query returns every record."""
    with place.client(proxy) as setup, setup.batch():
        for item in place.items(setup, 15):
            item.save()
    proxy.set_plan([Rule(TRUNCATED, nth=[1], methods=["GET"], path="/records$")])
    got: list[Item] = []

    async def aread(c: Any) -> None:
        got.extend(await c.records(Item).aall())

    error = run(is_async, place, proxy, lambda c: got.extend(c.records(Item).all()), aread)
    assert error is None, repr(error)
    assert sorted(str(i.id) for i in got) == [f"r{i:05d}" for i in range(15)]


@transports()
def test_truncated_answer_to_a_write_is_a_kinto_exception(
    is_async: bool, place: Place, proxy: FaultProxy
) -> None:
    proxy.set_plan([Rule(TRUNCATED, nth=[1], methods=["PUT"], path="/records/")])
    item: list[Item] = []

    def save(c: Any) -> Any:
        item.append(place.items(c, 1)[0])
        return item[0].save()

    async def asave(c: Any) -> Any:
        item.append(place.items(c, 1)[0])
        return await item[0].asave()

    error = run(is_async, place, proxy, save, asave)
    assert error is None or isinstance(error, KintoException), repr(error)
    assert len(proxy.events_for("PUT")) == 2, "the PUT (idempotent) was not retried"
    assert len(place.server_records()) == 1


@transports()
def test_truncated_batch_answer_stops_the_batch(
    is_async: bool, place: Place, proxy: FaultProxy
) -> None:
    """60 saves = 3 chunks of 25; the answer to the first is cut (retry=0). As kinto-http,
    the batch stops there: the other chunks are not sent, the error is raised, and the
    batch's failures name every operation, the first chunk's as of unknown outcome."""
    proxy.set_plan([Rule(TRUNCATED, nth=[1], methods=["POST"], path="/batch$")])
    batches: list[Any] = []

    def write(c: Any) -> None:
        batches.append(c.batch())
        with batches[0]:
            for item in place.items(c, 60):
                item.save()

    async def awrite(c: Any) -> None:
        batches.append(c.batch())
        async with batches[0]:
            for item in place.items(c, 60):
                await item.asave()

    error = run(is_async, place, proxy, write, awrite, retry=0)
    assert isinstance(error, KintoException), repr(error)
    assert not isinstance(error, KintoBatchException)
    failures = {e.request.path.rsplit("/", 1)[-1]: e for _, e in batches[0].failures
                if e is not None and e.request is not None}
    assert set(failures) == {f"r{i:05d}" for i in range(60)}
    assert "outcome unknown" in failures["r00000"].description
    assert "not sent" in failures["r00030"].description
    assert len(proxy.events_for("POST", "/batch$")) == 1
    assert len(place.server_records()) == 25  # the first chunk reached the server


# ---------------------------------------------------------------------------- "not applied"


@transports()
@pytest.mark.parametrize("fault", [DROP_AFTER, MALFORMED_JSON])
def test_batch_error_does_not_claim_an_applied_batch_was_not_applied(
    fault: str, is_async: bool, place: Place, proxy: FaultProxy
) -> None:
    """Every POST /batch reaches the server, but no answer (or no readable answer) comes
    back. The records exist; the errors must not say they were not applied."""
    proxy.set_plan([Rule(fault, always=True, methods=["POST"], path="/batch$")])
    batches: list[Any] = []

    def write(c: Any) -> None:
        batches.append(c.batch())
        with batches[0]:
            for item in place.items(c, 3):
                item.save()

    async def awrite(c: Any) -> None:
        batches.append(c.batch())
        async with batches[0]:
            for item in place.items(c, 3):
                await item.asave()

    error = run(is_async, place, proxy, write, awrite, retry=1)
    assert isinstance(error, KintoException), repr(error)
    failures = [e for _, e in batches[0].failures if e is not None]
    assert len(failures) == 3
    assert len(place.server_records()) == 3  # applied
    for exc in failures:
        assert "not applied" not in exc.description, exc.description


# ---------------------------------------------------------------------------- lost answers


def _prepare(kind: str, place: Place, proxy: FaultProxy) -> Item | None:
    """For ``replace``/``delete`` an existing record (saved without faults)."""
    if kind == "create":
        return None
    with place.client(proxy) as setup:
        item = place.items(setup, 1)[0].save()
    if kind == "replace":
        item.title = "changed"
    return item


@transports()
@pytest.mark.parametrize("kind", ["create", "replace", "delete"])
def test_lost_answer_of_a_safe_write_is_not_a_conflict(
    kind: str, is_async: bool, place: Place, proxy: FaultProxy
) -> None:
    """The first attempt is applied, its answer lost; the retry (the write is safe, so
    idempotent) meets the server state this very write produced."""
    item = _prepare(kind, place, proxy)
    method = "DELETE" if kind == "delete" else "PUT"
    proxy.set_plan([Rule(DROP_AFTER, nth=[1], methods=[method], path="/records/")])
    done: list[Item] = []

    def act(c: Any) -> None:
        target = item.bind(c) if item is not None else place.items(c, 1)[0]
        done.append(target)
        target.delete() if kind == "delete" else target.save()

    async def aact(c: Any) -> None:
        target = item.bind(c) if item is not None else place.items(c, 1)[0]
        done.append(target)
        await (target.adelete() if kind == "delete" else target.asave())

    error = run(is_async, place, proxy, act, aact)
    assert len(proxy.events_for(method)) == 2  # retried, as it should
    records = place.server_records()
    if kind == "delete":
        assert records == []
    else:
        assert len(records) == 1
        assert records[0]["title"] == ("changed" if kind == "replace" else "record 0")
    assert error is None, f"{type(error).__name__}: {error}"
    if kind != "delete":
        assert done[0].last_modified == records[0]["last_modified"]


@transports()
def test_lost_answer_of_a_batch_is_not_a_conflict(
    is_async: bool, place: Place, proxy: FaultProxy
) -> None:
    proxy.set_plan([Rule(DROP_AFTER, nth=[1], methods=["POST"], path="/batch$")])

    def write(c: Any) -> None:
        with c.batch():
            for item in place.items(c, 10):
                item.save()

    async def awrite(c: Any) -> None:
        async with c.batch():
            for item in place.items(c, 10):
                await item.asave()

    error = run(is_async, place, proxy, write, awrite)
    assert len(proxy.events_for("POST", "/batch$")) == 2  # retried, as it should
    assert len(place.server_records()) == 10
    assert error is None, str(error)[:300]
