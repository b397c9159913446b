"""kinto-http's module paths in kinto-orm: a code base switches by replacing
``kinto_http`` with ``kinto_orm``. Names, signatures and behaviour are compared with
kinto-http's own, and ``client.session`` is used as kinto-http code uses it."""

from __future__ import annotations

import base64
import datetime
import importlib
import inspect
from pathlib import Path
from typing import Any

import kinto_http
import kinto_http.constants
import kinto_http.utils
import pytest

import kinto_orm
from kinto_orm import Client, KintoException, TokenAuth
from kinto_orm.endpoints import Endpoints
from kinto_orm.session import Session, create_session
from kinto_orm.utils import collection_diff, records_equal

from .conftest import Raw, rec_path, seed

MODULES = {
    "exceptions": ["KintoException", "BucketNotFound", "CollectionNotFound",
                   "KintoBatchException", "BackoffException"],
    "utils": ["collection_diff", "records_equal", "sort_records", "slugify", "chunks",
              "compute_sha256", "json_dumps", "json_iso_datetime", "urljoin", "quote"],
    "constants": [n for n in dir(kinto_http.constants) if n.isupper()],
    "session": ["Session", "create_session"],
    "login": ["BrowserOAuth"],
    "endpoints": ["Endpoints"],
    "patch_type": ["BasicPatch", "MergePatch", "JSONPatch"],
}


@pytest.mark.parametrize("module", list(MODULES))
def test_kinto_http_module_paths_exist(module: str) -> None:
    theirs = importlib.import_module(f"kinto_http.{module}")
    ours = importlib.import_module(f"kinto_orm.{module}")
    for name in MODULES[module]:
        assert hasattr(theirs, name), (module, name)
        assert hasattr(ours, name), (module, name)


def test_top_level_names_of_kinto_http_exist() -> None:
    missing = [name for name in kinto_http.__all__ if not hasattr(kinto_orm, name)]
    assert missing == []
    assert issubclass(kinto_orm.BearerTokenAuth, kinto_orm.TokenAuth)


@pytest.mark.parametrize(
    "name", ["collection_diff", "records_equal", "sort_records", "slugify", "chunks",
             "compute_sha256", "json_iso_datetime", "urljoin", "quote"],
)
def test_utils_signatures_match(name: str) -> None:
    ours = inspect.signature(getattr(kinto_orm.utils, name))
    theirs = inspect.signature(getattr(kinto_http.utils, name))
    assert list(ours.parameters) == list(theirs.parameters)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (create_session, kinto_http.create_session),
        (Session.__init__, kinto_http.Session.__init__),
        (Endpoints.get, kinto_http.Endpoints.get),
        (Session.request, kinto_http.Session.request),
        (KintoException.__init__, kinto_http.KintoException.__init__),
    ],
)
def test_signatures_start_like_kinto_http(ours: Any, theirs: Any) -> None:
    expected = list(inspect.signature(theirs).parameters)
    assert list(inspect.signature(ours).parameters)[: len(expected)] == expected


def test_utils_behave_as_kinto_http(tmp_path: Path) -> None:
    src = [{"id": "a", "v": 1}, {"id": "b", "v": 2, "last_modified": 5}, {"id": "c", "v": 3}]
    dest = [{"id": "b", "v": 1, "last_modified": 4, "schema": 9}, {"id": "c", "v": 3,
            "last_modified": 3}, {"id": "d", "v": 4}]
    assert collection_diff([dict(r) for r in src], dest) == kinto_http.utils.collection_diff(
        [dict(r) for r in src], dest
    )
    assert records_equal({"id": "x", "last_modified": 1}, {"id": "x", "schema": 2})
    rows = [{"n": 3, "t": "b"}, {"n": 10, "t": "a"}, {"n": 3, "t": "c"}, {"t": "z"}]
    for sort in ("n", "-n", "n,-t", "-t", "t,n"):
        assert kinto_orm.utils.sort_records(rows, sort) == kinto_http.utils.sort_records(rows, sort)
    for text in ("Hello World!", "déjà vu", "valid-id_1", "a/b?c", 42, "  spaced  out "):
        assert kinto_orm.utils.slugify(text) == kinto_http.utils.slugify(text)
    ours, theirs = kinto_orm.utils, kinto_http.utils
    items = list(range(7))
    for size in (0, -1, 1, 3, 7, 10):
        assert list(ours.chunks(items, size)) == list(theirs.chunks(items, size))
    value = {"d": datetime.date(2024, 1, 2), "t": datetime.datetime(2024, 1, 2, 3, 4, 5)}
    assert kinto_orm.utils.json_dumps(value) == kinto_http.utils.json_dumps(value)
    with pytest.raises(TypeError):
        kinto_orm.utils.json_dumps({"x": object()})
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 3_000_000)
    assert kinto_orm.utils.compute_sha256(str(path)) == kinto_http.utils.compute_sha256(str(path))
    assert ours.urljoin("http://h/v1/", "/x") == theirs.urljoin("http://h/v1/", "/x")
    assert kinto_orm.utils.quote('"12"') == kinto_http.utils.quote('"12"')


def test_constants_match() -> None:
    for name in MODULES["constants"]:
        if name != "USER_AGENT":
            assert getattr(kinto_orm.constants, name) == getattr(kinto_http.constants, name), name


def test_endpoints_match() -> None:
    ours, theirs = Endpoints(), kinto_http.Endpoints()
    for name in Endpoints.endpoints:
        args = {"bucket": "My Bucket", "collection": "c", "group": "g", "id": "r 1"}
        assert ours.get(name, **args) == theirs.get(name, **args)
    assert Endpoints("/v1").get("bucket", bucket="b") == kinto_http.Endpoints("/v1").get(
        "bucket", bucket="b"
    )
    for name, args in (("records", {"bucket": "b"}), ("nope", {})):
        with pytest.raises(KintoException) as info:
            ours.get(name, **args)
        with pytest.raises(kinto_http.KintoException) as expected:
            theirs.get(name, **args)
        assert str(info.value) == str(expected.value)


# ---------------------------------------------------------------------------- sync tools


def sync_collection(target: Any, cid: str, source: list[dict[str, Any]]) -> Any:
    """A sync tool as written for kinto-http: diff, then one batch."""
    current = target.get_records(collection=cid)
    to_create, to_update, to_delete = target_utils(target).collection_diff(source, current)
    with target.batch(collection=cid) as batch:
        for record in to_create:
            batch.create_record(data=record)
        for _, new in to_update:
            batch.update_record(data=new)
        for record in to_delete:
            batch.delete_record(id=record["id"])
    return (len(to_create), len(to_update), len(to_delete))


def target_utils(target: Any) -> Any:
    return kinto_orm.utils if isinstance(target, Client) else kinto_http.utils


def test_diff_then_batch_like_kinto_http(
    client: Client, raw: Raw, bid: str, cid: str, kinto_server: Any
) -> None:
    khttp = kinto_http.Client(server_url=kinto_server.url, auth=client.session.auth, bucket=bid)
    other = f"{cid}-k"
    raw.put(f"/buckets/{bid}/collections/{other}", {})
    start = [{"id": f"r{i}", "v": i} for i in range(6)]
    source = [{"id": "r0", "v": 0}, {"id": "r1", "v": 10}, {"id": "r2", "v": 2, "new": True},
              {"id": "x1", "v": 7}, {"id": "x2", "v": 8}]
    counts = []
    for target, collection in ((client, cid), (khttp, other)):
        seed(raw, bid, collection, start)
        counts.append(sync_collection(target, collection, [dict(r) for r in source]))
        stored = sorted(raw.all(rec_path(bid, collection)), key=lambda r: str(r["id"]))
        assert [r["id"] for r in stored] == sorted(r["id"] for r in source)
        assert all(records_equal(a, b) for a, b in zip(stored, sorted(source, key=str)))
    assert counts[0] == counts[1] == (2, 2, 3)
    assert sync_collection(client, cid, source) == (0, 0, 0)


# ---------------------------------------------------------------------------- session


def test_client_session_is_a_working_session(
    client: Client, raw: Raw, bid: str, cid: str, kinto_server: Any
) -> None:
    khttp = kinto_http.Client(server_url=kinto_server.url, auth=client.session.auth, bucket=bid)
    session = client.session
    assert isinstance(session, Session)
    for name in ("server_url", "auth", "nb_retry", "retry_after", "dry_mode"):
        assert getattr(session, name) == getattr(khttp.session, name), name
    assert session.timeout == (10.0, 60.0)  # kinto-orm's finite default (kinto-http: None)
    seed(raw, bid, cid, [{"id": f"r{i}", "n": i} for i in range(3)])
    path = rec_path(bid, cid)
    ours = session.request("get", path, params={"_sort": "-n", "in_n": ["0", "1"]})
    theirs = khttp.session.request("get", path, params={"_sort": "-n", "in_n": ["0", "1"]})
    assert ours[0] == theirs[0] and [r["id"] for r in ours[0]["data"]] == ["r1", "r0"]
    assert ours[1]["ETag"] == theirs[1]["ETag"]
    assert session.request("head", path)[0] is None
    body, _ = session.request("put", f"{path}/new", data={"t": 1}, permissions={"read": []})
    assert body["data"]["t"] == 1
    with pytest.raises(KintoException) as ours_error:
        session.request("get", path, data={"x": 1})
    with pytest.raises(kinto_http.KintoException) as their_error:
        khttp.session.request("get", path, data={"x": 1})
    assert str(ours_error.value) == str(their_error.value)


def test_create_session_like_kinto_http(client: Client, kinto_server: Any) -> None:
    user, password = client.session.auth
    for kwargs in ({}, {"server_url": kinto_server.url, "session": object()}):
        with pytest.raises(AttributeError) as ours:
            create_session(**kwargs)
        with pytest.raises(AttributeError) as theirs:
            kinto_http.create_session(**kwargs)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError) as ours_value:
        create_session(kinto_server.url, "no-colon-no-scheme")
    with pytest.raises(ValueError) as theirs_value:
        kinto_http.create_session(kinto_server.url, "no-colon-no-scheme")
    assert str(ours_value.value) == str(theirs_value.value)
    session = create_session(kinto_server.url, f"{user}:{password}", retry=2)
    assert session.nb_retry == 2 and session.server_url == kinto_server.url
    assert create_session(session=session) is session
    with Client(session=session) as from_session:
        assert from_session.server_info()["user"]["id"] == client.server_info()["user"]["id"]


def test_token_auth_authenticates_like_kinto_http(client: Client, kinto_server: Any) -> None:
    user, password = client.session.auth
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    theirs = kinto_http.Client(
        server_url=kinto_server.url, auth=kinto_http.TokenAuth(token, type="Basic")
    )
    with Client(kinto_server.url, auth=TokenAuth(token, type="Basic")) as ours:
        assert ours.server_info()["user"] == theirs.server_info()["user"]
