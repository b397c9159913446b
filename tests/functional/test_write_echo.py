"""A write's answer that echoes what was sent is taken without validating it again
(``models/echo.py``). Whatever path an answer takes, the object afterwards is what
validating the server's answer makes: the same values, of the same types, the same fields
set, the server's permissions, and values of its own (no list or dict shared with a
reference kept from before the write, or with a copy)."""

from __future__ import annotations

import datetime
import decimal
import enum
from collections.abc import Callable
from typing import Annotated, Any

import pytest
from pydantic import AfterValidator, AliasChoices, ConfigDict, Field, computed_field
from pydantic.alias_generators import to_camel

from kinto_orm import Client, Record

from .conftest import Raw, rec_path


class Color(str, enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Sheet(Record):
    title: str
    done: bool = False
    tags: list[str] = []
    scores: dict[str, list[float]] = {}
    price: decimal.Decimal = decimal.Decimal("0")
    ratio: float = 1.0
    color: Color = Color.RED
    level: Level = Level.LOW
    due: datetime.date | None = None
    anything: Any = None
    note: str | None = Field(default=None, alias="Note")


def oracle(obj: Record, raw: Raw, path: str) -> Record:
    """What validating the server's stored record makes."""
    return type(obj).model_validate(type(obj).incoming(raw.data(path)))


def same_state(obj: Record, expected: Record) -> None:
    assert obj.model_dump() == expected.model_dump()
    assert obj.model_fields_set == expected.model_fields_set
    for name in type(obj).model_fields:
        if name == "permissions":
            continue
        mine, theirs = getattr(obj, name), getattr(expected, name)
        assert repr(mine) == repr(theirs), name  # values and types, all the way down
    assert obj.model_extra == expected.model_extra
    assert obj.changes() == {}


def mutable_values(obj: Record) -> list[Any]:
    values = [*obj.__dict__.values(), *(obj.__pydantic_extra__ or {}).values()]
    return [value for value in values if isinstance(value, (list, dict))]


SHEETS: list[Callable[[], Record]] = [
    lambda: Sheet(id="plain", title="t"),
    lambda: Sheet(id="full", title="t", tags=["a", "b"], scores={"x": [1.5, 2.0]},
                  price=decimal.Decimal("2.50"), ratio=2.0, color=Color.BLUE,
                  level=Level.HIGH, anything={"k": [1, {"n": None}]}, Note="n"),
    lambda: Sheet(id="dated", title="t", due=datetime.date(2026, 12, 5)),  # not an echo
    lambda: Sheet.model_validate({"id": "extra", "title": "t", "free": [1, 2], "o": {"a": 1}}),
    lambda: Record(id="untyped", x=[1, {"y": [2.5]}], n=3, s="z"),
    lambda: Sheet.model_construct(id="built", title="t", tags=["a"]),  # checked in full
]


@pytest.mark.parametrize("make", SHEETS)
@pytest.mark.parametrize("how", ["save", "create", "bulk", "batch"])
def test_the_object_after_a_write_is_what_validating_the_answer_makes(
    make: Callable[[], Record], how: str, client: Client, raw: Raw, bid: str, cid: str
) -> None:
    sheet = make().bind(client, collection=cid)
    held = mutable_values(sheet)
    if how == "save":
        sheet.save()
    elif how == "create":
        sheet.create()
    elif how == "bulk":
        assert client.records(type(sheet), collection=cid).bulk_create([sheet]).ok
    else:
        with client.batch():
            sheet.save()
    path = rec_path(bid, cid, sheet.id)
    same_state(sheet, oracle(sheet, raw, path))
    assert sheet.last_modified == raw.data(path)["last_modified"]
    # A reference kept from before the write no longer reaches the object.
    now = mutable_values(sheet)
    assert all(value is not before for value in now for before in held)
    for before in held:
        before.append("later") if isinstance(before, list) else before.update(k="later")
    assert sheet.changes() == {}


def test_permissions_and_copies_after_an_echoed_write(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    first = Sheet(id="s1", title="t", tags=["a"]).bind(client, collection=cid)
    twin = first.model_copy()  # shares first's lists, as Pydantic's copies do
    first.permissions = {"read": ["system.Everyone"]}
    first.save()
    principals = raw.body(rec_path(bid, cid, "s1"))["permissions"]["read"]
    assert first.permissions.read == principals == ["system.Everyone"]
    assert first.permissions.write  # the server made the writer an owner
    twin.tags.append("b")
    assert first.tags == ["a"] and first.changes() == {}


def test_a_value_changed_in_place_is_validated_back(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    """An int appended to a list of floats passes the write check; validating the answer
    makes it a float, as it does for an object read from the server."""
    sheet = Sheet(id="s2", title="t", scores={"x": [1.5]}).bind(client, collection=cid)
    sheet.scores["x"].append(2)
    sheet.save()
    assert sheet.scores == {"x": [1.5, 2.0]}
    assert type(sheet.scores["x"][1]) is float
    same_state(sheet, oracle(sheet, raw, rec_path(bid, cid, "s2")))


def test_an_answer_the_server_changed_is_validated(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    """A collection with a schema: Kinto stamps each record with the schema's timestamp,
    so the answer is not the data sent."""
    coll = client.collection(cid)
    coll.set_schema(Sheet)
    sheet = Sheet(id="s3", title="t", tags=["a"]).bind(client, collection=cid)
    sheet.save()
    stored = raw.data(rec_path(bid, cid, "s3"))
    assert "schema" in stored
    assert sheet["schema"] == stored["schema"]
    same_state(sheet, oracle(sheet, raw, rec_path(bid, cid, "s3")))


class Status(str, enum.Enum):
    OPEN = "open"


class Defaults(Record):
    """Defaults Pydantic does not validate, in other forms than validation makes."""

    price: float = 0
    total: decimal.Decimal = 0  # type: ignore[assignment]
    status: Status = "open"  # type: ignore[assignment]
    due: datetime.date = "2024-01-01"  # type: ignore[assignment]
    weights: list[float] = [1, 2]
    counts: dict[str, float] = Field(default_factory=lambda: {"k": 0})


class Shouting(Record):
    """A validator that does not give back what it gets (validating twice adds twice)."""

    word: Annotated[str, AfterValidator(lambda value: value + "!")]


class Doubled(Record):
    x: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def double(self) -> int:
        return 2 * self.x


@pytest.mark.parametrize("make", [
    lambda: Defaults(id="defaults"),
    lambda: Defaults(id="set", price=1.5, status=Status.OPEN, weights=[3.0], counts={}),
    lambda: Shouting(id="shout", word="hey"),
    lambda: Doubled(id="doubled", x=2),
    lambda: assigned_then_changed(),
    lambda: changed_through_a_copy(),
    lambda: Loud(id="loud", word="abc"),
    lambda: Hidden(id="hidden", secret="given", n=1),
    lambda: Either(id="either", x=5),
])
def test_values_validation_would_change_are_validated_back(
    make: Callable[[], Record], client: Client, raw: Raw, bid: str, cid: str
) -> None:
    obj = make().bind(client, collection=cid)
    obj.save()
    same_state(obj, oracle(obj, raw, rec_path(bid, cid, obj.id)))


def test_an_empty_extras_dict_is_not_shared_after_a_write(
    client: Client, bid: str, cid: str
) -> None:
    record = Record(id="empty").bind(client, collection=cid)
    extras = record.model_extra
    assert extras == {}
    record.save()
    extras["later"] = [1]  # type: ignore[index]
    assert record.model_extra == {} and record.changes() == {}


class Amounts(Record):
    amount: float = 0.0
    scores: list[float] = []


def test_a_decimal_left_in_a_float_field_is_sent_as_a_number(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    """Lax validation, ``model_copy(update=...)`` and in-place changes can leave a Decimal
    in a float field: the data sent is looked at, not the model's types."""
    appended = Amounts(id="appended").bind(client, collection=cid)
    appended.scores.append(decimal.Decimal("2.5"))  # type: ignore[arg-type]
    appended.save()
    copied = Amounts(id="copied").model_copy(update={"amount": decimal.Decimal("1.25")})
    copied.bind(client, collection=cid).save()
    with client.batch():
        batched = Amounts(id="batched").model_copy(update={"amount": decimal.Decimal("3.5")})
        batched.bind(client, collection=cid).save()
    assert raw.data(rec_path(bid, cid, "appended"))["scores"] == [2.5]
    assert raw.data(rec_path(bid, cid, "copied"))["amount"] == 1.25
    assert raw.data(rec_path(bid, cid, "batched"))["amount"] == 3.5


class Colors(Record):
    scores: list[float] = []
    colors: list[Color] = []


class Loud(Record):
    word: str = ""

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        data = super().model_dump(**kwargs)
        data["word"] = data["word"].upper()
        return data


class Hidden(Record):
    secret: str = Field(default="dflt", exclude=True)
    n: int = 0


class Either(Record):
    x: int = Field(default=0, validation_alias=AliasChoices("x", "ex"))


def assigned_then_changed() -> Record:
    obj = Colors(id="assigned")
    obj.scores = [1.5]
    obj.scores.append(2)  # type: ignore[arg-type]  # an int the write check accepts
    obj.colors = []
    obj.colors.append("red")  # type: ignore[arg-type]
    return obj


def changed_through_a_copy() -> Record:
    obj = Colors(id="sibling", scores=[1.5])
    obj.model_copy().scores.append(2)  # type: ignore[arg-type]  # the copy shares the list
    return obj


class Camel(Record):
    model_config = ConfigDict(alias_generator=to_camel)
    first_name: str = "a"


class ByValidationAlias(Record):
    x: int = Field(default=0, validation_alias="X")


class Plainly(Record):
    t: str = ""


def test_models_with_aliases_are_validated_back(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    camel = Camel(id="camel", first_name="b").bind(client, collection=cid)
    camel.save()
    expected = oracle(camel, raw, rec_path(bid, cid, "camel"))
    assert camel.model_dump() == expected.model_dump()
    assert camel.model_fields_set == expected.model_fields_set == {
        "id", "first_name", "last_modified"}
    # An extra named like a field's validation alias: validating the answer (the data as
    # sent, "x" then "X") reads it as the field. (A later read may not: PostgreSQL stores
    # the keys in its own order, and with both keys present Pydantic takes the first.)
    aliased = ByValidationAlias(id="valias").bind(client, collection=cid)
    aliased["X"] = 5
    aliased.save()
    assert aliased.x == 5 and aliased.model_extra == {}
    assert raw.data(rec_path(bid, cid, "valias"))["X"] == 5


def test_an_extra_added_while_a_batch_is_pending_is_not_kept_unsent(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    obj = Plainly(id="pending", t="a").bind(client, collection=cid)
    with client.batch():
        obj.save()
        obj.model_extra["note"] = "x"  # type: ignore[index]
    expected = oracle(obj, raw, rec_path(bid, cid, "pending"))
    assert obj.model_extra == expected.model_extra == {}
    assert obj.changes() == {}
