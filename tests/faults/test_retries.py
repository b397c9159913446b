"""Retries, Retry-After, Backoff and idempotency, seen from the proxy.

Each test sets a fault plan, makes a few calls through the proxy, then checks what the
proxy saw (how many attempts, when) and what the server holds (read directly).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kinto_orm import KintoException, ServerError
from kinto_orm.protocol import RetryPolicy

from .conftest import Item, Place
from .proxy import (
    BACKOFF,
    CONFLICT,
    DROP_AFTER,
    DROP_BEFORE,
    HTML_BAD_GATEWAY,
    SERVICE_UNAVAILABLE,
    TOO_MANY_REQUESTS,
    FaultProxy,
    Rule,
)

RECORD_PUT: dict[str, Any] = {"path": r"/records/", "methods": ["PUT"]}
BATCH_POST: dict[str, Any] = {"path": r"/batch$", "methods": ["POST"]}

#: fault -> status the final error carries (None: no answer at all).
EXHAUSTIBLE = {
    SERVICE_UNAVAILABLE: 503,
    TOO_MANY_REQUESTS: 429,
    CONFLICT: 409,
    HTML_BAD_GATEWAY: 502,
    DROP_BEFORE: None,
}


def save_one(place: Place, proxy: FaultProxy, is_async: bool, **settings: Any) -> Item:
    """Save one new record through the proxy; re-raises the library's error."""
    if not is_async:
        with place.client(proxy, **settings) as client:
            return place.items(client, 1)[0].save()

    async def run() -> Item:
        async with place.aclient(proxy, **settings) as aclient:
            return await place.items(aclient, 1)[0].asave()

    return asyncio.run(run())


# ---------------------------------------------------------------------------- exhaustion


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("fault", list(EXHAUSTIBLE))
def test_exhausted_retries_say_how_many_attempts(
    fault: str, is_async: bool, place: Place, proxy: FaultProxy
) -> None:
    proxy.set_plan([Rule(fault, always=True, **RECORD_PUT)])
    with pytest.raises(KintoException) as caught:
        save_one(place, proxy, is_async, retry=2, retry_after=0, timeout=10)
    error = caught.value
    # A transient conflict (409 errno 122) has its own, larger budget (retried by default).
    attempts = 1 + RetryPolicy().conflict_retries if fault == CONFLICT else 3
    assert f"after {attempts} attempts" in error.description, error.description
    assert len(proxy.events_for("PUT", "/records/")) == attempts
    assert error.status_code == EXHAUSTIBLE[fault]
    if fault == SERVICE_UNAVAILABLE:
        assert isinstance(error, ServerError) and error.errno == 201
    assert place.server_records() == []


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_no_retry_means_one_attempt(is_async: bool, place: Place, proxy: FaultProxy) -> None:
    proxy.set_plan([Rule(SERVICE_UNAVAILABLE, always=True, **RECORD_PUT)])
    with pytest.raises(ServerError) as caught:
        save_one(place, proxy, is_async, timeout=10)
    assert "attempts" not in caught.value.description
    assert len(proxy.events_for("PUT")) == 1


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_exhausted_batch_stops_and_reports_every_operation(
    is_async: bool, place: Place, proxy: FaultProxy
) -> None:
    """30 saves = 2 chunks; the first chunk's POST /batch is tried 3 times, then, as
    kinto-http, the batch stops with that error: the second chunk is never sent. The
    batch's failures name every operation; nothing is written."""
    proxy.set_plan([Rule(SERVICE_UNAVAILABLE, always=True, **BATCH_POST)])
    settings: dict[str, Any] = {"retry": 2, "retry_after": 0, "timeout": 10}
    failures: list[Any] = []
    if is_async:

        async def run() -> None:
            async with place.aclient(proxy, **settings) as aclient:
                items = place.items(aclient, 30)
                batch = aclient.batch()
                try:
                    async with batch:
                        for item in items:
                            await item.asave()
                finally:
                    failures.extend(batch.failures)

        with pytest.raises(ServerError) as caught:
            asyncio.run(run())
    else:
        client = place.client(proxy, **settings)
        batch = client.batch()
        with pytest.raises(ServerError) as caught, batch:
            for item in place.items(client, 30):
                item.save()
        failures.extend(batch.failures)
        client.close()
    assert caught.value.status_code == 503
    assert "after 3 attempts" in caught.value.description
    errors = [error for _, error in failures]
    assert len(errors) == 30
    assert {e.request.path.rsplit("/", 1)[-1] for e in errors if e.request} == {
        f"r{i:05d}" for i in range(30)
    }
    assert all("after 3 attempts" in e.description for e in errors[:25])
    assert all("not sent" in e.description for e in errors[25:])
    assert len(proxy.events_for("POST", "/batch$")) == 3
    assert place.server_records() == []


# ---------------------------------------------------------------------------- waiting


def _gap(proxy: FaultProxy, first: int, second: int, path: str = "/records/") -> float:
    """Seconds between the answer to matching request ``first`` and the arrival of
    ``second`` (1-based)."""
    events = proxy.events_for(path=path)
    answered = events[first - 1].answered
    assert answered is not None
    return events[second - 1].received - answered


def save_three(place: Place, proxy: FaultProxy, is_async: bool, **settings: Any) -> None:
    if not is_async:
        with place.client(proxy, **settings) as client:
            for item in place.items(client, 3):
                item.save()
        return

    async def run() -> None:
        async with place.aclient(proxy, **settings) as aclient:
            for item in place.items(aclient, 3):
                await item.asave()

    asyncio.run(run())


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_backoff_header_delays_the_next_request(
    is_async: bool, place: Place, proxy: FaultProxy
) -> None:
    proxy.set_plan([Rule(BACKOFF, nth=[1], backoff="1", **RECORD_PUT)])
    save_three(place, proxy, is_async, timeout=10)  # retry=0: Backoff holds regardless
    assert proxy.injected[BACKOFF] == 1
    assert _gap(proxy, 1, 2) >= 0.9, "the request after a Backoff: 1 answer did not wait"
    assert _gap(proxy, 2, 3) < 0.5, "Backoff delayed more than the next request"
    assert len(place.server_records()) == 3


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_server_retry_after_is_honoured(is_async: bool, place: Place, proxy: FaultProxy) -> None:
    proxy.set_plan([Rule(SERVICE_UNAVAILABLE, nth=[1], retry_after="1", **RECORD_PUT)])
    save_one(place, proxy, is_async, retry=1, timeout=10)
    assert _gap(proxy, 1, 2) >= 0.9, "the retry did not wait the server's Retry-After"
    assert len(place.server_records()) == 1


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_retry_after_setting_overrides_the_server(
    is_async: bool, place: Place, proxy: FaultProxy
) -> None:
    proxy.set_plan([Rule(TOO_MANY_REQUESTS, nth=[1], retry_after="30", **RECORD_PUT)])
    save_one(place, proxy, is_async, retry=1, retry_after=0, timeout=10)
    assert _gap(proxy, 1, 2) < 1.0
    assert len(place.server_records()) == 1


# ---------------------------------------------------------------------------- idempotency


def _run(is_async: bool, place: Place, proxy: FaultProxy, action: Any) -> KintoException | None:
    """Run ``action(client)`` (a coroutine function when async) with retry=3; return the
    library's error, if any."""
    settings: dict[str, Any] = {"retry": 3, "retry_after": 0, "timeout": 10}
    try:
        if is_async:

            async def run() -> None:
                async with place.aclient(proxy, **settings) as aclient:
                    await action(aclient)

            asyncio.run(run())
        else:
            with place.client(proxy, **settings) as client:
                action(client)
    except KintoException as exc:
        return exc
    return None


def _post_without_id(is_async: bool) -> Any:
    if is_async:
        return lambda c: Item(n=1, title="server picks my id").bind(c).acreate(server_id=True)
    return lambda c: Item(n=1, title="server picks my id").bind(c).create(server_id=True)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("fault", [DROP_BEFORE, DROP_AFTER])
def test_post_without_id_is_not_retried(
    fault: str, is_async: bool, place: Place, proxy: FaultProxy
) -> None:
    proxy.set_plan([Rule(fault, nth=[1], methods=["POST"], path="/records$")])
    error = _run(is_async, place, proxy, _post_without_id(is_async))
    assert error is not None and "network error" in error.description, error
    assert error.status_code is None
    assert len(proxy.events_for("POST")) == 1, "a POST without id was sent again"
    expected = 1 if fault == DROP_AFTER else 0  # the write happened, once
    assert len(place.server_records()) == expected


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("how", ["model", "kinto_http"])
def test_patch_without_if_match_is_not_retried(
    how: str, is_async: bool, place: Place, proxy: FaultProxy
) -> None:
    with place.client(proxy) as setup:
        item = place.items(setup, 1)[0].save()
    proxy.set_plan([Rule(DROP_AFTER, nth=[1], methods=["PATCH"])])

    if how == "model":
        def action(c: Any) -> Any:
            item.bind(c)
            return item.apatch({"title": "patched"}, safe=False) if is_async else item.patch(
                {"title": "patched"}, safe=False
            )
    else:
        def action(c: Any) -> Any:
            return c.patch_record(id=item.id, data={"title": "patched"}, safe=False)

    error = _run(is_async, place, proxy, action)
    assert error is not None and "network error" in error.description, error
    assert len(proxy.events_for("PATCH")) == 1, "a PATCH without If-Match was sent again"
    assert place.server_records()[0]["title"] == "patched"


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_patch_with_if_match_is_retried(is_async: bool, place: Place, proxy: FaultProxy) -> None:
    """The control: a safe PATCH (If-Match) cannot apply twice, so it is retried."""
    with place.client(proxy) as setup:
        item = place.items(setup, 1)[0].save()
    proxy.set_plan([Rule(DROP_BEFORE, nth=[1], methods=["PATCH"])])

    def action(c: Any) -> Any:
        item.bind(c)
        return item.apatch({"title": "patched"}) if is_async else item.patch({"title": "patched"})

    assert _run(is_async, place, proxy, action) is None
    assert len(proxy.events_for("PATCH")) == 2
    assert place.server_records()[0]["title"] == "patched"


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_batch_with_a_post_without_id_is_not_retried(
    is_async: bool, place: Place, proxy: FaultProxy
) -> None:
    proxy.set_plan([Rule(DROP_AFTER, nth=[1], **BATCH_POST)])

    async def awrite(c: Any) -> None:
        async with c.batch():
            await place.items(c, 1)[0].asave()
            await Item(n=9, title="server picks my id").bind(c).acreate(server_id=True)

    def write(c: Any) -> None:
        with c.batch():
            place.items(c, 1)[0].save()
            Item(n=9, title="server picks my id").bind(c).create(server_id=True)

    error = _run(is_async, place, proxy, awrite if is_async else write)
    assert isinstance(error, KintoException), error  # the lost answer's, as kinto-http
    assert len(proxy.events_for("POST", "/batch$")) == 1
    assert len(place.server_records()) == 2  # applied once, not twice


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_create_record_without_id_is_retried_safely(
    is_async: bool, place: Place, proxy: FaultProxy
) -> None:
    """kinto-http's create_record() without id: the library picks the id, so the PUT
    can be retried without creating two records."""
    proxy.set_plan([Rule(DROP_BEFORE, nth=[1], **RECORD_PUT)])

    def action(c: Any) -> Any:
        return c.create_record(data={"n": 1, "title": "x"})

    assert _run(is_async, place, proxy, action) is None
    assert len(proxy.events_for("PUT")) == 2
    assert len(place.server_records()) == 1


# ---------------------------------------------------------------------------- reads


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("fault", [SERVICE_UNAVAILABLE, DROP_BEFORE, DROP_AFTER])
def test_paginated_read_through_faults(
    fault: str, is_async: bool, place: Place, proxy: FaultProxy
) -> None:
    """35 records, 10 per page (the session server's paginate_by): every other page GET
    fails once. The query follows Next-Page through the proxy and reads each record once."""
    with place.client(proxy) as setup, setup.batch():
        for item in place.items(setup, 35):
            item.save()
    proxy.set_plan([Rule(fault, every=2, methods=["GET"], path="/records$")])

    got: list[Item] = []

    async def aread(c: Any) -> None:
        got.extend(await c.records(Item).aall())

    def read(c: Any) -> None:
        got.extend(c.records(Item).all())

    assert _run(is_async, place, proxy, aread if is_async else read) is None
    assert sorted(str(i.id) for i in got) == [f"r{i:05d}" for i in range(35)]
    assert proxy.injected[fault] >= 2
    gets = proxy.events_for("GET", "/records$")
    assert len(gets) == 4 + proxy.injected[fault]  # 4 pages, each fault retried once
