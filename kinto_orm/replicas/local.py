"""``replica.records()``: a query over the replica's SQLite file, without the network.

>>> replica.records().filter(done=False, priority__gte=3).sort("-priority").all()

The same lookups, field checks and errors as :class:`~kinto_orm.Query` (they come from the
same functions); records deleted locally and not pushed yet are left out, records changed
locally are read in their local version.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from ..errors import NotFound
from ..lookups import LOOKUPS, merge_lookups
from ..models.base import KintoObject
from ..models.validation import check_path, is_typed
from ..typed_lookups import typed_lookups
from .sql import order_by, where
from .store import Store

T = TypeVar("T", bound=KintoObject)
#: Turns a list of stored JSON texts into objects of the model.
MakeMany = Callable[[list[str]], list[Any]]

_LIVE = "status != 'deleted'"


class LocalQuery(Generic[T]):
    """A lazy query over a replica's records (see the module docstring). Every builder
    returns a new query."""

    def __init__(self, store: Store, model: type[T], make: MakeMany) -> None:
        self._store = store
        self._model = model
        self._make = make
        self._filters: dict[str, str] = {}
        self._sort: tuple[str, ...] = ()
        self._limit: int | None = None

    def __repr__(self) -> str:
        return f"<LocalQuery {self._store.path} {self._filters} sort={self._sort}>"

    def _with(self, **changes: Any) -> LocalQuery[T]:
        clone = copy.copy(self)
        for name, value in changes.items():
            setattr(clone, name, value)
        return clone

    # ------------------------------------------------------------------ builders

    def filter(self, **lookups: Any) -> LocalQuery[T]:
        """Keep records matching every lookup: ``filter(done=False, priority__gte=3)``
        (the lookups of ``Query.filter``)."""
        lookups = self._check_lookups(lookups, "filter")
        return self._with(_filters=merge_lookups(self._filters, lookups, negate=False))

    def exclude(self, **lookups: Any) -> LocalQuery[T]:
        """Drop records matching a lookup: ``exclude(tag__in=["x"], done=True)``."""
        lookups = self._check_lookups(lookups, "exclude")
        return self._with(_filters=merge_lookups(self._filters, lookups, negate=True))

    def sort(self, *fields: str) -> LocalQuery[T]:
        """Order by fields, ``-`` for descending: ``sort("-priority", "title")``."""
        for name in fields:
            if not isinstance(name, str) or not name.lstrip("-"):
                raise ValueError(f"Invalid sort field {name!r}.")
        names = tuple(f.replace("__", ".") for f in fields)
        if is_typed(self._model):
            for name in names:
                bare = name.lstrip("-")
                check_path(self._model, tuple(bare.split(".")), f"sort({bare!r})",
                           tuple(LOOKUPS))
        return self._with(_sort=names)

    def limit(self, count: int) -> LocalQuery[T]:
        """Stop after ``count`` records."""
        if not isinstance(count, int) or count < 0:
            raise ValueError(f"limit must be a non-negative integer, got {count!r}.")
        return self._with(_limit=count)

    def _check_lookups(self, lookups: dict[str, Any], usage: str) -> dict[str, Any]:
        """As ``Query`` checks them: names and values against a typed model, values
        converted as the model sends them (enum members, dates...)."""
        if not is_typed(self._model):
            return lookups
        return typed_lookups(self._model, lookups, usage)

    # ------------------------------------------------------------------ reading

    def _select(self, what: str) -> tuple[str, list[Any]]:
        condition, params = where(self._filters)
        sql = f"SELECT {what} FROM records WHERE {_LIVE} AND ({condition})"
        if what == "data":
            sql += f" ORDER BY {order_by(self._sort)}"
            if self._limit is not None:
                sql += f" LIMIT {int(self._limit)}"
        return sql, params

    def all(self) -> list[T]:
        """Every matching record, in a list."""
        sql, params = self._select("data")
        texts = [text for (text,) in self._store.reader.execute(sql, params)]
        items: list[T] = self._make(texts)
        return items

    def __iter__(self) -> Iterator[T]:
        return iter(self.all())

    def first(self) -> T | None:
        """The first matching record, or None."""
        found = self.limit(1).all()
        return found[0] if found else None

    def get(self, id: str) -> T:
        """The matching record with this id; raises ``NotFound`` when there is none."""
        found = self.filter(id=id).first()
        if found is None:
            raise NotFound(f"No record {id!r} in the replica {self._store.path} matches.")
        return found

    def count(self) -> int:
        """How many records match (capped by :meth:`limit`)."""
        sql, params = self._select("count(*)")
        total: int = self._store.reader.execute(sql, params).fetchone()[0]
        return total if self._limit is None else min(total, self._limit)

    def exists(self) -> bool:
        """Whether at least one record matches."""
        return self.limit(1).count() > 0


__all__ = ["LocalQuery"]
