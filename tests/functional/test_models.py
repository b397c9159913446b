"""Bucket, Group, Collection and Record models against the real server: every write is
checked by re-reading with plain HTTP (``raw``)."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

import pytest

from kinto_orm import (
    Bucket,
    Client,
    Collection,
    Group,
    NotFound,
    Permissions,
    PreconditionFailed,
    Query,
    Record,
    ServerInfo,
)
from kinto_orm.patch_type import BasicPatch, JSONPatch, MergePatch
from kinto_orm.testing import unique_id

from .conftest import Raw, ids, rec_path

# ---------------------------------------------------------------------------- create


def test_record_create_with_id_puts_it(client: Client, bid: str, cid: str, raw: Raw) -> None:
    rec = Record(id="r1", title="a").bind(client, collection=cid)
    assert rec.create() is rec
    stored = raw.data(rec_path(bid, cid, "r1"))
    assert stored["title"] == "a"
    assert rec.last_modified == stored["last_modified"]
    assert raw.user_id() in rec.permissions.write


def test_record_create_without_id_lets_server_choose(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    rec = Record(title="posted").bind(client, collection=cid)
    rec.create()
    assert rec.id is not None
    uuid.UUID(rec.id)  # Kinto generates UUID4 record ids
    assert raw.data(rec_path(bid, cid, rec.id))["title"] == "posted"


def test_collection_create_without_id_keeps_the_generated_one(
    client: Client, bid: str, raw: Raw
) -> None:
    coll = Collection(cache_expires=5).bind(client)
    generated = coll.id
    assert len(generated) == 36  # a UUID4 made at construction
    coll.create()
    assert coll.id == generated
    assert raw.data(f"/buckets/{bid}/collections/{coll.id}")["cache_expires"] == 5


def test_create_with_server_id_takes_the_servers_choice(
    client: Client, bid: str, raw: Raw
) -> None:
    coll = Collection(cache_expires=5).bind(client)
    generated = coll.id
    coll.create(server_id=True)
    assert coll.id != generated and len(coll.id) == 8  # Kinto's collection id generator
    assert raw.data(f"/buckets/{bid}/collections/{coll.id}")["cache_expires"] == 5
    assert raw.status(f"/buckets/{bid}/collections/{generated}") == 404


def test_create_existing_raises_and_if_not_exists_loads_it(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    raw.put(rec_path(bid, cid, "r1"), {"title": "server"})
    with pytest.raises(PreconditionFailed):
        client.collection(cid).record("r1", title="local").create()
    rec = client.collection(cid).record("r1", title="local")
    assert rec.create(if_not_exists=True) is rec
    assert rec.title == "server"  # type: ignore[attr-defined]
    assert rec.last_modified == raw.data(rec_path(bid, cid, "r1"))["last_modified"]
    assert raw.data(rec_path(bid, cid, "r1"))["title"] == "server"


def test_bucket_and_group_create(client: Client, other: Client, raw: Raw) -> None:
    name = unique_id("b")
    bucket = other.bucket(name)
    try:
        bucket.create()
        group = bucket.group("admins")
        group.members = ["account:alice"]
        group.create()
        other_raw = Raw(other.session.server_url, other.session.auth)
        assert other_raw.data(f"/buckets/{name}/groups/admins")["members"] == ["account:alice"]
        assert isinstance(bucket.create(if_not_exists=True), Bucket)
        other_raw.close()
    finally:
        other.delete_bucket(id=name, if_exists=True, safe=False)


# ---------------------------------------------------------------------------- save


def test_save_creates_then_replaces(client: Client, bid: str, cid: str, raw: Raw) -> None:
    rec = client.collection(cid).record("r1", a=1, b=2)
    rec.save()
    first = rec.last_modified
    assert raw.data(rec_path(bid, cid, "r1"))["b"] == 2
    del rec["b"]
    rec["a"] = 10
    rec.save()
    stored = raw.data(rec_path(bid, cid, "r1"))
    assert stored["a"] == 10 and "b" not in stored  # PUT replaces the whole object
    assert rec.last_modified == stored["last_modified"] != first


def test_save_uses_if_match_with_known_last_modified(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    rec = client.collection(cid).record("r1", v=1).save()
    raw.patch(rec_path(bid, cid, "r1"), {"v": 2})
    rec["v"] = 3
    with pytest.raises(PreconditionFailed):
        rec.save()
    assert raw.data(rec_path(bid, cid, "r1"))["v"] == 2


def test_save_holds_server_answer(client: Client, bid: str, cid: str, raw: Raw) -> None:
    raw.put(f"/buckets/{bid}/collections/{cid}", {"schema": {"type": "object"}})
    rec = client.collection(cid).record("r1", v=1).save()
    stored = raw.data(rec_path(bid, cid, "r1"))
    # Kinto adds ``schema`` (the collection timestamp) to validated records.
    assert rec["schema"] == stored["schema"]
    assert rec.last_modified == stored["last_modified"]


def test_save_with_client_argument_uses_its_defaults(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    rec = Record(id="r1", v=1)
    rec.save(client=client.clone(collection=cid))
    assert raw.data(rec_path(bid, cid, "r1"))["v"] == 1
    assert rec.client is not None


def test_create_with_client_argument_uses_its_bucket(
    client: Client, bid: str, raw: Raw
) -> None:
    coll = Collection(id="viaclient")
    try:
        coll.create(client=client)
        assert raw.status(f"/buckets/{bid}/collections/viaclient") == 200
        assert coll.path == f"/buckets/{bid}/collections/viaclient"
    finally:
        client.delete_collection(id="viaclient", bucket="default", if_exists=True)


def test_typed_record_save_with_client_argument(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    class Note(Record, bucket=bid, collection=cid):
        title: str

    note = Note(id="n1", title="x")
    note.save(client=client)
    assert raw.data(rec_path(bid, cid, "n1"))["title"] == "x"
    assert note.client is client


def test_json_values_sent_as_json(client: Client, bid: str, cid: str, raw: Raw) -> None:
    token = uuid.uuid4()
    rec = client.collection(cid).record(
        "r1",
        day=datetime.date(2024, 2, 29),
        at=datetime.datetime(2024, 2, 29, 12, 30, tzinfo=datetime.timezone.utc),
        token=token,
    )
    rec.save()
    stored = raw.data(rec_path(bid, cid, "r1"))
    assert stored["day"] == "2024-02-29"
    assert stored["at"].startswith("2024-02-29T12:30:00")
    assert stored["token"] == str(token)


def test_decimal_sent_as_json_number_like_kinto_http_path(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    client.create_record(id="viahttp", collection=cid, data={"price": decimal.Decimal("1.5")})
    assert raw.data(rec_path(bid, cid, "viahttp"))["price"] == 1.5
    client.collection(cid).record("viamodel", price=decimal.Decimal("1.5")).save()
    assert raw.data(rec_path(bid, cid, "viamodel"))["price"] == 1.5


# ---------------------------------------------------------------------------- patch


def test_patch_without_argument_sends_only_changed_fields(
    client: Client, twin: Client, bid: str, cid: str, raw: Raw
) -> None:
    raw.put(rec_path(bid, cid, "r1"), {"a": 1, "b": 1})
    mine = client.collection(cid).records().get("r1")
    # Someone else changes ``b`` meanwhile.
    twin.patch_record(id="r1", collection=cid, data={"b": 2})
    mine["a"] = 5
    mine.patch(safe=False)
    stored = raw.data(rec_path(bid, cid, "r1"))
    assert stored["a"] == 5
    assert stored["b"] == 2  # not overwritten with the stale local value
    assert mine["b"] == 2  # the instance holds the server's answer


def test_patch_without_argument_is_safe_by_default(
    client: Client, twin: Client, bid: str, cid: str, raw: Raw
) -> None:
    raw.put(rec_path(bid, cid, "r1"), {"a": 1, "b": 1})
    mine = client.collection(cid).records().get("r1")
    twin.patch_record(id="r1", collection=cid, data={"b": 2})
    mine["a"] = 5
    with pytest.raises(PreconditionFailed):
        mine.patch()
    assert raw.data(rec_path(bid, cid, "r1"))["a"] == 1


def test_patch_without_changes_sends_nothing(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    rec = client.collection(cid).record("r1", a=1).save()
    before = rec.last_modified
    assert rec.patch() is rec
    assert raw.data(rec_path(bid, cid, "r1"))["last_modified"] == before


def test_patch_removed_extra_field(client: Client, bid: str, cid: str, raw: Raw) -> None:
    rec = client.collection(cid).record("r1", a=1, gone=True).save()
    del rec["gone"]
    rec["a"] = 2
    rec.patch()
    stored = raw.data(rec_path(bid, cid, "r1"))
    assert stored["a"] == 2 and "gone" not in stored


def test_patch_with_dict_and_basic_patch(client: Client, bid: str, cid: str, raw: Raw) -> None:
    rec = client.collection(cid).record("r1", a=1, n={"x": 1, "y": 1}).save()
    rec.patch({"b": 2})
    assert rec["b"] == 2
    rec.patch(BasicPatch(data={"n": {"x": 5}}, permissions={"read": ["system.Authenticated"]}))
    stored = raw.body(rec_path(bid, cid, "r1"))
    assert stored["data"]["a"] == 1 and stored["data"]["b"] == 2
    assert stored["data"]["n"] == {"x": 5}  # shallow merge replaces the nested object
    assert stored["permissions"]["read"] == ["system.Authenticated"]
    assert rec.permissions.read == ["system.Authenticated"]


def test_patch_with_merge_patch(client: Client, bid: str, cid: str, raw: Raw) -> None:
    rec = client.collection(cid).record("r1", a=1, n={"x": 1, "y": 1}).save()
    rec.patch(MergePatch({"a": None, "n": {"x": None, "z": 3}}))
    stored = raw.data(rec_path(bid, cid, "r1"))
    assert "a" not in stored
    assert stored["n"] == {"y": 1, "z": 3}
    assert "a" not in rec and rec["n"] == {"y": 1, "z": 3}


def test_patch_with_json_patch(client: Client, other: Client, bid: str, cid: str, raw: Raw) -> None:
    other_id = Raw(other.session.server_url, other.session.auth).user_id()
    rec = client.collection(cid).record("r1", tags=["a"], old=1).save()
    rec.patch(
        JSONPatch(
            [
                {"op": "add", "path": "/data/tags/-", "value": "b"},
                {"op": "remove", "path": "/data/old"},
                {"op": "add", "path": f"/permissions/read/{other_id}"},
            ]
        )
    )
    stored = raw.body(rec_path(bid, cid, "r1"))
    assert stored["data"]["tags"] == ["a", "b"] and "old" not in stored["data"]
    assert stored["permissions"]["read"] == [other_id]
    assert other.get_record(id="r1", bucket=bid, collection=cid)["data"]["tags"] == ["a", "b"]


# ---------------------------------------------------------------------------- delete, refresh


def test_delete_and_if_exists(client: Client, bid: str, cid: str, raw: Raw) -> None:
    rec = client.collection(cid).record("r1", a=1).save()
    rec.delete()
    assert raw.status(rec_path(bid, cid, "r1")) == 404
    with pytest.raises(NotFound):
        client.collection(cid).record("r1").delete()
    client.collection(cid).record("r1").delete(if_exists=True)


def test_delete_bucket_model_if_exists(client: Client) -> None:
    client.bucket(unique_id("b")).delete(if_exists=True)  # 403 for a missing bucket


def test_delete_is_safe_with_known_last_modified(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    rec = client.collection(cid).record("r1", a=1).save()
    raw.patch(rec_path(bid, cid, "r1"), {"a": 2})
    with pytest.raises(PreconditionFailed):
        rec.delete()
    assert raw.status(rec_path(bid, cid, "r1")) == 200
    rec.delete(safe=False)
    assert raw.status(rec_path(bid, cid, "r1")) == 404


def test_refresh_reloads_data_permissions_and_timestamp(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    raw.put(rec_path(bid, cid, "r1"), {"a": 1, "b": 1})
    rec = client.collection(cid).record("r1")
    assert rec.refresh() is rec
    assert rec["a"] == 1 and raw.user_id() in rec.permissions.write
    raw.put(
        rec_path(bid, cid, "r1"), {"a": 2}, permissions={"read": ["system.Everyone"]}
    )
    rec.refresh()
    assert rec["a"] == 2 and "b" not in rec
    assert rec.permissions.read == ["system.Everyone"]
    assert rec.last_modified == raw.data(rec_path(bid, cid, "r1"))["last_modified"]


def test_refresh_missing_raises_not_found(client: Client, cid: str) -> None:
    with pytest.raises(NotFound):
        client.collection(cid).record("nope").refresh()


# ---------------------------------------------------------------------------- permissions


def test_permissions_set_save_and_read_back(
    client: Client, other: Client, bid: str, cid: str, raw: Raw
) -> None:
    rec = client.collection(cid).record("r1", a=1)
    rec.permissions.read = ["system.Everyone"]
    rec.save()
    body = raw.body(rec_path(bid, cid, "r1"))
    assert body["permissions"]["read"] == ["system.Everyone"]
    assert "permissions" not in body["data"]  # never sent inside data
    assert other.get_record(id="r1", bucket=bid, collection=cid)["data"]["a"] == 1
    fresh = client.collection(cid).record("r1").refresh()
    assert fresh.permissions.read == ["system.Everyone"]
    assert "permissions" not in (fresh.model_extra or {})


def test_permissions_only_change_is_patched(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    rec = client.collection(cid).record("r1", a=1).save()
    rec.permissions.read = ["system.Authenticated"]
    rec.patch()
    body = raw.body(rec_path(bid, cid, "r1"))
    assert body["permissions"]["read"] == ["system.Authenticated"]
    assert body["data"]["a"] == 1


def test_clearing_a_permission(client: Client, bid: str, cid: str, raw: Raw) -> None:
    rec = client.collection(cid).record("r1", a=1)
    rec.permissions.read = ["system.Everyone"]
    rec.save()
    rec.permissions.read = []
    rec.save()
    assert raw.body(rec_path(bid, cid, "r1"))["permissions"].get("read", []) == []


def test_create_permission_names(client: Client, bid: str, cid: str, raw: Raw) -> None:
    coll = client.collection(cid).refresh()
    coll.permissions.record_create = ["system.Authenticated"]
    coll.save()
    perms = raw.body(f"/buckets/{bid}/collections/{cid}")["permissions"]
    assert perms["record:create"] == ["system.Authenticated"]
    assert Permissions.model_validate(perms).record_create == ["system.Authenticated"]


# ---------------------------------------------------------------------------- navigation


def test_paths_and_parents(client: Client, bid: str) -> None:
    bucket = client.bucket(bid)
    coll = bucket.collection("todos")
    group = bucket.group("admins")
    rec = coll.record("r1")
    assert bucket.path == f"/buckets/{bid}"
    assert coll.path == f"/buckets/{bid}/collections/todos"
    assert group.path == f"/buckets/{bid}/groups/admins"
    assert rec.path == f"/buckets/{bid}/collections/todos/records/r1"
    assert bucket.parent is None
    assert isinstance(coll.parent, Bucket) and coll.parent.path == bucket.path
    assert isinstance(group.parent, Bucket) and group.parent.id == bid
    assert isinstance(rec.parent, Collection) and rec.parent.path == coll.path
    assert rec.parent.parent.path == bucket.path  # type: ignore[union-attr]


def test_parent_is_bound(client: Client, bid: str, cid: str, raw: Raw) -> None:
    rec = client.collection(cid).record("r1", a=1).save()
    parent = rec.parent.refresh()
    assert parent.id == cid and parent.last_modified is not None
    bucket = parent.parent.refresh()
    assert bucket.last_modified == raw.data(f"/buckets/{bid}")["last_modified"]


def test_bind_returns_self_and_places_object(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    rec = Record(id="r1", a=1)
    assert rec.bind(client, collection=cid) is rec
    assert rec.path == rec_path(bid, cid, "r1")
    rec.save()
    assert raw.data(rec_path(bid, cid, "r1"))["a"] == 1


def test_entry_points_do_not_fetch(dead: Client) -> None:
    # ``dead`` points at no server: building references must not send anything.
    assert dead.bucket("b").path == "/buckets/b"
    assert dead.collection("c", bucket="x").path == "/buckets/x/collections/c"
    assert dead.group("g").path == "/buckets/b/groups/g"
    assert isinstance(dead.buckets(), Query)
    assert isinstance(dead.records(), Query)


def test_client_buckets_query(client: Client, bid: str) -> None:
    found = client.buckets().filter(id=bid).all()
    assert [b.id for b in found] == [bid]
    assert isinstance(found[0], Bucket) and found[0].client is client


def test_client_info(client: Client, raw: Raw) -> None:
    info = client.info()
    assert isinstance(info, ServerInfo)
    assert info.project_name == "kinto"
    assert info.user is not None and info.user.id == raw.user_id()
    assert info.has("history") and info.settings.batch_max_requests == 25


def test_bucket_collections_and_groups(client: Client, bid: str, raw: Raw) -> None:
    bucket = client.bucket(bid)
    bucket.collection("c1").create()
    bucket.collection("c2").create()
    bucket.group("g1").create()
    assert raw.status(f"/buckets/{bid}/collections/c1") == 200
    assert sorted(c.id for c in bucket.collections()) == ["c1", "c2"]  # type: ignore[type-var]
    assert [g.id for g in bucket.groups()] == ["g1"]
    assert all(isinstance(c, Collection) for c in bucket.collections())
    assert all(isinstance(g, Group) for g in bucket.groups())


def test_children(client: Client, bid: str, raw: Raw) -> None:
    bucket = client.bucket(bid)
    coll = bucket.collection("c1").create()
    bucket.group("g1").create()
    rec = coll.record("r1", a=1).save()
    children = bucket.children().all()
    assert sorted((type(c).__name__, c.id) for c in children) == [
        ("Collection", "c1"), ("Group", "g1")
    ]
    assert [c.id for c in bucket.children(Collection)] == ["c1"]
    assert [g.id for g in bucket.children(Group)] == ["g1"]
    assert [r.id for r in coll.children()] == ["r1"]
    assert bucket.children().count() == 2
    listed = bucket.collections().first()
    assert listed is not None and [r.id for r in listed.records()] == ["r1"]
    assert rec.children().all() == []
    assert bucket.group("g1").children().all() == []


def test_collection_records_and_record(client: Client, bid: str, cid: str, raw: Raw) -> None:
    raw.put(rec_path(bid, cid, "r1"), {"title": "one"})

    class Note(Record):
        title: str

    coll = client.collection(cid)
    notes = coll.records(Note).all()
    assert [type(n) for n in notes] == [Note] and notes[0].title == "one"
    ref = coll.record("r1", Note)
    assert ref.id == "r1" and ref.refresh().title == "one"
    new = coll.record("r2", Note, title="two")
    assert isinstance(new, Note)
    new.save()
    assert raw.data(rec_path(bid, cid, "r2"))["title"] == "two"


def test_collection_schema_alias(client: Client, bid: str, raw: Raw) -> None:
    schema = {"type": "object", "properties": {"title": {"type": "string"}}}
    coll = Collection(id="typed", schema=schema).bind(client)
    coll.create()
    assert raw.data(f"/buckets/{bid}/collections/typed")["schema"] == schema
    fresh = client.collection("typed").refresh()
    assert fresh.schema_ == schema and fresh["schema"] == schema


# ---------------------------------------------------------------------------- data access


def test_mapping_access(client: Client, bid: str, cid: str, raw: Raw) -> None:
    class Note(Record):
        title: str

    raw.put(rec_path(bid, cid, "r1"), {"title": "t", "color": "red"})
    note = client.collection(cid).records(Note).get("r1")
    assert note["title"] == "t" and note["color"] == "red"
    assert note.model_extra == {"color": "red"}
    assert note.color == "red"  # type: ignore[attr-defined]
    assert "title" in note and "color" in note and "size" not in note
    assert note.get("size") is None and note.get("size", 3) == 3
    with pytest.raises(KeyError):
        note["size"]
    note["size"] = 4
    note["title"] = "T"
    assert note.title == "T"
    note.save()
    stored = raw.data(rec_path(bid, cid, "r1"))
    assert stored["size"] == 4 and stored["title"] == "T" and stored["color"] == "red"


def test_extra_fields_survive_round_trip(client: Client, bid: str, cid: str, raw: Raw) -> None:
    class Note(Record):
        title: str

    extra: dict[str, Any] = {"deep": {"list": [1, {"x": None}], "flag": False}, "n": 1.5}
    raw.put(rec_path(bid, cid, "r1"), {"title": "t", **extra})
    note = client.collection(cid).records(Note).get("r1")
    note.title = "changed"
    note.save()
    stored = raw.data(rec_path(bid, cid, "r1"))
    assert {k: stored[k] for k in extra} == extra and stored["title"] == "changed"


def test_group_members_round_trip(client: Client, bid: str, raw: Raw) -> None:
    group = client.group("g").create()
    assert group.members == []
    group.members = ["account:a", "account:b"]
    group.save()
    assert raw.data(f"/buckets/{bid}/groups/g")["members"] == ["account:a", "account:b"]
    group.members.remove("account:a")
    group.patch({"members": group.members})
    assert client.group("g").refresh().members == ["account:b"]


def test_objects_from_queries_are_bound(client: Client, bid: str, cid: str, raw: Raw) -> None:
    raw.put(rec_path(bid, cid, "r1"), {"v": 1})
    rec = client.records(collection=cid).first()
    assert rec is not None and rec.client is client
    assert rec.path == rec_path(bid, cid, "r1") and rec.parent.id == cid
    rec["v"] = 2
    rec.save()
    assert raw.data(rec_path(bid, cid, "r1"))["v"] == 2
    assert ids(raw.all(rec_path(bid, cid))) == ["r1"]


def test_saving_a_listed_object_keeps_its_permissions(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    # List answers carry no permissions: saving such an object must not reset them.
    raw.put(rec_path(bid, cid, "r1"), {"v": 1}, permissions={"read": ["system.Everyone"]})
    rec = client.records(collection=cid).get("r1")
    listed = client.records(collection=cid).first()
    assert listed is not None
    listed["v"] = 2
    listed.save()
    body = raw.body(rec_path(bid, cid, "r1"))
    assert body["data"]["v"] == 2
    assert body["permissions"]["read"] == ["system.Everyone"]
    assert rec.permissions.read == ["system.Everyone"]


def test_pydantic_dumps_work_on_every_object_and_leave_permissions_out(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    class Dumped(Record):
        title: str
        due: datetime.date | None = None

    Dumped(id="d1", title="t", due=datetime.date(2026, 1, 2)).bind(client, collection=cid).save()
    listed = client.records(Dumped, collection=cid).all()[0]
    fetched = client.records(Dumped, collection=cid).get("d1")
    fresh = Dumped(id="d2", title="new")
    fresh.permissions.read.append("system.Everyone")
    for obj in (listed, fetched, fresh, client.bucket(bid), client.collection(cid)):
        dumped = obj.model_dump()
        assert "permissions" not in dumped and dumped["id"] == obj.id
        assert "permissions" not in obj.model_dump_json()
        assert "permissions=" not in repr(obj)
    assert listed.model_dump() == {"id": "d1", "last_modified": listed.last_modified,
                                   "title": "t", "due": datetime.date(2026, 1, 2)}
    assert fetched.model_dump(mode="json")["due"] == "2026-01-02"
