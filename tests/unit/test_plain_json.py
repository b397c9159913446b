"""Plain JSON (``models/plain.py``, ``protocol.encoding.dumps_plain``): the data of an
object whose values are JSON's own types is encoded by pydantic-core, into the same JSON
``dumps`` makes; everything else keeps ``dumps``."""

from __future__ import annotations

import datetime
import decimal
import enum
import json
import math
import random
import uuid
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, PlainSerializer, computed_field, field_serializer

from kinto_orm import Bucket, Collection, Group, Record
from kinto_orm import protocol as core
from kinto_orm.models.plain import plain_data, plain_model, plain_values


class Shade(str, enum.Enum):
    DARK = "dark"


class Weight(enum.Enum):
    LIGHT = 1.5


class Point(BaseModel):
    x: int
    y: float = 0.0


class Loose(BaseModel, extra="allow"):
    x: int


class Plain(Record):
    title: str
    n: int = 0
    ratio: float = 1.0
    done: bool = False
    tags: list[str] = []
    scores: dict[str, list[float]] = {}
    pair: tuple[int, str] = (0, "")
    shade: Shade = Shade.DARK
    kind: Literal["a", "b"] = "a"
    when: datetime.date | None = None
    key: uuid.UUID | None = None
    at: Point | None = None


def record(name: str, **fields: Any) -> type[Record]:
    return type(name, (Record,), {"__annotations__": fields})


class Serialized(Record):
    x: int

    @field_serializer("x")
    def as_text(self, value: int) -> str:
        return str(value)


class Computed(Record):
    x: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def double(self) -> int:
        return 2 * self.x


@pytest.mark.parametrize(("model", "plain"), [
    (Plain, True), (Record, True), (Bucket, True), (Group, True),
    (Collection, False),  # its schema is a dict of Any
    (record("Dec", x=decimal.Decimal), False),
    (record("Stamp", x=datetime.datetime), False),  # pydantic-core writes UTC as "Z"
    (record("Clock", x=datetime.time), False),
    (record("Heavy", x=Weight), False),  # an enum of floats
    (record("Anything", x=Any), False),
    (record("Keys", x=dict[int, str]), False),
    (record("Nested", x=Loose), False),  # a nested model's extras are not looked at
    (record("Bytes", x=bytes), False),
    (record("Custom", x=Annotated[int, PlainSerializer(str)]), False),
    (Serialized, False), (Computed, False),
])
def test_which_models_hold_plain_json(model: type[BaseModel], plain: bool) -> None:
    assert plain_model(model) is plain


def test_extras_are_looked_at_on_each_write() -> None:
    assert plain_data(Record(id="a", x=[1, {"y": None}], z="é"))
    assert not plain_data(Record(id="a", x=decimal.Decimal("1.5")))
    assert not plain_data(Record(id="a", x={1: "int key"}))
    assert not plain_data(Record(id="a", x=[datetime.date(2026, 1, 1)]))
    assert not plain_data(Record(id="a", x={"s": {1, 2}}))
    assert plain_values(("t", [1.5, True, None]))
    assert not plain_values(Shade.DARK)  # a str subclass: dumps() decides


def random_value(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(9 if depth < 3 else 6)
    if choice == 0:
        return rng.choice([None, True, False])
    if choice == 1:
        return rng.randint(-(2**70), 2**70)
    if choice == 2:
        scaled = rng.random() * 10 ** rng.randint(-9, 20)
        return rng.choice([0.1, -0.0, 1e-7, 1e16, 1.5e300, 2.0, scaled])
    if choice in (3, 4, 5):
        letters = "aZ09 \"\\/\n\t\x00é€\u2028😀NaNInfinity"
        return "".join(rng.choice(letters) for _ in range(rng.randrange(12)))
    if choice == 6:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if choice == 7:
        return tuple(random_value(rng, depth + 1) for _ in range(rng.randrange(3)))
    return {f"k{i}é": random_value(rng, depth + 1) for i in range(rng.randrange(4))}


def test_dumps_plain_writes_the_json_dumps_writes() -> None:
    rng = random.Random(20261205)
    for _ in range(2000):
        value = random_value(rng)
        assert json.loads(core.dumps_plain(value)) == json.loads(core.dumps(value)), value


@pytest.mark.parametrize("bad", [math.nan, -math.inf, [1, {"x": math.inf}]])
def test_dumps_plain_refuses_what_dumps_refuses(bad: Any) -> None:
    with pytest.raises(ValueError, match="Replace NaN/Infinity"):
        core.dumps_plain(bad)


def test_dumps_plain_leaves_the_rest_to_dumps() -> None:
    assert core.dumps_plain("\ud800") == core.dumps("\ud800")  # a lone surrogate, escaped
    assert core.dumps_plain({"n": "NaN and Infinity"}) == b'{"n":"NaN and Infinity"}'


def test_a_plain_object_sends_the_same_json() -> None:
    sheet = Plain(
        id="p", title="é\u2028😀", n=2**65, ratio=1e-7, tags=["x"], scores={"a": [0.1, 2.0]},
        pair=(1, "b"), kind="b", when=datetime.date(2026, 12, 5),
        key=uuid.UUID("12345678-1234-5678-1234-567812345678"), at=Point(x=1, y=2.5),
    )
    assert plain_data(sheet)
    body = core.envelope(sheet._write_data(), {"read": ["system.Everyone"]})
    assert json.loads(core.dumps_plain(body)) == json.loads(core.dumps(body))
    put = core.Request("PUT", "/buckets/b/collections/c/records/p", json=body, plain=True)
    assert json.loads(put.body or b"") == json.loads(core.dumps(body))
    batch = core.batch_request([put, put])
    assert json.loads(batch.body or b"") == json.loads(core.dumps(batch.json))
