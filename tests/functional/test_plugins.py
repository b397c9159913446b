"""Server plugins end to end: history, kinto-attachment, the permissions endpoint, the
remote-settings review helpers and replication, for ``Client`` and (for a
representative part) ``AsyncClient``.

Everything runs against the real Kinto of the ``kinto_server`` fixture (history and
kinto-attachment enabled, attachments served by its small static file server). What the
library wrote is checked with separate plain-HTTP reads (``raw``).
"""

from __future__ import annotations

import asyncio
import hashlib
import http.server
import io
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from kinto_orm import (
    AsyncClient,
    Attachment,
    Client,
    HistoryEntry,
    KintoException,
    NotFound,
    PreconditionFailed,
    Record,
)
from kinto_orm.models.extra import PermissionEntry
from kinto_orm.replication import areplicate, replicate
from kinto_orm.testing import KintoServer, new_credentials, unique_id

from .conftest import Raw, rec_path, seed

CONTENT = b"Hello attachments!\n" * 50
SHA256 = hashlib.sha256(CONTENT).hexdigest()


def history_path(bid: str) -> str:
    return f"/buckets/{bid}/history"


def arun(coro: Any) -> Any:
    return asyncio.run(coro)


def aclient_for(kinto_server: Any, client: Client, **kwargs: Any) -> AsyncClient:
    """An AsyncClient with ``client``'s identity (create it inside the event loop)."""
    kwargs.setdefault("bucket", client.bucket_name)
    return AsyncClient(kinto_server.url, auth=client.session.auth, **kwargs)


@pytest.fixture
def attachments_enabled(kinto_server: Any) -> None:
    if not getattr(kinto_server, "attachments", False):
        pytest.skip("the test server has no kinto-attachment")


@pytest.fixture
def notes(tmp_path_factory: pytest.TempPathFactory, attachments_enabled: None) -> Path:
    """The file to attach (outside ``tmp_path``, which downloads must leave clean)."""
    path = tmp_path_factory.mktemp("src") / "notes.txt"
    path.write_bytes(CONTENT)
    return path


@pytest.fixture
def attached(client: Client, cid: str, notes: Path) -> dict[str, Any]:
    """Record ``r1`` of ``cid`` with ``notes.txt`` attached; its data as the server has it."""
    client.add_attachment("r1", str(notes), collection=cid, data={"title": "T"})
    data: dict[str, Any] = client.get_record(id="r1", collection=cid)["data"]
    return data


# ============================================================================ history


@pytest.fixture
def history(raw: Raw, bid: str, cid: str) -> list[dict[str, Any]]:
    """Some history in the bucket (more than one page of the server's paginate_by=10):
    12 records created, r00 updated, r01 deleted; returns the raw history."""
    seed(raw, bid, cid, [{"id": f"r{i:02d}", "n": i} for i in range(12)])
    raw.patch(rec_path(bid, cid, "r00"), {"n": 100})
    assert raw.delete(rec_path(bid, cid, "r01")) == 200
    return raw.all(history_path(bid))


def test_get_history_returns_every_entry(
    client: Client, bid: str, history: list[dict[str, Any]]
) -> None:
    assert len(history) > 10  # several pages
    entries = client.get_history()
    assert [e["id"] for e in entries] == [e["id"] for e in history]
    assert entries == history
    # Another client without a default bucket names it.
    assert client.clone(bucket=None).get_history(bucket=bid) == history


def test_get_history_filters(
    client: Client, bid: str, cid: str, raw: Raw, history: list[dict[str, Any]]
) -> None:
    records = client.get_history(resource_name="record")
    assert records == raw.all(history_path(bid), resource_name="record")
    assert len(records) == 14 and {e["resource_name"] for e in records} == {"record"}

    deleted = client.get_history(resource_name="record", action="delete")
    assert [(e["action"], e["record_id"]) for e in deleted] == [("delete", "r01")]

    uri = rec_path(bid, cid, "r00")
    r00 = client.get_history(uri=uri)
    assert [e["action"] for e in r00] == ["update", "create"]
    assert r00[0]["target"]["data"]["n"] == 100

    in_collection = client.get_history(collection_id=cid, resource_name="collection")
    assert [e["uri"] for e in in_collection] == [f"/buckets/{bid}/collections/{cid}"]

    assert len(client.get_history(_limit=3)) == 3  # one page only, as kinto-http
    newest = history[0]["last_modified"]
    assert client.get_history(_since=history[3]["last_modified"]) == history[:3]
    assert client.get_history(_since=newest) == []


def test_purge_history_with_filters_then_all(
    client: Client, bid: str, raw: Raw, history: list[dict[str, Any]]
) -> None:
    record_entries = [e for e in history if e["resource_name"] == "record"]
    purged = client.purge_history(resource_name="record")
    assert sorted(t["id"] for t in purged) == sorted(e["id"] for e in record_entries)
    assert all(t["deleted"] is True for t in purged)
    left = raw.all(history_path(bid))
    assert {e["resource_name"] for e in left} == {"bucket", "collection"}

    client.purge_history()
    assert raw.all(history_path(bid)) == []


def test_typed_bucket_history(
    client: Client, bid: str, cid: str, raw: Raw, history: list[dict[str, Any]]
) -> None:
    user_id = raw.user_id()
    entries = client.bucket(bid).history().all()
    assert all(isinstance(e, HistoryEntry) for e in entries)
    assert [e.id for e in entries] == [e["id"] for e in history]

    (update,) = client.bucket(bid).history(resource_name="record", action="update").all()
    assert update.action == "update"
    assert update.uri == rec_path(bid, cid, "r00")
    assert update.user_id == user_id
    assert update.resource_name == "record"
    assert update.collection_id == cid and update.record_id == "r00"
    assert update.target["data"]["n"] == 100
    assert update.target["permissions"]["write"] == [user_id]
    assert isinstance(update.last_modified, int) and update.date and update.date[:2] == "20"

    deletes = client.bucket(bid).history().filter(action="delete").all()
    assert [(e.resource_name, e.record_id) for e in deletes] == [("record", "r01")]
    (bucket_entry,) = client.bucket(bid).history(resource_name="bucket").all()
    assert bucket_entry.action == "create" and bucket_entry.uri == f"/buckets/{bid}"

    raw.put(f"/buckets/{bid}/groups/g1", {"members": [user_id]})
    (group_entry,) = client.bucket(bid).history(resource_name="group").all()
    assert (group_entry.group_id, group_entry.action) == ("g1", "create")
    assert group_entry.target["data"]["members"] == [user_id]


def test_typed_bucket_history_count(
    client: Client, bid: str, history: list[dict[str, Any]]
) -> None:
    assert client.bucket(bid).history(resource_name="record").count() == 14
    assert client.bucket(bid).history().exists()


def test_history_async(
    kinto_server: Any, client: Client, bid: str, cid: str, history: list[dict[str, Any]]
) -> None:
    async def main() -> tuple[list[Any], list[HistoryEntry], list[Any]]:
        async with aclient_for(kinto_server, client) as aclient:
            plain = await aclient.get_history(resource_name="record", action="delete")
            typed = [e async for e in aclient.bucket(bid).history(resource_name="record")]
            purged = await aclient.purge_history(action="delete")
            return plain, typed, purged

    plain, typed, purged = arun(main())
    assert [e["record_id"] for e in plain] == ["r01"]
    assert [e.id for e in typed] == [e["id"] for e in history if e["resource_name"] == "record"]
    assert [t["id"] for t in purged] == [plain[0]["id"]]


# ============================================================================ attachments


def test_add_attachment_with_data_and_permissions(
    client: Client, bid: str, cid: str, raw: Raw, notes: Path
) -> None:
    meta = client.add_attachment(
        "r1", str(notes), collection=cid, data={"title": "T"},
        permissions={"read": ["system.Everyone"]},
    )
    assert meta["filename"] == "notes.txt"
    assert meta["hash"] == SHA256 and meta["size"] == len(CONTENT)
    assert meta["mimetype"] == "text/plain"

    body = raw.body(rec_path(bid, cid, "r1"))
    assert body["data"]["title"] == "T"
    assert body["data"]["attachment"] == meta
    assert body["permissions"]["read"] == ["system.Everyone"]
    assert requests.get(raw.url + rec_path(bid, cid, "r1"), timeout=10).status_code == 200
    served = requests.get(meta["location"], timeout=10)
    assert served.status_code == 200 and served.content == CONTENT


@pytest.mark.usefixtures("attachments_enabled")
def test_add_attachment_file_object_filename_and_mimetype(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    raw.put(rec_path(bid, cid, "r2"), {"title": "existing"})
    meta = client.add_attachment(
        "r2", io.BytesIO(b"\x00\x01binary"), filename="blob.dat",
        mimetype="application/x-custom", collection=cid,
    )
    stored = raw.data(rec_path(bid, cid, "r2"))
    assert stored["attachment"] == meta
    assert meta["filename"] == "blob.dat" and meta["mimetype"] == "application/x-custom"
    assert meta["size"] == 8 and meta["hash"] == hashlib.sha256(b"\x00\x01binary").hexdigest()
    assert stored["title"] == "existing"  # no data given: the record keeps its fields


def test_add_attachment_client_defaults_and_missing_file(
    client: Client, bid: str, cid: str, raw: Raw, notes: Path
) -> None:
    scoped = client.clone(collection=cid)
    meta = scoped.add_attachment("r3", notes)  # a Path works too
    assert raw.data(rec_path(bid, cid, "r3"))["attachment"]["hash"] == meta["hash"] == SHA256
    with pytest.raises(FileNotFoundError):
        scoped.add_attachment("r4", notes.with_name("missing.txt"))
    assert raw.status(rec_path(bid, cid, "r4")) == 404


def test_remove_attachment(
    client: Client, bid: str, cid: str, raw: Raw, attached: dict[str, Any]
) -> None:
    location = attached["attachment"]["location"]
    assert requests.get(location, timeout=10).status_code == 200
    client.remove_attachment("r1", collection=cid)
    stored = raw.data(rec_path(bid, cid, "r1"))
    assert stored["attachment"] is None and stored["title"] == "T"
    assert requests.get(location, timeout=10).status_code == 404  # the file is gone


def test_download_attachment_to_file_folder_and_default_name(
    client: Client, attached: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.bin"
    assert client.download_attachment(attached, str(target)) == str(target)
    assert target.read_bytes() == CONTENT

    folder = tmp_path / "folder"
    folder.mkdir()
    path = client.download_attachment(attached, folder)
    assert Path(path) == folder / "notes.txt" and Path(path).read_bytes() == CONTENT

    new_folder = str(tmp_path / "new" / "deeper") + os.sep  # created on the way
    path = client.download_attachment(attached, new_folder)
    assert Path(path) == tmp_path / "new" / "deeper" / "notes.txt"
    assert Path(path).read_bytes() == CONTENT

    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    path = client.download_attachment(attached)
    assert Path(path).resolve() == cwd / "notes.txt"
    assert (cwd / "notes.txt").read_bytes() == CONTENT
    assert sorted(os.listdir(cwd)) == ["notes.txt"]  # no partial file left over


def test_download_attachment_accepts_the_envelope(
    client: Client, cid: str, attached: dict[str, Any], tmp_path: Path
) -> None:
    envelope = client.get_record(id="r1", collection=cid)
    path = client.download_attachment(envelope, tmp_path / "x.txt")
    assert Path(path).read_bytes() == CONTENT


def test_download_save_metadata(
    client: Client, attached: dict[str, Any], tmp_path: Path
) -> None:
    path = client.download_attachment(
        attached, tmp_path / "n.txt", save_metadata=True, chunk_size=7
    )
    assert Path(path).read_bytes() == CONTENT
    meta = json.loads(Path(path + ".meta.json").read_text())
    assert meta == attached
    assert meta["attachment"]["hash"] == SHA256


def test_up_to_date_file_is_not_downloaded_again(
    client: Client, attached: dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "n.txt"
    client.download_attachment(attached, target)
    inode = target.stat().st_ino

    # Nothing listens at this location: a download attempt would fail.
    unreachable = json.loads(json.dumps(attached))
    unreachable["attachment"]["location"] = "http://127.0.0.1:9/nothing.txt"
    assert client.download_attachment(unreachable, target) == str(target)
    assert target.stat().st_ino == inode

    with pytest.raises(KintoException):
        client.download_attachment(unreachable, target, overwrite=True)
    assert target.read_bytes() == CONTENT  # the good file was not damaged
    assert sorted(os.listdir(tmp_path)) == ["n.txt"]

    client.download_attachment(attached, target, overwrite=True)
    assert target.stat().st_ino != inode and target.read_bytes() == CONTENT


def test_stale_local_file_is_replaced(
    client: Client, attached: dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "n.txt"
    target.write_bytes(b"old content of another size")
    client.download_attachment(attached, target)
    assert target.read_bytes() == CONTENT
    same_size = bytes(len(CONTENT))
    target.write_bytes(same_size)  # same size, other hash
    client.download_attachment(attached, target)
    assert target.read_bytes() == CONTENT


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [("hash", "0" * 64, "sha256"), ("size", len(CONTENT) + 1, "bytes")],
)
def test_tampered_metadata_is_a_clear_error_and_leaves_nothing(
    client: Client, attached: dict[str, Any], tmp_path: Path, field: str, value: Any, words: str
) -> None:
    tampered = json.loads(json.dumps(attached))
    tampered["attachment"][field] = value
    with pytest.raises(KintoException) as info:
        client.download_attachment(tampered, tmp_path / "n.txt", save_metadata=True)
    message = str(info.value)
    assert words in message and attached["attachment"]["location"] in message
    assert os.listdir(tmp_path) == []

    existing = tmp_path / "keep.txt"
    existing.write_bytes(b"previous")
    with pytest.raises(KintoException):
        client.download_attachment(tampered, existing)
    assert existing.read_bytes() == b"previous"  # not replaced by the bad download
    assert os.listdir(tmp_path) == ["keep.txt"]


@pytest.mark.usefixtures("attachments_enabled")
def test_unicode_filename_and_relative_location(
    client: Client, cid: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    source = tmp_path_factory.mktemp("src") / "my notes é.txt"
    source.write_bytes("héllo".encode())
    client.add_attachment("u1", source, collection=cid)
    record = client.get_record(id="u1", collection=cid)["data"]
    assert record["attachment"]["filename"] == "my notes é.txt"
    assert Path(client.download_attachment(record, tmp_path)).read_bytes() == "héllo".encode()
    # A location relative to the server's attachments base_url (as older servers send).
    relative = json.loads(json.dumps(record))
    relative["attachment"]["location"] = record["attachment"]["location"].rsplit("/", 1)[1]
    path = client.download_attachment(relative, tmp_path / "rel.txt")
    assert Path(path).read_bytes() == "héllo".encode()


def test_download_keeps_a_hostile_filename_inside_the_folder(
    client: Client, attached: dict[str, Any], tmp_path: Path
) -> None:
    hostile = json.loads(json.dumps(attached))
    hostile["attachment"]["filename"] = "../../escaped.txt"
    folder = tmp_path / "inside"
    folder.mkdir()
    path = client.download_attachment(hostile, folder)
    assert Path(path) == folder / "escaped.txt" and Path(path).read_bytes() == CONTENT
    assert sorted(os.listdir(tmp_path)) == ["inside"]


class _Capture(http.server.BaseHTTPRequestHandler):
    """A CDN stand-in serving CONTENT and noting the Authorization headers it gets."""

    seen: list[str | None] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("Authorization"))
        self.send_response(200)
        self.send_header("Content-Length", str(len(CONTENT)))
        self.end_headers()
        self.wfile.write(CONTENT)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def cdn() -> Iterator[str]:
    _Capture.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_credentials_are_not_sent_to_another_origin(
    kinto_server: Any, client: Client, attached: dict[str, Any], tmp_path: Path, cdn: str
) -> None:
    elsewhere = json.loads(json.dumps(attached))
    elsewhere["attachment"]["location"] = f"{cdn}/files/notes.txt"
    path = client.download_attachment(elsewhere, tmp_path / "sync.txt")
    assert Path(path).read_bytes() == CONTENT

    async def main() -> str:
        async with aclient_for(kinto_server, client) as aclient:
            result: str = await aclient.download_attachment(elsewhere, tmp_path / "async.txt")
            return result

    assert Path(arun(main())).read_bytes() == CONTENT
    assert _Capture.seen == [None, None]


def test_download_without_attachment(client: Client, bid: str, cid: str, raw: Raw) -> None:
    raw.put(rec_path(bid, cid, "plain"), {"title": "x"})
    record = client.get_record(id="plain", collection=cid)["data"]
    with pytest.raises(ValueError, match="no attachment"):
        client.download_attachment(record)


class Doc(Record):
    title: str


def test_record_attach_download_detach(
    client: Client, bid: str, cid: str, raw: Raw, notes: Path, tmp_path: Path
) -> None:
    doc = Doc(id="d1", title="report").bind(client, collection=cid)
    assert doc.attachment is None
    assert doc.attach(notes) is doc

    assert isinstance(doc.attachment, Attachment)
    assert doc.attachment.filename == "notes.txt" and doc.attachment.hash == SHA256
    assert doc.attachment.size == len(CONTENT) and doc.attachment.mimetype == "text/plain"
    stored = raw.data(rec_path(bid, cid, "d1"))
    assert stored["title"] == "report"
    assert stored["attachment"]["hash"] == SHA256
    assert doc.last_modified == stored["last_modified"]

    path = doc.download(tmp_path / "dl")
    assert Path(path).read_bytes() == CONTENT and Path(path).name == "dl"
    folder = tmp_path / "folder"
    folder.mkdir()
    assert Path(doc.download(folder)) == folder / "notes.txt"

    first_location = doc.attachment.location
    doc.attach(io.BytesIO(b"second"), mimetype="text/plain")  # replaces the first file
    assert doc.attachment is not None and doc.attachment.size == len(b"second")
    assert raw.data(rec_path(bid, cid, "d1"))["attachment"]["size"] == len(b"second")
    assert requests.get(first_location, timeout=10).status_code == 404

    doc.title = "report v2"
    doc.save()
    assert doc.detach() is doc
    assert doc.attachment is None
    stored = raw.data(rec_path(bid, cid, "d1"))
    assert stored["attachment"] is None and stored["title"] == "report v2"


def test_record_attach_file_objects_and_new_record(
    client: Client, bid: str, cid: str, raw: Raw, notes: Path
) -> None:
    with notes.open("rb") as handle:
        doc = Doc(id="d2", title="from handle").bind(client, collection=cid).attach(handle)
    assert doc.attachment is not None and doc.attachment.filename == "notes.txt"
    assert raw.data(rec_path(bid, cid, "d2"))["attachment"]["hash"] == SHA256

    fresh = Doc(title="no id yet").bind(client, collection=cid)
    fresh.attach(io.BytesIO(b"in memory"), mimetype="text/csv")
    assert fresh.id is not None
    stored = raw.data(rec_path(bid, cid, fresh.id))
    assert stored["title"] == "no id yet"
    assert stored["attachment"]["mimetype"] == "text/csv"
    assert stored["attachment"]["size"] == len(b"in memory")

    listed = client.collection(cid).records(Doc).get(fresh.id)
    assert listed.attachment is not None and listed.attachment.mimetype == "text/csv"


def test_attachments_async(
    kinto_server: Any, client: Client, bid: str, cid: str, raw: Raw, notes: Path,
    tmp_path: Path,
) -> None:
    async def main() -> tuple[dict[str, Any], str, Doc, str]:
        async with aclient_for(kinto_server, client, collection=cid) as aclient:
            meta = await aclient.add_attachment("a1", str(notes), data={"title": "async"})
            record = (await aclient.get_record(id="a1"))["data"]
            path = await aclient.download_attachment(record, tmp_path / "a1.txt")
            tampered = {**record, "attachment": {**record["attachment"], "hash": "0" * 64}}
            with pytest.raises(KintoException, match="sha256"):
                await aclient.download_attachment(tampered, tmp_path / "bad.txt")
            await aclient.remove_attachment("a1")

            doc = Doc(id="a2", title="typed").bind(aclient)
            await doc.aattach(notes)
            downloaded = await doc.adownload(tmp_path / "a2.txt")
            snapshot = doc.model_copy()
            await doc.adetach()
            return meta, path, snapshot, downloaded

    meta, path, snapshot, downloaded = arun(main())
    assert meta["hash"] == SHA256
    assert Path(path).read_bytes() == CONTENT
    assert not (tmp_path / "bad.txt").exists() and not (tmp_path / "bad.txt.part").exists()
    assert raw.data(rec_path(bid, cid, "a1"))["attachment"] is None
    assert snapshot.attachment is not None and snapshot.attachment.hash == SHA256
    assert Path(downloaded).read_bytes() == CONTENT
    stored = raw.data(rec_path(bid, cid, "a2"))
    assert stored["attachment"] is None and stored["title"] == "typed"


def test_sync_and_async_download_methods_refuse_the_other_client(
    kinto_server: Any, client: Client, cid: str, attached: dict[str, Any]
) -> None:
    doc = client.collection(cid).records(Doc).get("r1")
    with pytest.raises(TypeError, match="download"):
        arun(doc.adownload())

    async def main() -> None:
        async with aclient_for(kinto_server, client, collection=cid) as aclient:
            adoc = Doc(id="r1", title="T").bind(aclient)
            with pytest.raises(TypeError, match="adownload"):
                adoc.download()

    arun(main())


# ============================================================================ permissions


def test_get_permissions_with_exclusions(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    seed(raw, bid, cid, [{"id": "r1"}, {"id": "r2"}])
    raw_entries = [e for e in raw.all("/permissions") if e.get("bucket_id") == bid]
    entries = [e for e in client.get_permissions() if e.get("bucket_id") == bid]
    assert sorted(entries, key=lambda e: e["uri"]) == sorted(raw_entries, key=lambda e: e["uri"])
    assert {e["resource_name"] for e in entries} == {"bucket", "collection", "record"}
    everything = client.get_permissions()
    all_ids = [e["id"] for e in everything if "id" in e]
    assert all_ids == sorted(all_ids)  # sorted by id, as kinto-http asks
    assert {"bucket:create", "account:create"} <= set(
        next(e for e in everything if e["uri"] == "/")["permissions"]
    )

    no_records = client.get_permissions(exclude_resource_names=["record"])
    mine = [e for e in no_records if e.get("bucket_id") == bid]
    assert {e["resource_name"] for e in mine} == {"bucket", "collection"}
    only_bucket = client.get_permissions(exclude_resource_names=["record", "collection"])
    assert [e["uri"] for e in only_bucket if e.get("bucket_id") == bid] == [f"/buckets/{bid}"]

    # kinto-http style ``params=`` keyword.
    buckets = client.get_permissions(params={"resource_name": "bucket"})
    assert {e["resource_name"] for e in buckets} == {"bucket"}


def test_typed_permissions(client: Client, bid: str, cid: str, raw: Raw) -> None:
    seed(raw, bid, cid, [{"id": "r1"}])
    (bucket,) = [e for e in client.permissions(resource_name="bucket") if e.bucket_id == bid]
    assert isinstance(bucket, PermissionEntry)
    assert bucket.uri == f"/buckets/{bid}" and bucket.id == bid
    assert {"read", "write", "collection:create", "group:create"} <= set(bucket.permissions)

    records = client.permissions(resource_name="record", collection_id=cid).all()
    assert [(e.uri, e.record_id, e.collection_id) for e in records] == [
        (rec_path(bid, cid, "r1"), "r1", cid)
    ]
    assert {"read", "write"} <= set(records[0].permissions)


def test_permissions_of_another_user(
    client: Client, other: Client, bid: str, cid: str, raw: Raw
) -> None:
    other_id = other.server_info()["user"]["id"]
    raw.put(rec_path(bid, cid, "shared"), {}, permissions={"read": [other_id]})
    seed(raw, bid, cid, [{"id": "private"}])
    seen = [e for e in other.get_permissions() if e.get("bucket_id") == bid]
    assert [(e["uri"], e["permissions"]) for e in seen] == [
        (rec_path(bid, cid, "shared"), ["read"])
    ]
    typed = [e for e in other.permissions(resource_name="record") if e.bucket_id == bid]
    assert [e.record_id for e in typed] == ["shared"]


def test_permissions_async(kinto_server: Any, client: Client, bid: str, cid: str) -> None:
    async def main() -> tuple[list[Any], list[PermissionEntry]]:
        async with aclient_for(kinto_server, client) as aclient:
            plain = await aclient.get_permissions(exclude_resource_names=["bucket"])
            typed = await aclient.permissions(resource_name="collection").aall()
            return plain, typed

    plain, typed = arun(main())
    mine = [e for e in plain if e.get("bucket_id") == bid]
    assert [(e["resource_name"], e["id"]) for e in mine] == [("collection", cid)]
    assert [e.collection_id for e in typed if e.bucket_id == bid] == [cid]


# ============================================================================ remote-settings


def test_get_changeset_without_the_plugin_is_not_found(client: Client, cid: str) -> None:
    with pytest.raises(NotFound) as info:
        client.get_changeset(collection=cid)
    assert info.value.status_code == 404
    assert f"/collections/{cid}/changeset" in str(info.value) and "404" in str(info.value)
    with pytest.raises(NotFound):
        client.clone(collection=cid).get_changeset(bust_cache=True)


def test_review_workflow_keeps_other_fields(signer: Any) -> None:
    _, client, bid, cid, raw = signer  # a server with the review workflow
    path = f"/buckets/{bid}/collections/{cid}"
    raw.patch(path, {"title": "kept"})
    unscoped = client.clone(bucket=None)

    body = unscoped.request_review("please review", id=cid, bucket=bid, data={"extra": 1})
    assert body["data"]["status"] == "to-review" and "permissions" in body
    stored = raw.data(path)
    assert (stored["status"], stored["last_editor_comment"]) == ("to-review", "please review")
    assert stored["title"] == "kept" and stored["extra"] == 1

    client.decline_changes("not yet", id=cid)
    stored = raw.data(path)
    assert (stored["status"], stored["last_reviewer_comment"]) == ("work-in-progress", "not yet")
    assert stored["last_editor_comment"] == "please review"  # a PATCH: the rest stays

    client.approve_changes(id=cid)
    stored = raw.data(path)
    assert stored["status"] == "to-sign" and stored["last_reviewer_comment"] == "not yet"

    client.rollback_changes("undo it", id=cid)
    stored = raw.data(path)
    assert (stored["status"], stored["last_editor_comment"]) == ("to-rollback", "undo it")
    assert stored["title"] == "kept"


def test_review_helpers_pass_if_match(signer: Any) -> None:
    _, client, bid, cid, raw = signer
    path = f"/buckets/{bid}/collections/{cid}"
    stale = raw.data(path)["last_modified"]
    raw.patch(path, {"title": "moved on"})
    with pytest.raises(PreconditionFailed):
        client.approve_changes(id=cid, if_match=stale)
    assert "status" not in raw.data(path)
    current = raw.data(path)["last_modified"]
    client.approve_changes(id=cid, if_match=current)
    assert raw.data(path)["status"] == "to-sign"


def test_review_helpers_async(signer: Any) -> None:
    kinto_server, client, bid, cid, raw = signer
    async def main() -> None:
        async with aclient_for(kinto_server, client, collection=cid) as aclient:
            await aclient.request_review("async please")
            await aclient.decline_changes("async no")
            with pytest.raises(NotFound):
                await aclient.get_changeset()

    arun(main())
    stored = raw.data(f"/buckets/{bid}/collections/{cid}")
    assert stored["status"] == "work-in-progress"
    assert stored["last_editor_comment"] == "async please"
    assert stored["last_reviewer_comment"] == "async no"


# ============================================================================ replication


def strip(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Records by id, without the server-managed timestamp."""
    return {r["id"]: {k: v for k, v in r.items() if k != "last_modified"} for r in records}


@pytest.fixture
def origin_data(raw: Raw, bid: str, cid: str) -> list[dict[str, Any]]:
    """``cid`` with metadata, a public read permission and 25 records (3 pages)."""
    raw.put(
        f"/buckets/{bid}/collections/{cid}", {"title": "Origin", "cache_expires": 60},
        permissions={"read": ["system.Everyone"]},
    )
    seed(raw, bid, cid, [{"id": f"r{i:02d}", "n": i, "tags": [str(i)]} for i in range(25)])
    return raw.all(rec_path(bid, cid))


@pytest.fixture
def dest_bid(raw: Raw) -> Iterator[str]:
    bucket = unique_id("dest")
    yield bucket
    raw.delete(f"/buckets/{bucket}")


def check_replica(raw: Raw, bucket: str, cid: str, records: list[dict[str, Any]]) -> None:
    assert raw.status(f"/buckets/{bucket}") == 200
    body = raw.body(f"/buckets/{bucket}/collections/{cid}")
    assert body["data"]["title"] == "Origin" and body["data"]["cache_expires"] == 60
    assert "system.Everyone" in body["permissions"]["read"]
    assert strip(raw.all(rec_path(bucket, cid))) == strip(records)


def test_replicate_between_buckets(
    client: Client, cid: str, raw: Raw, origin_data: list[dict[str, Any]], dest_bid: str
) -> None:
    origin = client.clone(collection=cid)
    destination = client.clone(bucket=dest_bid, collection=cid)
    assert replicate(origin, destination) == 25
    check_replica(raw, dest_bid, cid, origin_data)

    # A second run (bucket and collection exist now) carries the changes over.
    raw.patch(rec_path(origin.bucket_name or "", cid, "r03"), {"n": 300})
    raw.put(rec_path(origin.bucket_name or "", cid, "new"), {"n": -1})
    assert replicate(origin, destination) == 26
    assert raw.data(rec_path(dest_bid, cid, "r03"))["n"] == 300
    assert raw.data(rec_path(dest_bid, cid, "new"))["n"] == -1


def test_replicate_deletes_what_the_origin_deleted(
    client: Client, bid: str, cid: str, raw: Raw, origin_data: list[dict[str, Any]],
    dest_bid: str,
) -> None:
    origin = client.clone(collection=cid)
    destination = client.clone(bucket=dest_bid, collection=cid)
    replicate(origin, destination)
    assert raw.delete(rec_path(bid, cid, "r00")) == 200
    replicate(origin, destination)
    assert raw.status(rec_path(dest_bid, cid, "r00")) == 404


def test_areplicate_between_buckets(
    kinto_server: Any, client: Client, cid: str, raw: Raw,
    origin_data: list[dict[str, Any]], dest_bid: str,
) -> None:
    async def main() -> int:
        async with aclient_for(kinto_server, client, collection=cid) as origin, \
                aclient_for(kinto_server, client, bucket=dest_bid, collection=cid) as dest:
            return await areplicate(origin, dest)

    assert arun(main()) == 25
    check_replica(raw, dest_bid, cid, origin_data)


def test_replicate_between_two_servers(
    client: Client, cid: str, origin_data: list[dict[str, Any]]
) -> None:
    with KintoServer(history=False, attachments=False) as second:
        auth = new_credentials()
        bucket = unique_id("copy")
        with Client(second.url, auth=auth, bucket=bucket, collection=cid) as destination:
            assert replicate(client.clone(collection=cid), destination) == 25
        check_replica(Raw(second.url, auth), bucket, cid, origin_data)
