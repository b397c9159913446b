"""Errors as kinto-http gives them: the same failures, sent through kinto-http and
kinto-orm against the real server, must give the same ``str(exc)``, the same message, and
``exc.request`` / ``exc.response`` that read like requests' objects."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import kinto_http
import pytest
import requests

import kinto_orm
from kinto_orm import AsyncClient, Client, KintoException
from kinto_orm.testing import unique_id

from .conftest import DEAD_URL

Call = Callable[[Any], Any]


@pytest.fixture
def khttp(client: Client) -> Iterator[kinto_http.Client]:
    """kinto-http's client with the same identity and default bucket as ``client``."""
    yield kinto_http.Client(
        server_url=client.session.server_url, auth=client.session.auth, bucket=client.bucket_name
    )


def failure(call: Call, target: Any) -> BaseException:
    """The exception ``call(target)`` raises (the test fails if it raises none)."""
    try:
        call(target)
    except Exception as exc:
        return exc
    raise AssertionError(f"{call} did not fail on {target!r}")


async def _raises(coroutine: Any) -> BaseException:
    try:
        await coroutine
    except Exception as exc:
        return exc
    raise AssertionError("no error")


def assert_same_error(ours: BaseException, theirs: BaseException) -> None:
    """Same text, same message, and an exception class kinto-http code still catches."""
    assert str(ours) == str(theirs)
    assert isinstance(ours, KintoException)
    assert isinstance(ours, getattr(kinto_orm, type(theirs).__name__))
    assert getattr(ours, "message", None) == getattr(theirs, "message", None)


def cases(bid: str, cid: str, missing: str) -> dict[str, Call]:
    """Failures kinto-http words in its own way, or formats by default."""
    rec = {"bucket": bid, "collection": cid}
    return {
        "group in a missing bucket (403)": lambda c: c.create_group(
            id="payments", bucket=missing, data={"members": []}
        ),
        "collection in a missing bucket (403)": lambda c: c.create_collection(
            id="x", bucket=missing
        ),
        "record in a missing bucket (403)": lambda c: c.create_record(
            id="r", bucket=missing, collection="c", data={}
        ),
        "record in a missing collection (404)": lambda c: c.create_record(
            id="r", bucket=bid, collection="nope", data={}
        ),
        "missing bucket": lambda c: c.get_bucket(id=missing),
        "missing collection": lambda c: c.get_collection(id="nope", bucket=bid),
        "missing record": lambda c: c.get_record(id="nope", **rec),
        "existing bucket (412)": lambda c: c.create_bucket(id=bid),
        "stale if_match (412)": lambda c: c.update_record(id="r1", data={}, if_match=1, **rec),
        "query string": lambda c: c.get_records(
            bucket=bid, collection="nope", _limit=2, min_x=3
        ),
        "delete missing record": lambda c: c.delete_record(id="nope", **rec),
        "invalid schema (400)": lambda c: c.create_collection(
            id="bad", bucket=bid, data={"schema": 3}
        ),
        "existing group (412)": lambda c: c.create_group(id="g", bucket=bid, data={"members": []}),
    }


CASES = list(cases("b", "c", "m"))


@pytest.mark.parametrize("name", CASES)
def test_same_text_as_kinto_http(
    name: str, client: Client, khttp: kinto_http.Client, bid: str, cid: str
) -> None:
    client.create_record(id="r1", collection=cid, data={"title": "x"})
    client.create_group(id="g", data={"members": []})
    call = cases(bid, cid, unique_id("missing"))[name]
    theirs, ours = failure(call, khttp), failure(call, client)
    assert_same_error(ours, theirs)
    # The status code and path read the same way too.
    assert ours.response.status_code == theirs.response.status_code
    assert ours.request.path_url == theirs.request.path_url
    assert ours.request.path_url.startswith("/v1/")


def test_the_create_group_message_of_the_issue(client: Client) -> None:
    exc = failure(
        lambda c: c.create_group(id="payments", bucket=unique_id("mozilla"), data={}), client
    )
    assert re.fullmatch(
        r"PUT /v1/buckets/mozilla-\w+/groups/payments - 403 Unauthorized\. Please check that "
        r"the bucket exists and that you have the permission to create or write on this "
        r"group\.",
        str(exc),
    )
    # The richer explanation stays available.
    assert exc.errno == 121 and exc.status_code == 403
    assert "This user cannot access this resource" in exc.description


def test_anonymous_get_bucket_same_text(kinto_server: Any) -> None:
    bucket = unique_id("b")
    anonymous_khttp = kinto_http.Client(server_url=kinto_server.url)
    theirs = failure(lambda c: c.get_bucket(id=bucket), anonymous_khttp)
    with Client(kinto_server.url) as anonymous:
        ours = failure(lambda c: c.get_bucket(id=bucket), anonymous)
    assert_same_error(ours, theirs)
    assert str(ours).endswith(" - 401 Unauthorized. Please authenticate or make sure the bucket "
                              "can be read anonymously.")


def test_batch_errors_same_text(
    client: Client, khttp: kinto_http.Client, cid: str
) -> None:
    client.create_record(id="exists", collection=cid, data={"title": "server"})

    def run(target: Any) -> BaseException:
        try:
            with target.batch(collection=cid) as batch:
                batch.create_record(id="exists", data={"title": "again"})
                batch.delete_record(id="missing")
                batch.update_record(id="fine", data={"title": "ok"})
        except Exception as exc:
            return exc
        raise AssertionError("the batch did not fail")

    theirs, ours = run(khttp), run(client)
    assert_same_error(ours, theirs)
    assert [str(e) for e in ours.exceptions] == [str(e) for e in theirs.exceptions]
    assert str(ours).splitlines()[0].startswith(
        f"PUT /buckets/{client.bucket_name}/collections/{cid}/records/exists - 412 412 - {{"
    )
    assert [e.status_code for e in ours.exceptions] == [412, 404]


def test_network_error_same_text() -> None:
    # kinto-http lets requests' ConnectionError through; kinto-orm wraps it in a
    # KintoException with the same text. Object addresses differ between runs.
    def text(exc: BaseException) -> str:
        return re.sub(r"0x[0-9a-f]+", "0x", str(exc))

    theirs = failure(lambda c: c.server_info(), kinto_http.Client(server_url=DEAD_URL))
    with Client(DEAD_URL) as dead:
        ours = failure(lambda c: c.server_info(), dead)
    assert text(ours) == text(theirs)
    assert isinstance(ours, KintoException) and ours.__cause__ is not None
    # Code catching the requests exception kinto-http raises still catches it.
    assert isinstance(theirs, requests.exceptions.ConnectionError)
    assert isinstance(ours, requests.exceptions.ConnectionError)

    async def through_async() -> BaseException:
        async with AsyncClient(DEAD_URL) as aclient:
            return await _raises(aclient.server_info())

    assert isinstance(asyncio.run(through_async()), requests.exceptions.ConnectionError)
    assert ours.request is not None and ours.request.url == DEAD_URL + "/"
    assert ours.response is None and ours.status_code is None


# ---------------------------------------------------------------------------- response, request


def compare_objects(ours: Any, theirs: Any) -> None:
    """What code reads from ``exc.response`` and ``exc.request``, as requests has it."""
    r, t = ours.response, theirs.response
    assert (r.ok, r.reason, r.status_code, r.url) == (t.ok, t.reason, t.status_code, t.url)
    assert r.json() == t.json() and json.loads(r.text) == json.loads(t.text)
    assert r.headers["content-type"] == t.headers["Content-Type"]
    assert r.headers["ETag"] == t.headers["ETag"]
    q, p = ours.request, theirs.request
    assert (q.url, q.method, q.path_url) == (p.url, p.method, p.path_url)
    assert json.loads(q.body) == json.loads(p.body)
    assert q.headers["If-None-Match"] == p.headers["If-None-Match"] == "*"


def test_response_and_request_read_like_requests(
    client: Client, khttp: kinto_http.Client, kinto_server: Any, cid: str
) -> None:
    client.create_record(id="r1", collection=cid, data={"title": "x"})

    def call(target: Any) -> Any:
        return target.create_record(id="r1", collection=cid, data={"title": "y"})

    theirs, ours = failure(call, khttp), failure(call, client)
    assert ours.response.ok is False and ours.response.reason == "Precondition Failed"
    compare_objects(ours, theirs)

    async def through_async() -> BaseException:
        async with AsyncClient(
            kinto_server.url, auth=client.session.auth, bucket=client.bucket_name
        ) as aclient:
            try:
                await aclient.create_record(id="r1", collection=cid, data={"title": "y"})
            except KintoException as exc:
                return exc
        raise AssertionError("no error")

    compare_objects(asyncio.run(through_async()), theirs)


def test_async_errors_same_text(
    client: Client, khttp: kinto_http.Client, kinto_server: Any, bid: str, cid: str
) -> None:
    client.create_record(id="r1", collection=cid, data={"title": "x"})
    client.create_group(id="g", data={"members": []})
    chosen = cases(bid, cid, unique_id("missing"))
    names = ["group in a missing bucket (403)", "missing bucket", "missing collection",
             "stale if_match (412)", "query string"]
    akhttp = kinto_http.AsyncClient(
        server_url=kinto_server.url, auth=client.session.auth, bucket=bid
    )

    async def collect(target: Any) -> list[BaseException]:
        errors = []
        for name in names:
            try:
                await chosen[name](target)
            except Exception as exc:
                errors.append(exc)
        return errors

    async def ours() -> list[BaseException]:
        async with AsyncClient(kinto_server.url, auth=client.session.auth, bucket=bid) as a:
            return await collect(a)

    theirs = asyncio.run(collect(akhttp))
    mine = asyncio.run(ours())
    assert len(theirs) == len(mine) == len(names)
    for our_exc, their_exc in zip(mine, theirs):
        assert_same_error(our_exc, their_exc)
