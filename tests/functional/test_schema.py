"""JSON schemas from models: ``Model.kinto_schema()`` (Draft 7, the form Kinto checks)
and ``collection.set_schema(Model)``, which makes the real server refuse what the model
refuses. Server state is checked with separate plain-HTTP reads (``raw``)."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any, Literal, Optional

import jsonschema
import pydantic
import pytest
from pydantic import BaseModel, Field

from kinto_orm import AsyncClient, BadRequest, Client, Collection, Record

from .conftest import Raw, rec_path

DRAFT7 = "http://json-schema.org/draft-07/schema#"


class Address(BaseModel):
    city: str
    zip: Optional[str] = None


class Person(Record):
    name: str
    age: Optional[int] = None
    kind: Literal["human", "robot"] = "human"
    point: tuple[int, int] = (0, 0)
    tags: tuple[str, ...] = ()
    born: datetime.date | None = None
    seen: datetime.datetime | None = None
    address: Address | None = None
    others: list[Address] = Field(default_factory=list)
    score: float = Field(default=0, ge=0, le=10)


def walk(node: Any) -> Any:
    """Every dict key and every ``$ref`` value of a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            if key == "$ref":
                yield value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def good_person(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Ada",
        "age": 36,
        "kind": "human",
        "point": [1, 2],
        "tags": ["a", "b", "c"],
        "born": "1815-12-10",
        "seen": "2024-01-01T10:00:00+00:00",
        "address": {"city": "London", "zip": None},
        "others": [{"city": "Paris"}],
        "score": 9.5,
    }
    data.update(changes)
    return data


def test_kinto_schema_is_draft7_without_kinto_fields() -> None:
    schema = Person.kinto_schema()
    assert schema["$schema"] == DRAFT7
    keys = set(walk(schema))
    assert "$defs" not in keys and "prefixItems" not in keys
    assert not any(isinstance(k, str) and k.startswith("#/$defs/") for k in keys)
    assert schema["type"] == "object"
    assert not {"id", "last_modified", "permissions", "schema"} & set(schema["properties"])
    assert schema["required"] == ["name"]
    assert "Permissions" not in schema.get("definitions", {})
    assert set(schema["definitions"]) == {"Address"}
    assert schema["properties"]["point"]["items"] == [{"type": "integer"}, {"type": "integer"}]
    assert schema["properties"]["point"]["additionalItems"] is False
    assert schema["properties"]["tags"]["items"] == {"type": "string"}
    jsonschema.Draft7Validator.check_schema(schema)


def test_kinto_schema_agrees_with_the_model() -> None:
    validator = jsonschema.Draft7Validator(Person.kinto_schema())
    person = Person.model_validate(good_person(extra=[1]))  # extra fields are allowed
    sent = person.model_dump(mode="json", exclude={"permissions", "last_modified", "id"})
    assert list(validator.iter_errors(sent)) == []
    for bad in bad_people():
        with pytest.raises(pydantic.ValidationError):
            Person.model_validate(bad[1])
        assert list(validator.iter_errors(bad[1])), bad


def test_kinto_schema_without_required_fields() -> None:
    class Loose(Record):
        note: str = ""

    schema = Loose.kinto_schema()
    assert "required" not in schema and set(schema["properties"]) == {"note"}
    assert "definitions" not in schema


def bad_people() -> list[tuple[str, dict[str, Any]]]:
    """(field the server should name, data the model refuses)."""
    missing_name = good_person()
    del missing_name["name"]
    return [
        ("name", missing_name),
        ("name", good_person(name=3)),
        ("age", good_person(age="old")),
        ("kind", good_person(kind="alien")),
        ("point", good_person(point=[1, 2, 3])),
        ("point", good_person(point=[1])),
        ("born", good_person(born=20240101)),
        ("address", good_person(address={"zip": "N1"})),
        ("city", good_person(others=[{"city": 12}])),
        ("score", good_person(score=11)),
    ]


@pytest.fixture
def typed(coll: Collection, raw: Raw, bid: str, cid: str) -> Collection:
    """``coll`` validated by ``Person``."""
    returned = coll.set_schema(Person)
    assert returned is coll and coll.schema_ == Person.kinto_schema()
    assert raw.data(f"/buckets/{bid}/collections/{cid}")["schema"] == Person.kinto_schema()
    return coll


def test_set_schema_accepts_what_the_model_accepts(
    client: Client, typed: Collection, bid: str, cid: str, raw: Raw
) -> None:
    person = Person.model_validate(good_person(id="ada")).bind(client, collection=cid)
    person.save()
    stored = raw.data(rec_path(bid, cid, "ada"))
    assert stored["name"] == "Ada" and stored["address"] == {"city": "London", "zip": None}
    assert isinstance(stored["schema"], int)  # the server validated it against the schema

    minimal = Person(id="min", name="Min").bind(client, collection=cid)
    minimal.save()
    assert raw.data(rec_path(bid, cid, "min"))["point"] == [0, 0]
    minimal.patch({"kind": "robot", "born": datetime.date(2020, 2, 29)})
    assert raw.data(rec_path(bid, cid, "min"))["born"] == "2020-02-29"


@pytest.mark.parametrize(("field", "data"), bad_people(), ids=lambda v: str(v)[:20])
def test_set_schema_server_refuses_what_the_model_refuses(
    client: Client, typed: Collection, bid: str, cid: str, raw: Raw, field: str,
    data: dict[str, Any],
) -> None:
    with pytest.raises(pydantic.ValidationError):
        Person.model_validate(data)
    with pytest.raises(BadRequest) as info:
        client.create_record(id="bad", collection=cid, data=data)
    exc = info.value
    assert exc.status_code == 400 and exc.errno == 107
    assert [d["name"] for d in exc.details] == [field]
    assert field in str(exc)
    assert raw.status(rec_path(bid, cid, "bad")) == 404


def test_model_instance_refused_by_the_server(
    client: Client, typed: Collection, bid: str, cid: str, raw: Raw
) -> None:
    """A model built without validation (model_construct) is checked before sending, and
    Kinto's schema would refuse it anyway."""
    sneaky = Person.model_construct(id="sneaky", name="S", kind="alien")
    sneaky.bind(client, collection=cid)
    with pytest.raises(pydantic.ValidationError, match="kind"):
        sneaky.save()
    assert raw.status(rec_path(bid, cid, "sneaky")) == 404
    with pytest.raises(BadRequest) as info:
        client.create_record(id="sneaky", collection=cid, data={"name": "S", "kind": "alien"})
    assert info.value.details[0]["name"] == "kind"


def test_set_schema_none_removes_it(
    client: Client, typed: Collection, bid: str, cid: str, raw: Raw
) -> None:
    typed.set_schema(None)
    assert raw.data(f"/buckets/{bid}/collections/{cid}").get("schema") in (None, {})
    client.create_record(id="free", collection=cid, data={"kind": "alien"})
    assert raw.data(rec_path(bid, cid, "free"))["kind"] == "alien"


def test_nested_and_recursive_models(
    client: Client, coll: Collection, bid: str, cid: str, raw: Raw
) -> None:
    class Node(BaseModel):
        label: str
        children: list[Node] = Field(default_factory=list)

    class Tree(Record):
        root: Node

    Tree.model_rebuild()
    schema = Tree.kinto_schema()
    assert set(schema["definitions"]) == {"Node"}
    jsonschema.Draft7Validator.check_schema(schema)
    coll.set_schema(Tree)
    tree = Tree(id="t1", root=Node(label="a", children=[Node(label="b")]))
    tree.bind(client, collection=cid).save()
    assert raw.data(rec_path(bid, cid, "t1"))["root"]["children"][0]["label"] == "b"
    with pytest.raises(BadRequest) as info:
        client.create_record(
            id="t2", collection=cid, data={"root": {"label": "a", "children": [{"x": 1}]}}
        )
    # Kinto names the innermost path element: here the list index of the bad child.
    assert info.value.details[0]["name"] in ("children", "label", 0)
    assert raw.status(rec_path(bid, cid, "t2")) == 404


def test_aset_schema(kinto_server: Any, client: Client, bid: str, cid: str, raw: Raw) -> None:
    async def main() -> None:
        async with AsyncClient(kinto_server.url, auth=client.session.auth, bucket=bid) as aclient:
            coll = aclient.collection(cid)
            assert await coll.aset_schema(Person) is coll
            with pytest.raises(BadRequest) as info:
                await aclient.create_record(id="bad", collection=cid, data={"name": 1})
            assert info.value.details[0]["name"] == "name"
            await Person(id="ok", name="Ok").bind(aclient, collection=cid).asave()
            await coll.aset_schema(None)
            await aclient.create_record(id="free", collection=cid, data={"name": 1})

    asyncio.run(main())
    assert raw.data(rec_path(bid, cid, "ok"))["name"] == "Ok"
    assert raw.data(rec_path(bid, cid, "free"))["name"] == 1


def test_schema_uses_the_names_that_are_sent(
    client: Client, coll: Collection, bid: str, cid: str, raw: Raw
) -> None:
    class Aliased(Record):
        title: str = Field(serialization_alias="Title")

    coll.set_schema(Aliased)
    Aliased(id="a1", title="x").bind(client, collection=cid).save()
    assert raw.data(rec_path(bid, cid, "a1"))["Title"] == "x"


def test_strict_model_in_a_validated_collection(
    client: Client, coll: Collection, bid: str, cid: str, raw: Raw
) -> None:
    class Strict(Record):
        model_config = pydantic.ConfigDict(extra="forbid")
        name: str

    assert Strict.kinto_schema()["additionalProperties"] is False
    coll.set_schema(Strict)
    strict = Strict(id="s1", name="n").bind(client, collection=cid)
    try:
        strict.save()
    finally:
        assert raw.data(rec_path(bid, cid, "s1"))["name"] == "n"  # stored either way
    assert strict.last_modified == raw.data(rec_path(bid, cid, "s1"))["last_modified"]
