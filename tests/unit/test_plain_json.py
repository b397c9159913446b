"""Plain JSON (``models/plain.py``, ``protocol.encoding.dumps_plain``): data made of
JSON's own types is encoded by pydantic-core, into the same JSON ``dumps`` makes;
everything else keeps ``dumps``."""

from __future__ import annotations

import datetime
import decimal
import enum
import json
import math
import random
import uuid
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from kinto_orm import Record
from kinto_orm import protocol as core
from kinto_orm.models.plain import plain_values


class Shade(str, enum.Enum):
    DARK = "dark"


class Point(BaseModel):
    x: int
    y: float = 0.0


class Plain(Record):
    title: str
    n: int = 0
    ratio: float = 1.0
    done: bool = False
    tags: list[str] = []
    scores: dict[str, list[float]] = {}
    pair: tuple[int, str] = (0, "")
    kind: Literal["a", "b"] = "a"
    at: Point | None = None


def test_plain_values_are_json_types_exactly() -> None:
    assert plain_values({"x": [1, {"y": None}], "z": "é", "t": ("a", 1.5, True)})
    assert not plain_values({"x": decimal.Decimal("1.5")})
    assert not plain_values({"x": {1: "an int key"}})
    assert not plain_values({"x": [datetime.date(2026, 1, 1)]})
    assert not plain_values({"x": {"s": {1, 2}}})
    assert not plain_values({"x": Shade.DARK})  # a str subclass: dumps() decides
    assert not plain_values({"x": uuid.uuid4()})


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
        pair=(1, "b"), kind="b", at=Point(x=1, y=2.5),
    )
    data, plain, echo = sheet._checked_data()
    assert plain and echo
    body = core.envelope(data, {"read": ["system.Everyone"]})
    assert json.loads(core.dumps_plain(body)) == json.loads(core.dumps(body))
    put = core.Request("PUT", "/buckets/b/collections/c/records/p", json=body, plain=True)
    assert json.loads(put.body or b"") == json.loads(core.dumps(body))
    batch = core.batch_request([put, put])
    assert json.loads(batch.body or b"") == json.loads(core.dumps(batch.json))


def test_data_that_is_not_plain_keeps_the_standard_encoder() -> None:
    sheet = Plain.model_construct(id="p", title="t", ratio=decimal.Decimal("1.5"))
    data, plain, echo = sheet._checked_data()
    assert not plain and not echo
    put = core.Request("PUT", "/r", json={"data": data}, plain=plain)
    assert json.loads(put.body or b"")["data"]["ratio"] == 1.5  # a number, not "1.5"
