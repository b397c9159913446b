"""Changes made in place (``note.tags.append("b")``, ``note.meta["x"] = 1``, a nested
model's field) are found by ``changes()`` and sent by ``patch()`` on every write path, and
a server answer never overwrites a local change that was not sent."""

from __future__ import annotations

import asyncio
import enum
from typing import Any

from pydantic import BaseModel

from kinto_orm import AsyncClient, Client, Record

from .conftest import Raw, rec_path


class Genre(enum.Enum):
    SF = "sf"
    POEM = "poem"


class Place(BaseModel):
    city: str
    zip: str = ""


class Book(Record):
    title: str
    pages: int = 0
    genre: Genre = Genre.SF
    tags: list[str] = []
    meta: dict[str, Any] = {}
    marks: set[str] = set()
    pub: Place | None = None


def stored(raw: Raw, bid: str, cid: str, rid: str) -> dict[str, Any]:
    return raw.data(rec_path(bid, cid, rid))


def seed_book(raw: Raw, bid: str, cid: str, rid: str = "b1", **extra: Any) -> None:
    raw.put(rec_path(bid, cid, rid), {
        "title": "Dune", "pages": 10, "genre": "sf", "tags": ["a"], "meta": {"k": 0},
        "marks": ["m"], "pub": {"city": "A", "zip": "1"}, **extra,
    })


def edit_in_place(book: Book) -> None:
    book.tags.append("b")
    book.meta["x"] = 1
    book.marks.add("n")
    assert book.pub is not None
    book.pub.city = "B"


def assert_edits_stored(data: dict[str, Any]) -> None:
    assert data["tags"] == ["a", "b"]
    assert data["meta"] == {"k": 0, "x": 1}
    assert sorted(data["marks"]) == ["m", "n"]
    assert data["pub"] == {"city": "B", "zip": "1"}


def test_in_place_changes_are_found_and_patched(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    seed_book(raw, bid, cid)
    book = client.records(Book, collection=cid).get("b1")
    assert book.tags == ["a"] and book.pub is not None and book.pub.city == "A"
    assert book.changes() == {}  # reading is not changing
    edit_in_place(book)
    assert set(book.changes()) == {"tags", "meta", "marks", "pub"}
    book.patch()
    assert_edits_stored(stored(raw, bid, cid, "b1"))
    assert book.changes() == {}
    assert book.tags == ["a", "b"] and book.pub is not None and book.pub.city == "B"


def test_in_place_changes_with_an_assignment_are_all_sent(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    seed_book(raw, bid, cid)
    book = client.records(Book, collection=cid).all()[0]  # from a page
    edit_in_place(book)
    book.pages = 11
    book.patch()
    data = stored(raw, bid, cid, "b1")
    assert_edits_stored(data)
    assert data["pages"] == 11
    assert book.tags == ["a", "b"] and book.meta == {"k": 0, "x": 1}


def test_untouched_fields_are_not_sent(client: Client, raw: Raw, bid: str, cid: str) -> None:
    seed_book(raw, bid, cid)
    book = client.records(Book, collection=cid).get("b1")
    assert book.tags and book.meta and book.marks and book.pub  # read, not changed
    raw.patch(rec_path(bid, cid, "b1"), {"tags": ["other"]})  # someone else's write
    book.pages = 12
    assert book.changes() == {"pages": 12}
    book.patch(safe=False)
    assert stored(raw, bid, cid, "b1")["tags"] == ["other"]


def test_extra_fields_changed_in_place(client: Client, raw: Raw, bid: str, cid: str) -> None:
    raw.put(rec_path(bid, cid, "r1"), {"info": {"a": 1}, "list": [1]})
    rec = client.records(Record, collection=cid).get("r1")
    rec["info"]["b"] = 2
    rec.list.append(2)
    assert set(rec.changes()) == {"info", "list"}
    rec.patch()
    data = stored(raw, bid, cid, "r1")
    assert data["info"] == {"a": 1, "b": 2} and data["list"] == [1, 2]


def test_pages_and_async_objects_track_in_place_changes(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    seed_book(raw, bid, cid, "b1")
    seed_book(raw, bid, cid, "b2")
    for page in client.records(Book, collection=cid).pages():
        for book in page:
            book.tags.append(book.id)
            book.patch()
    assert stored(raw, bid, cid, "b2")["tags"] == ["a", "b2"]

    async def main() -> None:
        async with AsyncClient(kinto_server.url, auth=client.session.auth,
                               bucket=bid) as aclient:
            book = await aclient.records(Book, collection=cid).aget("b1")
            edit_in_place(book)
            await book.apatch()
            async with aclient.batch():
                book.tags.append("c")
                await book.apatch()

    asyncio.run(main())
    data = stored(raw, bid, cid, "b1")
    assert data["tags"] == ["a", "b1", "b", "c"]


def test_batch_patch_sends_in_place_changes(client: Client, raw: Raw, bid: str, cid: str) -> None:
    seed_book(raw, bid, cid)
    book = client.records(Book, collection=cid).get("b1")
    with client.batch():
        edit_in_place(book)
        book.patch()
    assert_edits_stored(stored(raw, bid, cid, "b1"))


def test_an_answer_keeps_local_changes_not_sent(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    seed_book(raw, bid, cid)
    book = client.records(Book, collection=cid).get("b1")
    book.tags.append("local")
    book.title = "Dune II"
    book.patch({"pages": 99})  # sends pages only
    assert stored(raw, bid, cid, "b1")["tags"] == ["a"]
    assert book.pages == 99 and book.tags == ["a", "local"] and book.title == "Dune II"
    assert set(book.changes()) == {"tags", "title"}
    book.patch()
    data = stored(raw, bid, cid, "b1")
    assert data["tags"] == ["a", "local"] and data["title"] == "Dune II"


def test_a_change_made_while_a_batch_waits_is_kept(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    seed_book(raw, bid, cid)
    book = client.records(Book, collection=cid).get("b1")
    with client.batch():
        book.pages = 50
        book.patch()
        book.tags.append("later")  # after the patch was queued: not in it
        book.title = "Later"
    assert stored(raw, bid, cid, "b1")["tags"] == ["a"]
    assert book.pages == 50 and book.tags == ["a", "later"] and book.title == "Later"
    assert set(book.changes()) == {"tags", "title"}


def test_bulk_save_of_changed_objects(client: Client, raw: Raw, bid: str, cid: str) -> None:
    seed_book(raw, bid, cid, "b1")
    seed_book(raw, bid, cid, "b2")
    query = client.records(Book, collection=cid)
    books = query.all()
    for book in books:
        book.tags.append("bulk")
    assert query.bulk_save(books).ok
    assert stored(raw, bid, cid, "b2")["tags"] == ["a", "bulk"]
    assert all(book.changes() == {} for book in books)


def test_an_answer_keeps_permissions_not_sent(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    seed_book(raw, bid, cid)
    book = client.records(Book, collection=cid).get("b1")
    book.permissions.read = ["system.Everyone"]
    book.patch({"pages": 5})  # data only
    assert raw.body(rec_path(bid, cid, "b1"))["permissions"].get("read") is None
    assert book.permissions.read == ["system.Everyone"] and book.pages == 5
    book.patch()
    assert raw.body(rec_path(bid, cid, "b1"))["permissions"]["read"] == ["system.Everyone"]
    assert book._permission_changes() == {}
