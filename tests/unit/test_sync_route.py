"""The sync transport's short route against requests' own code, without a server: the URLs
it sends are ``PreparedRequest``'s, the errors it raises are ``HTTPAdapter.send()``'s.
(The wire itself is tested in tests/functional/test_sync_transport.py.)"""

from __future__ import annotations

import pytest
import requests
from urllib3 import exceptions as ux
from urllib3.connectionpool import HTTPConnectionPool

from kinto_orm import protocol as core
from kinto_orm.transport import SyncTransport, direct_sync
from kinto_orm.transport.direct_sync import _is_plain, _target

SERVER = "http://kinto.test/v1"


def _requests_target(path: str, params: object) -> str:
    prepared = requests.PreparedRequest()
    prepared.prepare_url(SERVER + path, params)  # type: ignore[arg-type]
    return prepared.path_url


@pytest.mark.parametrize("path, params", [
    ("/buckets/b", None),
    ("/buckets/b/collections/c/records", {"_limit": "1000", "_sort": "-last_modified"}),
    ("/buckets/b", {"in_id": "a,b,c", "q": "a b/é", "x": "&=?#%"}),
    ("/buckets/b", {"has_tags": ["x", "y"], "n": 3, "none": None, "t": True}),
    ("/buckets/b", [("a", "1"), ("a", "2")]),
    ("/buckets/b", {"emoji": "🙂", "plus": "1+1", "tilde": "~x_y.z-"}),
    ("/buckets/b?_since=1", {"_token": "e30="}),
    ("/buckets/b?_token=e30%3D", None),
    ("/buckets/b@x:y/records/r!$'()*+,;=", None),
    ("/buckets/b", {}),
])
def test_the_short_route_sends_the_url_requests_would(path: str, params: object) -> None:
    target = _target("/v1" + path, params)
    assert target == _requests_target(path, params)


@pytest.mark.parametrize("path", [
    "/buckets/a b", "/buckets/é", "/buckets/%7Ex", "/buckets/%2c", "/buckets/../x",
    "/buckets/./x", "/buckets/b#frag", "/buckets/[x]", '/buckets/"x"',
])
def test_urls_requests_would_rewrite_take_the_long_way(path: str) -> None:
    assert _target("/v1" + path, None) is None


@pytest.mark.parametrize("server_url, usable", [
    ("http://kinto.test/v1", True),
    ("https://kinto.test:8443/v1", True),
    ("http://127.0.0.1:8888", True),
    ("http://[::1]:8888/v1", True),
    ("http://Kinto.Test/v1", False),  # requests lower-cases the host
    ("http://kintö.test/v1", False),  # IDNA
    ("http://kinto.test/my v1", False),
    ("http://kinto.test/v1/../v2", False),
])
def test_the_short_route_needs_a_server_url_requests_sends_as_written(
    server_url: str, usable: bool
) -> None:
    assert _is_plain(server_url) is usable


def _pool() -> HTTPConnectionPool:
    return HTTPConnectionPool("kinto.test")


_ERRORS = [
    ux.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")),
    ConnectionResetError(104, "reset"),
    ux.MaxRetryError(_pool(), "/v1/", ux.ConnectTimeoutError("connect timed out")),
    ux.MaxRetryError(_pool(), "/v1/", ux.NewConnectionError(None, "refused")),  # type: ignore[arg-type]
    ux.MaxRetryError(_pool(), "/v1/", ux.ResponseError("too many 503 error responses")),
    ux.MaxRetryError(_pool(), "/v1/", ux.ProxyError("proxy", OSError("down"))),
    ux.MaxRetryError(_pool(), "/v1/", ux.SSLError("bad certificate")),
    ux.MaxRetryError(_pool(), "/v1/", ux.ProtocolError("other")),
    ux.ClosedPoolError(_pool(), "closed"),
    ux.ProxyError("proxy", OSError("down")),
    ux.SSLError("bad handshake"),
    ux.ReadTimeoutError(_pool(), "/v1/", "read timed out"),
    ux.InvalidHeader("bad header"),
    ux.DecodeError("not mapped by requests"),
    ux.LocationValueError("not mapped either"),
]


@pytest.mark.parametrize("error", _ERRORS, ids=lambda e: type(e).__name__)
def test_errors_are_raised_as_requests_raises_them(
    error: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    def urlopen(self: HTTPConnectionPool, *args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(HTTPConnectionPool, "urlopen", urlopen)
    # urllib3's pool sends (the httptools pool's errors are tested against a server).
    monkeypatch.setattr(direct_sync, "http11_sync", None)
    long_way: list[str] = []
    send = requests.Session.send
    monkeypatch.setattr(requests.Session, "send",
                        lambda self, r, **kw: long_way.append(r.url) or send(self, r, **kw))
    raised = []
    for way in ("short", "long"):
        transport = SyncTransport(SERVER, auth=("alice", "pw"))
        if way == "long":
            transport._direct = None
        with pytest.raises(Exception) as info:
            transport._send_once(core.Request("PUT", "/buckets/b", json={"data": {}}))
        exc = info.value
        request = getattr(exc, "request", None)
        raised.append((
            type(exc), str(exc), exc.args, exc.__context__,
            request and (request.method, request.url, dict(request.headers), request.body),
        ))
    assert raised[0] == raised[1]
    assert long_way == [SERVER + "/buckets/b"]  # the short route, then the long way
