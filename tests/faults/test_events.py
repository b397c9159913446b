"""Event hooks under faults: ``retry`` and ``backoff`` events, with the request/response
events around them, for ``Client`` and ``AsyncClient`` through the fault proxy in front
of the real Kinto server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kinto_orm import KintoException
from kinto_orm.events import BackoffEvent, ResponseEvent, RetryEvent

from .conftest import Place
from .proxy import BACKOFF, DROP_BEFORE, SERVICE_UNAVAILABLE, FaultProxy, Rule

RECORD_PUT: dict[str, Any] = {"path": r"/records/", "methods": ["PUT"]}


class Recorder:
    """Registers one callback per event name and keeps what each received."""

    def __init__(self, client: Any) -> None:
        self.events: list[tuple[str, Any]] = []
        for name in ("request", "response", "retry", "backoff", "deprecated"):
            client.on(name, lambda event, name=name: self.events.append((name, event)))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def of(self, name: str) -> list[Any]:
        return [event for kind, event in self.events if kind == name]


def save_one(place: Place, proxy: FaultProxy, is_async: bool, **settings: Any) -> Recorder:
    """Save one new record through the proxy with every event recorded."""
    if not is_async:
        with place.client(proxy, **settings) as client:
            recorder = Recorder(client)
            place.items(client, 1)[0].save()
            return recorder

    async def run() -> Recorder:
        async with place.aclient(proxy, **settings) as aclient:
            recorder = Recorder(aclient)
            await place.items(aclient, 1)[0].asave()
            return recorder

    return asyncio.run(run())


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_retry_event_after_a_503_with_the_wait_and_reason(
    place: Place, proxy: FaultProxy, is_async: bool
) -> None:
    proxy.set_plan([Rule(SERVICE_UNAVAILABLE, nth=[1, 2], retry_after="0", **RECORD_PUT)])
    recorder = save_one(place, proxy, is_async, retry=3, retry_after=0.05)

    assert recorder.names() == [
        "request", "response", "retry", "request", "response", "retry", "request", "response",
    ]
    retries: list[RetryEvent] = recorder.of("retry")
    assert [(r.attempt, r.wait, r.reason) for r in retries] == [(1, 0.05, "503"), (2, 0.05, "503")]
    assert all(r.response is not None and r.response.status == 503 for r in retries)
    assert all(r.request.method == "PUT" for r in retries)
    responses: list[ResponseEvent] = recorder.of("response")
    assert [(r.attempt, r.status) for r in responses] == [(1, 503), (2, 503), (3, 201)]
    assert [e.attempt for e in recorder.of("request")] == [1, 2, 3]
    assert len(place.server_records()) == 1


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_retry_event_after_a_network_error(
    place: Place, proxy: FaultProxy, is_async: bool
) -> None:
    proxy.set_plan([Rule(DROP_BEFORE, nth=[1], **RECORD_PUT)])
    recorder = save_one(place, proxy, is_async, retry=1, retry_after=0)

    (retry,) = recorder.of("retry")
    assert retry.attempt == 1 and retry.wait == 0.0 and retry.response is None
    assert retry.reason.startswith("network error: ") and retry.error is not None
    first, second = recorder.of("response")
    assert first.response is None and first.status is None and first.error is retry.error
    assert second.status == 201


def test_no_retry_event_for_the_last_failed_try(place: Place, proxy: FaultProxy) -> None:
    proxy.set_plan([Rule(SERVICE_UNAVAILABLE, always=True, **RECORD_PUT)])

    async def run() -> Recorder:
        async with place.aclient(proxy, retry=1, retry_after=0) as aclient:
            recorder = Recorder(aclient)
            with pytest.raises(KintoException) as info:
                await place.items(aclient, 1)[0].asave()
            assert info.value.attempts == 2
            return recorder

    recorder = asyncio.run(run())
    assert [r.reason for r in recorder.of("retry")] == ["503"]
    assert [r.status for r in recorder.of("response")] == [503, 503]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_backoff_event_carries_the_servers_seconds(
    place: Place, proxy: FaultProxy, is_async: bool
) -> None:
    proxy.set_plan([Rule(BACKOFF, nth=[1], backoff="1", **RECORD_PUT)])
    recorder = save_one(place, proxy, is_async)
    (backoff,) = recorder.of("backoff")
    assert isinstance(backoff, BackoffEvent)
    assert backoff.seconds == 1.0
    assert backoff.response.headers["Backoff"] == "1"
    assert recorder.names() == ["request", "response", "backoff"]
