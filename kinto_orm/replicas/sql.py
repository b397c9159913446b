"""Kinto's list filters and sort as SQL over the replica's JSON (SQLite's ``json_*``).

Filters come as ``Query`` builds them for the server (``min_priority=3``, ``in_tag=a,b``),
so a local query means what the same query means on the server: values read as JSON when
they parse, comparisons in PostgreSQL's JSON order (null < text < number < boolean <
array < object, a missing field after everything), as ``local_filters`` applies them in
Python. Each value is compared as the pair (type rank, value).
"""

from __future__ import annotations

import json
from typing import Any

from ..local_filters import native, split

_OPS = {"eq": "=", "not": "!=", "lt": "<", "gt": ">", "min": ">=", "max": "<="}


def json_path(field: str) -> str:
    """``"meta.rank"`` -> ``$."meta"."rank"`` (each part quoted: ids may hold ``-``)."""
    parts = field.split(".")
    if any('"' in part or not part for part in parts):
        raise ValueError(f"Cannot query the field {field!r} of a replica.")
    return "$" + "".join(f'."{part}"' for part in parts)


def _rank(path: str) -> str:
    return (
        f"CASE json_type(data, '{path}') WHEN 'null' THEN 0 WHEN 'text' THEN 1 "
        "WHEN 'integer' THEN 2 WHEN 'real' THEN 2 WHEN 'true' THEN 3 WHEN 'false' THEN 3 "
        "WHEN 'array' THEN 4 WHEN 'object' THEN 5 ELSE 6 END"
    )


def _value(path: str) -> str:
    # NULL (a JSON null, or a missing field) compares as 0: the rank tells them apart.
    return f"ifnull(json_extract(data, '{path}'), 0)"


def _constant(value: Any) -> tuple[int, Any]:
    """A Python value as the (rank, value) pair its JSON would have in SQLite."""
    if value is None:
        return 0, 0
    if isinstance(value, bool):
        return 3, int(value)
    if isinstance(value, str):
        return 1, value
    if isinstance(value, (int, float)):
        return 2, value
    if isinstance(value, list):
        return 4, json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return 5, json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def where(filters: dict[str, str]) -> tuple[str, list[Any]]:
    """The SQL condition (and its parameters) of Kinto filters."""
    clauses: list[str] = []
    params: list[Any] = []
    for key, raw in filters.items():
        if key in ("_since", "_before"):
            clauses.append("last_modified " + (">" if key == "_since" else "<") + " ?")
            params.append(int(raw.strip('"')))
            continue
        if key.startswith("_"):
            raise ValueError(f"Filter {key!r} cannot be applied to a replica.")
        op, field = split(key)
        clause, values = _clause(op, json_path(field), field, raw)
        clauses.append(clause)
        params += values
    return " AND ".join(clauses) or "1", params


def _clause(op: str, path: str, field: str, raw: str) -> tuple[str, list[Any]]:
    pair = f"({_rank(path)}, {_value(path)})"
    if op == "has":
        present = raw.lower() in ("true", "1")
        return f"json_type(data, '{path}') IS {'NOT ' if present else ''}NULL", []
    if op in ("in", "exclude"):
        values = [native(v) for v in raw.split(",") if v != ""]
        if field == "id":
            values = [str(v) for v in values]
        if not values:
            return ("0" if op == "in" else "1"), []
        rows = ", ".join("(?, ?)" for _ in values)
        params = [part for v in values for part in _constant(v)]
        return f"{pair} {'NOT ' if op == 'exclude' else ''}IN (VALUES {rows})", params
    if op == "like":
        pattern = raw if "*" in raw else f"*{raw}*"
        escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return (f"json_type(data, '{path}') = 'text' AND json_extract(data, '{path}') "
                "LIKE ? ESCAPE '\\'", [escaped.replace("*", "%")])
    if op in ("contains", "contains_any"):
        term = native(raw)
        wanted = json.dumps(term if isinstance(term, list) else [term])
        inner = (f"SELECT 1 FROM json_each(data, '{path}') h WHERE h.type = w.type "
                 "AND h.value IS w.value")
        test = (f"NOT EXISTS (SELECT 1 FROM json_each(?) w WHERE NOT EXISTS ({inner}))"
                if op == "contains" else
                f"EXISTS (SELECT 1 FROM json_each(?) w WHERE EXISTS ({inner}))")
        return f"json_type(data, '{path}') = 'array' AND {test}", [wanted]
    right = native(raw)
    if field == "id" and isinstance(right, int):
        right = str(right)
    return f"{pair} {_OPS[op]} (?, ?)", list(_constant(right))


def order_by(fields: tuple[str, ...]) -> str:
    """ORDER BY the fields (``-`` for descending), then newest first, as Kinto sorts."""
    terms: list[str] = []
    for name in fields:
        direction = " DESC" if name.startswith("-") else ""
        path = json_path(name.lstrip("-"))
        terms += [_rank(path) + direction, _value(path) + direction]
    return ", ".join([*terms, "last_modified DESC"])


__all__ = ["json_path", "order_by", "where"]
