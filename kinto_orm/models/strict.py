"""What keeps a typo from becoming data: a typed model refuses an unknown keyword in its
constructor (``Book(titel="Dune")``) and the assignment of an undeclared attribute
(``book.colour = "red"``), with a "did you mean".

A model is *typed* when it is a ``Record`` subclass that declares fields of its own (see
``validation.is_typed``). The plain ``Record``, ``Bucket``, ``Collection`` and ``Group``
are schemaless and take any field. Fields the server sends that a typed model does not
declare are still kept (``model_validate``, which reads outside data, keeps them) and
written back; extra fields are added on purpose with ``book["isbn"] = "..."``.
"""

from __future__ import annotations

import difflib
import functools
from typing import Any

from pydantic import BaseModel

from .validation import is_typed


@functools.lru_cache(maxsize=1024)
def known_keys(model: type[BaseModel]) -> frozenset[str] | None:
    """Every keyword ``model``'s constructor accepts (field names, aliases), or None when
    it accepts any (not a typed model)."""
    if not is_typed(model):
        return None
    keys = set()
    for name, info in model.model_fields.items():
        keys.add(name)
        for alias in (info.alias, info.validation_alias):
            if isinstance(alias, str):
                keys.add(alias)
    return frozenset(keys)


def _hint(model: type[Any], name: str, keys: frozenset[str]) -> str:
    names = sorted(key for key in keys if key != "permissions")
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"{hint} Fields of {model.__name__}: {', '.join(names)}."


def check_keywords(model: type[BaseModel], data: dict[str, Any]) -> None:
    """Refuse (``TypeError``) a keyword that is none of typed ``model``'s fields."""
    keys = known_keys(model)
    if keys is None:
        return
    for key in data:
        if key not in keys:
            raise TypeError(
                f"{model.__name__}() got an unexpected keyword argument {key!r}."
                f"{_hint(model, key, keys)} To keep an undeclared field on purpose, use "
                f"{model.__name__}.model_validate({{...}}) or obj[{key!r}] = value."
            )


def check_attribute(obj: Any, name: str) -> None:
    """Refuse (``AttributeError``) assigning ``name`` on an object of a typed model when it
    is none of its fields nor one of the extra fields it already holds."""
    model: type[BaseModel] = type(obj)
    keys = known_keys(model)
    if keys is None or name in keys or name in (obj.__pydantic_extra__ or {}):
        return
    raise AttributeError(
        f"{model.__name__} has no field {name!r}.{_hint(model, name, keys)} To add an "
        f"undeclared (extra) field on purpose, use obj[{name!r}] = value."
    )


def field_for_alias(model: type[BaseModel], name: str) -> str | None:
    """The field whose alias is ``name`` (``schema`` -> ``schema_``), if ``name`` is not a
    field itself."""
    if name in model.model_fields:
        return None
    for field, info in model.model_fields.items():
        if info.alias == name and field != "permissions":
            return field
    return None


__all__ = ["check_attribute", "check_keywords", "field_for_alias", "known_keys"]
