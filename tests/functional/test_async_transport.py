"""The async transport on httpx: every request goes through ``httpx.AsyncClient.send``
of the client's own httpx client or the user's, with what that client carries (event
hooks, proxies, cookies); credentials, timeouts, events, errors, compressed bodies, TLS,
large bodies and keep-alive all work. Against the real Kinto server, plus a loopback
server that records the bytes it received (headers, cookies, gzip and TLS are things
Kinto does not exercise); ``httpx.AsyncClient.send`` is watched, never replaced.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from kinto_orm import AsyncClient, Client, KintoException
from kinto_orm.errors import NetworkError
from kinto_orm.session import AsyncSession

from .conftest import Note, Raw, rec_path, seed
from .recorder import Recorder, serve, tls_recorder_and_ca, url_of


@pytest.fixture
def through_send(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs sent through ``httpx.AsyncClient.send``: a wrapper that keeps
    ``__wrapped__`` (as tracing does), never replaces what it does."""
    sent: list[str] = []
    original = httpx.AsyncClient.send

    @functools.wraps(original)
    async def send(self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> Any:
        sent.append(str(request.url))
        return await original(self, request, **kwargs)

    monkeypatch.setattr(httpx.AsyncClient, "send", send)
    return sent


def arun(url: str, body: Callable[[AsyncClient], Awaitable[Any]], **settings: Any) -> Any:
    async def main() -> Any:
        async with AsyncClient(url, **settings) as aclient:
            return await body(aclient)

    return asyncio.run(main())


# ---------------------------------------------------------------------------- on Kinto


def test_every_request_of_the_default_client_goes_through_send(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str, through_send: list[str]
) -> None:
    seed(raw, bid, cid, [{"id": f"n{i:02d}", "title": f"note {i}", "n": i} for i in range(25)])
    events: list[str] = []

    async def body(aclient: AsyncClient) -> Any:
        aclient.on("request", lambda e: events.append(f"request {e.request.method}"))
        aclient.on("response", lambda e: events.append(f"response {e.response.status}"))
        notes = await aclient.records(Note, collection=cid).sort("n").aall()  # 3 pages
        first = notes[0]
        first.title = "changed"
        await first.asave()
        await Note(id="new", title="new", n=99).bind(aclient, collection=cid).acreate()
        await aclient.delete_record(id="n01", collection=cid)
        return [n.n for n in notes]

    ns = arun(kinto_server.url, body, auth=client.session.auth, bucket=bid)
    assert ns == list(range(25))
    assert raw.data(rec_path(bid, cid, "n00"))["title"] == "changed"
    assert raw.data(rec_path(bid, cid, "new"))["n"] == 99
    assert raw.status(rec_path(bid, cid, "n01")) == 404
    assert len(through_send) == 6  # 3 pages, save, create, delete
    assert events[:6] == ["request GET", "response 200"] * 3
    assert events.count("request GET") == 3 and len(events) == 12


@pytest.mark.parametrize("form", ["tuple", "string", "basic-token", "httpx.BasicAuth"])
def test_every_kind_of_credentials_reaches_kinto(
    kinto_server: Any, client: Client, raw: Raw, form: str, through_send: list[str]
) -> None:
    user, password = client.session.auth
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    auth = {
        "tuple": (user, password), "string": f"{user}:{password}",
        "basic-token": f"Basic {token}", "httpx.BasicAuth": httpx.BasicAuth(user, password),
    }[form]

    async def body(aclient: AsyncClient) -> Any:
        return (await aclient.server_info())["user"]["id"]

    assert arun(kinto_server.url, body, auth=auth) == raw.user_id()
    assert len(through_send) == 1


def test_a_session_the_user_gave_is_used_as_given(
    kinto_server: Any, client: Client, through_send: list[str]
) -> None:
    hooked: list[str] = []

    async def hook(request: httpx.Request) -> None:
        hooked.append(request.method)

    async def main() -> Any:
        own = httpx.AsyncClient(event_hooks={"request": [hook]})
        session = AsyncSession(kinto_server.url, auth=client.session.auth, session=own)
        async with AsyncClient(session=session) as aclient:
            info = await aclient.server_info()
        assert own.is_closed
        return info

    assert asyncio.run(main())["user"]["id"]
    assert hooked == ["GET"] and len(through_send) == 1


def test_hooks_and_proxies_apply(
    kinto_server: Any, client: Client, through_send: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.method)

    async def body(aclient: AsyncClient) -> None:
        await aclient.session.request("get", "/")
        aclient.session.session.event_hooks["request"].append(hook)
        await aclient.session.request("get", "/")
        aclient.session.session.event_hooks["request"].clear()
        await aclient.session.request("get", "/")

    arun(kinto_server.url, body, auth=client.session.auth)
    assert seen == ["GET"] and len(through_send) == 3

    for name in ("no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(NetworkError):
        arun(kinto_server.url, lambda aclient: aclient.server_info())
    assert len(through_send) == 4


# ---------------------------------------------------------------------------- the wire


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    yield from serve(Recorder())


def test_default_headers_changed_later_are_sent(recorder: Recorder) -> None:
    async def body(aclient: AsyncClient) -> None:
        await aclient.session.request("get", "/before")
        aclient.session.headers["X-Team"] = "red"  # the transport's defaults
        aclient.session.session.headers["Accept-Language"] = "fr"  # the httpx client's
        await aclient.session.request("get", "/after")

    arun(url_of(recorder), body)
    before, after = (dict(headers) for _, _, headers, _ in recorder.seen)
    assert "X-Team" not in before and "Accept-Language" not in before
    assert after["X-Team"] == "red" and after["Accept-Language"] == "fr"


def test_gzip_bodies_are_decoded_and_cookies_sent_back(recorder: Recorder) -> None:
    recorder.answer = {"gzip": True, "cookie": "lb=node-2; Path=/", "body": b'{"a": "\xc3\xa9"}'}

    async def body(aclient: AsyncClient) -> Any:
        first = await aclient.session.request("get", "/one")
        recorder.answer = {}
        second = await aclient.session.request("get", "/two")
        return first, second

    (first, headers), (second, _) = arun(url_of(recorder), body)
    assert first == {"a": "é"} and headers["content-encoding"] == "gzip"
    assert second == {"data": {"id": "x"}}
    assert "Cookie" not in dict(recorder.seen[0][2])
    assert dict(recorder.seen[1][2])["Cookie"] == "lb=node-2"


def test_connections_are_reused_and_a_hang_up_is_noticed(recorder: Recorder) -> None:
    async def body(aclient: AsyncClient) -> None:
        for _ in range(20):
            await aclient.session.request("get", "/keep")
        await asyncio.gather(*(aclient.session.request("get", "/many") for _ in range(8)))
        recorder.answer = {"close": True}
        await aclient.session.request("get", "/then-hang-up")
        await asyncio.sleep(0.2)  # the loop sees the server close the idle connection
        recorder.answer = {}
        await aclient.session.request("get", "/after")

    arun(url_of(recorder), body)
    assert [path for _, path, _, _ in recorder.seen][-2:] == ["/v1/then-hang-up", "/v1/after"]
    assert recorder.connections <= 9


def test_large_bodies_both_ways(recorder: Recorder) -> None:
    big = {"data": [{"id": f"r{i}", "text": "x" * 1000} for i in range(1500)]}  # 1.5 MB
    recorder.answer = {"body": json.dumps(big).encode()}

    async def body(aclient: AsyncClient) -> Any:
        await aclient.session.request("put", "/big", data=big["data"])
        answer, _ = await aclient.session.request("get", "/big")
        return answer

    assert arun(url_of(recorder), body) == big
    assert json.loads(recorder.seen[0][3])["data"] == big["data"]


def test_a_silent_server_times_out() -> None:
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"

        async def body(aclient: AsyncClient) -> Any:
            started = time.monotonic()
            with pytest.raises(NetworkError) as info, aclient.timeout((5, 0.3)):
                await aclient.server_info()
            return info.value, time.monotonic() - started

        error, elapsed = arun(url, body, timeout=None)
    assert isinstance(error.__cause__, httpx.ReadTimeout) and elapsed < 5


def test_nothing_listening_is_a_network_error() -> None:
    with pytest.raises(KintoException) as info:
        arun("http://127.0.0.1:9/v1", lambda aclient: aclient.server_info())
    assert isinstance(info.value, NetworkError)
    assert isinstance(info.value.__cause__, httpx.ConnectError)


# ---------------------------------------------------------------------------- TLS


@pytest.fixture
def tls_recorder(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    """The recorder behind TLS, with a certificate for ``localhost`` from a throwaway CA
    that ``SSL_CERT_FILE`` makes trusted (httpx reads it when the client is made)."""
    server, ca_file = tls_recorder_and_ca(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    yield from serve(server)


def test_tls(tls_recorder: Recorder) -> None:
    big = json.dumps({"data": "y" * 1_000_000}).encode()
    tls_recorder.answer = {"body": big}

    async def body(aclient: AsyncClient) -> Any:
        answers = [await aclient.session.request("get", f"/r{i}") for i in range(3)]
        return [a for a, _ in answers]

    answers = arun(url_of(tls_recorder, "https", "localhost"), body, auth=("alice", "pw"))
    assert answers == [json.loads(big)] * 3
    assert tls_recorder.connections == 1
    assert dict(tls_recorder.seen[0][2])["Host"] == f"localhost:{tls_recorder.server_address[1]}"


def test_an_untrusted_certificate_is_refused(tls_recorder: Recorder,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")
    with pytest.raises(NetworkError) as info:
        arun(url_of(tls_recorder, "https", "localhost"), lambda aclient: aclient.server_info())
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value)
