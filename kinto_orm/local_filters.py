"""Kinto's list filters and sort, applied in Python to records the client already holds
(the rebuilt snapshots of ``Query.at``), with the server's meaning.

Filters come as Kinto sends them in a query string (``min_priority=3``,
``in_tag=a,b``, ``like_title=*doc*``...), as :class:`~kinto_orm.Query` builds them.
Values are read as JSON when they parse, like the server does; comparisons follow
PostgreSQL's JSON order (null < text < number < boolean < array < object, a missing
field after everything), which Kinto's memory backend imitates.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from typing import Any

#: Query-string prefixes, longest first (``contains_any_`` before ``contains_``).
PREFIXES = ("contains_any", "contains", "exclude", "not", "min", "max", "lt", "gt", "in",
            "like", "has", "eq")
COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq, "not": operator.ne, "lt": operator.lt, "gt": operator.gt,
    "min": operator.ge, "max": operator.le,
}


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()


def native(text: str) -> Any:
    """A query-string value as Kinto reads it: JSON when it parses, else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def split(key: str) -> tuple[str, str]:
    """``"min_priority"`` -> ``("min", "priority")``; no prefix means equality."""
    for prefix in PREFIXES:
        if key.startswith(prefix + "_"):
            return prefix, key[len(prefix) + 1:]
    return "eq", key


def field_value(record: dict[str, Any], field: str) -> Any:
    """The value of a (dotted) field, or :data:`MISSING`."""
    if field in record:
        return record[field]
    value: Any = record
    for part in field.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def ordered(value: Any) -> tuple[int, Any]:
    """A sort key in PostgreSQL's JSON order."""
    if value is None:
        return (0, 0)
    if isinstance(value, str):
        return (1, value)
    if isinstance(value, bool):  # before numbers: bools are ints in Python
        return (3, value)
    if isinstance(value, (int, float)):
        return (2, value)
    if isinstance(value, list):
        return (4, value)
    if isinstance(value, dict):
        return (5, json.dumps(value, sort_keys=True))
    return (6, 0)  # missing: after everything


def _canonical(values: Any) -> set[str] | None:
    if not isinstance(values, list):
        return None
    return {json.dumps(v, sort_keys=True) for v in values}


def _like(pattern: str) -> re.Pattern[str]:
    pattern = pattern if "*" in pattern else f"*{pattern}*"
    return re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$",
                      re.IGNORECASE | re.DOTALL)


def matches(record: dict[str, Any], filters: dict[str, str]) -> bool:
    """Whether ``record`` passes every filter of ``filters``."""
    for key, raw in filters.items():
        if key in ("_since", "_before"):
            stamp, limit = int(record.get("last_modified") or 0), int(raw.strip('"'))
            if not (stamp > limit if key == "_since" else stamp < limit):
                return False
            continue
        if key.startswith("_"):
            raise ValueError(f"Filter {key!r} cannot be applied to a snapshot.")
        op, field = split(key)
        left = field_value(record, field)
        if not _passes(op, field, left, raw):
            return False
    return True


def _passes(op: str, field: str, left: Any, raw: str) -> bool:
    if op == "has":
        return (left is not MISSING) == (raw.lower() in ("true", "1"))
    if op in ("in", "exclude"):
        values = [native(v) for v in raw.split(",") if v != ""]
        if field == "id":
            values = [str(v) for v in values]
        return (left in values) == (op == "in")
    if op == "like":
        return isinstance(left, str) and _like(raw).search(left) is not None
    if op in ("contains", "contains_any"):
        term = native(raw)
        have, want = _canonical(left), _canonical(term if isinstance(term, list) else [term])
        if have is None or want is None:
            return False
        return want <= have if op == "contains" else bool(want & have)
    right = native(raw)
    if field == "id" and isinstance(right, int):
        right = str(right)
    try:
        return COMPARE[op](ordered(left), ordered(right))
    except TypeError:  # lists of mixed types: no order, no match
        return False


def sort_records(records: list[dict[str, Any]], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """Sort by ``fields`` (``-`` for descending), then newest first, as Kinto does."""
    out = sorted(records, key=lambda r: -int(r.get("last_modified") or 0))
    for name in reversed(fields):
        descending = name.startswith("-")
        field = name.lstrip("-")
        out.sort(key=lambda r: ordered(field_value(r, field)), reverse=descending)
    return out


__all__ = ["matches", "native", "sort_records"]
