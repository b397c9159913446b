"""The kinto-http methods whose blocking and async forms differ by more than how an
operation runs: ``get_paginated_records`` (a generator, or an awaitable ``PageStream``),
``download_attachment`` (a file streamed to disk) and the async ``get_endpoint`` (an
awaitable path). ``Client`` and ``AsyncClient`` take one mixin each."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from .. import _files
from .. import protocol as core
from ..capabilities import MissingCapability
from .awaitables import EndpointPath, PageStream
from .base import OperationsBase

T = TypeVar("T")


class _Streams(OperationsBase):
    """What both forms share: the first request of a records list."""

    if TYPE_CHECKING:  # the clients run operations (see ``ClientLike``)

        def _run(self, op: core.Op[T], placeholder: Any = None, name: str = "") -> T: ...

        async def _arun(self, op: core.Op[T], placeholder: Any = None, name: str = "") -> T: ...

    def _records_request(
        self, collection: str | None, bucket: str | None, kwargs: dict[str, Any]
    ) -> core.Request:
        path = self.get_endpoint("records", bucket=bucket, collection=collection)
        if_none_match = kwargs.pop("if_none_match", None)
        headers = {"If-None-Match": core.quote_etag(if_none_match)} if if_none_match else {}
        return core.Request("GET", path, params=core.encode_params(kwargs), headers=headers)


class SyncStreams(_Streams):
    """The blocking forms (``Client``)."""

    def get_paginated_records(
        self, *, collection: str | None = None, bucket: str | None = None, **kwargs: Any
    ) -> Iterator[dict[str, Any]]:
        """Yield each page body (``{"data": [...]}``) of the records list, lazily."""
        first = self._records_request(collection, bucket, kwargs)
        for response in core.iter_pages_sync(self.session.send, first, self.server_url):
            body = response.json() if response.status != 304 else None
            if body:  # none on 304, nor in dry mode (as kinto-http)
                yield body

    def download_attachment(
        self,
        record: dict[str, Any],
        filepath: str | os.PathLike[str] | None = None,
        save_metadata: bool = False,
        overwrite: bool = False,
        chunk_size: int = 8 * 1024,
    ) -> str:
        """Stream ``record``'s attachment to ``filepath`` (a file, a folder, or the file
        name in the current folder), check its sha256 and size, return the path. A file
        that already matches is not downloaded again unless ``overwrite``."""
        plan = _download_plan(self._run(self._op_server_info()), record, filepath, overwrite,
                              self.server_url)
        if plan.up_to_date:
            return str(plan.target)
        try:
            size, sha256 = self.session.download(plan.url, plan.partial, chunk_size)
        except BaseException:
            plan.abandon()
            raise
        return plan.finish(size, sha256, save_metadata)


class AsyncStreams(_Streams):
    """The async forms (``AsyncClient``)."""

    def get_endpoint(
        self,
        name: str,
        *,
        bucket: str | None = None,
        group: str | None = None,
        collection: str | None = None,
        id: str | None = None,
    ) -> EndpointPath:
        """:meth:`Client.get_endpoint`; the path may also be awaited, as on kinto-http's
        AsyncClient."""
        path = super().get_endpoint(name, bucket=bucket, group=group, collection=collection, id=id)
        return EndpointPath(path)

    def get_paginated_records(
        self, *, collection: str | None = None, bucket: str | None = None, **kwargs: Any
    ) -> PageStream:
        """The page bodies (``{"data": [...]}``) of the records list: ``await`` it for an
        iterator over all of them (kinto-http), or ``async for`` page by page."""
        first = self._records_request(collection, bucket, kwargs)
        return PageStream(lambda: self._page_bodies(first))

    async def _page_bodies(self, first: core.Request) -> AsyncIterator[dict[str, Any]]:
        request: core.Request | None = first
        while request is not None:
            response = await self.session.send(request)
            body = response.json() if response.status != 304 else None
            if body:
                yield body
            request = core.next_page_request(response, self.server_url)

    async def download_attachment(
        self,
        record: dict[str, Any],
        filepath: str | os.PathLike[str] | None = None,
        save_metadata: bool = False,
        overwrite: bool = False,
        chunk_size: int = 8 * 1024,
    ) -> str:
        """Async :meth:`Client.download_attachment`."""
        info = await self._arun(self._op_server_info())
        plan = _download_plan(info, record, filepath, overwrite, self.server_url)
        if plan.up_to_date:
            return str(plan.target)
        try:
            size, sha256 = await self.session.download(plan.url, plan.partial, chunk_size)
        except BaseException:
            plan.abandon()
            raise
        return plan.finish(size, sha256, save_metadata)


def _download_plan(
    info: dict[str, Any], record: dict[str, Any], filepath: str | os.PathLike[str] | None,
    overwrite: bool, server_url: str,
) -> _files.DownloadPlan:
    """The download's plan; :class:`MissingCapability` when the server has no attachments
    plugin to serve a relative ``location`` (a record without attachment stays a
    ``ValueError``, as in kinto-http)."""
    location = str(_files.attachment_of(record)["location"])
    absolute = location.startswith(("http://", "https://"))
    if not absolute and "attachments" not in (info.get("capabilities") or {}):
        raise MissingCapability.of("attachments", "download_attachment()", server_url)
    return _files.DownloadPlan(info, record, filepath, overwrite)


__all__ = ["AsyncStreams", "SyncStreams"]
