"""Timeouts fire, sync and async: a loopback socket that accepts connections and never
answers (read timeout), and one whose accept queue is full so connecting hangs (connect
timeout). These only prove the timeouts are applied; no Kinto behaviour is imitated."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests

from kinto_orm import AsyncClient, Client, KintoException
from kinto_orm.errors import NetworkError, NetworkTimeout
from kinto_orm.events import ResponseEvent

#: Generous bound for "it gave up quickly" on a loaded machine (timeouts below are 0.3 s).
QUICK = 5.0


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A server that completes the TCP handshake (the kernel does it) and never reads or
    answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield f"http://127.0.0.1:{server.getsockname()[1]}/v1"
    server.close()


@pytest.fixture
def unreachable_url() -> Iterator[str]:
    """A port whose accept queue is full: the kernel drops new SYNs, connecting hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers: list[socket.socket] = []
    for _ in range(8):  # fill the queue until a connection attempt hangs
        filler = socket.socket()
        filler.settimeout(0.3)
        try:
            filler.connect(("127.0.0.1", port))
        except OSError:
            filler.close()
            break
        fillers.append(filler)
    else:
        pytest.skip("could not fill the accept queue on this system")
    yield f"http://127.0.0.1:{port}/v1"
    for filler in fillers:
        filler.close()
    server.close()


def failing_call(client: Client) -> tuple[KintoException, float]:
    started = time.monotonic()
    with pytest.raises(NetworkError) as info:
        client.server_info()
    return info.value, time.monotonic() - started


def arun_with(url: str, body: Any, **settings: Any) -> Any:
    """Run ``body(aclient)`` with an AsyncClient made inside the event loop."""

    async def main() -> Any:
        async with AsyncClient(url, **settings) as aclient:
            return await body(aclient)

    return asyncio.run(main())


# ---------------------------------------------------------------------------- defaults


def test_default_timeout_is_finite_and_none_means_none() -> None:
    assert Client("http://127.0.0.1:9/v1").session.timeout == (10.0, 60.0)
    assert Client("http://127.0.0.1:9/v1", timeout=None).session.timeout is None
    assert Client("http://127.0.0.1:9/v1", timeout=(3, 30)).session.timeout == (3.0, 30.0)

    async def main() -> None:
        async with AsyncClient("http://127.0.0.1:9/v1") as aclient:
            assert aclient.session.timeout == (10.0, 60.0)
            assert aclient.session.session.timeout == httpx.Timeout(60.0, connect=10.0)

    asyncio.run(main())


@pytest.mark.parametrize("bad", [0, -1, "5", (1, 2, 3), (1,), True, (None, -2)])
def test_invalid_timeouts_are_refused(bad: Any) -> None:
    with pytest.raises(ValueError, match="timeout must be"):
        Client("http://127.0.0.1:9/v1", timeout=bad)
    with pytest.raises(ValueError, match="timeout must be"):
        Client("http://127.0.0.1:9/v1").timeout(bad)


# ---------------------------------------------------------------------------- they fire


def test_read_timeout_fires_sync(silent_url: str) -> None:
    with Client(silent_url, timeout=(5, 0.3)) as client:
        error, elapsed = failing_call(client)
    assert isinstance(error.__cause__, requests.ReadTimeout)
    assert elapsed < QUICK


def test_read_timeout_fires_async(silent_url: str) -> None:
    async def body(aclient: AsyncClient) -> Any:
        started = time.monotonic()
        with pytest.raises(NetworkError) as info:
            await aclient.server_info()
        return info.value, time.monotonic() - started

    error, elapsed = arun_with(silent_url, body, timeout=(5, 0.3))
    assert isinstance(error.__cause__, httpx.ReadTimeout)
    assert elapsed < QUICK


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_connect_timeout_is_separate(unreachable_url: str, is_async: bool) -> None:
    if not is_async:
        with Client(unreachable_url, timeout=(0.3, 60)) as client:
            error, elapsed = failing_call(client)
        assert isinstance(error.__cause__, requests.ConnectTimeout)
    else:
        async def body(aclient: AsyncClient) -> Any:
            started = time.monotonic()
            with pytest.raises(NetworkError) as info:
                await aclient.server_info()
            return info.value, time.monotonic() - started

        error, elapsed = arun_with(unreachable_url, body, timeout=(0.3, 60))
        assert isinstance(error.__cause__, httpx.ConnectTimeout)
    assert elapsed < QUICK


def test_one_number_bounds_connect_and_read(silent_url: str) -> None:
    with Client(silent_url, timeout=0.3) as client:
        error, elapsed = failing_call(client)
    assert isinstance(error.__cause__, requests.ReadTimeout) and elapsed < QUICK


# ---------------------------------------------------------------------------- per call


def test_timeout_block_overrides_then_restores(silent_url: str) -> None:
    with Client(silent_url, timeout=None) as client:  # would wait forever
        with client.timeout(0.3):
            assert client.session.current_timeout == 0.3
            error, elapsed = failing_call(client)
            with client.timeout((0.2, 0.4)):  # blocks nest
                assert client.session.current_timeout == (0.2, 0.4)
            assert client.session.current_timeout == 0.3
        assert client.session.current_timeout is None
    assert isinstance(error.__cause__, requests.ReadTimeout) and elapsed < QUICK


def test_timeout_block_async_and_per_task(silent_url: str) -> None:
    async def body(aclient: AsyncClient) -> Any:
        async def other_task() -> Any:
            return aclient.session.current_timeout

        with aclient.timeout(0.3):
            started = time.monotonic()
            with pytest.raises(KintoException) as info:
                await aclient.server_info()
            elapsed = time.monotonic() - started
            inside = await asyncio.create_task(other_task())  # a task started inside
        outside = await asyncio.create_task(other_task())
        return info.value, elapsed, inside, outside

    error, elapsed, inside, outside = arun_with(silent_url, body, timeout=None)
    assert isinstance(error.__cause__, httpx.ReadTimeout) and elapsed < QUICK
    assert (inside, outside) == (0.3, None)


def test_clone_with_timeout_shares_pool_and_hooks(silent_url: str) -> None:
    seen: list[ResponseEvent] = []
    with Client(silent_url, timeout=None, bucket="b") as client:
        client.on("response", seen.append)
        quick = client.clone(timeout=0.3)
        assert quick.session.session is client.session.session
        assert quick.session.timeout == 0.3 and client.session.timeout is None
        assert quick.bucket_name == "b"
        error, elapsed = failing_call(quick)
    assert isinstance(error.__cause__, requests.ReadTimeout) and elapsed < QUICK
    assert len(seen) == 2  # a read is tried twice after a timeout, even with retry=0
    for event in seen:
        assert event.status is None and isinstance(event.error, requests.ReadTimeout)
        assert 0.2 < event.elapsed < QUICK


def test_a_read_is_tried_twice_even_with_retry_0(silent_url: str) -> None:
    """kinto-http's ``retry_timeout``: every read gets a second try after a network
    error; ``policy.read_retries = 0`` turns it off."""
    attempts: list[int] = []
    with Client(silent_url, timeout=0.2) as client:
        client.on("request", lambda e: attempts.append(e.attempt))
        error, _ = failing_call(client)
        assert attempts == [1, 2] and error.attempts == 2
        client.session.policy.read_retries = 0
        attempts.clear()
        failing_call(client)
        assert attempts == [1]
        with pytest.raises(NetworkError):
            client.create_bucket(id="b")  # a write: not retried with retry=0
        assert attempts == [1, 1]


def test_a_timed_out_get_is_retried(silent_url: str) -> None:
    attempts: list[int] = []
    with Client(silent_url, timeout=0.2, retry=1, retry_after=0) as client:
        client.on("request", lambda e: attempts.append(e.attempt))
        error, _ = failing_call(client)
    assert attempts == [1, 2] and error.attempts == 2
    assert isinstance(error, NetworkTimeout) and "after 2 attempts" in error.description
