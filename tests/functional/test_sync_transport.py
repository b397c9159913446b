"""The sync transport on ``requests``: every request goes through ``Session.send`` of the
client's own session or the user's, with what a session carries (hooks, params, auth,
adapters, proxies, cookies); credentials, timeouts, events, errors, compressed bodies,
TLS, large bodies and keep-alive all work. Against the real Kinto server, plus the
recording loopback server; ``requests.Session.send`` is watched, never replaced.
"""

from __future__ import annotations

import base64
import functools
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from kinto_orm import BearerTokenAuth, Client, KintoException
from kinto_orm.errors import NetworkError, NetworkTimeout
from kinto_orm.session import Session

from .conftest import Note, Raw, rec_path, seed
from .recorder import Recorder, serve, tls_recorder_and_ca, url_of


class Sent:
    """The URLs each ``requests.Session`` sent through ``Session.send``."""

    def __init__(self) -> None:
        self.sent: list[tuple[requests.Session, str]] = []

    def of(self, client: Client) -> list[str]:
        own = client.session.session
        return [url for session, url in self.sent if session is own]


@pytest.fixture
def through_send(monkeypatch: pytest.MonkeyPatch) -> Sent:
    """Watches ``requests.Session.send`` (a wrapper that keeps ``__wrapped__``, as
    tracing does), never replaces what it does."""
    seen = Sent()
    original = requests.Session.send

    @functools.wraps(original)
    def send(self: requests.Session, request: Any, **kwargs: Any) -> Any:
        seen.sent.append((self, str(request.url)))
        return original(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", send)
    return seen


# ---------------------------------------------------------------------------- on Kinto


def test_every_request_of_the_default_client_goes_through_session_send(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str, through_send: Sent
) -> None:
    seed(raw, bid, cid, [{"id": f"n{i:02d}", "title": f"note {i}", "n": i} for i in range(25)])
    events: list[str] = []
    with Client(kinto_server.url, auth=client.session.auth, bucket=bid) as own:
        own.on("request", lambda e: events.append(f"request {e.request.method}"))
        own.on("response", lambda e: events.append(f"response {e.response.status}"))
        notes = own.records(Note, collection=cid).sort("n").all()  # 3 pages
        first = notes[0]
        first.title = "changed"
        first.save()
        Note(id="new", title="new", n=99).bind(own, collection=cid).create()
        own.delete_record(id="n01", collection=cid)
        assert len(through_send.of(own)) == 6  # 3 pages, save, create, delete
    assert [n.n for n in notes] == list(range(25))
    assert raw.data(rec_path(bid, cid, "n00"))["title"] == "changed"
    assert raw.data(rec_path(bid, cid, "new"))["n"] == 99
    assert raw.status(rec_path(bid, cid, "n01")) == 404
    assert events[:6] == ["request GET", "response 200"] * 3
    assert events.count("request GET") == 3 and len(events) == 12


@pytest.mark.parametrize("form", ["tuple", "string", "basic-token", "bearer-object",
                                  "HTTPBasicAuth", "custom AuthBase"])
def test_every_kind_of_credentials_reaches_kinto(
    kinto_server: Any, client: Client, raw: Raw, form: str, through_send: Sent
) -> None:
    user, password = client.session.auth
    token = base64.b64encode(f"{user}:{password}".encode()).decode()

    class Custom(requests.auth.AuthBase):
        def __call__(self, r: Any) -> Any:
            r.headers["Authorization"] = f"Basic {token}"
            return r

    auth = {
        "tuple": (user, password), "string": f"{user}:{password}",
        "basic-token": f"Basic {token}", "bearer-object": BearerTokenAuth(token, "Basic"),
        "HTTPBasicAuth": requests.auth.HTTPBasicAuth(user, password), "custom AuthBase": Custom(),
    }[form]
    with Client(kinto_server.url, auth=auth) as own:
        assert own.server_info()["user"]["id"] == raw.user_id()
        assert len(through_send.of(own)) == 1


def test_credentials_from_netrc_reach_kinto(
    kinto_server: Any, client: Client, raw: Raw, through_send: Sent, tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user, password = client.session.auth
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {user} password {password}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with Client(kinto_server.url) as own:  # no auth: requests reads ~/.netrc
        assert own.session.request("get", "/")[0]["user"]["id"] == raw.user_id()
        monkeypatch.setenv("NETRC", str(tmp_path / "none"))
        assert "user" not in own.session.request("get", "/")[0]
        assert len(through_send.of(own)) == 2


def test_a_session_the_user_gave_is_used_as_given(
    kinto_server: Any, client: Client, through_send: Sent
) -> None:
    hooked: list[str] = []
    own = requests.Session()
    own.hooks["response"].append(lambda r, **kw: hooked.append(r.request.method))
    with Client(session=Session(kinto_server.url, auth=client.session.auth, session=own)) as c:
        assert c.server_info()["user"]["id"]
        assert hooked == ["GET"] and len(through_send.of(c)) == 1


def test_what_the_session_carries_applies(
    kinto_server: Any, client: Client, through_send: Sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Client(kinto_server.url, auth=client.session.auth) as own:
        session = own.session.session

        def root() -> Any:
            return own.session.request("get", "/")[0]

        root()
        hooked: list[int] = []
        session.hooks["response"].append(lambda r, **kw: hooked.append(r.status_code))
        root()
        session.hooks["response"].clear()
        session.params = {"x": "1"}
        root()
        session.params = {}
        session.mount("http://127.0.0.1", requests.adapters.HTTPAdapter())
        root()
        del session.adapters["http://127.0.0.1"]
        root()
        session.auth = own.session.auth
        assert root()["user"]["id"]
        session.auth = None
        root()
        assert hooked == [200] and len(through_send.of(own)) == 7

    for name in ("no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # nothing listens there
    with Client(kinto_server.url) as own:
        with pytest.raises(NetworkError) as info:
            own.session.request("get", "/")
        assert isinstance(info.value.__cause__, requests.exceptions.ProxyError)
        monkeypatch.setenv("no_proxy", "127.0.0.1")  # requests bypasses it
        assert own.session.request("get", "/")[0]["project_name"]
        assert len(through_send.of(own)) == 2


# ---------------------------------------------------------------------------- the wire


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    yield from serve(Recorder())


def test_default_headers_changed_later_are_sent(recorder: Recorder) -> None:
    with Client(url_of(recorder)) as own:
        own.session.request("get", "/before")
        own.session.headers["X-Team"] = "red"  # the transport's defaults
        own.session.session.headers["Accept-Language"] = "fr"  # the requests session's
        own.session.request("get", "/after")
    before, after = (dict(headers) for _, _, headers, _ in recorder.seen)
    assert "X-Team" not in before and "Accept-Language" not in before
    assert after["X-Team"] == "red" and after["Accept-Language"] == "fr"


def test_gzip_bodies_are_decoded_and_cookies_sent_back(recorder: Recorder) -> None:
    recorder.answer = {"gzip": True, "cookie": "lb=node-2; Path=/", "body": b'{"a": "\xc3\xa9"}'}
    with Client(url_of(recorder)) as own:
        first, headers = own.session.request("get", "/one")
        recorder.answer = {}
        second, _ = own.session.request("get", "/two")
        assert own.session.session.cookies.get("lb") == "node-2"
    assert first == {"a": "é"} and headers["content-encoding"] == "gzip"
    assert second == {"data": {"id": "x"}}
    assert "Cookie" not in dict(recorder.seen[0][2])
    assert dict(recorder.seen[1][2])["Cookie"] == "lb=node-2"


def test_response_headers_are_read_as_requests_reads_them(recorder: Recorder) -> None:
    recorder.answer = {"headers": [("X-Seen", "a"), ("x-seen", "b"), ("ETag", '"12"')]}
    with Client(url_of(recorder)) as own:
        _, headers = own.session.request("get", "/h")
    assert headers["X-SEEN"] == "a, b" and headers["etag"] == '"12"'  # case-insensitive


def test_a_broken_body_is_requests_own_error(recorder: Recorder) -> None:
    recorder.answer = {"broken-gzip": True, "body": b"not gzip at all"}
    with Client(url_of(recorder)) as own, pytest.raises(NetworkError) as info:
        own.server_info()
    assert isinstance(info.value.__cause__, requests.exceptions.ContentDecodingError)


def test_connections_are_reused_and_a_hang_up_is_noticed(recorder: Recorder) -> None:
    with Client(url_of(recorder)) as own:
        for _ in range(20):
            own.session.request("get", "/keep")
        recorder.answer = {"close": True}
        own.session.request("get", "/then-hang-up")
        time.sleep(0.2)
        recorder.answer = {}
        own.session.request("get", "/after")
    assert [path for _, path, _, _ in recorder.seen][-2:] == ["/v1/then-hang-up", "/v1/after"]
    assert recorder.connections == 2


def test_a_closed_client_opens_new_connections(recorder: Recorder) -> None:
    own = Client(url_of(recorder))
    own.session.request("get", "/one")
    own.close()  # closes the session's pools, as requests.Session.close() does
    own.session.request("get", "/two")
    own.close()
    assert recorder.connections == 2


def test_large_bodies_both_ways(recorder: Recorder) -> None:
    big = {"data": [{"id": f"r{i}", "text": "x" * 1000} for i in range(1500)]}  # 1.5 MB
    recorder.answer = {"body": json.dumps(big).encode()}
    with Client(url_of(recorder)) as own:
        own.session.request("put", "/big", data=big["data"])
        answer, _ = own.session.request("get", "/big")
    assert answer == big
    assert json.loads(recorder.seen[0][3])["data"] == big["data"]


def test_a_silent_server_times_out() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        with Client(url, timeout=None) as own:
            started = time.monotonic()
            with pytest.raises(NetworkTimeout) as info, own.timeout((5, 0.3)):
                own.server_info()
            elapsed = time.monotonic() - started
    assert isinstance(info.value.__cause__, requests.exceptions.ReadTimeout) and elapsed < 5


def test_nothing_listening_is_a_network_error() -> None:
    with Client("http://127.0.0.1:9/v1") as own, pytest.raises(KintoException) as info:
        own.server_info()
    assert isinstance(info.value, NetworkError) and not isinstance(info.value, NetworkTimeout)
    assert type(info.value.__cause__) is requests.exceptions.ConnectionError


# ---------------------------------------------------------------------------- TLS


@pytest.fixture
def tls_recorder(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    """The recorder behind TLS, its CA made trusted by ``REQUESTS_CA_BUNDLE``."""
    server, ca_file = tls_recorder_and_ca(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_file)
    yield from serve(server)


def test_tls(tls_recorder: Recorder) -> None:
    big = json.dumps({"data": "y" * 1_000_000}).encode()
    tls_recorder.answer = {"body": big}
    with Client(url_of(tls_recorder, "https", "localhost"), auth=("alice", "pw")) as own:
        answers = [own.session.request("get", f"/r{i}")[0] for i in range(3)]
    assert answers == [json.loads(big)] * 3
    assert tls_recorder.connections == 1
    assert dict(tls_recorder.seen[0][2])["Host"] == f"localhost:{tls_recorder.server_address[1]}"


def test_an_untrusted_certificate_is_refused(tls_recorder: Recorder,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    with Client(url_of(tls_recorder, "https", "localhost")) as own, \
            pytest.raises(NetworkError) as info:
        own.server_info()
    assert isinstance(info.value.__cause__, requests.exceptions.SSLError)
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value)


def test_trust_env_off_leaves_the_environment_out(
    kinto_server: Any, client: Client, through_send: Sent, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    """requests' switch for ignoring the environment works on the session kinto-orm
    makes: no proxy from ``http_proxy``, no credentials from ``.netrc``."""
    for name in ("no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    user, password = client.session.auth
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {user} password {password}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # nothing listens there
    with Client(kinto_server.url) as own:
        with pytest.raises(NetworkError):
            own.session.request("get", "/")
        own.session.session.trust_env = False
        assert "user" not in own.session.request("get", "/")[0]  # no .netrc either
        own.session.session.trust_env = True
        with pytest.raises(NetworkError):
            own.session.request("get", "/")
        assert len(through_send.of(own)) == 3
