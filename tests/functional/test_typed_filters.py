"""Filters typed end to end: values checked against their field's type before any request
and sent as the model sends them; expressions on fields (``where``); and typed reads'
errors that name the object, the model and what is missing."""

from __future__ import annotations

import datetime
import enum

import pytest
from pydantic import BaseModel

from kinto_orm import BulkResult, Client, KintoException, NotFound, Record

from .conftest import Raw, rec_path, seed


class Genre(enum.Enum):
    SF = "sf"
    POEM = "poem"


class Place(BaseModel):
    city: str


class Book(Record):
    title: str
    pages: int = 0
    genre: Genre = Genre.SF
    out: datetime.date | None = None
    tags: list[str] = []
    pub: Place | None = None


ROWS = [
    {"id": "b1", "title": "Dune", "pages": 600, "genre": "sf", "out": "1965-08-01",
     "tags": ["classic", "desert"], "pub": {"city": "Philadelphia"}},
    {"id": "b2", "title": "Odes", "pages": 80, "genre": "poem", "out": "2001-01-01",
     "tags": ["short"], "pub": {"city": "Paris"}},
    {"id": "b3", "title": "Solaris", "pages": 200, "genre": "sf", "out": "1961-06-01",
     "tags": ["classic"], "pub": {"city": "Warsaw"}},
]


@pytest.fixture
def books(client: Client, raw: Raw, bid: str, cid: str) -> Client:
    seed(raw, bid, cid, ROWS)
    return client


def ids(query: object) -> list[str]:
    return sorted(book.id for book in query)  # type: ignore[attr-defined]


def test_values_are_sent_as_the_model_sends_them(books: Client, cid: str) -> None:
    query = books.records(Book, collection=cid)
    assert ids(query.filter(genre=Genre.SF)) == ["b1", "b3"]
    assert ids(query.filter(genre="poem")) == ["b2"]
    assert ids(query.filter(out__lt=datetime.date(1965, 1, 1))) == ["b3"]
    assert ids(query.filter(pages__gte="200")) == ["b1", "b3"]  # what Book accepts
    assert ids(query.filter(genre__in=[Genre.POEM, "sf"])) == ["b1", "b2", "b3"]
    assert ids(query.filter(tags__contains="classic")) == ["b1", "b3"]
    assert ids(query.exclude(genre=Genre.SF)) == ["b2"]
    assert ids(query.filter(pub__city="Paris")) == ["b2"]


@pytest.mark.parametrize(("lookups", "message"), [
    ({"pages__gte": "many"}, r"filter\(pages__gte=...\): Book.pages is of type int: 'many'"),
    ({"genre": "novel"}, "Book.genre is of type Genre"),
    ({"out__lt": "someday"}, "Book.out is of type"),
    ({"pages__in": [1, "x"]}, "Book.pages is of type int: 'x'"),
    ({"pages__in": 3}, "takes a list of int"),
    ({"tags__contains": [1.5]}, "Book.tags is of type str"),
    ({"pub__city": 3}, "Book.pub.city is of type str"),
])
def test_a_wrong_type_is_refused_before_any_request(
    dead: Client, lookups: dict[str, object], message: str
) -> None:
    query = dead.records(Book, collection="nowhere")
    with pytest.raises(TypeError, match=message):
        query.filter(**lookups).count()


def test_where_expressions(books: Client, cid: str) -> None:
    query = books.records(Book, collection=cid)
    assert ids(query.where(lambda b: b.pages >= 200)) == ["b1", "b3"]
    assert ids(query.where(lambda b: b.pages > 100, lambda b: b.genre == Genre.SF)) == [
        "b1", "b3"]
    assert ids(query.where(lambda b: (b.genre != Genre.SF) & (b.pages < 100))) == ["b2"]
    assert ids(query.where(lambda b: 600 <= b.pages)) == ["b1"]  # noqa: SIM300
    assert b_city(query) == ["b3"]
    with pytest.raises(ValueError, match="Did you mean 'pages'"):
        query.where(lambda b: b.pagez > 1)  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match=r"Book\.pages is of type int"):
        query.where(lambda b: b.pages > "many")  # type: ignore[operator]
    with pytest.raises(TypeError, match="no truth value"):
        query.where(lambda b: 1 < b.pages < 300)
    with pytest.raises(TypeError, match="where\\(\\) takes functions"):
        query.where(True)  # type: ignore[arg-type]


def b_city(query: object) -> list[str]:
    return ids(query.where(lambda b: b.pub.city == "Warsaw"))  # type: ignore[attr-defined,union-attr]


def test_get_of_a_record_that_does_not_fit_names_it(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    raw.put(rec_path(bid, cid, "bad"), {"title": "x", "pages": "many"})
    query = client.records(Book, collection=cid)
    with pytest.raises(ValueError, match=r"Object 'bad' of .* does not fit Book") as info:
        query.get("bad")
    assert "pages" in str(info.value)
    with pytest.raises(ValueError, match=r"Object 'bad' of .* does not fit Book"):
        query.all()


def test_head_errors_name_what_is_missing(client: Client, bid: str) -> None:
    with pytest.raises(NotFound) as info:
        client.records(Book, collection="nonexistent").count()
    assert str(info.value).endswith(
        f"404 - collection 'nonexistent' does not exist in bucket '{bid}'"
    )
    assert str(info.value).startswith("HEAD ")
    assert info.value.details == {"id": "nonexistent", "resource_name": "collection"}
    with pytest.raises(NotFound, match="collection 'nonexistent' does not exist"):
        client.records(Book, collection="nonexistent").timestamp()
    with pytest.raises(KintoException, match="bucket 'nobucket' does not exist"):
        client.records(Book, bucket="nobucket", collection="c").count()


def test_documented_types_import_from_the_package() -> None:
    assert BulkResult.__name__ == "BulkResult"


def test_refresh_of_a_record_that_does_not_fit_names_it(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    raw.put(rec_path(bid, cid, "b9"), {"title": "x", "pages": 1})
    book = client.records(Book, collection=cid).get("b9")
    raw.put(rec_path(bid, cid, "b9"), {"title": "x", "pages": "many"})
    with pytest.raises(ValueError, match=r"Object 'b9' at .* does not fit Book"):
        book.refresh()
    assert book.pages == 1
