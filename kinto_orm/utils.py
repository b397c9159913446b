"""kinto-http's helpers at the module path kinto-http code imports them from: record
comparison for sync tools (``collection_diff``, ``records_equal``), server-like sorting,
slugs, chunks, file hashes and JSON with dates.

>>> to_create, to_update, to_delete = collection_diff(source_records, dest_records)
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from .constants import VALID_SLUG_REGEXP

T = TypeVar("T")
Data = dict[str, Any]

#: Fields the server sets itself: two records differing only there are equal.
SERVER_FIELDS = ("last_modified", "schema")
_NUMBER_WIDTH = len(str(sys.maxsize * 2 + 1))

_transliterate: Callable[[str], str] | None
try:  # kinto-http transliterates with unidecode (GPL): used only when installed.
    from unidecode import unidecode as _transliterate
except ImportError:  # pragma: no cover - depends on the environment
    _transliterate = None


def slugify(value: Any) -> str:
    """A valid Kinto id made from ``value``: kept as is when it already is one, else
    lower-cased, accents and punctuation dropped, spaces turned into ``-``.

    >>> slugify("Hello World!")
    'hello-world'
    """
    text = str(value)
    if VALID_SLUG_REGEXP.match(text):
        return text
    if _transliterate is not None:
        text = _transliterate(text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text.lower()).strip()
    return re.sub(r"[-\s]+", "-", text)


def urljoin(server_url: str, path: str) -> str:
    """``server_url`` and ``path`` joined by exactly one ``/``."""
    return server_url.rstrip("/") + "/" + path.lstrip("/")


def quote(text: Any) -> str:
    """An ETag value in quotes: ``1234`` -> ``'"1234"'``."""
    if isinstance(text, str):
        text = text.strip('"')
    return f'"{text}"'


def chunks(lst: Sequence[T], n: int) -> Iterator[Sequence[T]]:
    """``lst`` in slices of ``n`` items; all in one slice when ``n`` is not positive."""
    if n <= 0:
        yield lst
        return
    for start in range(0, len(lst), n):
        yield lst[start : start + n]


def json_iso_datetime(obj: Any) -> str:
    """``json.dumps`` ``default=`` hook: dates and datetimes as ISO 8601 text."""
    if isinstance(obj, (datetime.datetime, datetime.date)):
        return obj.isoformat()
    raise TypeError(f"Type {type(obj)} is not serializable")


#: ``json.dumps`` that writes dates and datetimes as ISO 8601 text.
json_dumps = functools.partial(json.dumps, default=json_iso_datetime)


def _sort_key(direction: int, value: Any) -> str:
    """A text key that orders like the server: numbers by value, and a descending
    field by inverted characters."""
    if isinstance(value, (int, float)):
        value = str(direction * value).zfill(_NUMBER_WIDTH)
    if isinstance(value, str):
        return "".join(chr(255 - ord(c)) for c in value) if direction < 0 else value
    return str(value)


def sort_records(records: Iterable[Data], sort: str) -> list[Data]:
    """``records`` sorted by a server-style ``_sort`` value: ``"name,-last_modified"``."""
    fields = [
        (-1, name[1:]) if name.startswith("-") else (1, name)
        for name in (part.strip() for part in sort.split(","))
    ]
    return sorted(
        records, key=lambda r: tuple(_sort_key(way, r.get(name)) for way, name in fields)
    )


def records_equal(a: Data, b: Data) -> bool:
    """Do ``a`` and ``b`` hold the same data, ignoring what the server sets
    (``last_modified``, ``schema``)?"""
    return _without(a, SERVER_FIELDS) == _without(b, SERVER_FIELDS)


def _without(record: Data, fields: Iterable[str]) -> Data:
    skip = set(fields)
    return {k: v for k, v in record.items() if k not in skip}


def collection_diff(
    src: Iterable[Data], dest: Iterable[Data]
) -> tuple[list[Data], list[tuple[Data, Data]], list[Data]]:
    """What turns ``dest`` into ``src``: ``(to_create, to_update, to_delete)``.

    ``to_update`` holds ``(old, new)`` pairs, ``new`` without ``last_modified`` so that
    writing it is not refused as stale. Then one batch applies it::

        with client.batch() as batch:
            for record in to_create:
                batch.create_record(data=record)
            for old, new in to_update:
                batch.update_record(data=new)
            for record in to_delete:
                batch.delete_record(id=record["id"])
    """
    remaining = {record["id"]: record for record in dest}
    to_create: list[Data] = []
    to_update: list[tuple[Data, Data]] = []
    for record in src:
        current = remaining.pop(record["id"], None)
        if current is None:
            to_create.append(record)
        elif not records_equal(record, current):
            to_update.append((current, _without(record, ("last_modified",))))
    return to_create, to_update, list(remaining.values())


def compute_sha256(filepath: str) -> str:
    """The SHA-256 hex digest of a file (read in blocks, not all at once)."""
    digest = hashlib.sha256()
    with open(filepath, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


__all__ = [
    "chunks",
    "collection_diff",
    "compute_sha256",
    "json_dumps",
    "json_iso_datetime",
    "quote",
    "records_equal",
    "slugify",
    "sort_records",
    "urljoin",
]
