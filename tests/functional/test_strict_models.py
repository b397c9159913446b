"""Typos never become data: a typed model refuses an unknown constructor keyword and an
undeclared attribute, with a "did you mean"; what the server sends is still all kept."""

from __future__ import annotations

from typing import Any

import pytest

from kinto_orm import Client, Collection, Record

from .conftest import Raw, rec_path


class Book(Record):
    title: str
    isbn: str | None = None


def test_unknown_keyword_is_refused_before_anything_is_sent(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    with pytest.raises(TypeError, match=r"'isbnn'\. Did you mean 'isbn'\?"):
        Book(id="b1", title="Dune", isbnn="123")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="Did you mean 'title'"):
        client.collection(cid).record("b1", Book, titel="Dune")
    assert raw.status(rec_path(bid, cid, "b1")) == 404


def test_undeclared_attribute_is_refused(client: Client, raw: Raw, bid: str, cid: str) -> None:
    book = Book(id="b1", title="Dune").bind(client, collection=cid)
    with pytest.raises(AttributeError, match=r"no field 'titel'\. Did you mean 'title'"):
        book.titel = "Dune II"  # type: ignore[attr-defined]
    book.save()
    assert raw.data(rec_path(bid, cid, "b1")) == {
        "id": "b1", "title": "Dune", "isbn": None, "last_modified": book.last_modified
    }


def test_server_fields_are_kept_and_written_back(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    raw.put(rec_path(bid, cid, "b1"), {"title": "Dune", "shelf": {"row": 1}, "lang": "en"})
    book = client.records(Book, collection=cid).get("b1")
    assert book["lang"] == "en"
    book.lang = "fr"  # an extra field it holds: assignable
    book["added"] = True  # an extra field added on purpose
    book.title = "Dune II"
    book.save()
    data = raw.data(rec_path(bid, cid, "b1"))
    assert data["shelf"] == {"row": 1} and data["lang"] == "fr" and data["added"] is True
    from_page = client.records(Book, collection=cid).all()[0]
    assert from_page["shelf"] == {"row": 1}
    outside = Book.model_validate({"title": "x", "note": "kept"})  # outside data: kept
    assert outside["note"] == "kept"


def test_plain_record_and_containers_take_any_field(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    rec = Record(id="r1", color="blue").bind(client, collection=cid)
    rec.size = 3
    rec.save()
    assert raw.data(rec_path(bid, cid, "r1"))["size"] == 3
    coll = client.collection(cid)
    coll.label = "free"
    coll.patch()
    assert raw.data(f"/buckets/{bid}/collections/{cid}")["label"] == "free"


def test_collection_schema_by_its_kinto_name(client: Client, raw: Raw, bid: str) -> None:
    schema: dict[str, Any] = {"type": "object", "properties": {"title": {"type": "string"}}}
    made = Collection(id="withschema", schema=schema).bind(client, bucket=bid).create()
    assert made.schema_ == schema and made.model_extra == {}
    assert raw.data(f"/buckets/{bid}/collections/withschema")["schema"] == schema
    coll = client.collection("withschema")
    coll.refresh()
    coll.schema = {"type": "object"}  # type: ignore[assignment,method-assign]
    assert coll.schema_ == {"type": "object"} and coll.model_extra == {}
    coll.patch()
    assert raw.data(f"/buckets/{bid}/collections/withschema")["schema"] == {"type": "object"}
