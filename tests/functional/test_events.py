"""Event hooks against the real Kinto: ``request``/``response`` for each exchange,
``deprecated`` from a server announcing its end of service (``Alert`` header), how
callbacks are unregistered, and what a failing callback does. Retry and backoff events
need injected faults: see ``tests/faults/test_events.py``."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from kinto_orm import AsyncClient, Client
from kinto_orm.events import DeprecatedEvent, RequestEvent, ResponseEvent
from kinto_orm.testing import KintoServer, new_credentials


def test_request_and_response_events_for_each_exchange(client: Client, bid: str) -> None:
    requests_seen: list[RequestEvent] = []
    responses: list[ResponseEvent] = []
    client.on("request", requests_seen.append)
    client.on("response", responses.append)

    client.create_collection(id="todos")
    client.get_collection(id="todos")

    assert [(e.request.method, e.request.path) for e in requests_seen] == [
        ("PUT", f"/buckets/{bid}/collections/todos"),
        ("GET", f"/buckets/{bid}/collections/todos"),
    ]
    assert requests_seen[0].url == f"{client.server_url}/buckets/{bid}/collections/todos"
    assert [(e.status, e.attempt, e.error) for e in responses] == [(201, 1, None), (200, 1, None)]
    assert all(0 < e.elapsed < 30 for e in responses)
    assert responses[1].response is not None
    assert responses[1].response.json()["data"]["id"] == "todos"
    # No credentials in what callbacks see (auth is added by the HTTP library).
    assert "Authorization" not in requests_seen[0].request.headers


def test_error_responses_are_reported_too(client: Client) -> None:
    statuses: list[int | None] = []
    client.on("response", lambda e: statuses.append(e.status))
    with pytest.raises(Exception, match="404"):
        client.get_collection(id="missing")
    assert statuses == [404]


def test_unregister_with_the_returned_function_or_off(client: Client) -> None:
    seen: list[str] = []

    def callback(event: RequestEvent) -> None:
        seen.append(event.request.method)

    remove = client.on("request", callback)
    client.server_info()
    remove()
    client.server_info()
    assert seen == ["GET"]

    client.on("request", callback)
    client.clone(collection="x").server_info()  # clones share the hooks
    client.off("request", callback)
    client.off("request", callback)  # unregistering twice is harmless
    client.server_info()
    assert seen == ["GET", "GET"]

    with pytest.raises(ValueError, match="Unknown event 'sent'"):
        client.on("sent", callback)  # type: ignore[call-overload]


def test_a_failing_callback_is_logged_and_the_request_goes_on(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: ResponseEvent) -> None:
        raise RuntimeError("metrics backend down")

    after: list[int | None] = []
    client.on("response", broken)
    client.on("response", lambda e: after.append(e.status))
    with caplog.at_level(logging.ERROR, logger="kinto_orm"):
        info = client.server_info()
    assert info["project_name"] == "kinto"
    assert after == [200]  # the next callbacks still run
    assert "metrics backend down" in caplog.text and "'response' callback" in caplog.text


def test_sync_client_refuses_coroutine_callbacks(client: Client) -> None:
    async def callback(event: ResponseEvent) -> None:
        pass

    with pytest.raises(TypeError, match="coroutine function"):
        client.on("response", callback)


def test_async_client_events_plain_and_coroutine_callbacks(
    kinto_server: Any, client: Client
) -> None:
    plain: list[int | None] = []
    scheduled: list[int | None] = []

    async def coroutine_callback(event: ResponseEvent) -> None:
        await asyncio.sleep(0)
        scheduled.append(event.status)

    async def main() -> None:
        async with AsyncClient(kinto_server.url, auth=client.session.auth,
                               bucket=client.bucket_name) as aclient:
            aclient.on("response", lambda e: plain.append(e.status))
            aclient.on("response", coroutine_callback)
            await aclient.create_collection(id="todos")
            await aclient.get_collection(id="todos")
            assert plain == [201, 200]  # plain callbacks ran inline
            await asyncio.sleep(0.05)  # coroutine callbacks are tasks, not awaited

    asyncio.run(main())
    assert scheduled == [201, 200]


# ---------------------------------------------------------------------------- deprecated


@pytest.fixture(scope="module")
def eos_server() -> Iterator[KintoServer]:
    """A Kinto announcing its end of service (soft-eol: it still answers)."""
    settings = {
        "kinto.eos": "2099-01-01",
        "kinto.eos_message": "This service will shut down",
        "kinto.eos_url": "https://example.com/eos",
    }
    with KintoServer(history=False, attachments=False, settings=settings) as server:
        yield server


def test_deprecated_event_once_with_warning_and_log(
    eos_server: KintoServer, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[DeprecatedEvent] = []
    with Client(eos_server.url, auth=new_credentials()) as client:
        client.on("deprecated", events.append)
        with caplog.at_level(logging.WARNING, logger="kinto_orm"), warnings.catch_warnings(
            record=True
        ) as caught:
            warnings.simplefilter("always")
            client.server_info()
            client.server_info()
            client.clone(bucket="b").server_info()  # same transport: still once
    (event,) = events
    assert (event.code, event.message, event.url) == (
        "soft-eol", "This service will shut down", "https://example.com/eos"
    )
    assert event.response.status == 200 and event.raw.startswith("{")
    assert [r.levelname for r in caplog.records if "alert" in r.getMessage()] == ["WARNING"]
    assert [str(w.message) for w in caught if w.category is DeprecationWarning] == [event.raw]


def test_deprecated_event_async(eos_server: KintoServer) -> None:
    events: list[DeprecatedEvent] = []

    async def main() -> None:
        async with AsyncClient(eos_server.url, auth=new_credentials()) as aclient:
            aclient.on("deprecated", events.append)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                await aclient.server_info()
                await aclient.server_info()

    asyncio.run(main())
    assert [e.code for e in events] == ["soft-eol"]
