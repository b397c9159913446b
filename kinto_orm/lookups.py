"""Query lookups (``priority__gte=3``, ``tag__in=[...]``) as Kinto's filter parameters
(``min_priority=3``, ``in_tag=...``), and the values they carry, JSON-encoded."""

from __future__ import annotations

import datetime
import enum
import json
import uuid
from collections.abc import Sequence
from typing import Any

from . import protocol as core

#: lookup suffix -> (Kinto prefix, prefix when negated by exclude())
LOOKUPS: dict[str, tuple[str, str | None]] = {
    "eq": ("", "not_"),
    "ne": ("not_", ""),
    "lt": ("lt_", "min_"),
    "lte": ("max_", "gt_"),
    "gt": ("gt_", "max_"),
    "gte": ("min_", "lt_"),
    "in": ("in_", "exclude_"),
    "not_in": ("exclude_", "in_"),
    "like": ("like_", None),
    "has": ("has_", "has_"),
    "contains": ("contains_", None),
    "contains_any": ("contains_any_", None),
}
#: Lookup names users bring from other ORMs, refused with a clear message.
FOREIGN_LOOKUPS = frozenset(
    {
        "exact", "iexact", "icontains", "startswith", "istartswith", "endswith",
        "iendswith", "range", "isnull", "regex", "iregex", "not",
    }
)


# ---------------------------------------------------------------------------- filters


def encode_value(value: Any) -> str:
    """One filter value as Kinto reads it (Kinto parses values as JSON when it can, so a
    string that looks like JSON, e.g. ``"42"``, is sent quoted to stay a string)."""
    if isinstance(value, enum.Enum):  # as the models send it: its value
        return encode_value(value.value)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, (datetime.date, datetime.datetime, uuid.UUID)):
        return core.json_default(value)  # type: ignore[no-any-return]
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return value
        return json.dumps(value)  # it would be read as JSON: quote it to stay a string
    raise TypeError(
        f"Cannot filter on a {type(value).__name__} value ({value!r}); use str, int, float, "
        "bool, None, a date, an enum member, or a list with __in / __contains."
    )


def parse_key(key: str) -> tuple[list[str], str]:
    """``"priority__gte"`` -> ``(["priority"], "gte")``; ``"a__b"`` -> ``(["a", "b"], "eq")``."""
    parts = key.split("__")
    op = "eq"
    if len(parts) > 1 and parts[-1] in LOOKUPS:
        op = parts.pop()
    elif len(parts) > 1 and parts[-1] == "not" and len(parts) > 2 and parts[-2] == "in":
        op = "not_in"
        parts = parts[:-2]
    if op == "eq" and len(parts) > 1 and parts[-1] in FOREIGN_LOOKUPS:
        raise ValueError(
            f"Unknown lookup {parts[-1]!r} in {key!r}. Kinto supports: "
            + ", ".join(f"__{name}" for name in LOOKUPS)
            + ". (Use __like for substring and wildcard matches.)"
        )
    parts = [piece for part in parts for piece in part.split(".")]
    if any(not p for p in parts):
        raise ValueError(f"Invalid filter {key!r}: empty field name.")
    return parts, op


def lookup(key: str, value: Any, negate: bool = False) -> tuple[str, str]:
    """``("priority__gte", 3)`` -> ``("min_priority", "3")``; ``a__b=1`` is field ``a.b``."""
    parts, op = parse_key(key)
    name = ".".join(parts)
    prefix, negated = LOOKUPS[op]
    if negate:
        if negated is None:
            raise ValueError(
                f"{key!r} cannot be used in exclude(): Kinto has no negated form of "
                f"__{op}."
            )
        prefix = negated
    if op in ("in", "not_in"):
        if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, set, frozenset)):
            raise TypeError(f"{key!r} takes a list of values, got {value!r}.")
        return prefix + name, ",".join(encode_value(v) for v in value)
    if op in ("contains", "contains_any"):
        return prefix + name, json.dumps(value, default=core.json_default)
    if op == "has":
        present = bool(value) != (negate and prefix == "has_")
        return prefix + name, "true" if present else "false"
    if op == "like" and not isinstance(value, str):
        raise TypeError(f"{key!r} takes a string pattern, got {value!r}.")
    return prefix + name, encode_value(value)


def merge_lookups(filters: dict[str, str], lookups: dict[str, Any], negate: bool) -> dict[str, str]:
    """Add lookups to ``filters``; Kinto takes one value per filter, so two different
    values for the same one are refused rather than silently dropped."""
    merged = dict(filters)
    for key, value in lookups.items():
        name, encoded = lookup(key, value, negate)
        if name in merged and merged[name] != encoded:
            raise ValueError(
                f"{key!r} sets Kinto's filter {name!r} again ({merged[name]!r} then "
                f"{encoded!r}); Kinto takes one value per filter: keep the stricter one."
            )
        merged[name] = encoded
    return merged
