"""Edges of the transports found in review (both clients, on requests and httpx): bytes
of a second answer (or of none) behind the one asked for, trailer fields of a chunked
answer, a repeated Content-Length, the timeout a request is sent with on a reused
connection, a reset during the TLS handshake, many threads on one client, an answer lost
after Kinto applied the request and requests' own ``Session.close()`` (against the real
Kinto, through the relay), and the memory a large answer or request body takes.

Answers Kinto never sends come from the loopback recorder or a socket of the test's own.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
import time
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from kinto_orm import AsyncClient, Client
from kinto_orm import protocol as core
from kinto_orm.errors import NetworkError
from kinto_orm.transport.drivers import KEEP_ALIVE

from .conftest import Note, Raw, seed
from .recorder import Recorder, serve, url_of
from .relay import Relay
from .test_async import record_count

BODY = b'{"data": {"id": "x"}}'


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    yield from serve(Recorder())


def _get(url: str, way: str, path: str = "/x") -> tuple[Any, dict[str, str]]:
    """GET ``path`` with a new client, sync or async; (body, headers without Date)."""
    if way == "async":
        async def read() -> Any:
            async with AsyncClient(url) as aclient:
                return await aclient.session.request("get", path)

        body, headers = asyncio.run(read())
    else:
        with Client(url) as own:
            body, headers = own.session.request("get", path)
    return body, {k.lower(): v for k, v in headers.items() if k.lower() != "date"}


# ---------------------------------------------------------------------------- answers


@pytest.mark.parametrize("way", ["sync", "async"])
def test_bytes_of_a_second_answer_do_not_change_the_first(recorder: Recorder, way: str) -> None:
    """A server sends, in the same bytes as the answer, the start of another one
    (a stray ``500``): the answer asked for is read as it was sent (status, reason,
    headers), as requests reads it; the connection is not reused."""
    stray = b"HTTP/1.1 500 Boom\r\nX-Stray: 1\r\nContent-Length: 0\r\n\r\n"
    recorder.answer = {"body": BODY + stray, "framing": "none",
                       "headers": [("Content-Length", str(len(BODY)))]}
    body, headers = _get(url_of(recorder), way)
    assert body == {"data": {"id": "x"}}
    assert "x-stray" not in headers and headers["content-length"] == str(len(BODY))


@pytest.mark.parametrize("way", ["sync", "async"])
def test_bytes_that_are_no_answer_after_a_whole_one_do_not_fail_it(
    recorder: Recorder, way: str
) -> None:
    """Bytes after a whole answer that the parser refuses (no answer starts so) are not
    the answer's: it is returned, as requests returns it; the connection not reused."""
    recorder.answer = {"body": BODY + b"garbage\r\n", "framing": "none",
                       "headers": [("Content-Length", str(len(BODY)))]}
    body, headers = _get(url_of(recorder), way)
    recorder.answer = {}
    assert body == {"data": {"id": "x"}} and headers["content-length"] == str(len(BODY))


@pytest.mark.parametrize("way", ["sync", "async"])
def test_a_content_length_repeated_with_the_same_value_is_read(
    recorder: Recorder, way: str
) -> None:
    """Two ``Content-Length`` headers of the same value (RFC 9110 8.6: a recipient may
    take it as one): requests and httpx read the answer."""
    recorder.answer = {"body": BODY, "framing": "none",
                       "headers": [("Content-Length", str(len(BODY)))] * 2}
    body, _ = _get(url_of(recorder), way)
    assert body == {"data": {"id": "x"}}


@pytest.mark.parametrize("way", ["sync", "async"])
def test_trailer_fields_are_not_answer_headers(recorder: Recorder, way: str) -> None:
    """A chunked answer's trailer fields are not among its headers (``http.client`` and
    h11 leave them out): a trailing ``Content-Type`` does not join the header's value."""
    chunked = b"%x\r\n%s\r\n0\r\nContent-Type: text/html\r\nX-Trailer: 1\r\n\r\n" % (
        len(BODY), BODY)
    recorder.answer = {"body": chunked, "framing": "none",
                       "headers": [("Transfer-Encoding", "chunked")]}
    body, headers = _get(url_of(recorder), way)
    assert body == {"data": {"id": "x"}}
    assert headers["content-type"] == "application/json" and "x-trailer" not in headers


# ---------------------------------------------------------------------------- timeouts


def _answers_once_then_reads_nothing() -> tuple[socket.socket, threading.Event]:
    """A server answering the first request of a connection, then reading nothing more
    (its receive buffer fills: a large request blocks in ``sendall()``)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve_one() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                received = b""
                while b"\r\n\r\n" not in received:
                    received += connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                   b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY))
                stop.wait(30)

    threading.Thread(target=serve_one, daemon=True).start()
    return listener, stop


def test_a_request_is_sent_within_the_connect_timeout_on_a_reused_connection() -> None:
    """urllib3 sends a request with the connect timeout on every connection, a reused
    one too (``HTTPConnection.request()`` sets it on the socket): a 24 MB body the
    server stops reading fails after (0.5, 8)'s 0.5 s, not its read timeout's 8 s."""
    listener, stop = _answers_once_then_reads_nothing()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    try:
        with Client(url, timeout=(0.5, 8)) as own:
            own.session.request("get", "/first")  # the connection to reuse
            started = time.monotonic()
            with pytest.raises(NetworkError) as info:
                own.session.request("put", "/big", data={"x": "y" * 24_000_000})
            elapsed = time.monotonic() - started
    finally:
        stop.set()
        listener.close()
    assert type(info.value.__cause__) is requests.exceptions.ConnectionError
    assert "Connection aborted." in str(info.value) and elapsed < 4


def test_a_reset_during_the_tls_handshake_is_requests_own_error() -> None:
    """A server that resets the connection as soon as it is made: the error is
    requests' ``ConnectionError`` with urllib3's words ("Connection aborted.", re-raised
    by its ``Retry`` for a read error)."""
    listener = socket.create_server(("127.0.0.1", 0))

    def reset() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()

    threading.Thread(target=reset, daemon=True).start()
    url = f"https://127.0.0.1:{listener.getsockname()[1]}/v1"
    errors = []
    try:
        for _ in range(2):
            with Client(url) as own, pytest.raises(NetworkError) as info:
                own.server_info()
            errors.append((type(info.value.__cause__), str(info.value.__cause__)))
    finally:
        listener.close()
    # The reset races the client: mostly it ends the TLS handshake ("Connection
    # aborted."), sometimes the TCP connect itself (urllib3's NewConnectionError), or it
    # is an SSL end of file (SSLError, a ConnectionError too); either way alike. What
    # must not happen: a handshake reset wrapped as "Caused by ProtocolError".
    for kind, message in errors:
        assert issubclass(kind, requests.exceptions.ConnectionError), (kind, message)
        if kind is requests.exceptions.ConnectionError:
            assert message.startswith("('Connection aborted.'") \
                or "Failed to establish a new connection" in message, message


# ---------------------------------------------------------------------------- threads


def test_sixteen_threads_each_get_their_own_answer(
    relay: Relay, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    """Reads and saves from 16 threads at once on one client: every caller gets the
    answer to its own request, and at most ``KEEP_ALIVE`` connections stay open."""
    seed(raw, bid, cid, [{"id": f"n{i:02d}", "title": f"note {i}", "n": i} for i in range(32)])
    with Client(relay.url, auth=client.session.auth, bucket=bid) as own:
        query = own.records(Note, collection=cid)

        def work(i: int) -> tuple[str, int, str]:
            rid = f"n{i % 32:02d}"
            if i % 3:
                note = query.get(rid)
                return note.id, note.n, note.title
            note = Note(id=f"w{i:03d}", title=f"written {i}", n=1000 + i).bind(
                own, collection=cid)
            note.save()
            return note.id, note.n, note.title

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(work, range(320)))
        time.sleep(0.2)  # the relay sees the connections the pool closed
        live = relay.live
    for i, (rid, n, title) in enumerate(results):
        if i % 3:
            assert (rid, n, title) == (f"n{i % 32:02d}", i % 32, f"note {i % 32}")
        else:
            assert (rid, n, title) == (f"w{i:03d}", 1000 + i, f"written {i}")
    assert live <= KEEP_ALIVE
    assert record_count(raw, bid, cid) == 32 + len(range(0, 320, 3))


@pytest.mark.parametrize("method", ["post", "put"])
def test_an_answer_lost_after_kinto_applied_the_request(
    relay: Relay, client: Client, raw: Raw, bid: str, cid: str, method: str
) -> None:
    """The request reached Kinto, its answer was lost (hang-up): with ``retry=2``, a
    PUT is sent again on a new connection, a POST is not (it would create a second
    record); one record either way, the POST's error requests' own."""
    records = f"/buckets/{bid}/collections/{cid}/records"
    with Client(relay.url, auth=client.session.auth, bucket=bid, retry=2,
                retry_after=0) as own:
        own.server_info()  # a connection to reuse
        relay.drop_next_answer = True
        try:
            if method == "post":
                own.session.request("post", records, data={"title": "once"})
            else:
                own.session.request("put", f"{records}/r1", data={"title": "once"})
            outcome: Any = "answered"
        except NetworkError as exc:
            outcome = (type(exc.__cause__), "Remote end closed" in str(exc))
    assert outcome == ("answered" if method == "put"
                       else (requests.exceptions.ConnectionError, True))
    assert record_count(raw, bid, cid) == 1
    assert relay.connections == (2 if method == "put" else 1)


# ---------------------------------------------------------------------------- memory


def test_a_large_body_is_held_at_most_twice(recorder: Recorder) -> None:
    """A 5 MB answer: requests reads it in pieces and joins them (``Response.content``),
    so the peak of allocations is about 2x its size, never more."""
    size = 5_000_000
    recorder.answer = {"body": json.dumps({"data": "x" * (size - 12)}).encode()}
    with Client(url_of(recorder)) as own:
        own.session.request("get", "/warm")  # a connection, caches, imports
        tracemalloc.start()
        try:
            response = own.session.send(core.Request("GET", "/big"))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert len(response.content) == size and peak < 2.3 * size


# ---------------------------------------------------------------------------- closing


def test_closing_the_requests_session_closes_the_idle_connections(
    relay: Relay, client: Client
) -> None:
    """``client.session.session.close()`` (requests' own) closes every connection the
    session kept."""
    with Client(relay.url, auth=client.session.auth) as own:
        own.server_info()
        time.sleep(0.1)
        before = relay.live
        own.session.session.close()
        time.sleep(0.2)
        after = relay.live
    assert (before, after) == (1, 0)


def test_a_large_request_body_is_not_copied_to_be_sent(recorder: Recorder) -> None:
    """A 5 MB PUT: the body encoded once (its JSON text and bytes, 2x) and sent as it
    is, as urllib3 sends it, not joined to its headers into a third copy."""
    size = 5_000_000
    with Client(url_of(recorder)) as own:
        own.session.request("get", "/warm")  # a connection, caches, imports
        request = core.Request("PUT", "/big", json={"x": "y" * size})
        tracemalloc.start()
        try:
            own.session.send(request)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert len(recorder.seen[-1][3]) == size + 8 and peak < 2.4 * size
