"""Filters typed end to end: a lookup's value is checked against its field's type before
any request, and turned into what the model would send (an enum member into its value, a
date into ISO text, ``"3"`` for an ``int`` into 3...); and filters written as expressions
on the model's fields, which type checkers check (:meth:`Query.where`):

>>> client.records(Book).where(lambda b: b.pages >= 100, lambda b: b.genre == Genre.SF)
"""

from __future__ import annotations

import collections.abc
import functools
import types
import typing
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from . import protocol as core
from .lookups import LOOKUPS, parse_key
from .models.validation import check_path, field_annotation

#: Lookups whose value is one value of the field's type.
_SAME_TYPE = frozenset({"eq", "ne", "lt", "lte", "gt", "gte"})


def typed_lookups(model: type[BaseModel], lookups: dict[str, Any], usage: str) -> dict[str, Any]:
    """``lookups`` with field names checked (``ValueError``, "did you mean") and values
    checked against their field's type (``TypeError`` naming the field and the type),
    converted to what ``model`` would send."""
    out: dict[str, Any] = {}
    for key, value in lookups.items():
        parts, op = parse_key(key)
        check_path(model, tuple(parts), f"{usage}({key}=...)", tuple(LOOKUPS))
        out[key] = _checked_value(model, tuple(parts), op, key, value, usage)
    return out


def _checked_value(
    model: type[BaseModel], parts: tuple[str, ...], op: str, key: str, value: Any, usage: str
) -> Any:
    annotation = field_annotation(model, parts)
    if annotation is None or value is None or op in ("like", "has"):
        return value  # free keys, "is null", a pattern, a presence test
    where = f"{usage}({key}=...): {model.__name__}.{'.'.join(parts)}"
    if op in _SAME_TYPE:
        return _converted(annotation, value, where)
    if op in ("in", "not_in"):
        if isinstance(value, (str, bytes)) or not isinstance(value, collections.abc.Iterable):
            raise TypeError(f"{where} takes a list of {_name(annotation)}, got {value!r}.")
        return [_converted(annotation, item, where) for item in value]
    item = _item_type(annotation)  # contains / contains_any: items of a list field
    if item is None:
        return value
    values = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
    return [_converted(item, one, where) for one in values]


def _converted(annotation: Any, value: Any, where: str) -> Any:
    """``value`` as ``annotation`` sends it; for a list field, one of its items is taken
    too (Kinto compares an array field's items: ``tags__in=["a"]``)."""
    adapter = _adapter(annotation)
    try:
        checked = adapter.validate_python(value)
    except ValidationError as exc:
        item = _item_type(annotation)
        if item is not None:
            try:
                return _converted(item, value, where)
            except TypeError:
                pass
        message = exc.errors()[0]["msg"]
        raise TypeError(
            f"{where} is of type {_name(annotation)}: {value!r} does not fit it ({message})."
        ) from None
    return _sendable(adapter.dump_python(checked, mode="python"))


def _sendable(value: Any) -> Any:
    """A dumped value as JSON sends it: Decimals as numbers, dates as ISO text, enums as
    their value, as the model's writes send them."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_sendable(item) for item in value]
    if isinstance(value, dict):
        return {key: _sendable(item) for key, item in value.items()}
    return core.json_default(value)


@functools.lru_cache(maxsize=1024)
def _adapter_cached(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)


def _adapter(annotation: Any) -> TypeAdapter[Any]:
    try:
        return _adapter_cached(annotation)
    except TypeError:  # an unhashable annotation (Annotated metadata...)
        return TypeAdapter(annotation)


def _item_type(annotation: Any) -> Any:
    """The item type of a list, set or tuple field (``list[str]`` -> ``str``), else None."""
    origin = typing.get_origin(annotation)
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    if origin is typing.Annotated:
        return _item_type(args[0])
    if origin in (list, set, frozenset, collections.abc.Sequence) and len(args) == 1:
        return args[0]
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return args[0]
    if origin is typing.Union or origin is types.UnionType:
        found = [_item_type(arg) for arg in args]
        found = [item for item in found if item is not None]
        return found[0] if len(found) == 1 else None
    return None


def _name(annotation: Any) -> str:
    name = getattr(annotation, "__name__", None)
    return name if name and not typing.get_args(annotation) else str(annotation)


# ---------------------------------------------------------------------------- expressions


class Condition:
    """A filter written as an expression (``b.pages >= 100``), as keyword lookups."""

    __slots__ = ("lookups",)

    def __init__(self, lookups: dict[str, Any]) -> None:
        self.lookups = lookups

    def __and__(self, other: Any) -> Condition:
        if not isinstance(other, Condition):
            return NotImplemented
        return Condition({**self.lookups, **other.lookups})

    def __bool__(self) -> bool:
        raise TypeError(
            "A filter expression has no truth value: write one condition per argument, "
            "where(lambda b: b.pages >= 100, lambda b: b.done == False), or join them with "
            "& ((b.pages >= 100) & (b.done == False)); not `and`, `or`, `not` nor "
            "`100 <= b.pages <= 200` (two conditions)."
        )


class FieldRef:
    """A model's field in an expression: what ``b.pages`` is, inside ``where(lambda b:
    ...)``; comparing it makes a :class:`Condition`."""

    __slots__ = ("_path",)
    _path: tuple[str, ...]

    def __init__(self, path: tuple[str, ...]) -> None:
        object.__setattr__(self, "_path", path)

    def __getattr__(self, name: str) -> FieldRef:
        if name.startswith("_"):
            raise AttributeError(name)
        return FieldRef((*self._path, name))

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError("where() reads fields: assign them on an object instead.")

    def _condition(self, op: str, value: Any) -> Condition:
        if not self._path:
            raise TypeError("Compare a field (lambda b: b.pages >= 100), not the object.")
        key = "__".join(self._path)
        return Condition({key if op == "eq" else f"{key}__{op}": value})

    def __eq__(self, value: object) -> Condition:  # type: ignore[override]
        return self._condition("eq", value)

    def __ne__(self, value: object) -> Condition:  # type: ignore[override]
        return self._condition("ne", value)

    def __lt__(self, value: Any) -> Condition:
        return self._condition("lt", value)

    def __le__(self, value: Any) -> Condition:
        return self._condition("lte", value)

    def __gt__(self, value: Any) -> Condition:
        return self._condition("gt", value)

    def __ge__(self, value: Any) -> Condition:
        return self._condition("gte", value)

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        raise TypeError(
            f"where(): compare the field {'.'.join(self._path)!r} "
            "(lambda b: b.done == True), a field alone is not a condition."
        )


def expression_lookups(condition: Any) -> dict[str, Any]:
    """The keyword lookups of one ``where()`` argument: a function of the model's fields
    returning a comparison (``lambda b: b.pages >= 100``)."""
    if not callable(condition):
        raise TypeError(
            f"where() takes functions of the model's fields, e.g. lambda b: b.pages >= 100; "
            f"got {condition!r}. (Keyword lookups go to filter().)"
        )
    result = condition(FieldRef(()))
    if not isinstance(result, Condition):
        raise TypeError(
            "A where() function must return a comparison of fields (lambda b: b.pages "
            f">= 100), got {result!r}."
        )
    return result.lookups


__all__ = ["Condition", "FieldRef", "expression_lookups", "typed_lookups"]
