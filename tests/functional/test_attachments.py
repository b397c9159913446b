"""Attachments from memory against the real Kinto (kinto-attachment): uploads from bytes
and file objects, the upload skipped when the server already has the same file, and
new records that are not created when the server refuses their file. What the server
holds is read with plain HTTP (``raw``); what was sent is counted with the client's own
``request`` events."""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kinto_orm import AsyncClient, BadRequest, Client, Record
from kinto_orm.testing import KintoServer, new_credentials, unique_id

from .conftest import Raw, rec_path

PDF = b"%PDF-1.7 pretend this is a report\n"


class Report(Record):
    title: str
    pages: int = 1


@pytest.fixture(autouse=True)
def attachments_enabled(kinto_server: Any) -> None:
    if not getattr(kinto_server, "attachments", False):
        pytest.skip("the test server has no kinto-attachment")


def sent(client: Client | AsyncClient) -> list[str]:
    """Start recording the requests ``client`` sends, as ``"METHOD /last/segments"``."""
    log: list[str] = []
    client.on("request", lambda e: log.append(
        f"{e.request.method} {'/'.join(e.request.path.split('/')[-2:])}"
    ))
    return log


# ---------------------------------------------------------------------------- sources


def test_attach_bytes_with_a_filename(client: Client, bid: str, cid: str, raw: Raw) -> None:
    report = Report(id="r1", title="Q3").bind(client, collection=cid)
    report.attach(PDF, filename="q3.pdf")
    stored = raw.data(rec_path(bid, cid, "r1"))
    assert stored["title"] == "Q3"
    assert stored["attachment"]["filename"] == "q3.pdf"
    assert stored["attachment"]["mimetype"] == "application/pdf"  # guessed from the name
    assert stored["attachment"]["hash"] == hashlib.sha256(PDF).hexdigest()
    assert stored["attachment"]["size"] == len(PDF)
    assert report.attachment is not None and report.attachment.hash == stored["attachment"]["hash"]
    assert report.last_modified == stored["last_modified"]


def test_attach_bytes_named_after_the_mimetype(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    Report(id="r1", title="Q3").bind(client, collection=cid).attach(
        bytearray(PDF), mimetype="application/pdf"
    )
    attachment = raw.data(rec_path(bid, cid, "r1"))["attachment"]
    assert (attachment["filename"], attachment["mimetype"]) == ("attachment.pdf", "application/pdf")


def test_attach_unnamed_bytes_is_refused_before_sending(client: Client, bid: str, cid: str,
                                                         raw: Raw) -> None:
    report = Report(id="r1", title="Q3").bind(client, collection=cid)
    log = sent(client)
    with pytest.raises(ValueError, match="filename="):
        report.attach(PDF)
    with pytest.raises(ValueError, match="filename="):
        report.attach(io.BytesIO(PDF))
    with pytest.raises(TypeError, match="binary mode"):
        report.attach(io.StringIO("text"), filename="a.txt")  # type: ignore[arg-type]
    assert log == [] and raw.status(rec_path(bid, cid, "r1")) == 404


def test_attach_file_objects(client: Client, bid: str, cid: str, raw: Raw,
                             tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"a,b\n1,2\n")
    report = Report(id="r1", title="csv").bind(client, collection=cid)
    with path.open("rb") as handle:  # a named file: its own name
        report.attach(handle)
    assert raw.data(rec_path(bid, cid, "r1"))["attachment"]["filename"] == "data.csv"
    report.attach(io.BytesIO(b"x,y\n"), filename="other.csv", mimetype="text/x-custom")
    attachment = raw.data(rec_path(bid, cid, "r1"))["attachment"]
    assert (attachment["filename"], attachment["mimetype"]) == ("other.csv", "text/x-custom")


def test_add_attachment_from_bytes_kinto_http_style(client: Client, bid: str, cid: str,
                                                    raw: Raw) -> None:
    meta = client.add_attachment("r1", PDF, filename="q3.pdf", collection=cid,
                                 data={"title": "Q3", "when": datetime.date(2026, 12, 1)})
    stored = raw.data(rec_path(bid, cid, "r1"))
    assert stored["attachment"] == meta and stored["when"] == "2026-12-01"


# ---------------------------------------------------------------------------- skip


def test_same_file_is_not_uploaded_again(client: Client, bid: str, cid: str, raw: Raw) -> None:
    report = Report(id="r1", title="Q3").bind(client, collection=cid)
    report.attach(PDF, filename="q3.pdf")
    before = raw.data(rec_path(bid, cid, "r1"))

    log = sent(client)
    report.attach(PDF, filename="q3.pdf")
    assert log == ["GET records/r1", "GET records/r1"]  # the check, then the refresh: no upload
    assert raw.data(rec_path(bid, cid, "r1")) == before

    report.attach(PDF, filename="q3.pdf", force=True)
    assert log[2:] == ["POST r1/attachment", "GET records/r1"]
    after = raw.data(rec_path(bid, cid, "r1"))
    assert after["attachment"]["hash"] == before["attachment"]["hash"]
    assert after["last_modified"] > before["last_modified"]


def test_same_file_with_changed_fields_sends_only_a_patch(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    report = Report(id="r1", title="Q3").bind(client, collection=cid)
    report.attach(PDF, filename="q3.pdf")
    location = report.attachment.location if report.attachment else None

    log = sent(client)
    report.pages = 12
    report.attach(PDF, filename="q3.pdf")
    assert log == ["GET records/r1", "PATCH records/r1", "GET records/r1"]
    stored = raw.data(rec_path(bid, cid, "r1"))
    assert stored["pages"] == 12 and stored["attachment"]["location"] == location
    assert report.pages == 12 and report.last_modified == stored["last_modified"]


def test_add_attachment_skip_and_permissions(client: Client, bid: str, cid: str,
                                             raw: Raw) -> None:
    first = client.add_attachment("r1", PDF, "q3.pdf", collection=cid)
    log = sent(client)
    again = client.add_attachment("r1", io.BytesIO(PDF), "q3.pdf", collection=cid,
                                  permissions={"read": ["system.Everyone"]})
    assert again == first
    assert log == ["GET records/r1", "PATCH records/r1"]
    assert raw.body(rec_path(bid, cid, "r1"))["permissions"]["read"] == ["system.Everyone"]
    # A different file is uploaded.
    other = client.add_attachment("r1", PDF + b"v2", "q3.pdf", collection=cid)
    assert other["hash"] != first["hash"] and log[-1] == "POST r1/attachment"


def test_async_attach_from_bytes_and_skip(kinto_server: Any, client: Client, bid: str,
                                          cid: str, raw: Raw) -> None:
    async def main() -> list[str]:
        async with AsyncClient(kinto_server.url, auth=client.session.auth,
                               bucket=bid) as aclient:
            report = Report(id="r1", title="Q3").bind(aclient, collection=cid)
            await report.aattach(PDF, filename="q3.pdf")
            assert report.attachment is not None and report.attachment.size == len(PDF)
            log = sent(aclient)
            await report.aattach(PDF, filename="q3.pdf")
            meta = await aclient.add_attachment("r1", PDF, "q3.pdf", collection=cid)
            assert meta == raw.data(rec_path(bid, cid, "r1"))["attachment"]
            return log

    assert asyncio.run(main()) == ["GET records/r1", "GET records/r1", "GET records/r1"]


# ---------------------------------------------------------------------------- refusals


@pytest.fixture(scope="module")
def strict_server() -> Iterator[KintoServer]:
    """A Kinto whose kinto-attachment takes only small ``.txt`` files."""
    settings = {"kinto.attachment.extensions": "txt", "kinto.attachment.max_size_bytes": "100"}
    with KintoServer(history=False, settings=settings) as server:
        yield server


@pytest.fixture
def strict(strict_server: KintoServer) -> Iterator[tuple[Client, Raw, str]]:
    """A client of ``strict_server`` with its own bucket and a collection with a schema."""
    bid = unique_id("b")
    client = Client(strict_server.url, auth=new_credentials(), bucket=bid)
    raw = Raw(strict_server.url, client.session.auth)
    raw.put(f"/buckets/{bid}", {})
    raw.put(f"/buckets/{bid}/collections/c", {"schema": {
        "type": "object", "properties": {"title": {"type": "string"}}}})
    yield client, raw, bid
    raw.close()
    client.close()


@pytest.mark.parametrize(("name", "content", "data", "message"), [
    ("big.txt", b"x" * 101, {"title": "t"}, "exceeds the limit"),
    ("a.pdf", b"x", {"title": "t"}, "extension is not allowed"),
    ("a.txt", b"x", {"title": 42}, "is not of type 'string'"),
], ids=["too-large", "extension", "schema"])
def test_a_refused_upload_creates_no_record(
    strict: tuple[Client, Raw, str], name: str, content: bytes, data: dict[str, Any],
    message: str,
) -> None:
    client, raw, bid = strict
    with pytest.raises(BadRequest, match=message):
        client.add_attachment("r1", content, name, collection="c", data=data)
    assert raw.status(rec_path(bid, "c", "r1")) == 404

    report = Record(id="r2", **data).bind(client, collection="c")
    with pytest.raises(BadRequest, match=message):
        report.attach(content, filename=name)
    assert raw.status(rec_path(bid, "c", "r2")) == 404
    assert report.last_modified is None and report.attachment is None

    async def main() -> None:
        async with AsyncClient(client.server_url, auth=client.session.auth,
                               bucket=bid) as aclient:
            record = Record(id="r3", **data).bind(aclient, collection="c")
            with pytest.raises(BadRequest, match=message):
                await record.aattach(content, filename=name)

    asyncio.run(main())
    assert raw.status(rec_path(bid, "c", "r3")) == 404
    assert raw.all(f"/buckets/{bid}/collections/c/records") == []


def test_server_behaviour_a_refused_upload_loses_the_previous_file(
    strict: tuple[Client, Raw, str],
) -> None:
    """kinto-attachment 8.0 deletes the current file before checking the new one (the
    warning in docs/plugins.md). If this starts failing, the server was fixed: update
    the docs."""
    client, raw, bid = strict
    meta = client.add_attachment("r1", b"good", "a.txt", collection="c")
    assert raw.session.get(meta["location"], timeout=10).status_code == 200
    with pytest.raises(BadRequest):
        client.add_attachment("r1", b"bad", "a.pdf", collection="c")
    assert raw.data(rec_path(bid, "c", "r1"))["attachment"] == meta  # still described...
    assert raw.session.get(meta["location"], timeout=10).status_code == 404  # ...but gone
