"""The kinto-http method set of ``Client``: names, parameters and return shapes, checked
against the real server (and, where cheap, against ``kinto_http.Client`` itself)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import kinto_http
import pytest

from kinto_orm import (
    BucketNotFound,
    Client,
    CollectionNotFound,
    NotFound,
    PreconditionFailed,
)
from kinto_orm.patch_type import JSONPatch, MergePatch
from kinto_orm.testing import unique_id

from .conftest import Raw, dataset, ids, rec_path, seed


@pytest.fixture
def khttp(client: Client) -> Iterator[kinto_http.Client]:
    """The real kinto-http client, same identity, same defaults."""
    yield kinto_http.Client(
        server_url=client.session.server_url,
        auth=client.session.auth,
        bucket=client.bucket_name,
    )


def envelope_keys(body: dict[str, Any]) -> set[str]:
    return set(body)


# ---------------------------------------------------------------------------- server


def test_server_info_same_as_kinto_http(client: Client, khttp: kinto_http.Client) -> None:
    info = client.server_info()
    assert info["project_name"] == "kinto"
    assert info["http_api_version"] == "1.23"
    assert "history" in info["capabilities"]
    expected = khttp.server_info()
    assert info["user"] == expected["user"]
    assert set(info) == set(expected)


def test_session_exposes_server_url_and_auth(kinto_server: Any, client: Client) -> None:
    assert client.session.server_url == kinto_server.url
    user, password = client.session.auth
    assert isinstance(user, str) and isinstance(password, str)
    # The same credentials work for a plain kinto-http client: same identity.
    khttp = kinto_http.Client(server_url=client.session.server_url, auth=client.session.auth)
    assert khttp.server_info()["user"]["id"] == client.server_info()["user"]["id"]


def test_get_endpoint_uses_defaults_and_overrides(client: Client, bid: str) -> None:
    scoped = client.clone(collection="todos")
    assert scoped.get_endpoint("records") == f"/buckets/{bid}/collections/todos/records"
    assert (
        scoped.get_endpoint("record", id="r1", bucket="other", collection="c")
        == "/buckets/other/collections/c/records/r1"
    )
    assert client.get_endpoint("bucket") == f"/buckets/{bid}"
    assert client.get_endpoint("group", group="g") == f"/buckets/{bid}/groups/g"
    assert client.get_endpoint("buckets") == "/buckets"


# ---------------------------------------------------------------------------- buckets


def test_create_bucket_returns_envelope_and_exists(
    client: Client, raw: Raw, khttp: kinto_http.Client
) -> None:
    new = unique_id("b")
    try:
        body = client.create_bucket(id=new, data={"label": "x"})
        assert envelope_keys(body) == {"data", "permissions"}
        assert body["data"]["id"] == new and body["data"]["label"] == "x"
        assert raw.user_id() in body["permissions"]["write"]
        assert raw.data(f"/buckets/{new}")["label"] == "x"
        assert client.get_bucket(id=new) == khttp.get_bucket(id=new)
    finally:
        client.delete_bucket(id=new, if_exists=True, safe=False)


def test_create_bucket_safe_and_if_not_exists(client: Client, bid: str, raw: Raw) -> None:
    before = raw.data(f"/buckets/{bid}")
    with pytest.raises(PreconditionFailed):
        client.create_bucket(id=bid, data={"label": "new"})
    body = client.create_bucket(id=bid, data={"label": "new"}, if_not_exists=True)
    assert body["data"] == before
    assert "label" not in raw.data(f"/buckets/{bid}")


def test_update_and_patch_bucket(client: Client, bid: str, raw: Raw) -> None:
    client.update_bucket(id=bid, data={"a": 1, "b": 2})
    body = client.update_bucket(id=bid, data={"a": 10})
    assert body["data"]["a"] == 10 and "b" not in body["data"]
    body = client.patch_bucket(id=bid, data={"c": 3})
    assert body["data"]["c"] == 3
    assert raw.data(f"/buckets/{bid}") | {"last_modified": 0} == {
        "id": bid, "a": 10, "c": 3, "last_modified": 0
    }


def test_get_buckets_lists_readable_buckets(
    client: Client, bid: str, khttp: kinto_http.Client
) -> None:
    buckets = client.get_buckets()
    assert isinstance(buckets, list) and all(isinstance(b, dict) for b in buckets)
    assert bid in ids(buckets)
    assert sorted(ids(buckets)) == sorted(ids(khttp.get_buckets()))


def test_delete_bucket(client: Client, raw: Raw) -> None:
    new = unique_id("b")
    client.create_bucket(id=new)
    tombstone = client.delete_bucket(id=new)
    assert tombstone["id"] == new and tombstone["deleted"] is True
    assert raw.status(f"/buckets/{new}") == 403  # Kinto: missing bucket == unreadable
    with pytest.raises(BucketNotFound):
        client.get_bucket(id=new)
    assert client.delete_bucket(id=new, if_exists=True) is None


def test_delete_buckets(other: Client, kinto_server: Any) -> None:
    # ``other`` owns nothing yet: give it two buckets, then wipe them.
    first, second = unique_id("b"), unique_id("b")
    other.create_bucket(id=first)
    other.create_bucket(id=second)
    deleted = other.delete_buckets()
    assert {first, second} <= set(ids(deleted))
    assert not {first, second} & set(ids(other.get_buckets()))


# ---------------------------------------------------------------------------- groups


def test_group_methods(client: Client, bid: str, raw: Raw, khttp: kinto_http.Client) -> None:
    body = client.create_group(id="editors", data={"members": ["account:alice"]})
    assert envelope_keys(body) == {"data", "permissions"}
    assert raw.data(f"/buckets/{bid}/groups/editors")["members"] == ["account:alice"]
    assert client.get_group(id="editors") == khttp.get_group(id="editors")

    client.update_group(id="editors", data={"members": ["account:bob"], "x": 1})
    client.patch_group(id="editors", data={"y": 2})
    stored = raw.data(f"/buckets/{bid}/groups/editors")
    assert stored["members"] == ["account:bob"] and stored["x"] == 1 and stored["y"] == 2

    client.create_group(id="readers", data={"members": []})
    assert sorted(ids(client.get_groups())) == ["editors", "readers"]
    assert client.delete_group(id="readers")["deleted"] is True
    assert raw.status(f"/buckets/{bid}/groups/readers") == 404
    assert client.delete_group(id="readers", if_exists=True) is None
    deleted = client.delete_groups()
    assert ids(deleted) == ["editors"]
    assert raw.data(f"/buckets/{bid}/groups") == []


def test_create_group_if_not_exists_keeps_existing(client: Client, bid: str, raw: Raw) -> None:
    client.create_group(id="g", data={"members": ["account:a"]})
    body = client.create_group(id="g", data={"members": ["account:b"]}, if_not_exists=True)
    assert body["data"]["members"] == ["account:a"]
    assert raw.data(f"/buckets/{bid}/groups/g")["members"] == ["account:a"]


# ---------------------------------------------------------------------------- collections


def test_collection_methods(client: Client, bid: str, raw: Raw, khttp: kinto_http.Client) -> None:
    body = client.create_collection(id="todos", data={"cache_expires": 60})
    assert envelope_keys(body) == {"data", "permissions"}
    assert raw.data(f"/buckets/{bid}/collections/todos")["cache_expires"] == 60
    assert client.get_collection(id="todos") == khttp.get_collection(id="todos")

    client.update_collection(id="todos", data={"label": "a"})
    stored = raw.data(f"/buckets/{bid}/collections/todos")
    assert stored["label"] == "a" and "cache_expires" not in stored
    client.patch_collection(id="todos", data={"extra": True})
    assert raw.data(f"/buckets/{bid}/collections/todos")["extra"] is True

    client.create_collection(id="notes")
    assert sorted(ids(client.get_collections())) == ["notes", "todos"]
    assert sorted(ids(client.get_collections())) == sorted(ids(khttp.get_collections()))
    assert client.delete_collection(id="notes")["id"] == "notes"
    with pytest.raises(CollectionNotFound):
        client.get_collection(id="notes")
    assert client.delete_collection(id="notes", if_exists=True) is None
    assert ids(client.delete_collections()) == ["todos"]
    assert raw.data(f"/buckets/{bid}/collections") == []


def test_collection_not_found_is_a_not_found(client: Client) -> None:
    with pytest.raises(NotFound) as info:
        client.get_collection(id="missing")
    assert isinstance(info.value, CollectionNotFound)
    assert info.value.status_code == 404


# ---------------------------------------------------------------------------- records


def test_create_record_with_and_without_id(client: Client, bid: str, cid: str, raw: Raw) -> None:
    body = client.create_record(id="r1", collection=cid, data={"title": "a"})
    assert envelope_keys(body) == {"data", "permissions"}
    assert body["data"]["id"] == "r1"
    generated = client.create_record(collection=cid, data={"title": "b"})["data"]["id"]
    assert len(generated) == 36 and generated.count("-") == 4  # a UUID4
    stored = {r["id"]: r["title"] for r in raw.data(rec_path(bid, cid))}
    assert stored == {"r1": "a", generated: "b"}


def test_create_record_safe_and_if_not_exists(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    client.create_record(id="r1", collection=cid, data={"v": 1})
    with pytest.raises(PreconditionFailed):
        client.create_record(id="r1", collection=cid, data={"v": 2})
    body = client.create_record(id="r1", collection=cid, data={"v": 3}, if_not_exists=True)
    assert body["data"]["v"] == 1
    client.create_record(id="r1", collection=cid, data={"v": 4}, safe=False)
    assert raw.data(rec_path(bid, cid, "r1"))["v"] == 4


def test_get_record_same_as_kinto_http(
    client: Client, cid: str, khttp: kinto_http.Client
) -> None:
    client.create_record(id="r1", collection=cid, data={"title": "a", "nested": {"x": [1]}})
    mine = client.get_record(id="r1", collection=cid)
    assert mine == khttp.get_record(id="r1", collection=cid)
    assert mine["data"]["nested"] == {"x": [1]}


def test_update_and_patch_record(client: Client, bid: str, cid: str, raw: Raw) -> None:
    client.create_record(id="r1", collection=cid, data={"a": 1, "b": 2})
    client.update_record(id="r1", collection=cid, data={"a": 5})
    assert raw.data(rec_path(bid, cid, "r1")) | {"last_modified": 0} == {
        "id": "r1", "a": 5, "last_modified": 0
    }
    body = client.patch_record(id="r1", collection=cid, data={"c": 3})
    assert body["data"]["a"] == 5 and body["data"]["c"] == 3
    # update_record creates when missing (PUT)
    client.update_record(id="r2", collection=cid, data={"z": 0})
    assert raw.data(rec_path(bid, cid, "r2"))["z"] == 0


def test_patch_record_with_patch_types(client: Client, bid: str, cid: str, raw: Raw) -> None:
    client.create_record(id="r1", collection=cid, data={"a": {"x": 1, "y": 2}, "b": 1})
    client.patch_record(id="r1", collection=cid, changes=MergePatch({"a": {"x": None}, "b": None}))
    assert raw.data(rec_path(bid, cid, "r1"))["a"] == {"y": 2}
    assert "b" not in raw.data(rec_path(bid, cid, "r1"))
    client.patch_record(
        id="r1",
        collection=cid,
        changes=JSONPatch([{"op": "add", "path": "/data/tags", "value": ["t"]}]),
    )
    assert raw.data(rec_path(bid, cid, "r1"))["tags"] == ["t"]


def test_record_if_match_and_safe(client: Client, bid: str, cid: str, raw: Raw) -> None:
    first = client.create_record(id="r1", collection=cid, data={"v": 1})["data"]
    client.update_record(id="r1", collection=cid, data={"v": 2})
    # kinto-http semantics: the data's last_modified is sent as If-Match
    with pytest.raises(PreconditionFailed):
        client.update_record(collection=cid, data={**first, "v": 3})
    with pytest.raises(PreconditionFailed):
        client.patch_record(id="r1", collection=cid, data={"v": 3}, if_match=first["last_modified"])
    with pytest.raises(PreconditionFailed):
        client.delete_record(id="r1", collection=cid, if_match=first["last_modified"])
    assert raw.data(rec_path(bid, cid, "r1"))["v"] == 2
    client.update_record(collection=cid, data={**first, "v": 3}, safe=False)
    assert raw.data(rec_path(bid, cid, "r1"))["v"] == 3


def test_delete_record_and_if_exists(client: Client, bid: str, cid: str, raw: Raw) -> None:
    client.create_record(id="r1", collection=cid, data={})
    tombstone = client.delete_record(id="r1", collection=cid)
    assert tombstone["id"] == "r1" and tombstone["deleted"] is True
    assert raw.status(rec_path(bid, cid, "r1")) == 404
    with pytest.raises(NotFound):
        client.delete_record(id="r1", collection=cid)
    assert client.delete_record(id="r1", collection=cid, if_exists=True) is None


def test_permissions_argument_is_applied(
    client: Client, other: Client, bid: str, cid: str
) -> None:
    client.create_record(
        id="pub", collection=cid, data={"v": 1}, permissions={"read": ["system.Everyone"]}
    )
    client.create_record(id="priv", collection=cid, data={"v": 2})
    assert other.get_record(id="pub", bucket=bid, collection=cid)["data"]["v"] == 1
    stored = client.get_record(id="pub", collection=cid)["permissions"]
    assert stored["read"] == ["system.Everyone"]
    with pytest.raises(Exception) as info:
        other.get_record(id="priv", bucket=bid, collection=cid)
    assert info.value.status_code == 403  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------- listing


@pytest.fixture
def filled(raw: Raw, bid: str, cid: str) -> str:
    seed(raw, bid, cid, dataset(25))
    return cid


def test_get_records_same_as_kinto_http(
    client: Client, filled: str, khttp: kinto_http.Client
) -> None:
    mine = client.get_records(collection=filled)
    assert isinstance(mine, list) and len(mine) == 25
    assert mine == khttp.get_records(collection=filled)


def test_get_records_filters_as_kwargs(client: Client, filled: str) -> None:
    assert sorted(ids(client.get_records(collection=filled, even=True, min_n=20))) == [
        "r20", "r22", "r24"
    ]
    assert ids(client.get_records(collection=filled, in_n=[3, 4])) != []
    assert sorted(ids(client.get_records(collection=filled, in_n=[3, 4]))) == ["r03", "r04"]
    assert ids(client.get_records(collection=filled, _sort="-n"))[:3] == ["r24", "r23", "r22"]
    assert ids(client.get_records(collection=filled, _sort="n")) == sorted(
        r["id"] for r in dataset(25)
    )


def test_get_records_limit_and_pages(client: Client, filled: str) -> None:
    # paginate_by is 10: _limit alone reads one page, pages=N reads N pages.
    assert len(client.get_records(collection=filled, _limit=5)) == 5
    assert len(client.get_records(collection=filled, _limit=5, pages=2)) == 10
    assert len(client.get_records(collection=filled, pages=2)) == 20
    assert len(client.get_records(collection=filled)) == 25


def test_get_records_if_none_match(
    client: Client, filled: str, khttp: kinto_http.Client
) -> None:
    stamp = client.get_records_timestamp(collection=filled)
    assert client.get_records(collection=filled, if_none_match=stamp) == []
    assert khttp.get_records(collection=filled, if_none_match=stamp) == []
    assert len(client.get_records(collection=filled, if_none_match=int(stamp) - 1)) == 25


def test_get_paginated_records_yields_page_bodies(
    client: Client, filled: str, khttp: kinto_http.Client
) -> None:
    pages = list(client.get_paginated_records(collection=filled, _sort="n"))
    assert [len(p["data"]) for p in pages] == [10, 10, 5]
    assert all(set(p) == {"data"} for p in pages)
    assert [r["id"] for p in pages for r in p["data"]] == [f"r{i:02d}" for i in range(25)]
    assert pages == list(khttp.get_paginated_records(collection=filled, _sort="n"))


def test_get_records_timestamp(
    client: Client, bid: str, filled: str, raw: Raw, khttp: kinto_http.Client
) -> None:
    stamp = client.get_records_timestamp(collection=filled)
    assert isinstance(stamp, str) and stamp.isdigit()
    assert stamp == raw.head(rec_path(bid, filled)).headers["ETag"].strip('"')
    assert stamp == khttp.get_records_timestamp(collection=filled)
    assert int(stamp) == max(r["last_modified"] for r in raw.all(rec_path(bid, filled)))


def test_delete_records_with_filters_and_all(
    client: Client, bid: str, filled: str, raw: Raw
) -> None:
    deleted = client.delete_records(collection=filled, even=True)
    assert sorted(ids(deleted)) == sorted(f"r{i:02d}" for i in range(0, 25, 2))
    assert all(d["deleted"] is True for d in deleted)
    remaining = raw.all(rec_path(bid, filled))
    assert sorted(ids(remaining)) == sorted(f"r{i:02d}" for i in range(1, 25, 2))
    client.delete_records(collection=filled)
    assert raw.head(rec_path(bid, filled)).headers["Total-Objects"] == "0"


# ---------------------------------------------------------------------------- history, permissions


def test_get_history_and_purge(
    client: Client, bid: str, cid: str, raw: Raw, khttp: kinto_http.Client
) -> None:
    client.create_record(id="r1", collection=cid, data={"v": 1})
    client.patch_record(id="r1", collection=cid, data={"v": 2})
    entries = client.get_history(resource_name="record")
    assert [e["action"] for e in entries] == ["update", "create"]
    assert entries[0]["uri"] == rec_path(bid, cid, "r1")
    assert entries[0]["target"]["data"]["v"] == 2
    assert entries == khttp.get_history(resource_name="record")
    client.purge_history()
    assert raw.data(f"/buckets/{bid}/history") == []


def test_get_permissions(client: Client, bid: str, cid: str, khttp: kinto_http.Client) -> None:
    entries = client.get_permissions()
    by_uri = {e["uri"]: e for e in entries}
    assert "write" in by_uri[f"/buckets/{bid}"]["permissions"]
    assert by_uri[f"/buckets/{bid}/collections/{cid}"]["resource_name"] == "collection"
    assert entries == khttp.get_permissions()
    without = client.get_permissions(exclude_resource_names=["collection"])
    assert all(e["resource_name"] != "collection" for e in without)
    assert f"/buckets/{bid}" in {e["uri"] for e in without}


# ---------------------------------------------------------------------------- review workflow


def test_review_methods_patch_collection_status(signer_client: Client) -> None:
    client, bid, cid = signer_client, signer_client.bucket_name, unique_id("c")
    client.create_collection(id=cid)
    raw = Raw(client.server_url, client.session.auth)
    path = f"/buckets/{bid}/collections/{cid}"
    body = client.request_review("please", id=cid)
    assert body["data"]["status"] == "to-review"
    stored = raw.data(path)
    assert stored["status"] == "to-review" and stored["last_editor_comment"] == "please"

    client.decline_changes("nope", id=cid)
    stored = raw.data(path)
    assert stored["status"] == "work-in-progress" and stored["last_reviewer_comment"] == "nope"

    client.approve_changes(id=cid)
    assert raw.data(path)["status"] == "to-sign"

    client.rollback_changes("undo", id=cid)
    stored = raw.data(path)
    assert stored["status"] == "to-rollback" and stored["last_editor_comment"] == "undo"
    raw.close()


def test_review_uses_client_default_collection(signer_client: Client) -> None:
    cid = unique_id("c")
    signer_client.create_collection(id=cid)
    scoped = signer_client.clone(collection=cid)
    scoped.request_review("go", data={"extra": 1})
    stored = scoped.get_collection()["data"]
    assert stored["status"] == "to-review" and stored["extra"] == 1


# ---------------------------------------------------------------------------- clone


def test_clone_overrides_defaults(client: Client, bid: str, cid: str, raw: Raw) -> None:
    scoped = client.clone(collection=cid)
    assert scoped.bucket_name == bid and scoped.collection_name == cid
    assert client.collection_name is None
    scoped.create_record(id="r1", data={"v": 1})
    assert raw.data(rec_path(bid, cid, "r1"))["v"] == 1
    assert ids(scoped.get_records()) == ["r1"]
    assert scoped.session.server_url == client.session.server_url
    assert scoped.session.auth == client.session.auth


def test_clone_with_other_bucket(client: Client, other: Client, bid: str) -> None:
    own = unique_id("b")
    other.create_bucket(id=own)
    try:
        moved = other.clone(bucket=own)
        moved.create_collection(id="c")
        assert ids(moved.get_collections()) == ["c"]
        assert other.bucket_name is None
    finally:
        other.delete_bucket(id=own, if_exists=True, safe=False)
