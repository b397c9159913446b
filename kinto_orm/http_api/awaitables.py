"""Values the AsyncClient returns where kinto-http's AsyncClient is awaited but kinto-orm
can also offer more: page streams (awaitable and async-iterable) and endpoint paths."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator, Iterator
from typing import Any

Page = dict[str, Any]


class PageStream:
    """The pages of a records list, from ``AsyncClient.get_paginated_records()``.

    ``await`` it for what kinto-http gives (an iterator over every page body, all read
    first), or ``async for`` over it to read one page at a time::

        for page in await aclient.get_paginated_records(collection="todos"): ...
        async for page in aclient.get_paginated_records(collection="todos"): ...
    """

    def __init__(self, pages: Callable[[], AsyncIterator[Page]]) -> None:
        self._pages = pages

    def __aiter__(self) -> AsyncIterator[Page]:
        return self._pages()

    def __await__(self) -> Generator[Any, None, Iterator[Page]]:
        return self._collect().__await__()

    async def _collect(self) -> Iterator[Page]:
        return iter([page async for page in self._pages()])


class EndpointPath(str):
    """A path (a plain ``str``) that can also be awaited, for code written for
    kinto-http's AsyncClient: ``await aclient.get_endpoint("bucket", bucket="b")``."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, str]:
        return str(self)
        yield  # a generator that never yields: awaiting it returns at once
