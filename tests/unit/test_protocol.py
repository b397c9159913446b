"""The sans-I/O protocol core: errors, retries, backoff, pagination, JSON, headers and
the drivers, all without a server."""

from __future__ import annotations

import datetime
import decimal
import email.utils
import json
import time
import uuid

import pytest
import requests
from pydantic import BaseModel

from kinto_orm import protocol as core
from kinto_orm.errors import (
    BadRequest,
    Forbidden,
    KintoException,
    NetworkError,
    NotFound,
    PreconditionFailed,
    ServerError,
    Unauthorized,
)
from kinto_orm.patch_type import BasicPatch, JSONPatch, MergePatch

from .conftest import make_response

SERVER = "http://kinto.test/v1"
RECORD_PATH = "/buckets/b/collections/c/records/r1"


def error(status, body=None, *, content=None, method="GET", path=RECORD_PATH, attempts=1):
    request = core.Request(method, path)
    resp = make_response(status, body, request=request, content=content)
    return core.error_from_response(resp, attempts)


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequest),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (412, PreconditionFailed),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (507, ServerError),
    ],
)
def test_error_class_follows_status(status, cls):
    exc = error(status, {"code": status, "errno": 999, "error": "x", "message": "boom"})
    assert type(exc) is cls
    assert isinstance(exc, KintoException)
    assert exc.status_code == status


@pytest.mark.parametrize("status", [405, 406, 409, 410, 415, 429])
def test_other_statuses_are_plain_kinto_exceptions(status):
    exc = error(status, {"code": status, "errno": 122, "error": "Conflict"})
    assert type(exc) is KintoException
    assert exc.status_code == status


def test_error_keeps_errno_message_details_request_and_response():
    body = {
        "code": 404,
        "errno": 110,
        "error": "Not Found",
        "message": "The resource you are looking for could not be found.",
        "details": {"id": "r1", "resource_name": "record"},
    }
    request = core.Request("GET", RECORD_PATH)
    resp = make_response(404, body, request=request)
    exc = core.error_from_response(resp)
    assert exc.errno == 110
    assert exc.details == {"id": "r1", "resource_name": "record"}
    assert exc.request is request
    assert exc.response is resp
    assert exc.description == f"GET {RECORD_PATH} - 404 {body['message']}"
    # str() and .message are kinto-http's: the status, then the body as a Python dict.
    assert exc.message == f"404 - {body}"
    assert str(exc) == f"GET {RECORD_PATH} - 404 404 - {body}"


def test_error_falls_back_to_the_error_field_without_message():
    exc = error(401, {"code": 401, "errno": 104, "error": "Unauthorized"})
    assert exc.description.endswith("401 Unauthorized")
    assert exc.errno == 104


def test_bad_request_message_lists_the_details():
    body = {
        "code": 400,
        "errno": 107,
        "error": "Invalid parameters",
        "message": "data.title in body: 'title' is a required property",
        "details": [
            {"location": "body", "name": "data.title",
             "description": "'title' is a required property"},
            {"location": "querystring", "description": "Unknown filter field 'nope'"},
        ],
    }
    exc = error(400, body, method="PUT")
    assert isinstance(exc, BadRequest)
    assert exc.details == body["details"]
    text = exc.description
    assert text.startswith(f"PUT {RECORD_PATH} - 400 {body['message']}")
    # Every detail is told once: the one already in the message is not repeated.
    assert text.count("'title' is a required property") == 1
    assert "querystring: Unknown filter field 'nope'" in text


def test_bad_request_details_already_in_message_are_not_repeated():
    body = {
        "errno": 107,
        "message": "title: required",
        "details": [{"location": "body", "name": "title", "description": "required"}],
    }
    assert error(400, body).description.count("title: required") == 1


def test_bad_request_details_without_message():
    body = {"errno": 107, "details": [{"name": "id", "description": "Invalid object id"}]}
    assert error(400, body).description.endswith("400 id: Invalid object id")


@pytest.mark.parametrize("status", [400, 404, 502])
def test_error_from_non_json_body(status):
    exc = error(status, content=b"<html><body>Bad Gateway</body></html>")
    assert exc.status_code == status
    assert exc.errno is None
    assert exc.details is None
    assert "non-JSON answer" in exc.description
    assert "Bad Gateway" in exc.description


def test_error_from_long_non_json_body_is_truncated():
    exc = error(502, content=b"x" * 5000)
    assert "..." in exc.description
    assert len(exc.description) < 300


def test_error_from_empty_body():
    exc = error(500, content=b"")
    assert isinstance(exc, ServerError)
    assert exc.description == f"GET {RECORD_PATH} - 500"


def test_error_from_json_that_is_not_an_object():
    exc = error(500, [1, 2, 3])
    assert isinstance(exc, ServerError)
    assert exc.errno is None


def test_error_counts_attempts():
    exc = error(503, {"errno": 201, "message": "Service unavailable"}, attempts=3)
    assert exc.description.endswith("(after 3 attempts)")
    assert "attempts" not in error(503, {"errno": 201}).description


def test_precondition_failed_exposes_existing():
    existing = {"id": "r1", "last_modified": 1700000000001, "title": "theirs"}
    body = {
        "code": 412,
        "errno": 114,
        "error": "Precondition Failed",
        "message": "Resource was modified meanwhile",
        "details": {"existing": existing},
    }
    exc = error(412, body, method="PUT")
    assert isinstance(exc, PreconditionFailed)
    assert exc.errno == 114
    assert exc.existing == existing


@pytest.mark.parametrize(
    ("headers", "hint"),
    [
        ({"If-None-Match": "*"}, "(it already exists)"),
        ({"If-Match": '"12"'}, "(it changed or was deleted since you read it; see .existing)"),
    ],
)
def test_precondition_failed_message_says_what_happened(headers, hint):
    request = core.Request("PUT", RECORD_PATH, headers=headers)
    body = {"errno": 114, "message": "Resource was modified meanwhile"}
    exc = core.error_from_response(make_response(412, body, request=request))
    assert exc.description == f"PUT {RECORD_PATH} - 412 Resource was modified meanwhile {hint}"


@pytest.mark.parametrize(
    "body",
    [
        {"errno": 114, "message": "Resource was modified meanwhile"},
        {"errno": 114, "details": {"existing": None}},
        {"errno": 114, "details": ["not", "a", "dict"]},
    ],
)
def test_precondition_failed_without_existing(body):
    exc = error(412, body)
    assert isinstance(exc, PreconditionFailed)
    assert exc.existing is None


def test_kinto_exception_wrapping_keeps_request_and_response():
    inner = error(404, {"errno": 110, "details": {"id": "r1"}})
    outer = KintoException("wrapped", inner)
    assert outer.request is inner.request
    assert outer.response is inner.response
    assert outer.errno == 110
    assert outer.details == {"id": "r1"}
    assert outer.status_code == 404
    assert outer.__cause__ is inner


def test_network_error_wraps_the_original_exception():
    request = core.Request("GET", "/buckets")
    original = ConnectionError("connection refused")
    exc = core.network_error(request, original, attempts=3)
    assert type(exc) is NetworkError and isinstance(exc, KintoException)
    # kinto-http lets requests' error through: code catching it keeps working.
    assert isinstance(exc, requests.exceptions.ConnectionError)
    assert not isinstance(exc, requests.exceptions.Timeout)
    timeout = core.network_error(request, requests.exceptions.ReadTimeout("slow"), 1)
    assert isinstance(timeout, requests.exceptions.Timeout) and str(timeout) == "slow"
    assert exc.request is request
    assert exc.response is None
    assert exc.status_code is None
    assert exc.__cause__ is original
    assert "network error after 3 attempts" in exc.description
    assert "ConnectionError: connection refused" in exc.description
    assert str(exc) == "connection refused"  # the transport's own text, as kinto-http
    assert exc.attempts == 3


# ---------------------------------------------------------------------------- responses


def test_response_json_and_data(response):
    resp = response(200, {"data": {"id": "r1"}, "permissions": {}})
    assert resp.json() == {"data": {"id": "r1"}, "permissions": {}}
    assert resp.data() == {"id": "r1"}
    assert resp.status_code == 200
    assert response(204).json() is None


def test_response_json_on_html_hints_at_the_server_url(response):
    resp = response(200, content=b"<!doctype html><title>Not Kinto</title>")
    with pytest.raises(KintoException, match="/v1"):
        resp.json()


@pytest.mark.parametrize("body", [[1, 2], {"items": []}, "text"])
def test_response_data_needs_a_data_key(response, body):
    with pytest.raises(KintoException, match="expected a JSON object with 'data'"):
        response(200, body).data()


def test_headers_are_case_insensitive():
    headers = core.Headers({"ETag": '"12"', "Next-Page": "http://x", "Retry-After": "3"})
    assert headers["etag"] == '"12"'
    assert headers["ETAG"] == '"12"'
    assert headers.get("next-page") == "http://x"
    assert headers.get("RETRY-AFTER") == "3"
    assert headers.get("Missing", "default") == "default"
    assert "Etag" in headers
    assert 42 not in headers


def test_headers_stay_case_insensitive_after_assignment():
    # Regression: keys set after construction used to keep their case.
    headers = core.Headers()
    headers["ETag"] = '"12"'
    assert headers["etag"] == '"12"'
    assert headers.get("ETAG") == '"12"'
    assert "etag" in headers


def test_headers_mutators_are_case_insensitive():
    headers = core.Headers()
    headers.update({"ETag": '"1"'})
    headers.setdefault("Next-Page", "http://x")
    assert headers["etag"] == '"1"'
    assert headers["next-page"] == "http://x"
    assert headers.pop("ETAG") == '"1"'
    del headers["NEXT-PAGE"]
    assert headers == {}


# ---------------------------------------------------------------------------- retries


def retry_response(status, method="GET", headers=None, **request_kwargs):
    request = core.Request(method, RECORD_PATH, **request_kwargs)
    return make_response(status, {"errno": 201}, headers=headers, request=request)


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retryable_statuses_are_retried_within_retry(status):
    policy = core.RetryPolicy(retry=2)
    resp = retry_response(status)
    assert policy.after_response(resp, attempt=1) is not None
    assert policy.after_response(resp, attempt=2) is not None
    assert policy.after_response(resp, attempt=3) is None


@pytest.mark.parametrize("status", [429, 503])
def test_nothing_is_retried_with_retry_zero(status):
    assert core.RetryPolicy().after_response(retry_response(status), attempt=1) is None


@pytest.mark.parametrize("status", [409, 500])
def test_conflict_and_500_retried_only_with_retry_after(status):
    policy = core.RetryPolicy(retry=1)
    assert policy.after_response(retry_response(status), 1) is None
    with_header = retry_response(status, headers={"Retry-After": "2"})
    assert policy.after_response(with_header, 1) == 2.0
    assert policy.after_response(with_header, 2) is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 412])
def test_client_errors_are_never_retried(status):
    resp = retry_response(status, headers={"Retry-After": "1"})
    assert core.RetryPolicy(retry=5).after_response(resp, 1) is None


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize("status", [409, 429, 503])
def test_non_idempotent_requests_without_precondition_are_not_retried(method, status):
    resp = retry_response(status, method=method, headers={"Retry-After": "1"})
    assert core.RetryPolicy(retry=5).after_response(resp, 1) is None
    assert core.RetryPolicy(retry=5).after_network_error(resp.request, 1) is None


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize("header", [{"If-Match": '"12"'}, {"If-None-Match": "*"}])
def test_non_idempotent_requests_with_precondition_are_retried(method, header):
    request = core.Request(method, RECORD_PATH, headers=dict(header))
    resp = make_response(503, {"errno": 201}, headers={"Retry-After": "1"}, request=request)
    assert core.RetryPolicy(retry=1).after_response(resp, 1) == 1.0
    assert core.RetryPolicy(retry=1).after_network_error(resp.request, 1) is not None


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "get"])
def test_idempotent_methods(method):
    assert core.is_idempotent(core.Request(method, "/buckets"))


def test_explicit_idempotent_flag_wins():
    assert core.is_idempotent(core.Request("POST", "/batch", idempotent=True))
    assert not core.is_idempotent(core.Request("GET", "/buckets", idempotent=False))
    resp = retry_response(503, method="POST", idempotent=True)
    assert core.RetryPolicy(retry=1).after_response(resp, 1) is not None


@pytest.mark.parametrize(("value", "seconds"), [("3", 3.0), ("0", 0.0), ("1.5", 1.5), (" 7 ", 7.0)])
def test_retry_after_seconds(value, seconds):
    resp = retry_response(503, headers={"Retry-After": value})
    assert core.RetryPolicy(retry=1).after_response(resp, 1) == seconds


def test_retry_after_http_date():
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    resp = retry_response(503, headers={"Retry-After": when})
    wait = core.RetryPolicy(retry=1).after_response(resp, 1)
    assert wait is not None
    assert 27.0 <= wait <= 30.5


def test_retry_after_http_date_in_the_past_means_now():
    resp = retry_response(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert core.RetryPolicy(retry=1).after_response(resp, 1) == 0.0


@pytest.mark.parametrize("value", ["soon", "-1", ""])
def test_unreadable_retry_after_falls_back_to_exponential_wait(value):
    resp = retry_response(503, headers={"Retry-After": value})
    assert core.RetryPolicy(retry=3).after_response(resp, 1) == pytest.approx(0.1)


def test_exponential_wait_without_retry_after_is_capped():
    policy = core.RetryPolicy(retry=100)
    resp = retry_response(503)
    assert policy.after_response(resp, 1) == pytest.approx(0.1)
    assert policy.after_response(resp, 2) == pytest.approx(0.2)
    assert policy.after_response(resp, 3) == pytest.approx(0.4)
    assert policy.after_response(resp, 50) == 5.0


@pytest.mark.parametrize("override", [0, 0.25, 10])
def test_retry_after_setting_overrides_the_server(override):
    policy = core.RetryPolicy(retry=1, retry_after=override)
    resp = retry_response(503, headers={"Retry-After": "30"})
    assert policy.after_response(resp, 1) == float(override)
    assert policy.after_network_error(resp.request, 1) == float(override)


def test_network_errors_retried_within_retry_for_idempotent_requests():
    policy = core.RetryPolicy(retry=2)
    request = core.Request("GET", "/buckets")
    assert policy.after_network_error(request, 1) == pytest.approx(0.1)
    assert policy.after_network_error(request, 2) == pytest.approx(0.2)
    assert policy.after_network_error(request, 3) is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("10", 10.0), ("0", 0.0), ("2.5", 2.5), (None, None), ("never", None)],
)
def test_backoff_header(value, seconds):
    headers = core.Headers({} if value is None else {"Backoff": value})
    assert core.backoff_seconds(headers) == seconds


def test_backoff_header_name_is_case_insensitive():
    assert core.backoff_seconds(core.Headers({"backoff": "4"})) == 4.0


# ---------------------------------------------------------------------------- pagination


def page(next_url=None, data=(), request=None, etag=None):
    headers = {}
    if next_url:
        headers["Next-Page"] = next_url
    if etag:
        headers["ETag"] = etag
    return make_response(200, {"data": list(data)}, headers=headers, request=request)


def test_last_page_has_no_next_request():
    assert core.next_page_request(page(), SERVER) is None


def test_next_page_request_keeps_method_and_headers_but_drops_preconditions():
    first = core.Request(
        "DELETE",
        "/buckets/b/collections/c/records",
        params={"_limit": "2"},
        headers={"If-Match": '"5"', "If-None-Match": '"4"', "X-Trace": "t1"},
    )
    url = f"{SERVER}/buckets/b/collections/c/records?_limit=2&_token=abc"
    nxt = core.next_page_request(page(url, request=first), SERVER)
    assert nxt is not None
    assert nxt.method == "DELETE"
    assert nxt.path == url
    assert nxt.params is None
    assert nxt.json is None
    assert nxt.headers == {"X-Trace": "t1"}


@pytest.mark.parametrize(
    "url",
    [
        "http://evil.test/v1/buckets?_token=abc",
        "https://kinto.test/v1/buckets?_token=abc",
        "http://kinto.test:8888/v1/buckets?_token=abc",
        "http://kinto.test.evil.test/v1/buckets?_token=abc",
        "http://user@kinto.test/v1/buckets?_token=abc",
    ],
)
def test_next_page_on_another_origin_is_refused(url):
    resp = page(url)
    with pytest.raises(KintoException, match="refusing to follow") as info:
        core.next_page_request(resp, SERVER)
    assert info.value.response is resp


@pytest.mark.parametrize(
    ("server_url", "next_url"),
    [
        ("http://KINTO.test/v1", "http://kinto.test/v1/buckets?_token=abc"),
        ("http://kinto.test:80/v1", "http://kinto.test/v1/buckets?_token=abc"),
        ("https://kinto.test/v1", "https://kinto.test:443/v1/buckets?_token=abc"),
    ],
)
def test_next_page_same_origin_spelled_differently_is_followed(server_url, next_url):
    # Regression: host case and explicit default ports made the same origin look foreign
    # (seen live: Client("http://LOCALHOST:<port>/v1") could not read page 2).
    assert core.next_page_request(page(next_url), server_url) is not None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://kinto.test/v1", ("http", None, "kinto.test", 80)),
        ("HTTP://Kinto.Test:80/v1/buckets", ("http", None, "kinto.test", 80)),
        ("https://kinto.test/v1", ("https", None, "kinto.test", 443)),
        ("https://kinto.test:8443", ("https", None, "kinto.test", 8443)),
        ("http://alice@kinto.test/v1", ("http", "alice", "kinto.test", 80)),
        ("http://[::1]:8888/v1", ("http", None, "::1", 8888)),
    ],
)
def test_origin(url, expected):
    assert core.origin(url) == expected


def test_malformed_next_page_is_not_followed():
    with pytest.raises((KintoException, ValueError)):
        core.next_page_request(page("http://kinto.test:notaport/v1/buckets"), SERVER)


def test_iter_pages_follows_next_page(fake_send):
    send = fake_send([
        page(f"{SERVER}/buckets?_token=1", [{"id": "a"}]),
        page(f"{SERVER}/buckets?_token=2", [{"id": "b"}]),
        page(None, [{"id": "c"}]),
    ])
    first = core.Request("GET", "/buckets", params={"_limit": "1"})
    pages = list(core.iter_pages_sync(send, first, SERVER))
    assert [p.data()[0]["id"] for p in pages] == ["a", "b", "c"]
    assert [r.path for r in send.requests] == [
        "/buckets", f"{SERVER}/buckets?_token=1", f"{SERVER}/buckets?_token=2",
    ]


def test_iter_pages_stops_at_max_pages(fake_send):
    send = fake_send([page(f"{SERVER}/buckets?_token={i}") for i in range(5)])
    pages = list(core.iter_pages_sync(send, core.Request("GET", "/buckets"), SERVER, 2))
    assert len(pages) == 2
    assert len(send.requests) == 2


def test_iter_pages_is_lazy(fake_send):
    send = fake_send([page()])
    pages = core.iter_pages_sync(send, core.Request("GET", "/buckets"), SERVER)
    assert send.requests == []
    assert len(list(pages)) == 1


# ---------------------------------------------------------------------------- JSON


class Point(BaseModel):
    x: int
    when: datetime.date


def test_dumps_encodes_the_python_values_users_put_in_data():
    value = {
        "date": datetime.date(2024, 2, 29),
        "datetime": datetime.datetime(2024, 2, 29, 13, 14, 15, tzinfo=datetime.timezone.utc),
        "naive": datetime.datetime(2024, 2, 29, 13, 14, 15, 123456),
        "time": datetime.time(8, 30),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "int_decimal": decimal.Decimal("10"),
        "exp_decimal": decimal.Decimal("1E+2"),
        "decimal": decimal.Decimal("12.50"),
        "tuple": (1, 2),
        "set": {3},
        "model": Point(x=1, when=datetime.date(2024, 1, 2)),
    }
    raw = core.dumps(value)
    assert isinstance(raw, bytes)
    assert json.loads(raw) == {
        "date": "2024-02-29",
        "datetime": "2024-02-29T13:14:15+00:00",
        "naive": "2024-02-29T13:14:15.123456",
        "time": "08:30:00",
        "uuid": "12345678-1234-5678-1234-567812345678",
        "int_decimal": 10,
        "exp_decimal": 100,
        "decimal": 12.5,
        "tuple": [1, 2],
        "set": [3],
        "model": {"x": 1, "when": "2024-01-02"},
    }


def test_dumps_decimal_integers_stay_integers():
    assert core.dumps({"n": decimal.Decimal("3.000")}) == b'{"n":3}'


def test_dumps_is_compact():
    assert core.dumps({"a": [1, 2], "b": {"c": None}}) == b'{"a":[1,2],"b":{"c":null}}'


def test_dumps_refuses_unknown_types_with_a_hint():
    with pytest.raises(TypeError, match="is not JSON serializable"):
        core.dumps({"x": object()})


def test_request_body_and_headers():
    get = core.Request("GET", "/buckets", headers={"X-A": "1"})
    assert get.body is None
    assert get.all_headers() == {"X-A": "1"}
    put = core.Request("PUT", "/buckets/b", json={"data": {"d": datetime.date(2024, 1, 1)}})
    assert put.body == b'{"data":{"d":"2024-01-01"}}'
    assert put.all_headers() == {"Content-Type": "application/json"}
    assert put.describe() == "PUT /buckets/b"
    assert put.path_url == "/buckets/b"
    empty = core.Request("PATCH", "/buckets/b", json={})
    assert empty.body == b"{}"


@pytest.mark.parametrize(
    ("patch", "content_type", "body"),
    [
        (BasicPatch(data={"a": 1}), "application/json", {"data": {"a": 1}}),
        (MergePatch(data={"a": None}, permissions={"read": None}),
         "application/merge-patch+json", {"data": {"a": None}, "permissions": {"read": None}}),
        (JSONPatch([{"op": "add", "path": "/data/a", "value": 1}]),
         "application/json-patch+json", [{"op": "add", "path": "/data/a", "value": 1}]),
    ],
)
def test_patch_types_give_body_and_content_type(patch, content_type, body):
    assert patch.content_type == content_type
    assert patch.body == body
    request = core.Request("PATCH", RECORD_PATH, json=patch.body, content_type=patch.content_type)
    assert request.all_headers()["Content-Type"] == content_type
    assert json.loads(request.body) == body


def test_json_patch_needs_a_list():
    with pytest.raises(TypeError):
        JSONPatch({"op": "add"})  # type: ignore[arg-type]


def test_envelope_leaves_out_what_is_none():
    assert core.envelope() == {}
    assert core.envelope({"a": 1}) == {"data": {"a": 1}}
    assert core.envelope(permissions={"read": ["x"]}) == {"permissions": {"read": ["x"]}}

    class Perms:
        def as_dict(self):
            return {"write": ["me"]}

    assert core.envelope({}, Perms()) == {"data": {}, "permissions": {"write": ["me"]}}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (None, None),
        ({}, None),
        ({"done": True}, {"done": "true"}),
        ({"done": False}, {"done": "false"}),
        ({"priority": 3}, {"priority": "3"}),
        ({"ratio": 0.5}, {"ratio": "0.5"}),
        ({"title": "hello"}, {"title": "hello"}),
        ({"title": None}, {"title": "null"}),
        ({"_since": None, "_limit": 10}, {"_limit": "10"}),
        ({"_sort": "-title"}, {"_sort": "-title"}),
        ({"in_id": ["a", "b"]}, {"in_id": "a,b"}),
        ({"in_id": "a"}, {"in_id": "a,"}),
        ({"exclude_n": [1, 2]}, {"exclude_n": "1,2"}),
        ({"contains_tags": ["a"]}, {"contains_tags": '["a"]'}),
        ({"day": datetime.date(2024, 1, 2)}, {"day": '"2024-01-02"'}),
    ],
)
def test_encode_params(params, expected):
    assert core.encode_params(params) == expected


def test_encode_params_in_values_are_json():
    # Regression: non-string items went through str() ("True", "None").
    assert core.encode_params({"in_done": [True, None]}) == {"in_done": "true,null"}


@pytest.mark.parametrize(
    ("value", "quoted"),
    [(1234, '"1234"'), ("1234", '"1234"'), ('"1234"', '"1234"'), ("*", "*"), (0, '"0"')],
)
def test_quote_etag(value, quoted):
    assert core.quote_etag(value) == quoted


@pytest.mark.parametrize("value", ["abc", "", None, -1, 1.5, "W/\"12\"", "12 ", True])
def test_quote_etag_refuses_what_is_not_a_timestamp(value):
    with pytest.raises(ValueError, match="Invalid timestamp"):
        core.quote_etag(value)


@pytest.mark.parametrize(
    ("headers", "value"),
    [({"ETag": '"1700000000000"'}, 1700000000000), ({"etag": "42"}, 42), ({}, None),
     ({"ETag": ""}, None), ({"ETag": 'W/"x"'}, None)],
)
def test_etag_value(headers, value):
    assert core.etag_value(core.Headers(headers)) == value


# ---------------------------------------------------------------------------- preconditions


@pytest.mark.parametrize(
    ("safe", "data", "if_match", "expected"),
    [
        (True, {"last_modified": 12}, None, {"If-Match": '"12"'}),
        (True, {"last_modified": 12}, 15, {"If-Match": '"15"'}),
        (True, {"last_modified": 12}, '"15"', {"If-Match": '"15"'}),
        (True, None, 7, {"If-Match": '"7"'}),
        (True, {"title": "x"}, None, {}),
        (True, None, None, {}),
        (False, {"last_modified": 12}, None, {}),
        (False, None, 7, {}),
    ],
)
def test_if_match_headers(safe, data, if_match, expected):
    assert core.if_match_headers(safe, data, if_match) == expected


def test_if_match_headers_refuses_a_bad_timestamp():
    with pytest.raises(ValueError):
        core.if_match_headers(True, if_match="yesterday")


@pytest.mark.parametrize(
    ("safe", "last_modified", "expected"),
    [
        (True, 12, {"If-Match": '"12"'}),
        (True, 0, {"If-Match": '"0"'}),
        (True, None, {"If-None-Match": "*"}),
        (False, 12, {}),
        (False, None, {}),
    ],
)
def test_save_headers(safe, last_modified, expected):
    assert core.save_headers(safe, last_modified) == expected


def test_create_headers():
    assert core.create_headers(True) == {"If-None-Match": "*"}
    assert core.create_headers(False) == {}


# ---------------------------------------------------------------------------- batch helpers


def test_batchable():
    assert core.batchable(core.Request("PUT", RECORD_PATH, json={"data": {}}))
    assert not core.batchable(core.Request("PUT", "/buckets/b/collections/batchc"))
    assert not core.batchable(core.Request("GET", f"{SERVER}/buckets?_token=1"))
    assert not core.batchable(core.Request("HEAD", "/buckets"))
    assert not core.batchable(core.Request("PATCH", RECORD_PATH, json=[{"op": "remove"}]))


def test_batch_request_and_responses():
    put = core.Request("PUT", RECORD_PATH, headers={"If-None-Match": "*"}, json={"data": {}})
    get = core.Request("GET", "/buckets", params={"_limit": "2"})
    batch = core.batch_request([put, get])
    assert batch.method == "POST"
    assert batch.path == "/batch"
    assert core.is_idempotent(batch)
    assert batch.json == {"requests": [
        {"method": "PUT", "path": RECORD_PATH,
         "headers": {"If-None-Match": "*"}, "body": {"data": {}}},
        {"method": "GET", "path": "/buckets?_limit=2"},
    ]}
    # A content type other than the JSON Kinto sets on every sub-request is kept.
    merge = core.Request("PATCH", RECORD_PATH, json={"data": {}},
                         content_type="application/merge-patch+json")
    assert core.batch_subrequest(merge)["headers"] == {
        "Content-Type": "application/merge-patch+json"}
    # ... but such a request is sent on its own: Kinto 26.5's batch view would apply it
    # as plain JSON (tests/functional/test_batch.py::test_merge_patch_in_a_batch...).
    assert not core.batchable(merge)
    assert core.batchable(core.Request("PATCH", RECORD_PATH, json={"data": {}}))
    post = core.Request("POST", "/buckets/b/collections/c/records", json={"data": {}})
    assert not core.is_idempotent(core.batch_request([put, post]))

    answer = make_response(200, {"responses": [
        {"status": 201, "path": RECORD_PATH, "headers": {"ETag": '"5"'},
         "body": {"data": {"id": "r1"}}},
        {"status": 404, "path": "/buckets", "body": {"errno": 111}},
    ]}, request=batch)
    first, second = core.batch_responses(answer, [put, get])
    assert (first.status, first.request, first.data()) == (201, put, {"id": "r1"})
    assert first.headers["etag"] == '"5"'
    assert (second.status, second.request) == (404, get)
    with pytest.raises(KintoException, match="expected 3 responses"):
        core.batch_responses(answer, [put, get, get])


def test_batch_request_is_encoded_once_and_names_what_json_cannot_carry():
    put = core.Request("PUT", RECORD_PATH, json={"data": {"x": 1}})
    batch = core.batch_request([put, put])
    assert batch.content is not None and json.loads(batch.body or b"") == batch.json
    bad = core.Request("PUT", RECORD_PATH, json={"data": {"x": object()}})
    nan = core.Request("PUT", RECORD_PATH, json={"data": {"x": float("nan")}})
    with pytest.raises(core.Unencodable) as caught:
        core.batch_request([put, bad, put, nan])
    assert sorted(caught.value.errors) == [1, 3]
    assert isinstance(caught.value.errors[1], TypeError)
    assert "NaN" in str(caught.value.errors[3])


def test_chunks():
    assert [list(c) for c in core.chunks([1, 2, 3, 4, 5], 2)] == [[1, 2], [3, 4], [5]]
    assert [list(c) for c in core.chunks([1, 2], 0)] == [[1], [2]]
    assert list(core.chunks([], 25)) == []


# ---------------------------------------------------------------------------- drivers


def test_drive_sync_runs_a_request_op(fake_send):
    answer = make_response(200, {"data": {"id": "r1"}})
    send = fake_send([answer])
    request = core.Request("GET", RECORD_PATH)
    assert core.drive_sync(send, core.request_op(request)) is answer
    assert send.requests == [request]


def test_drive_sync_op_without_requests(fake_send):
    def op():
        return 42
        yield  # pragma: no cover

    send = fake_send()
    assert core.drive_sync(send, op()) == 42
    assert send.requests == []


def create_or_get(path):
    """Like ``if_not_exists``: a 412 on the create makes the op fetch the object."""
    try:
        response = yield core.Request("PUT", path, headers={"If-None-Match": "*"}, json={})
    except PreconditionFailed:
        response = yield core.Request("GET", path)
    return response.data()


def test_drive_sync_throws_errors_into_the_op(fake_send):
    send = fake_send([
        make_response(412, {"errno": 114, "details": {"existing": {"id": "r1"}}}),
        make_response(200, {"data": {"id": "r1", "title": "stored"}}),
    ])
    assert core.drive_sync(send, create_or_get(RECORD_PATH)) == {"id": "r1", "title": "stored"}
    assert [r.method for r in send.requests] == ["PUT", "GET"]


def test_drive_sync_lets_uncaught_errors_out(fake_send):
    send = fake_send([make_response(403, {"errno": 121, "message": "Unauthorized"})])
    with pytest.raises(Forbidden) as info:
        core.drive_sync(send, create_or_get(RECORD_PATH))
    assert info.value.errno == 121
    assert len(send.requests) == 1


def test_drive_sync_does_not_throw_non_kinto_errors_into_the_op(fake_send):
    seen = []

    def op():
        try:
            yield core.Request("GET", "/")
        except BaseException as exc:  # pragma: no cover - must not happen
            seen.append(exc)
            raise

    send = fake_send([RuntimeError("transport bug")])
    with pytest.raises(RuntimeError, match="transport bug"):
        core.drive_sync(send, op())
    assert seen == []


def test_drive_sync_passes_each_response_to_the_op(fake_send):
    def op():
        first = yield core.Request("GET", "/a")
        second = yield core.Request("GET", "/b")
        return [first.data(), second.data()]

    send = fake_send([make_response(200, {"data": 1}), make_response(200, {"data": 2})])
    assert core.drive_sync(send, op()) == [1, 2]
    assert [r.path for r in send.requests] == ["/a", "/b"]


def pages_stream(paths):
    """A stream op: a request per path, then a page (the response data) per answer."""
    for path in paths:
        try:
            response = yield core.Request("GET", path)
        except NotFound:
            yield "missing"
            continue
        yield response.data()


def test_stream_sync_hands_pages_to_the_caller(fake_send):
    send = fake_send([make_response(200, {"data": [1]}), make_response(200, {"data": [2]})])
    assert list(core.stream_sync(send, pages_stream(["/a", "/b"]))) == [[1], [2]]
    assert [r.path for r in send.requests] == ["/a", "/b"]


def test_stream_sync_is_lazy(fake_send):
    send = fake_send([make_response(200, {"data": [1]}), make_response(200, {"data": [2]})])
    stream = core.stream_sync(send, pages_stream(["/a", "/b"]))
    assert send.requests == []
    assert next(stream) == [1]
    assert len(send.requests) == 1


def test_stream_sync_throws_errors_into_the_stream(fake_send):
    send = fake_send([make_response(404, {"errno": 110}), make_response(200, {"data": [2]})])
    assert list(core.stream_sync(send, pages_stream(["/a", "/b"]))) == ["missing", [2]]


def test_stream_sync_lets_uncaught_errors_out(fake_send):
    send = fake_send([make_response(200, {"data": [1]}), make_response(401, {"errno": 104})])
    stream = core.stream_sync(send, pages_stream(["/a", "/b"]))
    assert next(stream) == [1]
    with pytest.raises(Unauthorized):
        next(stream)


def test_stream_sync_empty_stream(fake_send):
    def nothing():
        return
        yield  # pragma: no cover

    assert list(core.stream_sync(fake_send(), nothing())) == []


def test_query_streams_pages_and_stops_at_its_limit(fake_send):
    from kinto_orm import Client

    client = Client(SERVER, bucket="b")
    records = "/buckets/b/collections/c/records"
    send = fake_send([
        page(f"{SERVER}{records}?_limit=2&_token=1", [{"id": "r1"}, {"id": "r2"}], etag='"30"'),
        page(f"{SERVER}{records}?_limit=2&_token=2", [{"id": "r3"}, {"id": "r4"}], etag='"30"'),
    ])
    client.session.send = send  # type: ignore[method-assign]
    query = client.records(collection="c").page_size(2).limit(3)
    pages = list(query.pages())
    assert [[r.id for r in p] for p in pages] == [["r1", "r2"], ["r3"]]
    assert pages[0].etag == 30
    assert pages[0].next_url == f"{SERVER}{records}?_limit=2&_token=1"
    assert send.requests[0].path == records
    assert send.requests[0].params == {"_limit": "2"}
    assert send.requests[1].path == f"{SERVER}{records}?_limit=2&_token=1"
    assert send.answers == []
    assert pages[1].items[0].path == f"{records}/r3"


def test_query_refuses_a_foreign_next_page(fake_send):
    from kinto_orm import Client

    client = Client(SERVER, bucket="b")
    client.session.send = fake_send([  # type: ignore[method-assign]
        page("http://evil.test/v1/buckets/b/collections/c/records?_token=1", [{"id": "r1"}]),
    ])
    with pytest.raises(KintoException, match="refusing"):
        client.records(collection="c").all()


# ---------------------------------------------------------------------------- transient conflicts


def conflict_response(method="PUT", errno=122, **request_kwargs):
    request = core.Request(method, RECORD_PATH, **request_kwargs)
    body = {"code": 409, "errno": errno, "error": "Conflict",
            "message": "Integrity constraint violated, please retry."}
    return make_response(409, body, headers={"Retry-After": "3"}, request=request)


def test_transient_conflict_is_retried_with_retry_zero_after_a_short_jittered_wait():
    policy = core.RetryPolicy()
    waits = [policy.after_response(conflict_response(), n, conflicts=n) for n in range(1, 11)]
    assert all(w is not None and 0 <= w < 3 for w in waits)  # never the full Retry-After
    assert max(waits[:3]) <= 0.2  # short at first: the race lasts milliseconds
    assert policy.after_response(conflict_response(), 11, conflicts=11) is None
    assert len({policy.conflict_wait(5) for _ in range(20)}) > 1  # jittered


def test_transient_conflict_is_retried_even_for_a_plain_post():
    """The transaction was rolled back: sending a POST again cannot apply it twice."""
    assert core.RetryPolicy().after_response(conflict_response("POST"), 1, 1) is not None


def test_other_409_and_disabled_conflict_retries_keep_kinto_http_rules():
    assert core.RetryPolicy().after_response(conflict_response(errno=999), 1) is None
    policy = core.RetryPolicy(retry=1, conflict_retries=0)
    tracker = policy.tracker()
    tracker.attempt = 1
    assert tracker.after_response(conflict_response()) == 3.0  # the server's Retry-After
    tracker.attempt = 2
    assert tracker.after_response(conflict_response()) is None


def test_conflicts_do_not_use_up_the_retry_budget_of_other_errors():
    tracker = core.RetryPolicy(retry=1).tracker()
    for _ in range(5):
        tracker.attempt += 1
        assert tracker.after_response(conflict_response()) is not None
    tracker.attempt += 1
    assert tracker.after_response(retry_response(503, "PUT")) is not None
    tracker.attempt += 1
    assert tracker.after_response(retry_response(503, "PUT")) is None


def test_last_conflict_finds_the_rolled_back_prefix_of_a_batch():
    ok = make_response(201, {"data": {}})
    assert core.last_conflict([ok, ok]) == -1
    assert core.last_conflict([ok, conflict_response(), ok, conflict_response(), ok]) == 3
