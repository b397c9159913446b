"""Client behaviour on error paths and pagination, replayed from recorded cassettes.

By default these tests run offline: vcrpy plays ``cassettes/<test name>.yaml`` (record
mode "none") to a client pointed at the fake server ``http://kinto.test/v1``; a request
that was not recorded fails the test, and so does a recorded one the client no longer
sends.

``make cassettes`` (``KINTO_ORM_RECORD=1``) re-records them: the same tests then start a
real local Kinto (``kinto_orm.testing.KintoServer``, small ``paginate_by``), set up their
data outside the recording, and record with mode "all". Before anything is written the
real ``http://127.0.0.1:<port>`` origin is replaced by the fake one (request URLs,
response headers such as ``Next-Page``, bodies) and the ``Authorization`` header is
dropped. Requests match on method, path and query, never on host. Never edit a cassette
by hand: re-record it.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

vcr = pytest.importorskip("vcr")

from kinto_orm import (  # noqa: E402 - after the importorskip above
    BadRequest,
    BucketNotFound,
    Client,
    CollectionNotFound,
    Forbidden,
    NotFound,
    PreconditionFailed,
    Record,
    Unauthorized,
)

RECORD = os.environ.get("KINTO_ORM_RECORD") == "1"
CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
FAKE_ORIGIN = "http://kinto.test"
FAKE_URL = f"{FAKE_ORIGIN}/v1"
PAGINATE_BY = 2


def _credentials(user: str) -> tuple[str, str]:
    # Fresh random passwords when recording (Kinto's basicauth policy accepts any
    # user:password); they only ever travel in the Authorization header, never stored.
    return (user, secrets.token_hex(16) if RECORD else "playback-not-a-password")


ALICE = _credentials("alice")
BOB = _credentials("bob")


# ---------------------------------------------------------------------------- recording


def _scrubber(real_origin: str | None) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """The before_record_request / before_record_response hooks."""

    def rewrite(text: str) -> str:
        return text.replace(real_origin, FAKE_ORIGIN) if real_origin else text

    def scrub_request(request: Any) -> Any:
        request.uri = rewrite(request.uri)
        for name in list(request.headers):
            if name.lower() in ("authorization", "cookie", "proxy-authorization"):
                del request.headers[name]
        return request

    def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
        headers = response["headers"]
        for name in list(headers):
            if name.lower() == "set-cookie":
                del headers[name]
                continue
            headers[name] = [rewrite(value) for value in headers[name]]
        body = response["body"]["string"]
        if real_origin and body:
            raw = body if isinstance(body, bytes) else body.encode()
            raw = raw.replace(real_origin.encode(), FAKE_ORIGIN.encode())
            response["body"]["string"] = raw
            for name in headers:
                if name.lower() == "content-length":
                    headers[name] = [str(len(raw))]
        return response

    return scrub_request, scrub_response


class Kinto:
    """Where a cassette test talks: the live server when recording, else the fake URL."""

    def __init__(self, live_url: str | None, name: str) -> None:
        self.live_url = live_url
        self.name = name
        self.real_origin = live_url.rsplit("/v1", 1)[0] if live_url else None

    @property
    def url(self) -> str:
        return self.live_url or FAKE_URL

    def client(self, auth: Any = ALICE, **kwargs: Any) -> Client:
        return Client(self.url, auth=auth, **kwargs)

    def prepare(self, setup: Callable[[Client], Any], auth: Any = ALICE) -> None:
        """Create the test's data on the live server, outside the recording."""
        if RECORD:
            assert self.live_url is not None
            with Client(self.live_url, auth=auth) as client:
                setup(client)

    @contextmanager
    def cassette(self) -> Iterator[Any]:
        path = CASSETTES / f"{self.name}.yaml"
        if RECORD:
            CASSETTES.mkdir(exist_ok=True)
            path.unlink(missing_ok=True)
        else:
            assert path.exists(), f"{path} is missing: record it with `make cassettes`."
        scrub_request, scrub_response = _scrubber(self.real_origin)
        recorder = vcr.VCR(
            cassette_library_dir=str(CASSETTES),
            record_mode="all" if RECORD else "none",
            match_on=("method", "path", "query"),
            filter_headers=("authorization",),
            before_record_request=scrub_request,
            before_record_response=scrub_response,
            decode_compressed_response=True,
        )
        with recorder.use_cassette(path.name) as cassette:
            yield cassette
        if not RECORD:
            assert cassette.all_played, (
                f"{path.name}: the client no longer sends every recorded request; "
                "re-record with `make cassettes` if that is intended."
            )


@pytest.fixture(scope="module")
def live_url() -> Iterator[str | None]:
    if not RECORD:
        yield None
        return
    from kinto_orm.testing import KintoServer

    with KintoServer(paginate_by=PAGINATE_BY, history=False, attachments=False) as server:
        yield server.url


@pytest.fixture
def kinto(live_url: str | None, request: pytest.FixtureRequest) -> Kinto:
    return Kinto(live_url, request.node.name)


def make_private_bucket(bucket: str, collection: str = "c") -> Callable[[Client], None]:
    def setup(client: Client) -> None:
        client.create_bucket(id=bucket)
        client.create_collection(id=collection, bucket=bucket)

    return setup


# ---------------------------------------------------------------------------- 401


def test_401_when_not_authenticated(kinto):
    kinto.prepare(make_private_bucket("b401"))
    anonymous = kinto.client(auth=None, bucket="b401")
    with kinto.cassette():
        with pytest.raises(Unauthorized) as records:
            anonymous.get_records(collection="c")
        with pytest.raises(Unauthorized) as bucket:
            anonymous.get_bucket(id="b401")
        with pytest.raises(Unauthorized) as create:
            anonymous.create_bucket(id="anonymous-bucket")
    exc = records.value
    assert exc.status_code == 401
    assert exc.errno == 104
    assert "401" in str(exc)
    assert exc.response.headers["WWW-Authenticate"].startswith("Basic")
    assert exc.request.path == "/buckets/b401/collections/c/records"
    # The bucket read says how to fix it; the original error is kept.
    assert "authenticate" in str(bucket.value)
    assert bucket.value.status_code == 401
    assert create.value.errno == 104


# ---------------------------------------------------------------------------- 403


def test_403_when_not_allowed(kinto):
    kinto.prepare(make_private_bucket("b403"))
    bob = kinto.client(auth=BOB, bucket="b403")
    with kinto.cassette():
        with pytest.raises(Forbidden) as records:
            bob.get_records(collection="c")
        with pytest.raises(BucketNotFound) as bucket:
            bob.get_bucket(id="b403")
        with pytest.raises(Forbidden) as create:
            bob.create_record(id="r1", collection="c", data={"title": "intruder"})
        # A missing bucket is also a 403: if_exists swallows it for buckets.
        assert bob.delete_bucket(id="b403-never-created", if_exists=True) is None
    exc = records.value
    assert exc.status_code == 403
    assert exc.errno == 121
    assert isinstance(bucket.value, NotFound)
    assert bucket.value.status_code == 403
    assert str(bucket.value) == "GET /v1/buckets/b403 - 403 b403"  # kinto-http's text
    assert "'b403' does not exist or you are not allowed to read it" in bucket.value.description
    assert create.value.status_code == 403
    assert str(create.value) == (
        "PUT /v1/buckets/b403/collections/c/records/r1 - 403 Unauthorized. Please check that "
        "the collection exists and that you have the permission to create or write on this "
        "collection record."
    )


# ---------------------------------------------------------------------------- 404


def test_404_under_a_readable_parent(kinto):
    kinto.prepare(make_private_bucket("b404"))
    alice = kinto.client(bucket="b404", collection="c")
    with kinto.cassette():
        with pytest.raises(NotFound) as record:
            alice.get_record(id="missing")
        with pytest.raises(CollectionNotFound) as collection:
            alice.get_collection(id="nope")
        with pytest.raises(NotFound) as query:
            alice.records().get("missing-too")
        with pytest.raises(NotFound):
            alice.delete_record(id="missing")
        assert alice.delete_record(id="missing", if_exists=True) is None
    exc = record.value
    assert exc.status_code == 404
    assert exc.errno == 110
    assert exc.details == {"id": "missing", "resource_name": "record"}
    assert str(exc).startswith("GET /v1/buckets/b404/collections/c/records/missing - 404 404 - {")
    assert "GET /buckets/b404/collections/c/records/missing - 404" in exc.description
    assert collection.value.status_code == 404
    assert collection.value.details == {"id": "nope", "resource_name": "collection"}
    assert query.value.details["id"] == "missing-too"


# ---------------------------------------------------------------------------- 412


class Note(Record, bucket="b412", collection="c"):
    title: str


def test_412_gives_the_existing_object(kinto):
    def setup(client: Client) -> None:
        make_private_bucket("b412")(client)
        client.create_record(id="r1", collection="c", bucket="b412", data={"title": "stored"})

    kinto.prepare(setup)
    alice = kinto.client(bucket="b412", collection="c")
    with kinto.cassette():
        with pytest.raises(PreconditionFailed) as create:
            alice.create_record(id="r1", data={"title": "mine"})
        kept = alice.create_record(id="r1", data={"title": "mine"}, if_not_exists=True)
        with pytest.raises(PreconditionFailed) as update:
            alice.update_record(id="r1", data={"title": "mine"}, if_match=1)
        with pytest.raises(PreconditionFailed) as missing:
            alice.update_record(id="ghost", data={"title": "mine"}, if_match=1)
        with pytest.raises(PreconditionFailed) as save:
            Note(id="r1", title="mine").bind(alice).save()
    exc = create.value
    assert exc.status_code == 412
    assert exc.errno == 114
    assert exc.existing is not None
    assert exc.existing["id"] == "r1"
    assert exc.existing["title"] == "stored"
    assert isinstance(exc.existing["last_modified"], int)
    assert exc.request.headers == {"If-None-Match": "*"}
    assert kept["data"]["title"] == "stored"
    assert update.value.existing == exc.existing
    assert update.value.request.headers == {"If-Match": '"1"'}
    # If-Match on an object that does not exist: 412 without an existing copy.
    assert missing.value.status_code == 412
    assert missing.value.existing is None
    assert save.value.existing["title"] == "stored"


# ---------------------------------------------------------------------------- 400


def test_400_with_details(kinto):
    schema = {
        "type": "object",
        "properties": {"title": {"type": "string"}},
        "required": ["title"],
    }

    def setup(client: Client) -> None:
        client.create_bucket(id="b400")
        client.create_collection(id="c", bucket="b400", data={"schema": schema})

    kinto.prepare(setup)
    alice = kinto.client(bucket="b400", collection="c")
    with kinto.cassette():
        with pytest.raises(BadRequest) as invalid:
            alice.create_record(id="bad", data={"title": 42})
        with pytest.raises(BadRequest) as missing:
            alice.create_record(id="bad", data={"other": "x"})
        with pytest.raises(BadRequest) as mismatch:
            alice.update_record(id="r1", data={"id": "r2", "title": "x"}, safe=False)
    exc = invalid.value
    assert exc.status_code == 400
    assert exc.errno == 107
    assert isinstance(exc.details, list) and exc.details
    detail = exc.details[0]
    assert detail["location"] == "body"
    assert "title" in detail["name"]
    assert detail["description"] in str(exc)
    assert "is not of type 'string'" in str(exc)
    assert "'title' is a required property" in str(missing.value)
    assert mismatch.value.errno == 107
    assert mismatch.value.details


# ---------------------------------------------------------------------------- pagination


def test_paginated_list(kinto):
    def setup(client: Client) -> None:
        make_private_bucket("bpages")(client)
        for index in range(5):
            client.create_record(
                id=f"r{index}", collection="c", bucket="bpages", data={"n": index}
            )

    kinto.prepare(setup)
    alice = kinto.client(bucket="bpages", collection="c")
    with kinto.cassette() as cassette:
        everything = alice.get_records(_sort="n")
        first_page = alice.get_records(_sort="n", _limit=2)
        two_pages = alice.get_records(_sort="n", _limit=2, pages=2)
        pages = list(alice.records().sort("n").pages())
        limited = alice.records().sort("-n").limit(3).all()
        bodies = list(alice.get_paginated_records(_sort="n"))
        count = alice.records().count()
    assert [r["n"] for r in everything] == [0, 1, 2, 3, 4]
    assert [r["n"] for r in first_page] == [0, 1]
    assert [r["n"] for r in two_pages] == [0, 1, 2, 3]
    assert [[r["n"] for r in p] for p in pages] == [[0, 1], [2, 3], [4]]
    assert pages[0].next_url.startswith(kinto.url + "/buckets/bpages/collections/c/records?")
    assert "_token=" in pages[0].next_url
    assert pages[-1].next_url is None
    assert all(p.etag == pages[0].etag and isinstance(p.etag, int) for p in pages)
    assert [r["n"] for r in limited] == [4, 3, 2]
    assert [[r["n"] for r in body["data"]] for body in bodies] == [[0, 1], [2, 3], [4]]
    assert count == 5
    if not RECORD:
        # 3 + 1 + 2 + 3 + 2 (the limit stops early) + 3 + 1 HEAD
        assert cassette.play_count == 15


# ---------------------------------------------------------------------------- the cassettes


def test_cassettes_hold_no_credentials():
    """Runs last: the recorded files carry no Authorization header, no password and no
    real server address."""
    files = sorted(CASSETTES.glob("*.yaml"))
    assert files, "no cassettes: record them with `make cassettes`"
    secrets_used = [ALICE[1], BOB[1]] if RECORD else []
    for path in files:
        text = path.read_text()
        lowered = text.lower()
        assert "authorization" not in lowered, path.name
        assert "password" not in lowered, path.name
        assert not re.search(r"(?i)(basic|bearer) [a-z0-9+/=._-]{8,}", text), path.name
        assert "127.0.0.1" not in text, path.name
        assert "localhost" not in lowered, path.name
        for secret in secrets_used:
            assert secret not in text, path.name


def test_playback_does_not_reach_the_network():
    """Offline, a request that is not in the cassette fails instead of going out."""
    if RECORD:
        pytest.skip("only meaningful when playing back")
    from vcr.errors import CannotOverwriteExistingCassetteException

    client = Client(FAKE_URL, auth=ALICE, bucket="elsewhere", collection="c")
    player = vcr.VCR(cassette_library_dir=str(CASSETTES), record_mode="none")
    with (
        player.use_cassette("test_404_under_a_readable_parent.yaml"),
        pytest.raises(CannotOverwriteExistingCassetteException),
    ):
        client.get_records()
