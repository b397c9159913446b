"""What models, queries, batches and bulk helpers need from a client, as a ``Protocol``:
they import this, never ``client.py``, so the imports only run one way (down)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Protocol, TypeVar

from typing_extensions import Self

from ._files import Source
from .protocol import Op

T = TypeVar("T")
Data = dict[str, Any]


class ClientLike(Protocol):
    """A client as the object mapper sees it: ``Client`` and ``AsyncClient`` are ones.

    It runs operations (generators of requests, see ``protocol.Op``), streams pages,
    knows its defaults, and builds the operations the models are written with.
    """

    #: The defaults for objects that do not say where they live.
    bucket_name: str | None
    collection_name: str | None
    #: The transport (``Session`` or ``AsyncSession``).
    session: Any
    #: The batch last run through this client (see ``Client.results()``).
    _last_batch: Any

    @property
    def server_url(self) -> str:
        """The server URL, with its prefix (``.../v1``)."""
        ...

    @property
    def _is_async(self) -> bool:
        """True for an ``AsyncClient``: operations run with ``_arun`` only."""
        ...

    def clone(self, **kwargs: Any) -> Self:
        """A client sharing this one's transport, with other defaults."""
        ...

    # ------------------------------------------------------------------ running operations

    def _run(self, op: Op[T], placeholder: Any = None, name: str = "") -> T:
        """Run ``op`` to its result (sync client), or queue it in an open batch."""
        ...

    async def _arun(self, op: Op[T], placeholder: Any = None, name: str = "") -> T:
        """Async :meth:`_run`."""
        ...

    def _stream(self, stream: Any) -> Iterator[Any]:
        """Drive a page stream (sync client), yielding what it yields."""
        ...

    def _astream(self, stream: Any) -> AsyncIterator[Any]:
        """Async :meth:`_stream`."""
        ...

    # ------------------------------------------------------------------ operations

    def _op_server_settings(self, /) -> Op[Data]: ...

    def _op_server_info(self, /) -> Op[Data]:
        """``GET /v1/``, cached per client."""
        ...

    def _paginated(
        self,
        path: str,
        filters: Mapping[str, Any] | None = None,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
    ) -> Op[list[Data]]:
        """Every object of a list, following ``Next-Page``."""
        ...

    def _op_object_get(self, /, path: str) -> Op[Data]: ...

    def _op_object_create(
        self, /, path: str, data: Data, permissions: Any, safe: bool, if_not_exists: bool,
        plain: bool = False,
    ) -> Op[Data]: ...

    def _op_object_post(self, /, plural_path: str, data: Data, permissions: Any) -> Op[Data]: ...

    def _op_object_save(
        self, /, path: str, data: Data, permissions: Any, safe: bool, last_modified: int | None,
        plain: bool = False,
    ) -> Op[Data]: ...

    def _op_object_patch(
        self, /, path: str, changes: Any, safe: bool, last_modified: int | None
    ) -> Op[Data]: ...

    def _op_object_delete(
        self, /, path: str, safe: bool, last_modified: int | None, if_exists: bool, bucket: bool
    ) -> Op[Any]: ...

    def _op_add_attachment(
        self,
        /,
        id: str,
        filepath: Source,
        filename: str | None = None,
        bucket: str | None = None,
        collection: str | None = None,
        data: Data | None = None,
        permissions: Any = None,
        mimetype: str | None = None,
        *,
        force: bool = False,
    ) -> Op[Data]: ...

    def _op_remove_attachment(
        self, /, id: str, bucket: str | None = None, collection: str | None = None
    ) -> Op[Any]: ...

    def download_attachment(
        self,
        record: dict[str, Any],
        filepath: str | os.PathLike[str] | None = None,
        save_metadata: bool = False,
        overwrite: bool = False,
        chunk_size: int = 8 * 1024,
    ) -> Any:
        """The path of the verified file (a coroutine of it on an ``AsyncClient``)."""
        ...


__all__ = ["ClientLike"]
