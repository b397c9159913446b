"""The transports' retry/backoff loops with a scripted HTTP layer (no server, no sleeping).

Faults against the real server are the functional fault tests' job; here the decisions
of the core are checked to be applied: how many attempts, how long each wait.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import requests

from kinto_orm import protocol as core
from kinto_orm.errors import KintoException, ServerError
from kinto_orm.transport import drivers as _transport

SERVER = "http://kinto.test/v1"


class ScriptedSession:
    """A ``requests.Session`` stand-in answering with scripted (status, body, headers)
    tuples or raising scripted exceptions."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def request(self, method, url, **kwargs):
        self.calls.append((method, url, kwargs))
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        status, body, headers = answer
        raw = requests.Response()
        raw.status_code = status
        raw._content = json.dumps(body).encode()
        raw.headers.update(headers)
        raw.url = url
        return raw

    def close(self):
        pass


@pytest.fixture
def sleeps(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(_transport.time, "sleep", waits.append)
    return waits


def transport(*answers, **settings):
    return _transport.SyncTransport(SERVER, session=ScriptedSession(*answers), **settings)


OK = (200, {"data": []}, {})
UNAVAILABLE = (503, {"errno": 201, "message": "Service unavailable"}, {"Retry-After": "3"})


def test_503_is_retried_after_retry_after(sleeps):
    t = transport(UNAVAILABLE, OK, retry=2)
    assert t.send(core.Request("GET", "/buckets")).status == 200
    assert sleeps == [3.0]
    assert len(t.session.calls) == 2


def test_retry_after_setting_overrides_the_server(sleeps):
    t = transport(UNAVAILABLE, OK, retry=1, retry_after=0.5)
    t.send(core.Request("GET", "/buckets"))
    assert sleeps == [0.5]


def test_gives_up_after_retry_attempts(sleeps):
    t = transport(UNAVAILABLE, UNAVAILABLE, UNAVAILABLE, retry=2)
    with pytest.raises(ServerError) as info:
        t.send(core.Request("GET", "/buckets"))
    assert info.value.errno == 201
    assert info.value.attempts == 3
    assert info.value.description.endswith("(after 3 attempts)")
    assert sleeps == [3.0, 3.0]
    assert len(t.session.calls) == 3


def test_no_retry_by_default(sleeps):
    t = transport(UNAVAILABLE)
    with pytest.raises(ServerError):
        t.send(core.Request("GET", "/buckets"))
    assert sleeps == []


def test_post_without_precondition_is_sent_once(sleeps):
    t = transport(UNAVAILABLE, retry=3)
    with pytest.raises(ServerError):
        t.send(core.Request("POST", "/buckets", json={"data": {}}))
    assert len(t.session.calls) == 1


def test_connection_errors_are_retried_for_idempotent_requests(sleeps):
    t = transport(requests.ConnectionError("refused"), OK, retry=1)
    assert t.send(core.Request("PUT", "/buckets/b", json={})).status == 200
    assert sleeps == [pytest.approx(0.1)]


def test_connection_errors_end_as_kinto_exceptions(sleeps):
    original = requests.ConnectionError("refused")
    t = transport(original, retry=3)
    with pytest.raises(KintoException) as info:
        t.send(core.Request("POST", "/buckets", json={}))
    assert str(info.value) == "refused"  # requests' own text, as kinto-http lets it through
    assert "network error" in info.value.description
    assert info.value.request is not None and info.value.request.url.endswith("/v1/buckets")
    assert info.value.__cause__ is original
    assert info.value.response is None


def test_backoff_header_delays_the_next_request(sleeps):
    t = transport((200, {"data": []}, {"Backoff": "10"}), OK)
    t.send(core.Request("GET", "/buckets"))
    assert sleeps == []
    t.send(core.Request("GET", "/buckets"))
    assert len(sleeps) == 1
    assert 9.0 < sleeps[0] <= 10.0


def test_requests_carry_user_agent_accept_and_body(sleeps):
    t = transport(OK, headers={"X-Trace": "t"})
    t.send(core.Request("PUT", "/buckets/b", params={"_limit": "1"}, json={"data": {}}))
    method, url, kwargs = t.session.calls[0]
    assert (method, url) == ("PUT", f"{SERVER}/buckets/b")
    assert kwargs["params"] == {"_limit": "1"}
    assert kwargs["data"] == b'{"data":{}}'
    assert kwargs["allow_redirects"] is False
    headers = kwargs["headers"]
    assert headers["User-Agent"].startswith("kinto-orm/")
    assert headers["Accept"] == "application/json"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Trace"] == "t"


def test_full_urls_from_next_page_are_used_as_they_are(sleeps):
    t = transport(OK)
    t.send(core.Request("GET", f"{SERVER}/buckets?_token=abc"))
    assert t.session.calls[0][1] == f"{SERVER}/buckets?_token=abc"


def test_dry_mode_sends_nothing(sleeps):
    t = transport(dry_mode=True)
    # kinto-http answers every dry request with 200 and an empty JSON object.
    response = t.send(core.Request("PUT", "/buckets/b", json={"data": {"id": "b"}}))
    assert (response.status, response.json()) == (200, {})
    assert t.send(core.Request("GET", "/buckets")).json() == {}
    assert t.session.calls == []


@pytest.mark.parametrize("url", ["localhost:8888/v1", "ftp://kinto.test/v1", None])
def test_server_url_must_be_http(url):
    with pytest.raises(ValueError, match="http"):
        _transport.SyncTransport(url)


# ---------------------------------------------------------------------------- async twin


def test_async_transport_retries_the_same_way(monkeypatch):
    waits: list[float] = []

    async def fake_sleep(seconds):
        waits.append(seconds)

    monkeypatch.setattr(_transport.asyncio, "sleep", fake_sleep)
    answers = [
        httpx.Response(503, json={"errno": 201}, headers={"Retry-After": "2"}),
        httpx.Response(200, json={"data": []}),
    ]
    seen = []

    def handler(request):
        seen.append(request)
        return answers.pop(0)

    async def run():
        session = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        t = _transport.AsyncTransport(SERVER, session=session, retry=1, auth=("alice", "pw"))
        try:
            return await t.send(core.Request("GET", "/buckets"))
        finally:
            await t.close()

    response = asyncio.run(run())
    assert response.status == 200
    assert waits == [2.0]
    assert len(seen) == 2
    assert seen[0].headers["Authorization"].startswith("Basic ")
