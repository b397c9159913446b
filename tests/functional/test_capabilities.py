"""Plugin features on a real Kinto started without the plugins: one clear
MissingCapability naming the plugin. kinto-http's methods send their request first (as
kinto-http does: the server's 404 decides); the object API checks before sending."""

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


#: kinto-http's methods: sent as kinto-http sends them; the server's 404 decides, then
#: one GET /v1/ tells which plugin is missing. (name -> capability, call, what it sends)
SENT_FIRST: dict[str, tuple[str, Callable[[Client], Any], list[str]]] = {
    "get_history": ("history", lambda c: c.get_history(), ["GET /buckets/{b}/history"]),
    "purge_history": ("history", lambda c: c.purge_history(), ["DELETE /buckets/{b}/history"]),
    "get_permissions": ("permissions_endpoint", lambda c: c.get_permissions(),
                        ["GET /permissions"]),
    "add_attachment": ("attachments",
                       lambda c: c.add_attachment(id="r1", filepath=io.BytesIO(b"x"),
                                                  filename="x.txt"),
                       ["GET {r}/r1", "POST {r}/r1/attachment"]),
    "record.attach": ("attachments",
                      lambda c: c.collection(c.collection_name).record("r2")
                      .attach(io.BytesIO(b"x"), mimetype="text/plain"),
                      ["GET {r}/r2", "POST {r}/r2/attachment"]),
    "remove_attachment": ("attachments", lambda c: c.remove_attachment(id="r1"),
                          ["DELETE {r}/r1/attachment"]),
}
#: The object API checks first and sends nothing the server cannot serve.
CHECKED_FIRST: dict[str, tuple[str, Callable[[Client], Any]]] = {
    "bucket.history()": ("history", lambda c: c.bucket(c.bucket_name).history().all()),
    "history count": ("history", lambda c: c.bucket(c.bucket_name).history().count()),
    "client.permissions()": ("permissions_endpoint", lambda c: c.permissions().first()),
    "download_attachment": ("attachments", lambda c: c.download_attachment(
        {"id": "r1", "attachment": {"location": "b/c/f.txt", "filename": "f.txt"}})),
    "records.at()": ("history", lambda c: c.records().at(1).all()),
}


@pytest.mark.parametrize("name", list(SENT_FIRST))
def test_kinto_http_methods_send_first_and_explain_the_404(
    name: str, bare: tuple[Client, list[str]]
) -> None:
    client, sent = bare
    capability, call, expected = SENT_FIRST[name]
    with pytest.raises(MissingCapability) as caught:
        call(client)
    assert caught.value.capability == capability
    assert f"{capability!r} capability" in str(caught.value)
    assert isinstance(caught.value, KintoException)
    assert caught.value.status_code == 404  # the server's answer, kept
    records = f"/buckets/{client.bucket_name}/collections/{client.collection_name}/records"
    assert sent == [line.format(b=client.bucket_name, r=records) for line in expected] + [
        "GET /"  # read after the 404, to name the missing plugin
    ]
    assert client.get_records() == []  # nothing was created by an attachment upload


@pytest.mark.parametrize("name", list(CHECKED_FIRST))
def test_object_api_checks_before_sending(name: str, bare: tuple[Client, list[str]]) -> None:
    client, sent = bare
    capability, call = CHECKED_FIRST[name]
    with pytest.raises(MissingCapability) as caught:
        call(client)
    assert caught.value.capability == capability
    assert sent == ["GET /"]  # only the server's description, never the call itself


def test_capabilities_are_read_once_per_client(bare: tuple[Client, list[str]]) -> None:
    client, sent = bare
    for _, call, *_ in [*SENT_FIRST.values(), *CHECKED_FIRST.values()]:
        with pytest.raises(MissingCapability):
            call(client)
    assert sent.count("GET /") == 1


def test_message_names_the_plugin(bare: tuple[Client, list[str]]) -> None:
    client, _ = bare
    with pytest.raises(MissingCapability, match=r"get_history\(\) needs the history plugin"):
        client.get_history()
    with pytest.raises(MissingCapability, match="kinto-attachment"):
        client.remove_attachment(id="r1")


def test_review_methods_patch_the_status_as_kinto_http_does(
    bare: tuple[Client, list[str]]
) -> None:
    """Without kinto-signer, request_review() and friends PATCH the collection's status
    (kinto-http's behaviour: a development setup on a plain Kinto keeps working)."""
    client, sent = bare
    cid = client.collection_name
    path = f"/buckets/{client.bucket_name}/collections/{cid}"
    assert client.request_review("please")["data"]["status"] == "to-review"
    assert client.get_collection()["data"]["last_editor_comment"] == "please"
    assert client.approve_changes()["data"]["status"] == "to-sign"
    assert client.decline_changes("no")["data"]["status"] == "work-in-progress"
    assert client.rollback_changes("undo")["data"]["status"] == "to-rollback"
    assert "GET /" not in sent and sent.count(f"PATCH {path}") == 4
    with pytest.raises(KintoException) as caught:  # the server's answer decides
        client.request_review("x", id="missing")
    assert caught.value.status_code == 404 and not isinstance(caught.value, MissingCapability)


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
    assert client.request_review("x", id=cid)["data"]["status"] == "to-review"
