"""Values changed in place, behind assignment validation (``card.tags.append(5)``, a
nested model's field), never reach the server: every write path checks them again,
whichever part of the model a write re-validates (see ``models/writes.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pydantic
import pytest
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kinto_orm import AsyncClient, Client, Record
from kinto_orm.models.writes import write_validator

from .conftest import Raw, rec_path


class Person(BaseModel):  # a plain model: its assignments are not validated
    name: str
    age: int


class Card(Record):
    title: str
    done: bool = False
    tags: list[str] = []
    scores: dict[str, int] = {}
    owner: Person | None = None
    team: list[Person] = []
    labels: list[str] = Field(default_factory=list, alias="Labels")
    slots: tuple[list[int], ...] = ()


class Bounded(Record):
    """A field validator that reads another field: the object is checked as a whole."""

    limit: int = 2
    tags: list[str] = []

    @field_validator("tags")
    @classmethod
    def within_limit(cls, tags: list[str], info: pydantic.ValidationInfo) -> list[str]:
        if len(tags) > info.data["limit"]:
            raise ValueError("too many tags")
        return tags


class Span(Record):
    """A validator of one field that reads another: assigning that other one does not
    run it, so the object is checked as a whole."""

    start: int
    end: int

    @field_validator("end")
    @classmethod
    def after_start(cls, end: int, info: pydantic.ValidationInfo) -> int:
        if end < info.data["start"]:
            raise ValueError("ends before it starts")
        return end


class Unique(Record):
    """A model validator: the object is checked as a whole."""

    tags: list[str] = []

    @model_validator(mode="after")
    def unique_tags(self) -> Unique:
        if len(set(self.tags)) != len(self.tags):
            raise ValueError("duplicate tags")
        return self


class Unvalidated(Record):
    """Assignments not validated (the model's own choice): every write checks it all."""

    model_config = ConfigDict(validate_assignment=False)
    title: str
    rank: int = 0


class BadDefaults(Record):
    """Defaults Pydantic does not validate: a fixed one, one made by a factory."""

    title: str = "t"
    rank: int = "high"  # type: ignore[assignment]
    code: str = Field(default_factory=lambda: 5)  # type: ignore[arg-type,return-value]


class ShortStrings(Record):
    """A model constraint kinto-orm's own ids (36 characters) break."""

    model_config = ConfigDict(str_max_length=8)
    title: str = "t"


def fresh_card(rid: str) -> Card:
    return Card(id=rid, title="t", owner=Person(name="ann", age=30),
                team=[Person(name="bob", age=40)], slots=([1],), Labels=["x"])


#: In-place changes that make a valid object invalid, by where they happen.
BREAKS: dict[str, Callable[[Any], Any]] = {
    "list item": lambda card: card.tags.append(5),
    "dict value": lambda card: card.scores.__setitem__("x", "many"),
    "nested model field": lambda card: setattr(card.owner, "age", "old"),
    "model in a list": lambda card: setattr(card.team[0], "name", None),
    "item of a list of models": lambda card: card.team.append({"name": 1}),
    "aliased field": lambda card: card.labels.append(None),
    "list in a tuple": lambda card: card.slots[0].append("x"),
}


def broken(make: Callable[[str], Any] = fresh_card) -> list[tuple[str, Any]]:
    """``(what, object)`` for each break, every object valid before its change."""
    out = []
    for number, (what, change) in enumerate(BREAKS.items()):
        obj = make(f"bad{number}")
        change(obj)
        out.append((what, obj))
    return out


def others() -> list[tuple[str, Any]]:
    """Invalid objects of the models checked as a whole."""
    bounded = Bounded(id="bounded", tags=["a", "b"])
    bounded.tags.append("c")
    unique = Unique(id="unique", tags=["a"])
    unique.tags.append("a")
    unvalidated = Unvalidated(id="unvalidated", title="t")
    unvalidated.rank = "high"  # type: ignore[assignment]  # not checked when assigned
    span = Span(id="span", start=1, end=5)
    span.start = 10  # accepted: only start's own validators run
    fixed = BadDefaults(id="fixed", code="c")
    made = BadDefaults(id="made", rank=1)
    short = ShortStrings()
    return [("field validator with info", bounded), ("model validator", unique),
            ("assignment not validated", unvalidated), ("other field assigned", span),
            ("invalid default", fixed),
            ("invalid default_factory value", made), ("default id too long", short)]


def write_sync(client: Client, cid: str, way: str, objs: list[Any]) -> list[str]:
    """Write each object ``way``; returns the ids refused before sending."""
    refused = []
    if way in ("bulk_create", "bulk_save"):
        for model in {type(obj) for obj in objs}:
            query = client.records(model, collection=cid)
            items = [obj for obj in objs if type(obj) is model]
            result = getattr(query, way)(items)
            assert all(isinstance(f.error, pydantic.ValidationError) for f in result.failed)
            refused += result.failed_ids
        return refused
    for obj in objs:
        obj.bind(client, collection=cid)
        try:
            if way == "batch":
                with client.batch():
                    obj.save()
            else:
                getattr(obj, way)()
        except pydantic.ValidationError:
            refused.append(obj.id)
    return refused


async def write_async(client: AsyncClient, cid: str, way: str, objs: list[Any]) -> list[str]:
    refused = []
    if way == "abulk_create":
        for model in {type(obj) for obj in objs}:
            items = [obj for obj in objs if type(obj) is model]
            result = await client.records(model, collection=cid).abulk_create(items)
            refused += result.failed_ids
        return refused
    for obj in objs:
        obj.bind(client, collection=cid)
        try:
            if way == "abatch":
                async with client.batch():
                    await obj.asave()
            else:
                await getattr(obj, way)()
        except pydantic.ValidationError:
            refused.append(obj.id)
    return refused


SYNC_WAYS = ["save", "create", "batch", "bulk_create", "bulk_save"]
ASYNC_WAYS = ["asave", "acreate", "abatch", "abulk_create"]


@pytest.mark.parametrize("way", SYNC_WAYS + ASYNC_WAYS)
def test_in_place_changes_never_reach_the_server(
    kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str, way: str
) -> None:
    cases = broken() + others()
    objs = [obj for _, obj in cases]
    if way in ASYNC_WAYS:
        async def main() -> list[str]:
            async with AsyncClient(kinto_server.url, auth=client.session.auth,
                                   bucket=bid) as aclient:
                return await write_async(aclient, cid, way, objs)

        refused = asyncio.run(main())
    else:
        refused = write_sync(client, cid, way, objs)
    for what, obj in cases:
        assert obj.id in refused, f"{what}: not refused by {way}"
        assert raw.status(rec_path(bid, cid, obj.id)) == 404, f"{what}: sent by {way}"


def test_objects_read_with_fields_are_checked_in_full(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    """Objects a page made without validation (``fields()``: required fields missing) are
    refused by every write that could send them, as ``model_construct``'s are."""
    client.records(Card, collection=cid).bulk_create([fresh_card("c1"), fresh_card("c2")])
    partial = client.records(Card, collection=cid).fields("done", "tags").all()
    assert len(partial) == 2
    target = unique_collection(client, raw, bid)
    result = client.records(Card, collection=target).bulk_create(partial)
    assert sorted(result.failed_ids) == ["c1", "c2"] and result.done == 0
    with pytest.raises(pydantic.ValidationError, match="title"):
        partial[0].create(client=client)  # its own collection: same path, taken
    assert raw.status(rec_path(bid, target, "c1")) == 404
    assert raw.data(rec_path(bid, cid, "c1"))["title"] == "t"


def unique_collection(client: Client, raw: Raw, bid: str) -> str:
    name = f"other-{id(client)}"
    raw.put(f"/buckets/{bid}/collections/{name}", {})
    return name


def test_valid_in_place_changes_are_sent(client: Client, raw: Raw, bid: str, cid: str) -> None:
    card = fresh_card("good").bind(client, collection=cid)
    card.tags.append("new")
    card.scores["x"] = 3
    card.team[0].age = 41
    card.labels.append("y")
    card.slots[0].append(2)
    with client.batch():
        card.save()
    stored = raw.data(rec_path(bid, cid, "good"))
    assert stored["tags"] == ["new"] and stored["scores"] == {"x": 3}
    assert stored["team"] == [{"name": "bob", "age": 41}]
    assert stored["Labels"] == ["x", "y"] and stored["slots"] == [[1, 2]]
    result = client.records(Card, collection=cid).bulk_create([fresh_card("more")])
    assert result.ok
    assert raw.data(rec_path(bid, cid, "more"))["owner"] == {"name": "ann", "age": 30}


def test_what_a_write_checks_again() -> None:
    """The fields checked again are those that can change in place: a validator of them
    alone where that is the same check, the whole model's where it is not."""

    class Flat(Record):
        title: str
        rank: int = 0

    assert write_validator(Flat) is None
    partial = write_validator(Card)
    assert partial is not None and partial is not Card.__pydantic_validator__
    assert write_validator(Bounded) is Bounded.__pydantic_validator__
    assert write_validator(Unique) is Unique.__pydantic_validator__
    assert write_validator(Unvalidated) is Unvalidated.__pydantic_validator__
    assert write_validator(Span) is Span.__pydantic_validator__
    with pytest.raises(pydantic.ValidationError, match="tags"):
        partial.validate_python({"title": 1, "done": "x", "tags": [5]})
    partial.validate_python({"title": 1, "done": "x"})  # left to assignment validation
