"""The async transport's connections (httpx's pool, sized by ``LIMITS``): kept alive and
reused, never reused once the server closed them or while an answer is half read, with
httpx's timeouts and errors.

Against the real Kinto server through a TCP relay that counts connections and can
hold answers or hang up (``relay.py``); framings Kinto never sends (chunked, until the
connection closes) and the timeouts against the loopback recorder or a silent socket.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kinto_orm import AsyncClient, Client
from kinto_orm.errors import InvalidHeader, NetworkError
from kinto_orm.transport.drivers import KEEP_ALIVE, LIMITS

from .conftest import Note
from .recorder import Recorder, serve, url_of
from .relay import Relay
from .test_async_transport import arun, through_send

__all__ = ["through_send"]  # a fixture, used by name


def on(relay: Relay, client: Client, bid: str, body: Any, **settings: Any) -> Any:
    return arun(relay.url, body, auth=client.session.auth, bucket=bid, **settings)


# ---------------------------------------------------------------------------- keep-alive


def test_connections_are_kept_and_reused_within_httpx_limits(
    relay: Relay, client: Client, bid: str, cid: str, notes: list[str], through_send: list[str]
) -> None:
    async def body(aclient: AsyncClient) -> Any:
        query = aclient.records(Note, collection=cid)
        seen = [(await query.aget(rid)).id for rid in notes[:10]]  # one after the other
        after_sequence = relay.connections
        relay.hold_after(0)  # every request of the burst waits: one connection each
        burst = asyncio.gather(*(query.aget(rid) for rid in notes))
        for _ in range(500):
            if relay.connections >= 25:
                break
            await asyncio.sleep(0.02)
        relay.release()
        seen += [n.id for n in await burst]
        after_burst = relay.connections
        await asyncio.sleep(0.2)  # the relay sees the connections the pool closed
        kept = relay.live
        assert await query.acount() == 25  # HEAD: no body, whatever Content-Length says
        seen += [(await query.aget(rid)).id for rid in notes[:10]]
        return seen, after_sequence, after_burst, kept

    seen, after_sequence, after_burst, kept = on(relay, client, bid, body)
    assert seen == notes[:10] + notes + notes[:10]
    assert after_sequence == 1  # one connection for the whole sequence
    assert after_burst == 25  # one per request in flight (max 100)
    assert kept == KEEP_ALIVE  # 20 kept alive, the other 5 closed
    assert relay.connections == 25  # the HEAD and the rest reused them
    assert len(through_send) == 10 + 25 + 1 + 10
    for _ in range(50):  # the client is closed: so are its connections
        if relay.live == 0:
            break
        time.sleep(0.02)
    assert relay.live == 0


def test_a_connection_the_server_closed_is_not_reused(
    relay: Relay, client: Client, bid: str, cid: str, notes: list[str]
) -> None:
    async def body(aclient: AsyncClient) -> Any:
        query = aclient.records(Note, collection=cid)
        first = await query.aget(notes[0])
        relay.hang_up()
        await asyncio.sleep(0.2)  # the loop sees the end of the idle connection
        return first.id, (await query.aget(notes[1])).id

    assert on(relay, client, bid, body) == (notes[0], notes[1])  # retry=0: no error
    assert relay.connections == 2


def test_a_connection_closed_while_the_loop_was_busy_is_not_reused(
    relay: Relay, client: Client, bid: str, cid: str, notes: list[str]
) -> None:
    """The server closed the idle connection while the loop was blocked (CPU work, a
    blocking call), so asyncio has not seen it yet: as httpcore (which asks the socket
    whether it is readable before reusing it), a new connection is opened; retry=0."""
    async def body(aclient: AsyncClient) -> Any:
        query = aclient.records(Note, collection=cid)
        first = await query.aget(notes[0])
        relay.hang_up()
        time.sleep(0.2)  # blocking: the loop does not run
        return first.id, (await query.aget(notes[1])).id

    assert on(relay, client, bid, body) == (notes[0], notes[1])
    assert relay.connections == 2


@pytest.mark.parametrize("retry", [0, 1])
def test_a_hang_up_on_a_reused_connection_before_any_answer(
    relay: Relay, client: Client, bid: str, cid: str, notes: list[str], retry: int
) -> None:
    """The server closed just as the client reused the connection: the error httpx
    raises (nothing was answered), retried as any network error when allowed."""
    async def body(aclient: AsyncClient) -> Any:
        query = aclient.records(Note, collection=cid)
        await query.aget(notes[0])
        relay.drop_next_request = True
        try:
            return (await query.aget(notes[1])).id
        except NetworkError as exc:
            return exc

    outcome = on(relay, client, bid, body, retry=retry, retry_after=0)
    if retry:
        assert outcome == notes[1] and relay.connections == 2
    else:
        assert isinstance(outcome, NetworkError)
        assert isinstance(outcome.__cause__, httpx.RemoteProtocolError)
        assert str(outcome) == "Server disconnected without sending a response."


@pytest.mark.parametrize("let_through", [0, 60, 2000], ids=["nothing", "headers", "body"])
def test_a_request_cancelled_mid_answer_leaves_no_half_read_connection(
    relay: Relay, client: Client, bid: str, cid: str, notes: list[str], let_through: int
) -> None:
    async def body(aclient: AsyncClient) -> Any:
        query = aclient.records(Note, collection=cid)
        await query.aget(notes[0])
        relay.hold_after(let_through)
        task = asyncio.ensure_future(query.sort("n").aall())  # ~4 KB of answer
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        relay.release()  # the rest of that answer arrives on the closed connection
        return (await query.aget(notes[1])).id, (await query.aget(notes[2])).id

    assert on(relay, client, bid, body) == (notes[1], notes[2])
    assert relay.connections == 2  # the cancelled one was closed, a new one serves on


# The first loop's connection is closed by the garbage collector (its loop, closed, can
# no longer do it), which warns about it.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_one_client_under_one_event_loop_after_another(
    relay: Relay, client: Client, bid: str, cid: str, notes: list[str]
) -> None:
    """``asyncio.run()`` twice with the same client: the connections of the first loop
    (closed with it) are left behind, the second opens its own."""
    aclient = AsyncClient(relay.url, auth=client.session.auth, bucket=bid)
    query = aclient.records(Note, collection=cid)

    async def read(rid: str) -> str:
        return (await query.aget(rid)).id

    assert asyncio.run(read(notes[0])) == notes[0]
    assert asyncio.run(read(notes[1])) == notes[1]
    asyncio.run(aclient.close())
    assert relay.connections == 2


# ---------------------------------------------------------------------------- framings


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    yield from serve(Recorder())


@pytest.mark.parametrize("framing, connections", [
    ("chunked", 1), ("until-close", 3), ("connection-close", 3),
])
def test_answers_of_every_framing(
    recorder: Recorder, framing: str, connections: int
) -> None:
    big = {"data": [{"id": f"r{i}", "text": "x" * 100} for i in range(100)]}  # 11 KB
    recorder.answer = {"body": json.dumps(big).encode(), "gzip": framing == "chunked"}
    recorder.answer["connection-close" if framing == "connection-close" else "framing"] = framing

    async def body(aclient: AsyncClient) -> Any:
        return [(await aclient.session.request("get", f"/r{i}"))[0] for i in range(3)]

    assert arun(url_of(recorder), body) == [big] * 3
    assert recorder.connections == connections


def test_head_and_no_content_answers_have_no_body(recorder: Recorder) -> None:
    async def body(aclient: AsyncClient) -> Any:
        recorder.answer = {"body": b'{"data": "a body HEAD does not get"}'}
        head = await aclient.session.request("head", "/h")
        recorder.answer = {"status": 304, "body": b"", "framing": "none"}
        unchanged = await aclient.session.request("get", "/unchanged")
        recorder.answer = {}
        return head, unchanged, await aclient.session.request("get", "/after")

    (head, headers), unchanged, after = arun(url_of(recorder), body)
    assert head is None and headers["content-length"] == "36"
    assert unchanged[0] is None and unchanged[1]["content-type"] == "application/json"
    assert after[0] == {"data": {"id": "x"}}  # the answers stayed apart, on one connection
    assert recorder.connections == 1


@pytest.mark.parametrize("answer", [
    {"truncate": True}, {"truncate": True, "framing": "chunked", "body": b"x" * 3000},
    {"truncate": True, "body": b"x" * 3_000_000},  # large: written in place as it comes
], ids=["length", "chunked", "large"])
def test_an_answer_cut_short_is_httpx_own_error(
    recorder: Recorder, answer: dict[str, Any]
) -> None:
    async def body(aclient: AsyncClient) -> Any:
        await aclient.session.request("get", "/fine")  # a connection to reuse
        recorder.answer = dict(answer)
        with pytest.raises(NetworkError) as info:
            await aclient.session.request("get", "/cut")
        recorder.answer = {}
        return info.value

    error = arun(url_of(recorder), body)
    assert type(error.__cause__) is httpx.RemoteProtocolError
    assert "peer closed connection" in str(error)


@pytest.mark.parametrize("name, value", [("X-Bad", "a\r\nInjected: 1"), ("X Bad", "a"),
                                         ("X-Bad", " padded")])
def test_a_header_httpx_refuses_is_refused_before_sending(
    recorder: Recorder, through_send: list[str], name: str, value: str
) -> None:
    async def body(aclient: AsyncClient) -> Any:
        with pytest.raises(InvalidHeader) as info:
            await aclient.session.request("get", "/x", headers={name: value})
        return info.value

    assert isinstance(arun(url_of(recorder), body), ValueError)
    assert recorder.seen == [] and through_send == []


# ---------------------------------------------------------------------------- timeouts


def _silent_url(backlog: int = 200) -> tuple[socket.socket, str]:
    """A socket that accepts connections (the kernel does) and never reads nor answers."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(backlog)
    return silent, f"http://127.0.0.1:{silent.getsockname()[1]}/v1"


def test_a_server_that_does_not_read_times_the_write_out() -> None:
    silent, url = _silent_url()
    with silent:
        async def body(aclient: AsyncClient) -> Any:
            started = time.monotonic()
            with pytest.raises(NetworkError) as info, aclient.timeout((5, 0.3)):
                await aclient.session.request("put", "/big", data="x" * 64_000_000)
            return info.value, time.monotonic() - started

        error, elapsed = arun(url, body, timeout=None)
    assert isinstance(error.__cause__, httpx.WriteTimeout) and elapsed < 5


def test_the_pool_timeout_when_every_connection_is_busy() -> None:
    silent, url = _silent_url()
    with silent:
        async def body(aclient: AsyncClient) -> Any:
            async def waits() -> None:
                with aclient.timeout((5, 30)):
                    await aclient.server_info()

            busy = [asyncio.ensure_future(waits()) for _ in range(LIMITS.max_connections or 100)]
            await asyncio.sleep(0.5)  # all of them connected and waiting for an answer
            started = time.monotonic()
            with pytest.raises(NetworkError) as info, aclient.timeout((5, 0.3)):
                await aclient.server_info()
            elapsed = time.monotonic() - started
            for task in busy:
                task.cancel()
            await asyncio.gather(*busy, return_exceptions=True)
            return info.value, elapsed

        error, elapsed = arun(url, body, timeout=None)
    assert isinstance(error.__cause__, httpx.PoolTimeout) and 0.25 < elapsed < 5
