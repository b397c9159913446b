"""Fixtures of the fault tests: a :class:`~tests.faults.proxy.FaultProxy` in front of the
session's real Kinto server, and a fresh identity/bucket/collection per test.

What the server holds is always read DIRECTLY from the server (plain ``requests``, not
through the proxy and not through kinto-orm), so a test never trusts the library, nor
the faults, to check the library's writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from kinto_orm import AsyncClient, Client, Record
from kinto_orm.testing import new_credentials, unique_id

from .proxy import FaultProxy


class Item(Record):
    """The typed record the fault tests write (client-chosen ids)."""

    n: int
    title: str


@dataclass
class Place:
    """One test's own identity, bucket and collection on the real server."""

    server_url: str
    auth: tuple[str, str]
    bucket: str
    collection: str

    @property
    def records_path(self) -> str:
        return f"/buckets/{self.bucket}/collections/{self.collection}/records"

    def _session(self) -> requests.Session:
        session = requests.Session()
        session.auth = self.auth
        return session

    def server_records(self) -> list[dict[str, Any]]:
        """Every record of the collection, read straight from the server (all pages)."""
        items: list[dict[str, Any]] = []
        with self._session() as session:
            url: str | None = self.server_url + self.records_path
            for _ in range(100_000):  # bounded: one page per iteration
                if url is None:
                    return items
                response = session.get(url, timeout=30)
                assert response.status_code == 200, (response.status_code, response.text)
                items += response.json()["data"]
                url = response.headers.get("Next-Page")
        raise AssertionError("pagination did not end")

    def client(self, proxy: FaultProxy, **kwargs: Any) -> Client:
        """A sync client that talks to the server through ``proxy``."""
        return Client(
            proxy.url, auth=self.auth, bucket=self.bucket, collection=self.collection, **kwargs
        )

    def aclient(self, proxy: FaultProxy, **kwargs: Any) -> AsyncClient:
        """An async client that talks to the server through ``proxy``."""
        return AsyncClient(
            proxy.url, auth=self.auth, bucket=self.bucket, collection=self.collection, **kwargs
        )

    def items(self, client: Client | AsyncClient, count: int, prefix: str = "r") -> list[Item]:
        """``count`` new typed records with client-chosen ids, bound to ``client``."""
        return [
            Item(id=f"{prefix}{i:05d}", n=i, title=f"record {i}").bind(
                client, bucket=self.bucket, collection=self.collection
            )
            for i in range(count)
        ]


@pytest.fixture
def proxy(kinto_server: Any) -> Iterator[FaultProxy]:
    """A fault-injecting proxy in front of the session's Kinto (no faults until a plan
    is set with ``proxy.set_plan([...])``)."""
    with FaultProxy(kinto_server.url) as running:
        yield running
    assert running.upstream_errors == 0, "the proxy failed to reach the server by itself"


@pytest.fixture
def place(kinto_server: Any) -> Iterator[Place]:
    """A new identity with its own bucket and collection, made without kinto-orm."""
    here = Place(kinto_server.url, new_credentials(), unique_id("b"), unique_id("c"))
    with here._session() as session:
        base = kinto_server.url + f"/buckets/{here.bucket}"
        for url in (base, base + f"/collections/{here.collection}"):
            response = session.put(url, json={}, timeout=30)
            assert response.status_code == 201, response.text
        yield here
        session.delete(base, timeout=30)  # keeps the shared server small (and fast)
