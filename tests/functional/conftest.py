"""Fixtures of the functional suite: everything talks to the real Kinto started by the
``kinto_orm.testing`` plugin (``kinto_server``, ``kinto_client``). Nothing is mocked.

Verification reads go through ``raw`` (plain ``requests`` with the same identity), so a
test never trusts the library under test to check its own writes.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from kinto_orm import Client, Collection, Record
from kinto_orm.testing import KintoServer, new_credentials, unique_id

from .relay import Relay, relay_to

#: A server URL where nothing listens: any request sent there fails with a network
#: error, so a ``ValueError`` from a call proves nothing was sent.
DEAD_URL = "http://127.0.0.1:9/v1"


class Raw:
    """Plain HTTP access to the test server (independent of kinto-orm)."""

    def __init__(self, url: str, auth: Any) -> None:
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.auth = auth

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.url + path, params=params or None, timeout=10)

    def data(self, path: str) -> dict[str, Any]:
        response = self.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()["data"]

    def all(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every object of a list endpoint (following ``Next-Page``)."""
        items: list[dict[str, Any]] = []
        response = self.get(path, **params)
        while True:
            assert response.status_code == 200, (path, response.status_code, response.text)
            items += response.json()["data"]
            next_page = response.headers.get("Next-Page")
            if not next_page:
                return items
            response = self.session.get(next_page, timeout=10)

    def body(self, path: str) -> dict[str, Any]:
        response = self.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    def status(self, path: str) -> int:
        return self.get(path).status_code

    def put(self, path: str, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
        response = self.session.put(
            self.url + path, json={"data": data, **extra}, timeout=10
        )
        assert response.status_code in (200, 201), response.text
        return response.json()

    def patch(self, path: str, data: dict[str, Any]) -> dict[str, Any]:
        response = self.session.patch(self.url + path, json={"data": data}, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def delete(self, path: str) -> int:
        return self.session.delete(self.url + path, timeout=10).status_code

    def head(self, path: str, **params: Any) -> requests.Response:
        return self.session.head(self.url + path, params=params or None, timeout=10)

    def user_id(self) -> str:
        return self.session.get(self.url + "/", timeout=10).json()["user"]["id"]

    def close(self) -> None:
        self.session.close()


@pytest.fixture
def client(kinto_client: Client) -> Client:
    """The plugin's ``kinto_client``: own identity, own freshly created bucket."""
    return kinto_client


@pytest.fixture
def bid(client: Client) -> str:
    assert client.bucket_name is not None
    return client.bucket_name


@pytest.fixture
def cid(client: Client, raw: Raw, bid: str) -> str:
    """A fresh collection in the client's bucket (created without kinto-orm)."""
    cid = unique_id("c")
    raw.put(f"/buckets/{bid}/collections/{cid}", {})
    return cid


@pytest.fixture
def coll(client: Client, cid: str) -> Collection:
    """The ``cid`` collection as a bound model."""
    return client.collection(cid)


@pytest.fixture
def raw(kinto_server: Any, client: Client) -> Iterator[Raw]:
    """Plain requests with the same identity as ``client``."""
    session = Raw(kinto_server.url, client.session.auth)
    yield session
    session.close()


@pytest.fixture
def other(kinto_server: Any) -> Iterator[Client]:
    """A client with another identity and no bucket of its own."""
    other = Client(kinto_server.url, auth=new_credentials())
    yield other
    other.close()


@pytest.fixture
def twin(kinto_server: Any, client: Client) -> Iterator[Client]:
    """A second, independent client with the same identity and defaults as ``client``
    (a second user session editing the same objects)."""
    twin = Client(kinto_server.url, auth=client.session.auth, bucket=client.bucket_name)
    yield twin
    twin.close()


@pytest.fixture
def dead() -> Iterator[Client]:
    """A client whose server does not exist: any request it sends fails."""
    dead = Client(DEAD_URL, auth=new_credentials(), bucket="b", collection="c")
    yield dead
    dead.close()


def rec_path(bid: str, cid: str, rid: str | None = None) -> str:
    path = f"/buckets/{bid}/collections/{cid}/records"
    return path if rid is None else f"{path}/{rid}"


def seed(raw: Raw, bid: str, cid: str, rows: list[dict[str, Any]]) -> None:
    """Create records with plain requests (in one /batch), not with the library."""
    requests_ = [
        {"method": "PUT", "path": rec_path(bid, cid, row["id"]), "body": {"data": row}}
        for row in rows
    ]
    for start in range(0, len(requests_), 25):
        response = raw.session.post(
            raw.url + "/batch", json={"requests": requests_[start : start + 25]}, timeout=30
        )
        assert response.status_code == 200, response.text
        statuses = [r["status"] for r in response.json()["responses"]]
        assert all(s in (200, 201) for s in statuses), response.text


class Item(Record):
    """The records of :func:`dataset`, typed."""

    n: int
    title: str
    even: bool
    tags: list[str]
    due: datetime.date


def dataset(count: int = 25) -> list[dict[str, Any]]:
    """The query test data: ``r00``..``r24``; helpers below compute expected ids."""
    rows = []
    for i in range(count):
        row: dict[str, Any] = {
            "id": f"r{i:02d}",
            "n": i,
            "title": f"Item {i:02d}",
            "even": i % 2 == 0,
            "tags": [f"t{i % 3}"] + (["five"] if i % 5 == 0 else []),
            "meta": {"rank": i % 5},
            "due": (datetime.date(2024, 1, 1) + datetime.timedelta(days=i)).isoformat(),
        }
        if i < 5:
            row["opt"] = "yes"
        rows.append(row)
    return rows


def ids(items: Any) -> list[str]:
    return [item["id"] if isinstance(item, dict) else item.id for item in items]


def expect(pred: Any, count: int = 25) -> set[str]:
    return {row["id"] for row in dataset(count) if pred(row)}


class Note(Record):
    """A small typed record used by the batch, async and bulk tests."""

    title: str
    n: int = 0


@pytest.fixture(scope="session")
def signer_server() -> Iterator[KintoServer]:
    """A server that declares the ``signer`` capability (review workflow), through the
    small plugin in ``plugins/``: kinto-signer itself needs an Autograph server."""
    plugins = str(Path(__file__).parent / "plugins")
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (plugins, saved) if p)
    try:
        server = KintoServer(history=False, attachments=False, includes=["signer_capability"])
        server.start()
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
    yield server
    server.stop()


@pytest.fixture
def signer_client(signer_server: KintoServer) -> Iterator[Client]:
    """A client with its own identity and bucket on :func:`signer_server`."""
    bucket = unique_id("b")
    client = Client(signer_server.url, auth=new_credentials(), bucket=bucket)
    client.create_bucket(id=bucket)
    yield client
    client.close()


@pytest.fixture
def signer(signer_server: KintoServer, signer_client: Client) -> Iterator[Any]:
    """``(server, client, bid, cid, raw)`` on :func:`signer_server`, like the fixtures of
    the same names on the default server."""
    bid, cid = signer_client.bucket_name, unique_id("c")
    raw = Raw(signer_server.url, signer_client.session.auth)
    raw.put(f"/buckets/{bid}/collections/{cid}", {})
    yield signer_server, signer_client, bid, cid, raw
    raw.close()


@pytest.fixture
def relay(kinto_server: Any) -> Iterator[Relay]:
    """A counting TCP relay in front of the session's Kinto (see ``relay.py``)."""
    yield from relay_to(kinto_server.url)


@pytest.fixture
def notes(raw: Raw, bid: str, cid: str) -> list[str]:
    """The ids of 25 notes seeded in the test's collection."""
    seed(raw, bid, cid, [{"id": f"n{i:02d}", "title": f"note {i}", "n": i} for i in range(25)])
    return [f"n{i:02d}" for i in range(25)]


#: Tests of what one attempt of the transport does when the connection or the answer
#: fails: there, kinto-http's second try of a read (``RetryPolicy.read_retries``) would
#: hide the first attempt's outcome.
_SINGLE_ATTEMPT_MODULES = frozenset({
    "test_async_transport", "test_async_wire", "test_async_wire_edges",
    "test_sync_transport", "test_sync_wire", "test_sync_wire_edges",
})


@pytest.fixture(autouse=True)
def _one_attempt_per_read_in_wire_tests(request: pytest.FixtureRequest) -> Iterator[None]:
    # Its own MonkeyPatch: taking the test's ``monkeypatch`` would set it up first, so
    # undo the test's environment changes only after the other fixtures' teardown.
    if request.module.__name__.rsplit(".", 1)[-1] not in _SINGLE_ATTEMPT_MODULES:
        yield
        return
    from kinto_orm.protocol import retry

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(retry, "READ_RETRIES", 0)
        yield
