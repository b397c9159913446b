"""What a query reads: its ``Source`` lists, the ``Page`` values it yields, and the fast
path that validates a whole page of models straight from the response bytes."""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from . import protocol as core
from ._collector import collector_paused
from .endpoints import endpoint
from .errors import KintoException
from .models.base import KintoObject
from .models.state import Binding, share_state
from .protocol import Request, Response

T = TypeVar("T", bound=KintoObject)


# ---------------------------------------------------------------------------- pages


@dataclass
class Page(Generic[T]):
    """One page of results: ``items``, the list ``etag`` (timestamp) and ``next_url``."""

    items: list[T]
    etag: int | None = None
    next_url: str | None = None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@dataclass
class InvalidItem:
    """A listed object that did not fit the model (see ``Query.on_invalid``)."""

    id: str | None
    data: Any
    error: ValidationError


@lru_cache(maxsize=256)
def _list_adapter(model: type[KintoObject]) -> TypeAdapter[Any]:
    """A cached validator of a whole list page, read straight from bytes.

    It parses the JSON, so the model's own ``cache_strings`` is applied here as Pydantic
    applies it to ``model_validate_json``: by default short strings are looked up in
    pydantic-core's cache, so that a value repeated from record to record is one object
    (about 100 bytes a record less for two short tags); ``cache_strings="keys"`` on the
    model parses a page faster (about 0.1-0.2 us a record here) at that memory cost."""

    class ListBody(BaseModel):
        model_config = ConfigDict(
            extra="ignore", cache_strings=model.model_config.get("cache_strings", True)
        )
        data: list[model]  # type: ignore[valid-type]

    return TypeAdapter(ListBody)


def _only_missing(exc: ValidationError) -> bool:
    return all(error["type"] == "missing" for error in exc.errors())


def _partial_object(model: type[KintoObject], raw: dict[str, Any], binding: Binding) -> KintoObject:
    """An object read with ``fields()``: the fields that came are validated one by one,
    the others are simply absent (required ones included)."""
    obj = model.model_construct()
    object.__setattr__(obj, "__pydantic_fields_set__", set())
    extra: dict[str, Any] = {}
    for key, value in raw.items():
        name = model._field_name(key)
        if name is None:
            extra[key] = value
        else:
            model.__pydantic_validator__.validate_assignment(obj, name, value)
    object.__setattr__(obj, "__pydantic_extra__", extra)
    obj._binding = binding
    obj._changed = None
    return obj


def head_request(
    path: str, params: dict[str, str]
) -> Generator[Request, Response | None, Response]:
    """A HEAD of a list. Its error answer has no body, so nothing would say what is
    missing: a GET of the list then asks, and the error raised names the missing bucket or
    collection (as the CLI's hints do), with the GET's ``details``."""
    try:
        response = yield Request("HEAD", path, params=params)
    except KintoException as exc:
        if exc.status_code not in (403, 404) or exc.details:
            raise
        try:
            yield Request("GET", path, params={"_limit": "1"})
        except KintoException as named:
            raise _named(exc, named, path) from exc
        raise
    assert response is not None
    return response


def _named(head: KintoException, get: KintoException, path: str) -> KintoException:
    """``head``'s error, saying what is missing (from ``get``'s answer)."""
    found = re.match(r"^/buckets/([^/]+)", path)
    bucket = found.group(1) if found else None
    details = get.details if isinstance(get.details, dict) else {}
    kind, oid = details.get("resource_name"), details.get("id")
    if kind and oid:
        where = f" in bucket {bucket!r}" if bucket and kind != "bucket" else ""
        sentence = f"{kind} {oid!r} does not exist{where}"
    elif head.status_code == 403 and bucket:
        sentence = (f"bucket {bucket!r} does not exist, or these credentials may not read it "
                    "(Kinto answers 403 for both)")
    else:
        sentence = get.description
    status = head.status_code
    request = head.request
    described = f"{request.describe()} - " if request is not None else ""
    return type(head)(
        f"{status} - {sentence}", request=request, response=head.response, errno=get.errno,
        details=get.details, description=f"{described}{status} {sentence}",
    )


def read_object(source: Source, body: dict[str, Any], id: str) -> Any:
    """The object ``id`` of ``source`` from its GET answer; one that does not fit the
    model raises ``ValueError`` naming it and the model, as a page's do."""
    try:
        return source.model.from_kinto(body, source.binding)
    except ValidationError as exc:
        raise ValueError(
            f"Object {id!r} of {source.path} does not fit {source.model.__name__}: "
            f"{exc}\nRead it with the untyped model (client.records(Record, ...)"
            ".get(id)) to see its data, or fix the record or the model."
        ) from exc


@dataclass
class Source:
    """One list endpoint a query reads, the model of its items and their binding."""

    model: type[KintoObject]
    path: str
    binding: Binding

    def item_path(self, id: str) -> str:
        """The path of the object ``id`` of this list."""
        parents = {"bucket": self.binding.bucket, "collection": self.binding.collection}
        kind = self.model.kinto_kind
        wanted = {"record": ("bucket", "collection"), "collection": ("bucket",),
                  "group": ("bucket",)}.get(kind, ())
        ids = {name: parents[name] for name in wanted}
        return endpoint(kind, **ids, **{self.model._id_key: id})


def parse_page(
    source: Source, response: Response, partial: bool, on_invalid: str,
    invalid: list[InvalidItem],
) -> Page[Any]:
    """One page of ``source``'s models from ``response``: validated in one call from the
    bytes, or item by item when that fails (see :func:`_parse_slowly`)."""
    if response.content == b"{}":  # dry mode answers {}: an empty page
        return Page([], None, None)
    state: dict[str, Any] = {"_binding": source.binding}
    if partial:
        state["_partial"] = True
    try:
        # The whole page in one call, from bytes to models, in pydantic-core; the state
        # shared before the collector runs again: the fields sets it replaces are gone
        # by then, and the collector's pass over the page has fewer objects to walk.
        with collector_paused():
            items: list[Any] = _list_adapter(source.model).validate_json(response.content).data
            share_state(items, **state)
    except ValidationError:
        items = _parse_slowly(source, response, partial, on_invalid, invalid)
        share_state(items, **state)
    return Page(
        items,
        core.etag_value(response.headers),
        response.headers.get("Next-Page"),
    )


def _parse_slowly(
    source: Source, response: Response, partial: bool, on_invalid: str,
    invalid: list[InvalidItem],
) -> list[Any]:
    """Validate item by item: tombstones pass, invalid objects follow ``on_invalid``."""
    items: list[Any] = []
    for raw in response.data():
        if isinstance(raw, dict) and raw.get("deleted") is True:
            items.append(source.model.model_construct(**raw))
            continue
        try:
            data = source.model.incoming(raw) if isinstance(raw, dict) else raw
            items.append(source.model.model_validate(data))
        except ValidationError as exc:
            obj_id = raw.get("id") if isinstance(raw, dict) else None
            if partial and _only_missing(exc):
                items.append(_partial_object(source.model, raw, source.binding))
                continue
            mode = on_invalid
            if mode == "raise":
                raise ValueError(
                    f"Object {obj_id!r} of {source.path} does not fit "
                    f"{source.model.__name__}: {exc}\nUse .on_invalid('skip') or "
                    ".on_invalid('collect') to read the others anyway."
                ) from exc
            if mode == "collect":
                invalid.append(InvalidItem(obj_id, raw, exc))
    return items
