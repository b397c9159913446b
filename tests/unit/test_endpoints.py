"""Id validation and path building: no invalid id can ever reach a URL path."""

from __future__ import annotations

import uuid

import pytest

from kinto_orm import Client, Collection, Record
from kinto_orm.endpoints import MAX_ID_LENGTH, TEMPLATES, check_id, endpoint

from .conftest import FakeSend

VALID_IDS = [
    "a",
    "Z",
    "0",
    "blog",
    "Blog-2024_posts",
    "0abc",
    "a-",
    "a_",
    "a--__--b",
    str(uuid.uuid4()),
    "x" * MAX_ID_LENGTH,
]

INVALID_IDS = [
    "",
    ".",
    "..",
    "../etc",
    "..%2F..",
    "a/b",
    "/a",
    "a/",
    "a?b",
    "a?_limit=1",
    "a#b",
    "#",
    "a.b",
    "a b",
    " a",
    "a ",
    "a\n",
    "a\x00",
    "-a",
    "_a",
    "é",
    "café",
    "идентификатор",
    "数据",
    "a\u200bb",
    "\uff11\uff12\uff13",  # full-width digits
    "x" * (MAX_ID_LENGTH + 1),
    "x" * 1000,
    "a@b",
    "a+b",
    "a:b",
    "a%20b",
    "a\\b",
]


def test_max_id_length_is_255():
    assert MAX_ID_LENGTH == 255


@pytest.mark.parametrize("value", VALID_IDS)
def test_valid_ids_pass(value):
    assert check_id(value) is value


@pytest.mark.parametrize("value", INVALID_IDS)
def test_invalid_ids_are_refused(value):
    with pytest.raises(ValueError, match="Invalid id"):
        check_id(value)


@pytest.mark.parametrize("value", [None, 12, 1.5, b"abc", ["a"], {"id": "a"}])
def test_non_string_ids_are_refused(value):
    with pytest.raises(ValueError, match="Kinto ids are strings"):
        check_id(value)


def test_the_error_names_what_was_checked_and_shortens_long_values():
    with pytest.raises(ValueError, match="Invalid bucket id 'a/b'"):
        check_id("a/b", "bucket id")
    with pytest.raises(ValueError) as info:
        check_id("y" * 300)
    message = str(info.value)
    assert "y" * 57 + "..." in message
    assert "y" * 61 not in message


@pytest.mark.parametrize(
    ("name", "ids", "path"),
    [
        ("root", {}, "/"),
        ("batch", {}, "/batch"),
        ("permissions", {}, "/permissions"),
        ("buckets", {}, "/buckets"),
        ("bucket", {"bucket": "blog"}, "/buckets/blog"),
        ("history", {"bucket": "blog"}, "/buckets/blog/history"),
        ("groups", {"bucket": "blog"}, "/buckets/blog/groups"),
        ("group", {"bucket": "blog", "group": "admins"}, "/buckets/blog/groups/admins"),
        ("collections", {"bucket": "blog"}, "/buckets/blog/collections"),
        ("collection", {"bucket": "blog", "collection": "posts"},
         "/buckets/blog/collections/posts"),
        ("records", {"bucket": "blog", "collection": "posts"},
         "/buckets/blog/collections/posts/records"),
        ("record", {"bucket": "blog", "collection": "posts", "id": "p1"},
         "/buckets/blog/collections/posts/records/p1"),
        ("attachment", {"bucket": "blog", "collection": "posts", "id": "p1"},
         "/buckets/blog/collections/posts/records/p1/attachment"),
        ("changeset", {"bucket": "blog", "collection": "posts"},
         "/buckets/blog/collections/posts/changeset"),
    ],
)
def test_endpoint_paths(name, ids, path):
    assert endpoint(name, **ids) == path


def test_every_template_is_covered():
    assert set(TEMPLATES) == {
        "root", "batch", "permissions", "buckets", "bucket", "history", "groups", "group",
        "collections", "collection", "records", "record", "attachment", "changeset",
    }


@pytest.mark.parametrize("bad", ["..", "a/b", "a?b", "a#b", "é", "", "x" * 256])
@pytest.mark.parametrize("slot", ["bucket", "collection", "id"])
def test_endpoint_checks_every_id(slot, bad):
    ids = {"bucket": "b", "collection": "c", "id": "r"}
    ids[slot] = bad
    with pytest.raises(ValueError, match="Invalid"):
        endpoint("record", **ids)


@pytest.mark.parametrize("bad", ["..", "a/b", "a?b"])
def test_endpoint_checks_group_ids(bad):
    with pytest.raises(ValueError, match="Invalid group id"):
        endpoint("group", bucket="b", group=bad)


def test_endpoint_ignores_ids_it_does_not_need():
    # An unused keyword is not put in the path, so it cannot do harm.
    assert endpoint("buckets", bucket="../x") == "/buckets"


def test_endpoint_missing_ids():
    with pytest.raises(ValueError, match="no bucket given"):
        endpoint("bucket")
    with pytest.raises(ValueError, match=r"no collection given.*Client"):
        endpoint("records", bucket="b")
    with pytest.raises(ValueError, match="no record id given"):
        endpoint("record", bucket="b", collection="c")
    with pytest.raises(ValueError, match="no group given"):
        endpoint("group", bucket="b")


def test_unknown_endpoint():
    with pytest.raises(ValueError, match=r"Unknown endpoint 'nope'.*known endpoints"):
        endpoint("nope")


# ---------------------------------------------------------------------------- through the client


@pytest.fixture
def client():
    client = Client("http://kinto.test/v1", bucket="blog", collection="posts")
    client.session.send = FakeSend()  # type: ignore[method-assign]  # any request fails
    return client


@pytest.mark.parametrize("bad", ["..", "../../buckets", "a/b", "a?b", "a#b", "é"])
def test_client_refuses_bad_defaults(bad):
    with pytest.raises(ValueError):
        Client("http://kinto.test/v1", bucket=bad)
    with pytest.raises(ValueError):
        Client("http://kinto.test/v1", collection=bad)


@pytest.mark.parametrize("bad", ["..", "../../buckets", "a/b", "a?b", "a#b", "é", "a b"])
def test_client_methods_refuse_bad_ids_before_sending(client, bad):
    calls = [
        lambda: client.get_record(id=bad),
        lambda: client.delete_record(id=bad),
        lambda: client.update_record(id=bad, data={"x": 1}),
        lambda: client.create_record(id=bad, data={"x": 1}),
        lambda: client.get_collection(id=bad),
        lambda: client.get_records(collection=bad),
        lambda: client.create_bucket(id=bad),
        lambda: client.delete_group(id=bad),
        lambda: client.bucket(bad),
        lambda: client.collection(bad),
        lambda: client.group(bad),
        lambda: client.records(collection=bad),
        lambda: client.records().get(bad),
    ]
    for call in calls:
        with pytest.raises(ValueError):
            call()
    assert client.session.send.requests == []


def test_client_get_endpoint_uses_defaults(client):
    assert client.get_endpoint("record", id="r1") == "/buckets/blog/collections/posts/records/r1"
    assert client.get_endpoint("collection", bucket="b2", collection="c2") == (
        "/buckets/b2/collections/c2"
    )
    bare = Client("http://kinto.test/v1")
    assert bare.get_endpoint("bucket") == "/buckets/default"


@pytest.mark.parametrize("bad", ["..", "a/b", "a?b"])
def test_models_refuse_bad_places(bad):
    with pytest.raises(ValueError):

        class Bad(Record, collection=bad):
            pass

    with pytest.raises(ValueError):

        class Bad2(Record, bucket=bad):
            pass


def test_model_paths_are_built_from_checked_ids(client):
    record = client.collection("posts").record("p1")
    assert record.path == "/buckets/blog/collections/posts/records/p1"
    assert isinstance(record.parent, Collection)
    record.id = "../other"
    with pytest.raises(ValueError):
        _ = record.path
