"""Plugin features on a real Kinto started without the plugins: one clear
MissingCapability naming the plugin, raised before any write is sent."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kinto_orm import AsyncClient, Client, KintoException, MissingCapability, Record
from kinto_orm.testing import KintoServer, new_credentials, unique_id

from .conftest import DEAD_URL

pytestmark = pytest.mark.functional


@pytest.fixture(scope="module")
def bare_server() -> Iterator[KintoServer]:
    """No history, no attachments, no permissions endpoint, no review workflow."""
    settings = {"kinto.experimental_permissions_endpoint": "false"}
    with KintoServer(history=False, attachments=False, settings=settings) as server:
        yield server


@pytest.fixture
def bare(bare_server: KintoServer) -> Iterator[tuple[Client, list[str]]]:
    """A client on the bare server, with its own bucket and collection, and the list of
    requests it sends (``"METHOD path"``) from then on."""
    bucket, collection = unique_id("b"), unique_id("c")
    client = Client(bare_server.url, auth=new_credentials(), bucket=bucket,
                    collection=collection)
    client.create_bucket(id=bucket)
    client.create_collection(id=collection)
    client._server_info = None  # forget GET /v1/: the test counts it
    sent: list[str] = []
    client.on("request", lambda event: sent.append(
        f"{event.request.method} {event.request.path}"))
    yield client, sent
    client.close()


CALLS: dict[str, tuple[str, Callable[[Client], Any]]] = {
    "get_history": ("history", lambda c: c.get_history()),
    "purge_history": ("history", lambda c: c.purge_history()),
    "bucket.history()": ("history", lambda c: c.bucket(c.bucket_name).history().all()),
    "history count": ("history", lambda c: c.bucket(c.bucket_name).history().count()),
    "get_permissions": ("permissions_endpoint", lambda c: c.get_permissions()),
    "client.permissions()": ("permissions_endpoint", lambda c: c.permissions().first()),
    "add_attachment": ("attachments",
                       lambda c: c.add_attachment(id="r1", filepath=io.BytesIO(b"x"),
                                                  filename="x.txt")),
    "record.attach": ("attachments",
                      lambda c: c.collection(c.collection_name).record("r2")
                      .attach(io.BytesIO(b"x"), mimetype="text/plain")),
    "remove_attachment": ("attachments", lambda c: c.remove_attachment(id="r1")),
    "download_attachment": ("attachments", lambda c: c.download_attachment(
        {"id": "r1", "attachment": {"location": "b/c/f.txt", "filename": "f.txt"}})),
    "request_review": ("signer", lambda c: c.request_review("please")),
    "approve_changes": ("signer", lambda c: c.approve_changes()),
    "records.at()": ("history", lambda c: c.records().at(1).all()),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_missing_plugin_raises_before_sending(name: str, bare: tuple[Client, list[str]]) -> None:
    client, sent = bare
    capability, call = CALLS[name]
    with pytest.raises(MissingCapability) as caught:
        call(client)
    assert caught.value.capability == capability
    assert f"{capability!r} capability" in str(caught.value)
    assert isinstance(caught.value, KintoException)
    assert sent == ["GET /"]  # only the server's description, never the call itself
    assert client.get_records() == []  # nothing was created by an attachment upload
    assert client.get_collection()["data"].get("status") is None  # no review status


def test_capabilities_are_read_once_per_client(bare: tuple[Client, list[str]]) -> None:
    client, sent = bare
    for _, call in CALLS.values():
        with pytest.raises(MissingCapability):
            call(client)
    assert sent.count("GET /") == 1


def test_message_names_the_plugin(bare: tuple[Client, list[str]]) -> None:
    client, _ = bare
    with pytest.raises(MissingCapability, match=r"get_history\(\) needs the history plugin"):
        client.get_history()
    with pytest.raises(MissingCapability, match="kinto-attachment"):
        client.remove_attachment(id="r1")
    with pytest.raises(MissingCapability, match="kinto-signer"):
        client.request_review("x")


def test_bad_arguments_still_fail_before_any_request() -> None:
    with Client(DEAD_URL, auth=new_credentials()) as dead:
        with pytest.raises(ValueError):
            dead.purge_history(bucket="no/slash")
        with pytest.raises(ValueError):
            dead.remove_attachment(id="../x", bucket="b", collection="c")


def test_async_client_checks_too(bare_server: KintoServer) -> None:
    async def run() -> None:
        async with AsyncClient(bare_server.url, auth=new_credentials(), bucket="x") as client:
            with pytest.raises(MissingCapability):
                await client.get_history()
            with pytest.raises(MissingCapability):
                await client.bucket("x").history().aall()
            with pytest.raises(MissingCapability):
                record = Record(id="r1").bind(client, collection="c")
                await record.aattach(io.BytesIO(b"x"), mimetype="text/plain")
            with pytest.raises(MissingCapability, match=r"download_attachment\(\)"):
                await client.download_attachment(
                    {"id": "r1", "attachment": {"location": "b/c/f.txt", "filename": "f"}})

    asyncio.run(run())


def test_with_the_plugins_nothing_is_refused(client: Client, cid: str) -> None:
    """The default test server has history, attachments and the permissions endpoint."""
    assert isinstance(client.get_history(), list)
    assert isinstance(client.get_permissions(), list)
    client.add_attachment(id="r1", filepath=io.BytesIO(b"x"), filename="x.txt", collection=cid)
    with pytest.raises(MissingCapability, match="signer"):
        client.request_review("x", id=cid)
