"""Edges of the async transport (httpx) found in review: headers of the caller in another
case, not-ASCII headers, repeated or not-ASCII answer headers, 1xx answers, query strings,
TLS to a host the certificate does not name, many requests at once on one client and
bodies larger than the socket buffers against the real Kinto, a storm of cancelled
requests that must leave the client usable and the loop quiet, closing a client with
requests in flight, read timeouts and limits.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import time
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kinto_orm import AsyncClient, Client
from kinto_orm.errors import InvalidHeader, NetworkError

from .conftest import Note, Raw, seed
from .recorder import Recorder, serve, tls_recorder_and_ca, url_of
from .relay import Relay
from .test_async import record_count
from .test_async_transport import arun, through_send

__all__ = ["through_send"]  # a fixture, used by name


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    yield from serve(Recorder())




# ---------------------------------------------------------------------------- headers


def test_a_header_of_the_caller_in_another_case_replaces_the_default(
    recorder: Recorder
) -> None:
    """``accept`` from the caller replaces the transport's ``Accept`` (one header
    sent, the caller's), as the sync client (requests) does."""
    async def body(aclient: AsyncClient) -> None:
        await aclient.session.request("get", "/x", headers={"accept": "text/html",
                                                            "user-agent": "me/1"})

    arun(url_of(recorder), body)
    sent = [(name.lower(), value) for name, value in recorder.seen[0][2]]
    assert [value for name, value in sent if name == "accept"] == ["text/html"]
    assert [value for name, value in sent if name == "user-agent"] == ["me/1"]


@pytest.mark.parametrize("way", ["sync", "async"])
def test_a_content_type_of_the_caller_in_any_case_is_the_one_sent(
    recorder: Recorder, way: str
) -> None:
    """A JSON body with the caller's ``content-type`` (lower case) goes out with that one
    header, not next to (or replaced by) the client's ``Content-Type``."""
    headers = {"content-type": "application/vnd.test+json"}
    if way == "sync":
        with Client(url_of(recorder)) as client:
            client.session.request("post", "/x", data={"a": 1}, headers=headers)
    else:
        async def body(aclient: AsyncClient) -> None:
            await aclient.session.request("post", "/x", data={"a": 1}, headers=headers)

        arun(url_of(recorder), body)
    sent = [(name.lower(), value) for name, value in recorder.seen[0][2]]
    assert [value for name, value in sent if name == "content-type"] == [
        "application/vnd.test+json"
    ]


@pytest.mark.parametrize("name, value", [("X-Näme", "a"), ("X-Name", "café"),
                                         ("X-Tab", "a\tb"), ("X-Empty", "")])
def test_a_header_not_in_ascii_is_refused_as_httpx_refuses_it(
    recorder: Recorder, name: str, value: str
) -> None:
    async def body(aclient: AsyncClient) -> Any:
        try:
            await aclient.session.request("get", "/x", headers={name: value})
        except Exception as exc:
            return type(exc)
        return dict(recorder.seen[-1][2])[name]

    outcome = arun(url_of(recorder), body)
    if name == "X-Näme":
        assert outcome is InvalidHeader  # not an HTTP token
    elif value == "café":
        assert outcome is UnicodeEncodeError  # httpx's own refusal
    else:
        assert outcome == value


@pytest.mark.parametrize("headers", [
    [(b"Set-Cookie", b"a=1; Path=/"), (b"Set-Cookie", b"b=2; Path=/")],
    [(b"X-Name", "café".encode())],
    [(b"X-Name", "café".encode("latin-1"))],
    [(b"X-A", b"1"), (b"x-a", b"2"), (b"X-Empty", b"")],
], ids=["cookies", "utf-8", "latin-1", "repeated"])
def test_answer_headers_read_as_httpx_reads_them(
    recorder: Recorder, headers: list[tuple[bytes, bytes]]
) -> None:
    async def body(aclient: AsyncClient) -> Any:
        recorder.answer = {"raw-headers": headers}
        _, answer = await aclient.session.request("get", "/h")
        recorder.answer = {}
        cookie = dict(recorder.seen[-1][2]).get("Cookie")
        await aclient.session.request("get", "/next")
        return {k: v for k, v in answer.items() if k != "date"}, cookie, \
            dict(recorder.seen[-1][2]).get("Cookie")

    answer, first_cookie, next_cookie = arun(url_of(recorder), body)
    assert first_cookie is None
    if headers[0][0] == b"Set-Cookie":
        assert answer["set-cookie"] == "a=1; Path=/, b=2; Path=/" and next_cookie == "a=1; b=2"
    elif headers[0][0] == b"X-A":
        assert answer["x-a"] == "1, 2" and answer["x-empty"] == ""
    else:
        assert answer["x-name"] in ("café", "cafÃ©", "caf\xe9")


def test_interim_answers_are_skipped(recorder: Recorder, through_send: list[str]) -> None:
    async def body(aclient: AsyncClient) -> Any:
        recorder.answer = {"interim": b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"}
        hinted = await aclient.session.request("get", "/i")
        recorder.answer = {"interim": b"HTTP/1.1 100 Continue\r\n\r\n"}
        continued = await aclient.session.request("put", "/i", payload={"a": 1})
        recorder.answer = {}
        return hinted[0], continued[0], (await aclient.session.request("get", "/i"))[0]

    assert arun(url_of(recorder), body) == ({"data": {"id": "x"}},) * 3
    assert recorder.connections == 1 and len(through_send) == 3


def test_query_strings_as_httpx_writes_them(recorder: Recorder) -> None:
    async def body(aclient: AsyncClient) -> list[str]:
        targets = []
        for params in ({"a": "ü~*' ", "b": "x/y?z&"}, {"_limit": "2", "_sort": "-n"}):
            await aclient.session.request("get", "/p", params=params)
            targets.append(recorder.seen[-1][1])
        return targets

    assert arun(url_of(recorder), body) == [
        "/v1/p?a=%C3%BC~%2A%27+&b=x%2Fy%3Fz%26", "/v1/p?_limit=2&_sort=-n"]


def test_tls_to_a_host_the_certificate_does_not_name(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, ca_file = tls_recorder_and_ca(tmp_path)  # for "localhost"
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    for tls in serve(server):
        async def body(aclient: AsyncClient) -> Any:
            try:
                await aclient.server_info()
            except NetworkError as exc:
                return type(exc.__cause__), str(exc)
            return None

        outcome = arun(url_of(tls, "https", "127.0.0.1"), body)
    assert outcome[0] is httpx.ConnectError and "CERTIFICATE_VERIFY_FAILED" in outcome[1]
    assert tls.seen == []


# ---------------------------------------------------------------------------- on Kinto


def test_many_requests_at_once_each_get_their_own_answer(
    kinto_server: Any, client: Client, bid: str, cid: str
) -> None:
    async def body(aclient: AsyncClient) -> Any:
        collection = aclient.collection(cid)
        notes = [collection.record(f"w{i:03d}", Note, title="t" * i, n=i) for i in range(200)]
        await asyncio.gather(*(note.acreate() for note in notes))  # 100 connections at most
        query = aclient.records(Note, collection=cid)
        read = await asyncio.gather(*(query.aget(f"w{i:03d}") for i in range(200)))
        return [(note.id, note.n, len(note.title)) for note in read]

    read = arun(kinto_server.url, body, auth=client.session.auth, bucket=bid)
    assert read == [(f"w{i:03d}", i, i) for i in range(200)]


def test_bodies_larger_than_the_socket_buffers(
    kinto_server: Any, client: Client, bid: str, cid: str
) -> None:
    async def body(aclient: AsyncClient) -> Any:
        collection = aclient.collection(cid)
        await asyncio.gather(*(collection.record(f"b{i}", Note, title=str(i) * 400_000)
                               .acreate() for i in range(5)))
        await collection.record("big", Note, title="é" * 3_000_000).acreate()  # 6 MB up
        query = aclient.records(Note, collection=cid)
        big = await query.aget("big")
        many = await asyncio.gather(*(query.aget(f"b{i}") for i in range(5)))
        return big.title == "é" * 3_000_000, [m.title == str(i) * 400_000
                                              for i, m in enumerate(many)]

    assert arun(kinto_server.url, body, auth=client.session.auth, bucket=bid) == (True, [True] * 5)


def test_a_storm_of_cancelled_requests_leaves_the_pool_clean(
    relay: Relay, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    seed(raw, bid, cid, [{"id": f"n{i:02d}", "title": "t", "n": i} for i in range(25)])
    ids = [f"n{i:02d}" for i in range(25)]
    reported: list[dict[str, Any]] = []

    async def body(aclient: AsyncClient) -> Any:
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: reported.append(ctx))
        query = aclient.records(Note, collection=cid)
        for i in range(200):  # cancelled at every stage: connecting, writing, reading
            try:
                await asyncio.wait_for(query.aget(ids[i % 25]), 0.0005 * (i % 10))
            except asyncio.TimeoutError:
                pass
        one_by_one = [(await query.aget(rid)).id for rid in ids]
        at_once = [note.id for note in await asyncio.gather(*map(query.aget, ids))]
        return one_by_one, at_once

    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        one_by_one, at_once = arun(relay.url, body, auth=client.session.auth, bucket=bid)
        gc.collect()
    assert one_by_one == at_once == ids and reported == []
    for _ in range(50):  # the client is closed: so are all its connections
        if relay.live == 0:
            break
        time.sleep(0.02)
    assert relay.live == 0


@pytest.mark.parametrize("method", ["post", "put"])
def test_an_answer_lost_after_kinto_applied_the_request(
    relay: Relay, client: Client, raw: Raw, bid: str, cid: str, method: str
) -> None:
    """The request reached Kinto, its answer was lost (hang-up): with ``retry=2``, a
    PUT is sent again on a new connection, a POST is not (it would create a second
    record); one record either way."""
    async def body(aclient: AsyncClient) -> Any:
        await aclient.server_info()  # a connection to reuse
        relay.drop_next_answer = True
        records = f"/buckets/{bid}/collections/{cid}/records"
        try:
            if method == "post":
                await aclient.session.request("post", records, data={"title": "once"})
            else:
                await aclient.session.request("put", f"{records}/r1", data={"title": "once"})
        except NetworkError as exc:
            return type(exc.__cause__)
        return "answered"

    outcome = arun(relay.url, body, auth=client.session.auth, bucket=bid, retry=2,
                   retry_after=0)
    assert outcome == ("answered" if method == "put" else httpx.RemoteProtocolError)
    assert record_count(raw, bid, cid) == 1 and relay.connections == (2 if method == "put" else 1)


# ---------------------------------------------------------------------------- closing


def test_closing_the_client_fails_the_requests_in_flight() -> None:
    """As httpx's pool does, the requests still waiting for an answer when the client
    is closed fail at once (httpx.ReadError), instead of waiting for ever (here with no
    timeout) for an answer that cannot come on a closed connection."""
    with socket.socket() as silent:  # accepts, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"

        async def main() -> Any:
            aclient = AsyncClient(url, timeout=None)
            waiting = asyncio.ensure_future(aclient.server_info())
            await asyncio.sleep(0.2)
            await aclient.close()
            try:
                await asyncio.wait_for(waiting, 3)
            except NetworkError as exc:
                return type(exc.__cause__)
            except asyncio.TimeoutError:
                return "still waiting"
            return "answered"

        assert asyncio.run(main()) is httpx.ReadError


# ---------------------------------------------------------------------------- read timeouts


def test_a_short_read_timeout_after_a_long_one_fires_on_time(recorder: Recorder) -> None:
    """The read timeout's watch left by a request with a long timeout does not delay
    the timeout of the next request on the connection, whose timeout is shorter."""
    async def body(aclient: AsyncClient) -> Any:
        with aclient.timeout((5, 30)):
            await aclient.session.request("get", "/x")
        recorder.answer = {"delay": 1.5}
        started = time.monotonic()
        with pytest.raises(NetworkError) as info, aclient.timeout((5, 0.2)):
            await aclient.session.request("get", "/x")
        return info.value, time.monotonic() - started

    error, elapsed = arun(url_of(recorder), body)
    assert isinstance(error.__cause__, httpx.ReadTimeout)
    assert elapsed < 1.0
    assert recorder.connections == 1  # the same connection: its watch was the long one


def test_bytes_that_keep_coming_hold_off_the_read_timeout(recorder: Recorder) -> None:
    """The read timeout is the longest silence, as httpx's: an answer trickling in for
    longer than it, in pieces closer together, arrives whole; one silent for longer
    than it fails, also on a connection whose watch a former request left."""
    content = b'{"data": {"id": "x", "text": "%s"}}' % (b"y" * 4000)
    recorder.answer = {"body": content, "trickle": (6, 0.1)}

    async def body(aclient: AsyncClient) -> Any:
        with aclient.timeout((5, 0.35)):
            first, _ = await aclient.session.request("get", "/x")
            second, _ = await aclient.session.request("get", "/x")
            recorder.answer = {"body": content, "trickle": (2, 0.7)}
            started = time.monotonic()
            with pytest.raises(NetworkError) as info:
                await aclient.session.request("get", "/x")
        return first, second, info.value, time.monotonic() - started

    first, second, error, elapsed = arun(url_of(recorder), body)
    assert first == second == {"data": {"id": "x", "text": "y" * 4000}}
    assert isinstance(error.__cause__, httpx.ReadTimeout) and elapsed < 0.65


# ---------------------------------------------------------------------------- limits


@pytest.mark.parametrize("way", ["sync", "async"])
def test_answer_headers_over_100_kib_fail_the_request(recorder: Recorder, way: str) -> None:
    """A server sending endless headers fails the request once more than 100 KiB came
    without their end (httpcore's limit), instead of filling the client's memory;
    headers under the limit are read."""
    recorder.answer = {"raw-headers": [(b"X-Big", b"a" * 60_000)]}
    if way == "sync":
        with Client(url_of(recorder)) as client:
            _, headers = client.session.request("get", "/x")
            recorder.answer = {"raw-headers": [(b"X-Big", b"a" * 80_000)] * 5}
            with pytest.raises(NetworkError) as info:
                client.session.request("get", "/x")
    else:
        async def body(aclient: AsyncClient) -> Any:
            _, headers = await aclient.session.request("get", "/x")
            recorder.answer = {"raw-headers": [(b"X-Big", b"a" * 80_000)] * 5}
            with pytest.raises(NetworkError) as info:
                await aclient.session.request("get", "/x")
            return headers, info

        headers, info = arun(url_of(recorder), body)
    assert len(headers["x-big"]) == 60_000 and isinstance(info.value, NetworkError)


@pytest.mark.parametrize("way", ["sync", "async"])
def test_a_large_body_arrives_whole(recorder: Recorder, way: str) -> None:
    """A body over a megabyte (written in place into one buffer as it arrives) is the
    same bytes, and the connection serves the next answer."""
    text = "".join(chr(65 + i % 26) for i in range(3_000_000))
    recorder.answer = {"body": b'{"data": {"id": "x", "text": "%s"}}' % text.encode()}
    if way == "sync":
        with Client(url_of(recorder)) as client:
            big, _ = client.session.request("get", "/big")
            recorder.answer = {}
            small, _ = client.session.request("get", "/small")
    else:
        async def body(aclient: AsyncClient) -> Any:
            big, _ = await aclient.session.request("get", "/big")
            recorder.answer = {}
            small, _ = await aclient.session.request("get", "/small")
            return big, small

        big, small = arun(url_of(recorder), body)
    assert big["data"]["text"] == text and small == {"data": {"id": "x"}}
    assert recorder.connections == 1
