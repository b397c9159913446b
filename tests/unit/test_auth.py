"""Parsing of ``auth=`` and keeping secrets out of reprs, logs and errors."""

from __future__ import annotations

import logging

import httpx
import pytest
import requests
import requests.auth

from kinto_orm import BearerTokenAuth, Client
from kinto_orm import protocol as core
from kinto_orm.auth import TokenAuth, describe_auth, parse_auth, to_httpx_auth, to_requests_auth

SECRET = "s3cr3t-Pa55"


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        (None, None),
        ("", None),
        ("alice:s3cr3t", ("alice", "s3cr3t")),
        ("alice:", ("alice", "")),
        ("alice:a:b:c", ("alice", "a:b:c")),
        ("alice:with space", ("alice", "with space")),
        ("alice@example.com:pw", ("alice@example.com", "pw")),
        (("alice", "s3cr3t"), ("alice", "s3cr3t")),
        (["alice", "s3cr3t"], ("alice", "s3cr3t")),
    ],
)
def test_basic_auth_forms(auth, expected):
    assert parse_auth(auth) == expected


@pytest.mark.parametrize(
    ("auth", "kind", "token"),
    [
        ("Bearer abc", "Bearer", "abc"),
        ("Bearer  abc ", "Bearer", "abc"),
        ("Token abc", "Token", "abc"),
        ("Bearer abc:def", "Bearer", "abc:def"),
        ("Bearer eyJhbGciOi.J9.xyz", "Bearer", "eyJhbGciOi.J9.xyz"),
    ],
)
def test_token_auth_strings(auth, kind, token):
    parsed = parse_auth(auth)
    assert isinstance(parsed, BearerTokenAuth)
    assert (parsed.type, parsed.token) == (kind, token)
    assert parsed.header == f"{kind} {token}"


@pytest.mark.parametrize("auth", ["alice", "Bearer", ":password", "justatoken"])
def test_unsupported_auth_strings(auth):
    with pytest.raises(ValueError, match=r"user:password|Bearer"):
        parse_auth(auth)


@pytest.mark.parametrize("auth", [("alice",), ("a", "b", "c")])
def test_auth_tuples_need_two_items(auth):
    with pytest.raises(ValueError, match=r"\(user, password\)"):
        parse_auth(auth)


def test_auth_objects_pass_through():
    custom = requests.auth.HTTPDigestAuth("alice", SECRET)
    assert parse_auth(custom) is custom
    token = BearerTokenAuth(SECRET)
    assert parse_auth(token) is token


def test_token_auth_is_the_kinto_http_name():
    assert TokenAuth is BearerTokenAuth
    assert BearerTokenAuth("x", type="") == BearerTokenAuth("x")
    assert BearerTokenAuth("x") != BearerTokenAuth("y")
    assert BearerTokenAuth("x") != "Bearer x"
    with pytest.raises(TypeError):
        hash(BearerTokenAuth("x"))


def test_bearer_auth_sets_the_header_with_requests():
    prepared = requests.Request("GET", "http://kinto.test/v1/").prepare()
    BearerTokenAuth(SECRET, type="Token")(prepared)
    assert prepared.headers["Authorization"] == f"Token {SECRET}"


def test_bearer_auth_sets_the_header_with_httpx():
    request = httpx.Request("GET", "http://kinto.test/v1/")
    flow = BearerTokenAuth(SECRET).auth_flow(request)
    assert next(flow).headers["Authorization"] == f"Bearer {SECRET}"


def test_to_requests_auth():
    basic = to_requests_auth("alice:" + SECRET)
    assert isinstance(basic, requests.auth.HTTPBasicAuth)
    assert (basic.username, basic.password) == ("alice", SECRET)
    assert isinstance(to_requests_auth("Bearer x"), BearerTokenAuth)
    assert to_requests_auth(None) is None


def test_to_httpx_auth():
    assert isinstance(to_httpx_auth(("alice", SECRET)), httpx.BasicAuth)
    assert isinstance(to_httpx_auth("Bearer x"), BearerTokenAuth)
    assert to_httpx_auth(None) is None
    with pytest.raises(TypeError, match=r"httpx\.Auth"):
        to_httpx_auth(requests.auth.HTTPDigestAuth("alice", SECRET))


@pytest.mark.parametrize(
    "auth",
    [
        BearerTokenAuth(SECRET),
        BearerTokenAuth(SECRET, type="Token"),
        f"Bearer {SECRET}",
        f"alice:{SECRET}",
        ("alice", SECRET),
        ["alice", SECRET],
        requests.auth.HTTPBasicAuth("alice", SECRET),
    ],
)
def test_secrets_never_described(auth):
    assert SECRET not in describe_auth(auth)


def test_bearer_auth_repr_and_str_hide_the_token():
    auth = BearerTokenAuth(SECRET)
    assert repr(auth) == "BearerTokenAuth(type='Bearer', token='***')"
    assert SECRET not in str(auth)
    assert SECRET not in f"{auth!r} {auth}"


@pytest.mark.parametrize(
    ("auth", "described"),
    [
        (None, "None"),
        (("alice", SECRET), "Basic('alice', '***')"),
        (f"alice:{SECRET}", "Basic('alice', '***')"),
        (f"Token {SECRET}", "BearerTokenAuth(type='Token', token='***')"),
        (requests.auth.HTTPBasicAuth("alice", SECRET), "<HTTPBasicAuth>"),
    ],
)
def test_describe_auth(auth, described):
    assert describe_auth(auth) == described


@pytest.mark.parametrize("auth", [("alice", SECRET), f"alice:{SECRET}", f"Bearer {SECRET}"])
def test_client_and_transport_reprs_hide_credentials(auth):
    client = Client("http://kinto.test/v1", auth=auth, bucket="blog")
    assert SECRET not in repr(client)
    assert SECRET not in str(client)
    assert SECRET not in repr(client.session)
    assert SECRET not in repr(client.clone(collection="todos"))


class FakeRequestsSession:
    """Answers every request with one canned ``requests.Response``; keeps the calls."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status, self.body = status, body
        self.calls: list[dict] = []

    def request(self, method, url, **kwargs):
        self.calls.append({"method": method, "url": url, **kwargs})
        raw = requests.Response()
        raw.status_code = self.status
        raw._content = self.body
        raw.headers["Content-Type"] = "application/json"
        raw.url = url
        return raw

    def close(self):
        pass


def test_credentials_stay_out_of_errors_and_logs(caplog):
    client = Client("http://kinto.test/v1", auth=("alice", SECRET), bucket="blog")
    session = FakeRequestsSession(401, b'{"code":401,"errno":104,"error":"Unauthorized"}')
    client.session.session = session  # type: ignore[assignment]
    caplog.set_level(logging.DEBUG, logger="kinto_orm")
    with pytest.raises(Exception) as info:
        client.get_records(collection="todos")
    # The credentials went to the HTTP layer as an auth object, not as a header we log.
    assert isinstance(session.calls[0]["auth"], requests.auth.HTTPBasicAuth)
    assert "Authorization" not in session.calls[0]["headers"]
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value)
    assert SECRET not in caplog.text
    assert caplog.records, "each request is logged at DEBUG"
    response = info.value.response
    assert isinstance(response, core.Response)
    assert "Authorization" not in response.request.all_headers()


def test_credentials_in_the_server_url_stay_hidden(caplog):
    url = f"http://alice:{SECRET}@kinto.test/v1"
    try:
        client = Client(url)
    except ValueError:
        return  # refusing such URLs outright is fine too
    assert SECRET not in repr(client)
    assert SECRET not in repr(client.session)
    client.session.session = FakeRequestsSession(200, b'{"data": []}')  # type: ignore[assignment]
    caplog.set_level(logging.DEBUG, logger="kinto_orm")
    client.get_records(bucket="b", collection="c")
    assert SECRET not in caplog.text
