"""What requests carry: quoted ETags, ``If-Match``/``If-None-Match`` for safe writes,
the ``{data, permissions}`` envelope, query parameters, idempotence."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from .encoding import json_default
from .messages import IDEMPOTENT_METHODS, PRECONDITION_HEADERS, Request

T = TypeVar("T")


def quote_etag(value: Any) -> str:
    """``1234`` or ``'"1234"'`` -> ``'"1234"'`` (Kinto wants quoted timestamps)."""
    text = str(value).strip('"')
    if text != "*" and not text.isdigit():
        raise ValueError(f"Invalid timestamp {value!r}: Kinto timestamps are integers.")
    return text if text == "*" else f'"{text}"'


def etag_value(headers: Mapping[str, str]) -> int | None:
    """The integer timestamp of an ``ETag`` header, or None."""
    raw = headers.get("ETag")
    if not raw:
        return None
    text = raw.strip().strip('"')
    return int(text) if text.isdigit() else None




# ---------------------------------------------------------------------------- request helpers


def envelope(data: Any = None, permissions: Any = None) -> dict[str, Any]:
    """The ``{"data": ..., "permissions": ...}`` body, leaving out what is None."""
    body: dict[str, Any] = {}
    if data is not None:
        body["data"] = data
    if permissions is not None:
        as_dict = getattr(permissions, "as_dict", None)
        body["permissions"] = as_dict() if callable(as_dict) else permissions
    return body


def if_match_headers(
    safe: bool, data: Mapping[str, Any] | None = None, if_match: Any = None
) -> dict[str, str]:
    """kinto-http's rule: when safe, send ``If-Match`` with ``if_match`` or the data's
    ``last_modified``; nothing otherwise."""
    if if_match is None and data is not None and data.get("last_modified"):
        if_match = data["last_modified"]
    if safe and if_match is not None:
        return {"If-Match": quote_etag(if_match)}
    return {}


def save_headers(safe: bool, last_modified: int | None) -> dict[str, str]:
    """A model's save: replace only the version we know (``If-Match``), or create only if
    absent (``If-None-Match: *``) when we know none; nothing when not safe."""
    if not safe:
        return {}
    if last_modified is not None:
        return {"If-Match": quote_etag(last_modified)}
    return {"If-None-Match": "*"}


def create_headers(safe: bool) -> dict[str, str]:
    """``If-None-Match: *`` when safe: a create never overwrites."""
    return {"If-None-Match": "*"} if safe else {}


def encode_params(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Encode query-string values the way kinto-http does.

    ``in_``/``exclude_`` values are comma-joined lists, strings go as they are, anything
    else as JSON (``True`` -> ``true``).
    """
    if not params:
        return None
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None and not key.startswith("_"):
            out[key] = "null"
        elif value is None:
            continue
        elif key.startswith(("in_", "exclude_")):
            out[key] = f"{value}," if isinstance(value, str) else ",".join(
                v if isinstance(v, str) else json.dumps(v, default=json_default) for v in value
            )
        elif isinstance(value, str):
            out[key] = value
        else:
            out[key] = json.dumps(value, default=json_default)
    return out


def is_idempotent(request: Request) -> bool:
    """Can ``request`` be sent twice without a different outcome?

    GET/HEAD/PUT/DELETE are; a PATCH or POST is only when a precondition header makes a
    repeat fail instead of applying twice.
    """
    if request.idempotent is not None:
        return request.idempotent
    if request.method.upper() in IDEMPOTENT_METHODS:
        return True
    return any(h in request.headers for h in PRECONDITION_HEADERS)
