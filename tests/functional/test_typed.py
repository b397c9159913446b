"""Typed Record subclasses (class keywords ``bucket=`` / ``collection=``) end to end."""

from __future__ import annotations

import datetime
import uuid

import pydantic
import pytest
from pydantic import Field

from kinto_orm import Client, Record

from .conftest import DEAD_URL, Raw, ids, rec_path


def make_todo(bucket: str | None, collection: str | None) -> type[Record]:
    kwargs = {k: v for k, v in {"bucket": bucket, "collection": collection}.items() if v}

    class Todo(Record, **kwargs):  # type: ignore[call-arg]
        title: str
        done: bool = False
        due: datetime.date | None = None
        priority: int = 0

    return Todo


def test_class_keywords_place_the_model(client: Client, bid: str, cid: str, raw: Raw) -> None:
    Todo = make_todo(bid, cid)
    assert Todo.kinto_bucket == bid and Todo.kinto_collection == cid
    todo = Todo(id="t1", title="write tests").bind(client)
    assert todo.path == rec_path(bid, cid, "t1")
    todo.save()
    stored = raw.data(rec_path(bid, cid, "t1"))
    assert stored["title"] == "write tests"
    assert stored["done"] is False and stored["priority"] == 0  # defaults are stored


def test_class_keywords_win_over_client_defaults(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    Todo = make_todo(bid, cid)
    raw.put(rec_path(bid, cid, "t1"), {"title": "a"})
    elsewhere = client.clone(collection="elsewhere")
    assert [t.id for t in elsewhere.records(Todo)] == ["t1"]
    todo = Todo(id="t2", title="b").bind(elsewhere)
    todo.save()
    assert raw.data(rec_path(bid, cid, "t2"))["title"] == "b"


def test_records_arguments_override_class_keywords(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    Todo = make_todo("somewhere", "else")
    raw.put(rec_path(bid, cid, "t1"), {"title": "here"})
    found = client.records(Todo, bucket=bid, collection=cid).all()
    assert [t.title for t in found] == ["here"]  # type: ignore[attr-defined]
    # Objects read that way stay where they were read.
    found[0].title = "still here"  # type: ignore[attr-defined]
    found[0].save()
    assert raw.data(rec_path(bid, cid, "t1"))["title"] == "still here"


def test_collection_keyword_only_uses_client_bucket(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    Todo = make_todo(None, cid)
    todo = Todo(id="t1", title="x").bind(client)
    todo.save()
    assert raw.data(rec_path(bid, cid, "t1"))["title"] == "x"
    assert [t.id for t in client.records(Todo)] == ["t1"]


def test_collection_keyword_only_with_client_argument(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    Todo = make_todo(None, cid)
    todo = Todo(id="t1", title="x")
    try:
        todo.save(client=client)
        assert raw.status(rec_path(bid, cid, "t1")) == 200
    finally:
        client.delete_record(
            id="t1", bucket="default", collection=cid, if_exists=True, safe=False
        )


def test_model_without_keywords_uses_client_collection(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    Todo = make_todo(None, None)
    scoped = client.clone(collection=cid)
    Todo(id="t1", title="x").bind(scoped).save()
    assert raw.data(rec_path(bid, cid, "t1"))["title"] == "x"
    assert [t.id for t in scoped.records(Todo)] == ["t1"]


def test_model_without_any_collection_is_refused() -> None:
    Todo = make_todo(None, None)
    with Client(DEAD_URL, bucket="b") as plain, pytest.raises(ValueError, match="collection"):
        plain.records(Todo)


def test_typed_create_without_id(client: Client, bid: str, cid: str, raw: Raw) -> None:
    Todo = make_todo(bid, cid)
    todo = Todo(title="posted").bind(client).create()
    assert todo.id is not None
    uuid.UUID(todo.id)
    assert raw.data(rec_path(bid, cid, todo.id))["title"] == "posted"


def test_date_fields_round_trip(client: Client, bid: str, cid: str, raw: Raw) -> None:
    Todo = make_todo(bid, cid)
    Todo(id="t1", title="x", due=datetime.date(2024, 12, 31)).bind(client).save()
    stored = raw.data(rec_path(bid, cid, "t1"))
    assert stored["due"] == "2024-12-31"
    fresh = client.records(Todo).get("t1")
    assert fresh.due == datetime.date(2024, 12, 31)  # type: ignore[attr-defined]
    assert client.records(Todo).filter(due=datetime.date(2024, 12, 31)).count() == 1
    assert client.records(Todo).filter(due__lt=datetime.date(2024, 12, 31)).count() == 0


def test_server_values_are_validated_into_types(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    Todo = make_todo(bid, cid)
    raw.put(rec_path(bid, cid, "t1"), {"title": "x", "due": "2025-01-02", "priority": 3})
    todo = client.records(Todo).get("t1")
    assert todo.due == datetime.date(2025, 1, 2)  # type: ignore[attr-defined]
    assert todo.priority == 3 and todo.done is False  # type: ignore[attr-defined]


def test_typed_patch_sends_only_changed_typed_fields(
    client: Client, twin: Client, bid: str, cid: str, raw: Raw
) -> None:
    Todo = make_todo(bid, cid)
    raw.put(rec_path(bid, cid, "t1"), {"title": "x", "done": False, "priority": 1})
    todo = client.records(Todo).get("t1")
    twin.patch_record(id="t1", collection=cid, data={"priority": 5, "note": "theirs"})
    todo.done = True  # type: ignore[attr-defined]
    todo.patch(safe=False)
    stored = raw.data(rec_path(bid, cid, "t1"))
    assert stored["done"] is True
    assert stored["priority"] == 5 and stored["note"] == "theirs"
    assert todo.priority == 5  # type: ignore[attr-defined]


def test_typed_field_set_to_none(client: Client, bid: str, cid: str, raw: Raw) -> None:
    Todo = make_todo(bid, cid)
    todo = Todo(id="t1", title="x", due=datetime.date(2024, 1, 1)).bind(client).save()
    todo.due = None  # type: ignore[attr-defined]
    todo.patch()
    assert raw.data(rec_path(bid, cid, "t1"))["due"] is None


def test_aliased_field(client: Client, bid: str, cid: str, raw: Raw) -> None:
    class Mail(Record, bucket=bid, collection=cid):
        sender: str = Field(alias="from")
        subject: str = ""

    raw.put(rec_path(bid, cid, "m1"), {"from": "alice", "subject": "hi"})
    mail = client.records(Mail).get("m1")
    assert mail.sender == "alice" and mail["from"] == "alice"
    mail.sender = "bob"
    mail.patch()
    stored = raw.data(rec_path(bid, cid, "m1"))
    assert stored["from"] == "bob" and "sender" not in stored
    Mail(id="m2", sender="carol").bind(client).save()
    assert raw.data(rec_path(bid, cid, "m2"))["from"] == "carol"


def test_inherited_class_keywords(client: Client, bid: str, cid: str, raw: Raw) -> None:
    Todo = make_todo(bid, cid)

    class Urgent(Todo):  # type: ignore[valid-type, misc]
        reason: str = "because"

    assert Urgent.kinto_bucket == bid and Urgent.kinto_collection == cid
    Urgent(id="u1", title="now").bind(client).save()
    assert raw.data(rec_path(bid, cid, "u1"))["reason"] == "because"


def test_typed_validation_error_on_server_data(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    Todo = make_todo(bid, cid)
    raw.put(rec_path(bid, cid, "t1"), {"title": "x", "priority": "high"})
    with pytest.raises(ValueError, match=r"Object 't1' of .* does not fit Todo") as info:
        client.records(Todo).get("t1")  # names the record and the model, as all() does
    assert isinstance(info.value.__cause__, pydantic.ValidationError)
    with pytest.raises(pydantic.ValidationError):
        Todo(id="t2", title="x", priority="high")


def test_typed_records_with_extras_round_trip(
    client: Client, bid: str, cid: str, raw: Raw
) -> None:
    Todo = make_todo(bid, cid)
    raw.put(rec_path(bid, cid, "t1"), {"title": "x", "color": "red", "meta": {"a": [1]}})
    todo = client.records(Todo).get("t1")
    todo.title = "y"  # type: ignore[attr-defined]
    todo.save()
    stored = raw.data(rec_path(bid, cid, "t1"))
    assert stored["color"] == "red" and stored["meta"] == {"a": [1]} and stored["title"] == "y"
    assert ids(raw.all(rec_path(bid, cid))) == ["t1"]
