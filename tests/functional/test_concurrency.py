"""Optimistic concurrency: ``If-Match`` / ``If-None-Match`` as Kinto enforces them."""

from __future__ import annotations

import pytest

from kinto_orm import Client, PreconditionFailed, Record
from kinto_orm.patch_type import BasicPatch

from .conftest import Raw, rec_path


def test_two_clients_editing_the_same_record(
    client: Client, twin: Client, bid: str, cid: str, raw: Raw
) -> None:
    raw.put(rec_path(bid, cid, "r1"), {"title": "original", "n": 1})
    mine = client.collection(cid).records().get("r1")
    theirs = twin.collection(cid).records().get("r1")

    theirs["title"] = "theirs"
    theirs.save()
    mine["title"] = "mine"
    with pytest.raises(PreconditionFailed) as info:
        mine.save()

    stored = raw.data(rec_path(bid, cid, "r1"))
    assert stored["title"] == "theirs"
    existing = info.value.existing
    assert existing is not None
    assert existing["title"] == "theirs"
    assert existing["last_modified"] == stored["last_modified"] == theirs.last_modified
    assert info.value.status_code == 412 and info.value.errno == 114
    assert mine["title"] == "mine"  # the local edit is not lost


def test_conflict_resolved_by_refresh_then_save(
    client: Client, twin: Client, bid: str, cid: str, raw: Raw
) -> None:
    raw.put(rec_path(bid, cid, "r1"), {"n": 1})
    mine = client.collection(cid).records().get("r1")
    twin.patch_record(id="r1", collection=cid, data={"n": 2})
    with pytest.raises(PreconditionFailed):
        mine.patch({"n": 10})
    mine.refresh()
    mine.patch({"n": mine["n"] + 10})
    assert raw.data(rec_path(bid, cid, "r1"))["n"] == 12


def test_save_existing_id_without_last_modified_is_refused(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    raw.put(rec_path(bid, cid, "r1"), {"title": "server"})
    local = client.collection(cid).record("r1", title="local")
    assert local.last_modified is None
    with pytest.raises(PreconditionFailed) as info:
        local.save()
    assert info.value.status_code == 412
    assert info.value.existing is not None and info.value.existing["title"] == "server"
    assert raw.data(rec_path(bid, cid, "r1"))["title"] == "server"


def test_save_safe_false_overwrites(client: Client, bid: str, cid: str, raw: Raw) -> None:
    raw.put(rec_path(bid, cid, "r1"), {"title": "server", "other": 1})
    local = client.collection(cid).record("r1", title="local")
    local.save(safe=False)
    stored = raw.data(rec_path(bid, cid, "r1"))
    assert stored == {"id": "r1", "title": "local", "last_modified": local.last_modified}


def test_stale_save_safe_false_overwrites(
    client: Client, twin: Client, bid: str, cid: str, raw: Raw
) -> None:
    raw.put(rec_path(bid, cid, "r1"), {"v": 1})
    mine = client.collection(cid).records().get("r1")
    twin.update_record(id="r1", collection=cid, data={"v": 2})
    mine["v"] = 3
    mine.save(safe=False)
    assert raw.data(rec_path(bid, cid, "r1"))["v"] == 3


def test_save_of_a_record_deleted_meanwhile(
    client: Client, twin: Client, bid: str, cid: str, raw: Raw
) -> None:
    raw.put(rec_path(bid, cid, "r1"), {"v": 1})
    mine = client.collection(cid).records().get("r1")
    twin.delete_record(id="r1", collection=cid)
    mine["v"] = 2
    with pytest.raises(PreconditionFailed) as info:
        mine.save()
    assert info.value.existing is None
    assert raw.status(rec_path(bid, cid, "r1")) == 404


def test_stale_patch_and_delete_are_refused_unless_unsafe(
    client: Client, twin: Client, bid: str, cid: str, raw: Raw
) -> None:
    raw.put(rec_path(bid, cid, "r1"), {"v": 1})
    mine = client.collection(cid).records().get("r1")
    twin.patch_record(id="r1", collection=cid, data={"v": 2})
    with pytest.raises(PreconditionFailed):
        mine.patch({"w": 1})
    with pytest.raises(PreconditionFailed):
        mine.delete()
    assert raw.data(rec_path(bid, cid, "r1")) | {"last_modified": 0} == {
        "id": "r1", "v": 2, "last_modified": 0
    }
    mine.patch({"w": 1}, safe=False)
    assert raw.data(rec_path(bid, cid, "r1"))["w"] == 1
    twin.patch_record(id="r1", collection=cid, data={"v": 3})
    mine.delete(safe=False)
    assert raw.status(rec_path(bid, cid, "r1")) == 404


def test_other_identity_with_write_permission_conflicts(
    client: Client, other: Client, bid: str, cid: str, raw: Raw
) -> None:
    other_id = Raw(other.session.server_url, other.session.auth).user_id()
    rec = client.collection(cid).record("r1", v=1)
    rec.permissions.write = [other_id]
    rec.save()
    theirs = other.collection(cid, bucket=bid).records().get("r1")
    theirs["v"] = 2
    theirs.save()
    rec["v"] = 3
    with pytest.raises(PreconditionFailed) as info:
        rec.save()
    assert info.value.existing is not None and info.value.existing["v"] == 2
    assert raw.data(rec_path(bid, cid, "r1"))["v"] == 2


def test_create_conflict_carries_existing(client: Client, bid: str, cid: str, raw: Raw) -> None:
    raw.put(rec_path(bid, cid, "r1"), {"v": "server"})
    with pytest.raises(PreconditionFailed) as info:
        Record(id="r1", v="local").bind(client, collection=cid).create()
    assert info.value.existing is not None and info.value.existing["v"] == "server"


def test_kinto_http_style_if_match(client: Client, bid: str, cid: str, raw: Raw) -> None:
    body = client.create_record(id="r1", collection=cid, data={"v": 1})
    stamp = body["data"]["last_modified"]
    client.patch_record(id="r1", collection=cid, data={"v": 2}, if_match=stamp)
    with pytest.raises(PreconditionFailed) as info:
        client.update_record(id="r1", collection=cid, data={"v": 3}, if_match=stamp)
    assert info.value.existing is not None and info.value.existing["v"] == 2
    client.update_record(id="r1", collection=cid, data={"v": 3}, if_match=stamp, safe=False)
    assert raw.data(rec_path(bid, cid, "r1"))["v"] == 3


def test_plural_delete_with_stale_if_match(client: Client, bid: str, cid: str, raw: Raw) -> None:
    raw.put(rec_path(bid, cid, "r1"), {"v": 1})
    stamp = client.records(collection=cid).timestamp()
    raw.put(rec_path(bid, cid, "r2"), {"v": 2})
    with pytest.raises(PreconditionFailed):
        client.delete_records(collection=cid, if_match=stamp)
    assert len(raw.all(rec_path(bid, cid))) == 2
    current = client.records(collection=cid).timestamp()
    assert len(client.delete_records(collection=cid, if_match=current)) == 2
    assert raw.all(rec_path(bid, cid)) == []


def test_patch_with_original_uses_its_timestamp(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    original = client.create_record(id="r1", collection=cid, data={"v": 1})["data"]
    raw.patch(rec_path(bid, cid, "r1"), {"v": 2})
    with pytest.raises(PreconditionFailed):
        client.patch_record(collection=cid, original=original, changes=BasicPatch({"w": 1}))
    assert "w" not in raw.data(rec_path(bid, cid, "r1"))
    client.patch_record(collection=cid, original=original, changes={"w": 1}, safe=False)
    assert raw.data(rec_path(bid, cid, "r1"))["w"] == 1
