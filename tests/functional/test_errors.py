"""Errors: status-specific exceptions from the real server, and mistakes caught before
anything is sent (invalid ids, unbound models, bad lookups, invalid typed data)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic
import pytest
import requests

from kinto_orm import (
    BadRequest,
    BucketNotFound,
    Client,
    Collection,
    Forbidden,
    KintoException,
    NotFound,
    Record,
    Unauthorized,
    UnboundError,
)
from kinto_orm.testing import KintoServer, unique_id

from .conftest import DEAD_URL, Raw, rec_path

# ---------------------------------------------------------------------------- 403 / 404


def test_other_identity_gets_bucket_not_found_for_private_bucket(
    client: Client, other: Client, bid: str
) -> None:
    with pytest.raises(BucketNotFound) as info:
        other.get_bucket(id=bid)
    assert info.value.status_code == 403
    assert isinstance(info.value, NotFound)
    # Same answer as for a bucket that does not exist at all.
    with pytest.raises(BucketNotFound):
        other.get_bucket(id=unique_id("b"))


def test_other_identity_is_forbidden_below_a_private_bucket(
    client: Client, other: Client, bid: str, cid: str, raw: Raw
) -> None:
    raw.put(rec_path(bid, cid, "r1"), {"secret": 1})
    calls: list[Callable[[], Any]] = [
        lambda: other.get_record(id="r1", bucket=bid, collection=cid),
        lambda: other.get_records(bucket=bid, collection=cid),
        lambda: other.collection(cid, bucket=bid).records().all(),
        lambda: other.collection(cid, bucket=bid).record("r1").refresh(),
        lambda: other.bucket(bid).refresh(),
    ]
    for call in calls:
        with pytest.raises(Forbidden) as info:
            call()
        assert info.value.status_code == 403 and info.value.errno == 121
    with pytest.raises(Forbidden):
        other.delete_record(id="r1", bucket=bid, collection=cid)
    assert raw.data(rec_path(bid, cid, "r1"))["secret"] == 1


def test_missing_record_in_readable_collection_is_not_found(
    client: Client, bid: str, cid: str
) -> None:
    with pytest.raises(NotFound) as info:
        client.get_record(id="missing", collection=cid)
    error = info.value
    assert not isinstance(error, Forbidden)
    assert error.status_code == 404 and error.errno == 110
    assert error.details == {"id": "missing", "resource_name": "record"}
    with pytest.raises(NotFound):
        client.records(collection=cid).get("missing")


def test_readable_but_not_writable_is_forbidden(
    client: Client, other: Client, bid: str, cid: str, raw: Raw
) -> None:
    raw.put(rec_path(bid, cid, "r1"), {"v": 1}, permissions={"read": ["system.Authenticated"]})
    rec = other.collection(cid, bucket=bid).records().get("r1")
    assert rec["v"] == 1
    rec["v"] = 2
    with pytest.raises(Forbidden):
        rec.save()
    assert raw.data(rec_path(bid, cid, "r1"))["v"] == 1


# ---------------------------------------------------------------------------- 401


def test_anonymous_write_is_unauthorized(kinto_server: Any) -> None:
    anonymous = Client(kinto_server.url)
    with pytest.raises(Unauthorized) as info:
        anonymous.create_bucket(id=unique_id("b"))
    assert info.value.status_code == 401 and info.value.errno == 104
    anonymous.close()


def test_anonymous_get_bucket_is_unauthorized_not_bucket_not_found(
    client: Client, kinto_server: Any, bid: str
) -> None:
    anonymous = Client(kinto_server.url)
    with pytest.raises(Unauthorized):
        anonymous.get_bucket(id=bid)
    anonymous.close()


@pytest.fixture
def account(kinto_server: Any) -> tuple[str, str]:
    account_id = unique_id("acc")
    response = requests.put(
        f"{kinto_server.url}/accounts/{account_id}",
        json={"data": {"password": "right-password"}},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return account_id, "right-password"


def test_account_wrong_password_does_not_get_the_account(
    kinto_server: Any, account: tuple[str, str]
) -> None:
    account_id, password = account
    good = Client(kinto_server.url, auth=(account_id, password))
    assert good.server_info()["user"]["id"] == f"account:{account_id}"
    own = unique_id("b")
    good.create_bucket(id=own)
    try:
        bad = Client(kinto_server.url, auth=(account_id, "wrong-password"))
        # The test server also enables the basicauth policy, which accepts any
        # credentials as another identity: the wrong password is not the account.
        assert bad.server_info().get("user", {}).get("id") != f"account:{account_id}"
        with pytest.raises(BucketNotFound):
            bad.get_bucket(id=own)
        assert "wrong-password" not in repr(bad)
    finally:
        good.delete_bucket(id=own, if_exists=True)


def test_account_wrong_password_is_unauthorized() -> None:
    # A server with accounts-only authentication (no basicauth fallback).
    with KintoServer(
        settings={"multiauth.policies": "account"}, history=False, attachments=False
    ) as server:
        account_id = unique_id("acc")
        requests.put(
            f"{server.url}/accounts/{account_id}",
            json={"data": {"password": "right-password"}},
            timeout=10,
        ).raise_for_status()
        bad = Client(server.url, auth=(account_id, "wrong-password"))
        with pytest.raises(Unauthorized) as info:
            bad.create_bucket(id="x")
        assert info.value.status_code == 401 and info.value.errno == 104
        assert "wrong-password" not in str(info.value)


# ---------------------------------------------------------------------------- 400


def test_bad_request_carries_errno_and_details(client: Client, bid: str, raw: Raw) -> None:
    schema = {
        "type": "object",
        "properties": {"title": {"type": "string"}},
        "required": ["title"],
    }
    raw.put(f"/buckets/{bid}/collections/strict", {"schema": schema})
    with pytest.raises(BadRequest) as info:
        client.create_record(id="r1", collection="strict", data={"title": 42})
    error = info.value
    assert error.status_code == 400 and error.errno == 107
    assert isinstance(error.details, list) and error.details
    assert error.details[0]["name"] == "title"
    assert error.request is not None and error.response is not None
    assert error.message and "title" in str(error)
    assert raw.status(rec_path(bid, "strict", "r1")) == 404


def test_bad_request_from_a_model(client: Client, bid: str, raw: Raw) -> None:
    raw.put(
        f"/buckets/{bid}/collections/strict",
        {"schema": {"type": "object", "properties": {"n": {"type": "integer"}}}},
    )
    rec = client.collection("strict").record("r1", n="not a number")
    with pytest.raises(BadRequest) as info:
        rec.save()
    assert info.value.errno == 107
    assert raw.status(rec_path(bid, "strict", "r1")) == 404


def test_unknown_permission_is_bad_request(client: Client, cid: str) -> None:
    with pytest.raises(BadRequest) as info:
        client.create_record(id="r1", collection=cid, data={}, permissions={"nope": ["x"]})
    assert info.value.status_code == 400


def test_credentials_never_in_messages(client: Client, other: Client, bid: str) -> None:
    password = other.session.auth[1]
    with pytest.raises(KintoException) as info:
        other.get_records(bucket=bid, collection="c")
    assert password not in str(info.value)
    assert password not in repr(other) and password not in str(other)
    assert password not in repr(other.session)


def test_network_failure_is_a_kinto_exception(dead: Client) -> None:
    with pytest.raises(KintoException) as info:
        dead.server_info()
    assert info.value.__cause__ is not None
    assert info.value.response is None


# ---------------------------------------------------------------------------- invalid ids

BAD_IDS = ["../x", "a/b", "a?b", "a#b", "..", "x" * 300, "-lead"]

#: Calls taking an id; each must raise ValueError for every bad id. ``dead`` points at
#: nothing, so any request sent would raise a network KintoException instead.
ID_CALLS: dict[str, Callable[[Client, str], Any]] = {
    "get_record": lambda c, x: c.get_record(id=x),
    "delete_record": lambda c, x: c.delete_record(id=x),
    "create_record": lambda c, x: c.create_record(id=x, data={}),
    "update_record": lambda c, x: c.update_record(id=x, data={}),
    "get_bucket": lambda c, x: c.get_bucket(id=x),
    "create_bucket": lambda c, x: c.create_bucket(id=x),
    "get_collection": lambda c, x: c.get_collection(id=x),
    "create_group": lambda c, x: c.create_group(id=x, data={"members": []}),
    "get_records bucket": lambda c, x: c.get_records(bucket=x),
    "client.bucket": lambda c, x: c.bucket(x),
    "client.collection": lambda c, x: c.collection(x),
    "client.group": lambda c, x: c.group(x),
    "client.records": lambda c, x: c.records(collection=x).all(),
    "query.get": lambda c, x: c.records().get(x),
    "collection.record": lambda c, x: c.collection("c").record(x),
    "bucket.collection": lambda c, x: c.bucket("b").collection(x),
    "Record.save": lambda c, x: Record(id=x).bind(c).save(),
    "Collection.create": lambda c, x: Collection(id=x).bind(c).create(),
    "Client(bucket=)": lambda c, x: Client(DEAD_URL, bucket=x),
    "Client(collection=)": lambda c, x: Client(DEAD_URL, collection=x),
}

#: Calls where an explicit empty id must be refused too (no fallback to a default).
EMPTY_ID_CALLS = [
    "get_record", "delete_record", "client.bucket", "client.collection", "client.group",
    "query.get", "collection.record", "bucket.collection", "Record.save",
    "Collection.create", "Client(bucket=)", "Client(collection=)",
]


@pytest.mark.parametrize("name", sorted(ID_CALLS))
def test_invalid_ids_raise_value_error_before_sending(dead: Client, name: str) -> None:
    call = ID_CALLS[name]
    bad_ids = BAD_IDS + ([""] if name in EMPTY_ID_CALLS else [])
    for bad in bad_ids:
        with pytest.raises(ValueError):
            call(dead, bad)


def test_invalid_id_sends_nothing_to_a_real_server(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    for bad in BAD_IDS:
        with pytest.raises(ValueError):
            client.create_record(id=bad, collection=cid, data={"v": 1})
        with pytest.raises(ValueError):
            client.collection(cid).record(bad, v=1)
    assert raw.all(rec_path(bid, cid)) == []


def test_invalid_class_keywords() -> None:
    with pytest.raises(ValueError):

        class Bad(Record, collection="a/b"):
            pass

    with pytest.raises(ValueError):

        class Worse(Record, bucket="../x", collection="c"):
            pass


# ---------------------------------------------------------------------------- unbound models


@pytest.mark.parametrize("method", ["create", "save", "patch", "delete", "refresh"])
def test_unbound_model_raises_unbound_error(method: str) -> None:
    class Note(Record, collection="notes"):
        title: str = ""

    note = Note(id="n1", title="x")
    with pytest.raises(UnboundError) as info:
        getattr(note, method)()
    message = str(info.value)
    assert "bind(" in message and "client=" in message


def test_unbound_navigation_raises_unbound_error() -> None:
    with pytest.raises(UnboundError, match="bind"):
        Collection(id="c").records()
    with pytest.raises(UnboundError, match="bind"):
        Record(id="r").children()


# ---------------------------------------------------------------------------- typed models


def test_typed_model_rejects_wrong_types(client: Client, cid: str) -> None:
    class Todo(Record):
        title: str
        done: bool = False
        priority: int = 0

    with pytest.raises(pydantic.ValidationError):
        Todo(title=["not", "a", "string"])
    with pytest.raises(pydantic.ValidationError):
        Todo(title="x", done="maybe")
    with pytest.raises(pydantic.ValidationError):
        Todo(title="x", priority="high")
    with pytest.raises(pydantic.ValidationError):
        Todo(done=True)  # title is required
    with pytest.raises(pydantic.ValidationError):
        client.collection(cid).record("t1", Todo, title="x", priority="high")


# ---------------------------------------------------------------------------- lookups


@pytest.mark.parametrize(
    "lookup",
    ["title__startswith", "title__icontains", "title__isnull", "n__range", "title__iexact"],
)
def test_unknown_lookups_raise_value_error(dead: Client, lookup: str) -> None:
    with pytest.raises(ValueError, match="lookup"):
        dead.records().filter(**{lookup: "x"})


def test_lookup_without_negation_cannot_be_excluded(dead: Client) -> None:
    with pytest.raises(ValueError):
        dead.records().exclude(title__like="x")
    with pytest.raises(ValueError):
        dead.records().exclude(tags__contains=["x"])
