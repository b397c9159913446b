"""Lazy, typed queries over Kinto lists.

>>> q = client.records(Todo).filter(done=False, priority__gte=3).sort("-priority")
>>> for todo in q:          # streams page by page (Next-Page), one page in memory
...     print(todo.title)

Nothing is sent until the query is iterated or a terminal method is called. Every
builder method returns a new query; the original is left as it was.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from . import protocol as core
from .bulk import BulkMixin
from .capabilities import require
from .dataframes import FramesMixin
from .endpoints import check_id
from .errors import KintoException
from .history import Snapshot
from .lookups import LOOKUPS, merge_lookups
from .models.base import KintoObject
from .models.validation import check_path, is_typed
from .pages import (
    InvalidItem,
    Page,
    Source,
    head_request,
    parse_page,
    read_object,
)
from .protocol import Request, Response
from .query_async import AsyncTerminals
from .replicas import Replica
from .typed_lookups import expression_lookups, typed_lookups

if TYPE_CHECKING:

    from ._client_like import ClientLike

T = TypeVar("T", bound=KintoObject)
OnInvalid = Literal["raise", "skip", "collect"]

# ---------------------------------------------------------------------------- query


@dataclass
class _State:
    filters: dict[str, str] = field(default_factory=dict)
    sort: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    page_size: int | None = None
    limit: int | None = None
    on_invalid: OnInvalid = "raise"


class Query(AsyncTerminals[T], BulkMixin, FramesMixin, Generic[T]):
    """A lazy query over one (or, for a bucket's children, several) Kinto lists.

    Build it with :meth:`filter`, :meth:`exclude`, :meth:`sort`, :meth:`fields`,
    :meth:`page_size`, :meth:`limit`; read it by iterating or with :meth:`all`,
    :meth:`first`, :meth:`get`, :meth:`count`, :meth:`exists`, :meth:`pages`.
    """

    def __init__(self, client: ClientLike, sources: Sequence[Source]) -> None:
        self._client = client
        self._sources = list(sources)
        self._state = _State()
        #: Objects skipped during the last iteration with ``on_invalid("collect")``.
        self.invalid: list[InvalidItem] = []

    def __repr__(self) -> str:
        paths = ", ".join(s.path for s in self._sources) or "nothing"
        return f"<Query {paths} {self._params(None)}>"

    # ------------------------------------------------------------------ builders

    def _with(self, **changes: Any) -> Query[T]:
        clone: Query[T] = copy.copy(self)
        clone._state = dataclasses.replace(self._state, **changes)
        clone.invalid = []
        return clone

    def filter(self, **lookups: Any) -> Query[T]:
        """Keep objects matching every lookup: ``filter(done=False, priority__gte=3)``.

        Lookups: ``f`` (equal), ``f__ne``, ``f__lt``, ``f__lte``, ``f__gt``, ``f__gte``,
        ``f__in``, ``f__not_in``, ``f__like``, ``f__has``, ``f__contains``,
        ``f__contains_any``; ``a__b`` (or ``"a.b"``) is the nested field ``a.b``. On a
        typed model, a name that is not one of its fields raises ``ValueError``, and a
        value its field's type does not accept ``TypeError`` (values are sent as the model
        sends them: an enum member as its value, a date as ISO text).
        """
        lookups = self._check_lookups(lookups, "filter")
        return self._with(filters=merge_lookups(self._state.filters, lookups, negate=False))

    def exclude(self, **lookups: Any) -> Query[T]:
        """Drop objects matching a lookup: ``exclude(tag__in=["x"], done=True)``."""
        lookups = self._check_lookups(lookups, "exclude")
        return self._with(filters=merge_lookups(self._state.filters, lookups, negate=True))

    def where(self, *conditions: Callable[[T], bool]) -> Query[T]:
        """Keep objects matching every condition, each a comparison of the model's fields
        that type checkers check (a misspelled field, a value of the wrong type):

        >>> client.records(Book).where(lambda b: b.pages >= 100, lambda b: b.genre == Genre.SF)

        Comparisons: ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, on fields and nested
        fields (``b.pub.city == "Paris"``), joined with ``&``. Other lookups (``__in``,
        ``__like``...) go to :meth:`filter`. Values are checked as :meth:`filter` checks
        them.
        """
        lookups: dict[str, Any] = {}
        for condition in conditions:
            lookups.update(expression_lookups(condition))
        lookups = self._check_lookups(lookups, "where")
        return self._with(filters=merge_lookups(self._state.filters, lookups, negate=False))

    def sort(self, *fields: str) -> Query[T]:
        """Order by fields, ``-`` for descending: ``sort("-priority", "title")``."""
        for name in fields:
            if not isinstance(name, str) or not name.lstrip("-"):
                raise ValueError(f"Invalid sort field {name!r}.")
        names = tuple(f.replace("__", ".") for f in fields)
        self._check_names((name.lstrip("-") for name in names), "sort")
        return self._with(sort=names)

    def fields(self, *names: str) -> Query[T]:
        """Only fetch these fields (``id`` and ``last_modified`` always come)."""
        for name in names:
            if not isinstance(name, str) or not name:
                raise ValueError(f"Invalid field name {name!r}.")
        dotted = tuple(n.replace("__", ".") for n in names)
        self._check_names(dotted, "fields")
        return self._with(fields=dotted)

    def _with_model(self, model: type[KintoObject]) -> Query[Any]:
        """This query read as ``model`` (e.g. the plain ``Record``, to read only ids)."""
        clone: Query[Any] = self._with()
        clone._sources = [dataclasses.replace(source, model=model) for source in self._sources]
        return clone

    def _typed_model(self) -> type[KintoObject] | None:
        """The model whose field names are checked, when every source reads one typed model."""
        models = {source.model for source in self._sources}
        if len(models) != 1:
            return None
        model = models.pop()
        return model if is_typed(model) else None

    def _check_lookups(self, lookups: dict[str, Any], usage: str) -> dict[str, Any]:
        """``lookups`` checked against the typed model (names and values), its values
        converted as the model sends them; as they are on an untyped model."""
        model = self._typed_model()
        if model is None:
            return lookups
        return typed_lookups(model, lookups, usage)

    def _check_names(self, names: Iterable[str], usage: str) -> None:
        model = self._typed_model()
        if model is None:
            return
        for name in names:
            check_path(model, tuple(name.split(".")), f"{usage}({name!r})", tuple(LOOKUPS))

    def page_size(self, size: int) -> Query[T]:
        """How many objects each request asks for (the server may cap it)."""
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"page_size must be a positive integer, got {size!r}.")
        return self._with(page_size=size)

    def limit(self, count: int) -> Query[T]:
        """Stop after ``count`` objects, across page boundaries."""
        if not isinstance(count, int) or count < 0:
            raise ValueError(f"limit must be a non-negative integer, got {count!r}.")
        return self._with(limit=count)

    def since(self, etag: int | str) -> Query[T]:
        """Only objects changed after timestamp ``etag`` (tombstones of deleted ones too)."""
        return self._with(filters={**self._state.filters, "_since": core.quote_etag(etag)})

    def before(self, etag: int | str) -> Query[T]:
        """Only objects changed before timestamp ``etag``."""
        return self._with(filters={**self._state.filters, "_before": core.quote_etag(etag)})

    def on_invalid(self, mode: OnInvalid) -> Query[T]:
        """What to do with objects that fail model validation: ``"raise"`` (default, names
        the object), ``"skip"``, or ``"collect"`` (skip and list them in ``.invalid``)."""
        if mode not in ("raise", "skip", "collect"):
            raise ValueError("on_invalid takes 'raise', 'skip' or 'collect'.")
        return self._with(on_invalid=mode)

    # ------------------------------------------------------------------ requests

    def _params(self, remaining: int | None) -> dict[str, str]:
        state = self._state
        params = dict(state.filters)
        if state.sort:
            params["_sort"] = ",".join(state.sort)
        if state.fields:
            params["_fields"] = ",".join(state.fields)
        size = state.page_size
        if remaining is not None:
            size = min(size, remaining) if size else remaining
        if size:
            params["_limit"] = str(size)
        return params

    def _stream(self) -> Generator[Request | Page[T], Response | None, None]:
        """Every page, as a stream op: yields a Request (to be answered with its
        Response) or a Page (to be handed to the caller)."""
        self.invalid = []
        yield from self._op_capabilities()
        remaining = self._state.limit
        for source in self._sources:
            if remaining == 0:
                return
            request: Request | None = Request(
                "GET", source.path, params=self._params(remaining)
            )
            while request is not None:
                response = yield request
                assert response is not None
                page: Page[T] = parse_page(
                    source, response, bool(self._state.fields), self._state.on_invalid,
                    self.invalid,
                )
                if remaining is not None:
                    page.items = page.items[:remaining]
                    remaining -= len(page.items)
                yield page
                del page
                if remaining == 0:
                    return
                request = core.next_page_request(response, self._client.server_url)
                del response

    # ------------------------------------------------------------------ sync terminals

    def pages(self) -> Iterator[Page[T]]:
        """Iterate page by page (``page.items``, ``page.etag``, ``page.next_url``)."""
        return self._client._stream(self._stream())

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            items = page.items
            del page  # hold one page, not two, while the next one loads
            yield from items
            items = []

    def all(self) -> list[T]:
        """Every matching object, in a list."""
        items: list[T] = []
        for page in self.pages():
            items += page.items
        return items

    def first(self) -> T | None:
        """The first matching object, or None."""
        for item in self.limit(1):
            return item
        return None

    def get(self, id: str) -> T:
        """The object with this id (one GET); raises ``NotFound`` when it is missing."""
        result: T = self._client._run(self._op_get(id), name="get")
        return result

    def count(self) -> int:
        """How many objects match (HEAD, ``Total-Objects``), capped by :meth:`limit`."""
        result: int = self._client._run(self._op_count(), name="count")
        return result

    def exists(self) -> bool:
        """Whether at least one object matches."""
        return self.count() > 0

    def delete(self) -> list[dict[str, Any]]:
        """Delete every matching object (plural DELETE); returns the tombstones."""
        result: list[dict[str, Any]] = self._client._run(self._op_delete(), name="delete")
        return result

    def timestamp(self) -> int:
        """The list's current timestamp (its ETag)."""
        result: int = self._client._run(self._op_timestamp(), name="timestamp")
        return result

    # ------------------------------------------------------------------ operations

    def _op_get(self, id: str) -> core.Op[T]:
        check_id(id)
        yield from self._op_capabilities()
        for source in self._sources:
            try:
                body = yield from self._client._op_object_get(source.item_path(id))
            except KintoException as exc:
                if exc.status_code == 404 and source is not self._sources[-1]:
                    continue
                raise
            result: T = read_object(source, body, id)
            return result
        raise ValueError("This query reads nothing, so get() cannot find anything.")

    def _op_count(self) -> core.Op[int]:
        yield from self._op_capabilities()
        total = 0
        for source in self._sources:
            params = {k: v for k, v in self._params(None).items() if not k.startswith("_")}
            params.update({k: v for k, v in self._state.filters.items() if k.startswith("_")})
            response = yield from head_request(source.path, params)
            counted = response.headers.get("Total-Objects")
            if counted is None:  # e.g. the history endpoint: count page by page
                listed = yield from self._client._paginated(
                    source.path, {**params, "_fields": "id"}
                )
                counted = len(listed)
            total += int(counted)
        limit = self._state.limit
        return total if limit is None else min(total, limit)

    def _op_delete(self) -> core.Op[list[dict[str, Any]]]:
        # No _sort/_fields: a sorted plural DELETE's Next-Page matches nothing on Kinto.
        filters = dict(self._state.filters)
        remaining = self._state.limit
        deleted: list[dict[str, Any]] = []
        yield from self._op_capabilities()
        for source in self._sources:
            request: Request | None = None
            if remaining != 0:
                params = dict(filters)
                if remaining is not None:
                    params["_limit"] = str(remaining)
                request = Request("DELETE", source.path, params=params)
            while request is not None:
                response = yield request
                page = response.data()
                deleted += page
                if remaining is not None:
                    remaining -= len(page)
                    if remaining <= 0:
                        break
                request = core.next_page_request(response, self._client.server_url)
        return deleted

    def _op_timestamp(self) -> core.Op[int]:
        yield from self._op_capabilities()
        stamps = []
        for source in self._sources:
            response = yield from head_request(source.path, {})
            stamps.append(core.etag_value(response.headers) or 0)
        return max(stamps, default=0)

    # ------------------------------------------------------------------ plugins

    def _op_capabilities(self) -> core.Op[None]:
        """Refuse (:class:`MissingCapability`) a list the server's plugins do not offer."""
        for source in self._sources:
            capability = getattr(source.model, "kinto_capability", None)
            if capability:
                yield from require(self._client, capability, f"Listing {source.path}")

    # ------------------------------------------------------------------ replicas

    def replica(self, path: str | os.PathLike[str]) -> Replica[T]:
        """A local copy of this collection in the SQLite file ``path`` (``":memory:"``
        for one kept in memory), synced with ``pull()``/``push()``/``synchronize()``
        and queried with ``records()`` without the network. See ``docs/replicas.md``.

        >>> replica = client.records(Todo).replica("todos.sqlite")
        >>> replica.pull()
        """
        source = self._sources[0] if len(self._sources) == 1 else None
        if source is None or source.model.kinto_kind != "record":
            raise TypeError("replica() keeps a collection's records: use it on client.records().")
        if self._state.filters or self._state.fields or self._state.limit is not None:
            raise ValueError("replica() copies the whole collection: call it on "
                             "client.records(Model) itself, and filter replica.records().")
        return Replica(self._client, source.model, source.path, source.binding,  # type: ignore[arg-type]
                       path)

    # ------------------------------------------------------------------ history

    def at(self, timestamp: int) -> Snapshot[T]:
        """The collection as it was at ``timestamp`` (a Kinto timestamp: a record's
        ``last_modified``, ``query.timestamp()``...), rebuilt from the history plugin:
        ``client.records(Todo).filter(done=False).at(stamp).all()``. The query's
        filters, sort and limit apply to the records of that time (``fields`` is
        refused). Raises ``HistoryUnavailable`` when history does not reach back that
        far, ``MissingCapability`` without the plugin.
        """
        source = self._sources[0] if len(self._sources) == 1 else None
        if source is None or source.model.kinto_kind != "record":
            raise TypeError("at() rebuilds a collection's records: use it on client.records().")
        state = self._state
        if state.fields:
            raise ValueError("at() rebuilds whole records: fields() cannot apply to it.")
        stamp = int(core.quote_etag(timestamp).strip('"'))
        return Snapshot(self._client, source.model, source.binding, stamp, state.limit,  # type: ignore[arg-type]
                        dict(state.filters), state.sort)


__all__ = ["InvalidItem", "OnInvalid", "Page", "Query"]
