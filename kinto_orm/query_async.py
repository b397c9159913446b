"""The async terminals of :class:`~kinto_orm.query.Query`: ``async for``, ``aall()``,
``aget()``... each the twin of a sync one, run by an ``AsyncClient``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from . import protocol as core
from .models.base import KintoObject
from .pages import Page

if TYPE_CHECKING:
    from typing_extensions import Self

    from ._client_like import ClientLike
    from .protocol import Request, Response

T = TypeVar("T", bound=KintoObject)


class AsyncTerminals(Generic[T]):
    """What a query sends, awaited: the ops are :class:`~kinto_orm.query.Query`'s."""

    _client: ClientLike

    if TYPE_CHECKING:
        def _stream(self) -> Generator[Request | Page[T], Response | None, None]: ...
        def limit(self, count: int) -> Self: ...
        def _op_get(self, id: str) -> core.Op[T]: ...
        def _op_count(self) -> core.Op[int]: ...
        def _op_delete(self) -> core.Op[list[dict[str, Any]]]: ...
        def _op_timestamp(self) -> core.Op[int]: ...

    def __aiter__(self) -> AsyncIterator[T]:
        return self._aiter_items()

    async def _aiter_items(self) -> AsyncIterator[T]:
        async for page in self.apages():
            items = page.items
            del page  # hold one page, not two, while the next one loads
            for item in items:
                yield item
            items = []

    def apages(self) -> AsyncIterator[Page[T]]:
        """Async :meth:`pages`."""
        return self._client._astream(self._stream())

    async def aall(self) -> list[T]:
        """Async :meth:`all`."""
        items: list[T] = []
        async for page in self.apages():
            items += page.items
        return items

    async def afirst(self) -> T | None:
        """Async :meth:`first`."""
        async for item in self.limit(1):
            return item
        return None

    async def aget(self, id: str) -> T:
        """Async :meth:`get`."""
        result: T = await self._client._arun(self._op_get(id), name="aget")
        return result

    async def acount(self) -> int:
        """Async :meth:`count`."""
        result: int = await self._client._arun(self._op_count(), name="acount")
        return result

    async def aexists(self) -> bool:
        """Async :meth:`exists`."""
        return await self.acount() > 0

    async def adelete(self) -> list[dict[str, Any]]:
        """Async :meth:`delete`."""
        result: list[dict[str, Any]] = await self._client._arun(self._op_delete(), name="adelete")
        return result

    async def atimestamp(self) -> int:
        """Async :meth:`timestamp`."""
        result: int = await self._client._arun(self._op_timestamp(), name="atimestamp")
        return result
