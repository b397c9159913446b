"""Clients: the kinto-http method set plus the object-mapper entry points.

>>> from kinto_orm import Client
>>> client = Client("http://localhost:8888/v1", auth=("alice", "s3cr3t"), bucket="blog")
>>> client.create_collection(id="todos", if_not_exists=True)        # kinto-http style
>>> client.records(Todo).filter(done=False).all()                  # typed queries
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, TypeVar, overload

from typing_extensions import Self

from . import _files
from . import _protocol as core
from ._awaitables import EndpointPath, PageStream
from ._methods import OperationsMixin
from ._operations import KintoMethod
from ._timeouts import DEFAULT_TIMEOUT, Timeout, TimeoutMixin
from .auth import parse_auth
from .batch import Batch, open_batch
from .endpoints import check_id, endpoint
from .errors import KintoException
from .events import HooksMixin
from .models import (
    Bucket,
    Collection,
    Group,
    KintoObject,
    PermissionEntry,
    Record,
    ServerInfo,
)
from .models.base import Binding
from .query import Page, Query, Source
from .session import AsyncSession, Session

T = TypeVar("T")
M = TypeVar("M", bound=KintoObject)
R = TypeVar("R", bound=Record)


class BaseClient(OperationsMixin, HooksMixin, TimeoutMixin):
    """What the sync and async clients share: defaults, paths and the ORM entry points.

    ``timeout``: seconds, a ``(connect, read)`` tuple, or None for no timeout; by default
    10 s to connect and 60 s to wait for each answer (see :meth:`timeout` for a block).
    """

    def __init__(
        self,
        server_url: str | None = None,
        *,
        auth: Any = None,
        bucket: str | None = None,
        collection: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        retry: int = 0,
        retry_after: float | None = None,
        dry_mode: bool = False,
        session: Any = None,
        ignore_batch_4xx: bool = False,
        hooks: Any = None,
    ) -> None:
        if bucket is not None:
            check_id(bucket, "bucket id")
        if collection is not None:
            check_id(collection, "collection id")
        self.bucket_name = bucket
        self.collection_name = collection
        self._ignore_batch_4xx = ignore_batch_4xx
        self._last_batch: Batch[Any] | None = None
        self._server_info: dict[str, Any] | None = None
        self._records_timestamp: dict[str, str] = {}
        if session is not None:
            if server_url is not None or auth is not None:
                raise ValueError("Pass either session=... or server_url/auth, not both.")
            if timeout is not DEFAULT_TIMEOUT:  # the rest of the session stays shared
                session = session.with_timeout(timeout)
            self.session = session
        else:
            if server_url is None:
                raise ValueError(
                    "Client needs the server URL, e.g. Client('http://localhost:8888/v1')."
                )
            auth = parse_auth(auth)
            setter = getattr(auth, "set_server_url", None)
            if callable(setter):  # BrowserOAuth needs to know where to log in.
                setter(server_url)
            self.session = self._make_transport(
                server_url,
                auth=auth,
                headers=headers,
                timeout=timeout,
                retry=retry,
                retry_after=retry_after,
                dry_mode=dry_mode,
                hooks=hooks,
            )

    def _make_transport(self, server_url: str, **kwargs: Any) -> Any:
        raise NotImplementedError

    def clone(self, **kwargs: Any) -> Self:
        """A client sharing this one's transport (connection pool, auth, retry, event
        hooks), with some defaults overridden: ``client.clone(collection="orders")``,
        ``client.clone(timeout=5)``.

        Passing ``server_url`` or ``auth`` builds a new transport instead (it still
        shares the event hooks).
        """
        if "server_url" in kwargs or "auth" in kwargs:
            kwargs.setdefault("server_url", self.session.server_url)
            kwargs.setdefault("auth", self.session.auth)
            for name in ("timeout", "retry", "retry_after", "dry_mode"):
                kwargs.setdefault(name, getattr(self.session, name))
            kwargs.setdefault("hooks", self.session.hooks)
        else:
            kwargs.setdefault("session", self.session)
        kwargs.setdefault("bucket", self.bucket_name)
        kwargs.setdefault("collection", self.collection_name)
        kwargs.setdefault("ignore_batch_4xx", self._ignore_batch_4xx)
        return type(self)(**kwargs)

    def __repr__(self) -> str:
        if self.collection_name:
            path = endpoint("collection", bucket=self.bucket_name or "default",
                            collection=self.collection_name)
        elif self.bucket_name:
            path = endpoint("bucket", bucket=self.bucket_name)
        else:
            path = "/"
        return f"<Kinto{type(self).__name__} {self.server_url}{path}>"

    # ------------------------------------------------------------------ running operations

    #: True for AsyncClient: its methods are coroutines.
    _is_async = False

    def _run(self, op: core.Op[T], placeholder: Any = None, name: str = "") -> T:
        raise NotImplementedError

    async def _arun(self, op: core.Op[T], placeholder: Any = None, name: str = "") -> T:
        raise NotImplementedError

    def _stream(self, stream: Any) -> Iterator[Any]:
        stream.close()
        raise TypeError(
            "This query is bound to an AsyncClient: iterate it with `async for`, or use "
            "await query.aall() / afirst() / acount() / apages()."
        )

    def _astream(self, stream: Any) -> AsyncIterator[Any]:
        stream.close()
        raise TypeError(
            "This query is bound to a sync Client: iterate it with a plain `for`, or use "
            "query.all() / first() / count() / pages()."
        )

    # ------------------------------------------------------------------ object mapper

    def bucket(self, id: str) -> Bucket:
        """Bucket ``id``, bound to this client (not fetched)."""
        return Bucket(id=check_id(id, "bucket id")).bind(self)

    def collection(self, id: str, bucket: str | None = None) -> Collection:
        """Collection ``id`` of ``bucket`` (default: the client's), bound, not fetched."""
        coll = Collection(id=check_id(id, "collection id"))
        return coll.bind(self, bucket=self._bucket(bucket))

    def group(self, id: str, bucket: str | None = None) -> Group:
        """Group ``id`` of ``bucket`` (default: the client's), bound, not fetched."""
        return Group(id=check_id(id, "group id")).bind(self, bucket=self._bucket(bucket))

    def buckets(self) -> Query[Bucket]:
        """A query over every bucket you can read."""
        return self._query(Bucket, "buckets")

    def permissions(self, **filters: Any) -> Query[PermissionEntry]:
        """A query over the objects you have permissions on (permissions endpoint):
        ``client.permissions(resource_name="bucket")``."""
        query = self._query(PermissionEntry, "permissions")
        return query.filter(**filters) if filters else query

    @overload
    def records(
        self, Model: None = None, *, bucket: str | None = None, collection: str | None = None
    ) -> Query[Record]: ...
    @overload
    def records(
        self, Model: type[R], *, bucket: str | None = None, collection: str | None = None
    ) -> Query[R]: ...
    def records(
        self,
        Model: type[Any] | None = None,
        *,
        bucket: str | None = None,
        collection: str | None = None,
    ) -> Query[Any]:
        """A query over records, typed as ``Model``: ``client.records(Todo).filter(...)``.

        Where: the arguments, else ``Model``'s class keywords, else the client's defaults.
        """
        model = Model or Record
        if not (isinstance(model, type) and issubclass(model, Record)):
            raise TypeError(f"records() takes a Record subclass, got {model!r}.")
        bucket = bucket or model.kinto_bucket or self._bucket(None)
        collection = collection or model.kinto_collection or self.collection_name
        if collection is None:
            raise ValueError(
                f"No collection for {model.__name__}: pass records({model.__name__}, "
                f"collection='...'), declare it on the class, or set Client(collection='...')."
            )
        return self._query(model, "records", bucket=bucket, collection=collection)

    def _bucket(self, bucket: str | None) -> str:
        return bucket or self.bucket_name or "default"

    def _query(
        self,
        model: type[M],
        name: str,
        bucket: str | None = None,
        collection: str | None = None,
    ) -> Query[M]:
        path = endpoint(name, bucket=bucket, collection=collection)
        return Query(self, [Source(model, path, Binding(self, bucket, collection))])

    def _query_many(
        self, kinds: Sequence[tuple[type[KintoObject], str]], bucket: str | None
    ) -> Query[Any]:
        sources = [
            Source(model, endpoint(name, bucket=bucket), Binding(self, bucket))
            for model, name in kinds
        ]
        return Query(self, sources)

    def _records_request(
        self, collection: str | None, bucket: str | None, kwargs: dict[str, Any]
    ) -> core.Request:
        path = self.get_endpoint("records", bucket=bucket, collection=collection)
        if_none_match = kwargs.pop("if_none_match", None)
        headers = {"If-None-Match": core.quote_etag(if_none_match)} if if_none_match else {}
        return core.Request("GET", path, params=core.encode_params(kwargs), headers=headers)

    def _op_info(self) -> core.Op[ServerInfo]:
        return ServerInfo.model_validate((yield from self._op_server_info()))

    # ------------------------------------------------------------------ batch

    def batch(self, ignore_4xx_errors: bool | None = None, **kwargs: Any) -> Batch[Self]:
        """Queue the requests made in the block and send them through ``POST /batch``.

        ``with client.batch() as batch:`` (``async with`` on an AsyncClient). Inside,
        kinto-http calls on ``batch`` and model calls on objects bound to this client
        are queued; at the end of the block they are sent in chunks of the server's
        ``batch_max_requests``. Failed sub-requests raise :class:`KintoBatchException`
        after the whole batch ran, unless ``ignore_4xx_errors=True``. ``kwargs`` give
        the batch client other defaults (``bucket=``, ``collection=``).
        """
        if ignore_4xx_errors is None:
            ignore_4xx_errors = self._ignore_batch_4xx
        return Batch(self, ignore_4xx_errors=ignore_4xx_errors, **kwargs)

    def results(self) -> list[dict[str, Any]]:
        """The bodies of the requests of the last batch run through this client."""
        if self._last_batch is None:
            raise RuntimeError("No batch has run on this client yet.")
        return self._last_batch.results()

    # ------------------------------------------------------------------ kinto-http method set

    server_info = KintoMethod(OperationsMixin._op_server_info)
    create_bucket = KintoMethod(OperationsMixin._op_create_bucket)
    update_bucket = KintoMethod(OperationsMixin._op_update_bucket)
    patch_bucket = KintoMethod(OperationsMixin._op_patch_bucket)
    get_buckets = KintoMethod(OperationsMixin._op_get_buckets)
    get_bucket = KintoMethod(OperationsMixin._op_get_bucket)
    delete_bucket = KintoMethod(OperationsMixin._op_delete_bucket)
    delete_buckets = KintoMethod(OperationsMixin._op_delete_buckets)
    get_groups = KintoMethod(OperationsMixin._op_get_groups)
    create_group = KintoMethod(OperationsMixin._op_create_group)
    update_group = KintoMethod(OperationsMixin._op_update_group)
    patch_group = KintoMethod(OperationsMixin._op_patch_group)
    get_group = KintoMethod(OperationsMixin._op_get_group)
    delete_group = KintoMethod(OperationsMixin._op_delete_group)
    delete_groups = KintoMethod(OperationsMixin._op_delete_groups)
    get_collections = KintoMethod(OperationsMixin._op_get_collections)
    create_collection = KintoMethod(OperationsMixin._op_create_collection)
    update_collection = KintoMethod(OperationsMixin._op_update_collection)
    patch_collection = KintoMethod(OperationsMixin._op_patch_collection)
    get_collection = KintoMethod(OperationsMixin._op_get_collection)
    delete_collection = KintoMethod(OperationsMixin._op_delete_collection)
    delete_collections = KintoMethod(OperationsMixin._op_delete_collections)
    get_records_timestamp = KintoMethod(OperationsMixin._op_get_records_timestamp)
    get_records = KintoMethod(OperationsMixin._op_get_records)
    get_record = KintoMethod(OperationsMixin._op_get_record)
    create_record = KintoMethod(OperationsMixin._op_create_record)
    update_record = KintoMethod(OperationsMixin._op_update_record)
    patch_record = KintoMethod(OperationsMixin._op_patch_record)
    delete_record = KintoMethod(OperationsMixin._op_delete_record)
    delete_records = KintoMethod(OperationsMixin._op_delete_records)
    get_history = KintoMethod(OperationsMixin._op_get_history)
    purge_history = KintoMethod(OperationsMixin._op_purge_history)
    get_permissions = KintoMethod(OperationsMixin._op_get_permissions)
    get_changeset = KintoMethod(OperationsMixin._op_get_changeset)
    request_review = KintoMethod(OperationsMixin._op_request_review)
    decline_changes = KintoMethod(OperationsMixin._op_decline_changes)
    approve_changes = KintoMethod(OperationsMixin._op_approve_changes)
    rollback_changes = KintoMethod(OperationsMixin._op_rollback_changes)
    add_attachment = KintoMethod(OperationsMixin._op_add_attachment)
    remove_attachment = KintoMethod(OperationsMixin._op_remove_attachment)




class Client(BaseClient):
    """The blocking client: the kinto-http method set plus typed models and queries.

    >>> client = Client("http://localhost:8888/v1", auth="alice:s3cr3t", bucket="blog")
    >>> client.get_records(collection="todos", done=False)
    >>> client.records(Todo).filter(done=False).all()
    """

    session: Session

    def _make_transport(self, server_url: str, **kwargs: Any) -> Session:
        return Session(server_url, **kwargs)

    def _run(self, op: core.Op[T], placeholder: Any = None, name: str = "") -> T:
        batch = open_batch(self) if placeholder is not None else None
        if batch is not None:
            return batch.queue(op, placeholder, key=_write_key(placeholder, name))  # type: ignore[no-any-return]
        return core.drive_sync(self.session.send, op)

    async def _arun(self, op: core.Op[T], placeholder: Any = None, name: str = "") -> T:
        op.close()
        sync_name = name.removeprefix("a") if name else "the method without the 'a' prefix"
        raise TypeError(
            f"This object is bound to a sync Client: call {sync_name}() instead of "
            f"{name or 'the a-prefixed coroutine'}(), or bind it to an AsyncClient."
        )

    def _stream(self, stream: Any) -> Iterator[Page[Any]]:
        return core.stream_sync(self.session.send, stream)

    def info(self) -> ServerInfo:
        """The server's description (``GET /v1/``) as a typed :class:`ServerInfo`."""
        return self._run(self._op_info())

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
        plan = _files.DownloadPlan(self._run(self._op_server_info()), record, filepath, overwrite)
        if plan.up_to_date:
            return str(plan.target)
        try:
            size, sha256 = self.session.download(plan.url, plan.partial, chunk_size)
        except BaseException:
            plan.abandon()
            raise
        return plan.finish(size, sha256, save_metadata)

    def close(self) -> None:
        """Close the connection pool."""
        self.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(BaseClient):
    """The asyncio client on httpx: every kinto-http method as a coroutine, and the
    same models and queries (``await todo.asave()``, ``async for t in query``).

    >>> async with AsyncClient("http://localhost:8888/v1", auth=("alice", "pw")) as client:
    ...     await client.create_bucket(id="blog", if_not_exists=True)
    ...     todos = await client.records(Todo).filter(done=False).aall()
    """

    session: AsyncSession
    _is_async = True

    def _make_transport(self, server_url: str, **kwargs: Any) -> AsyncSession:
        return AsyncSession(server_url, **kwargs)

    def _run(self, op: core.Op[T], placeholder: Any = None, name: str = "") -> T:
        op.close()
        async_name = f"a{name}" if name else "the a-prefixed coroutine"
        raise TypeError(
            f"This object is bound to an AsyncClient: use `await obj.{async_name}()` "
            f"instead of {name or 'the blocking method'}()."
        )

    async def _arun(self, op: core.Op[T], placeholder: Any = None, name: str = "") -> T:
        batch = open_batch(self) if placeholder is not None else None
        if batch is not None:
            return batch.queue(op, placeholder, key=_write_key(placeholder, name))  # type: ignore[no-any-return]
        step = core.start(op)
        while isinstance(step, core.Request):
            try:
                response = await self.session.send(step)
            except KintoException as exc:
                step = core.resume(op, error=exc)
            else:
                step = core.resume(op, response)
        result: T = step.value
        return result

    async def _astream(self, stream: Any) -> AsyncIterator[Page[Any]]:
        step = core.start(stream)
        while not isinstance(step, core.Done):
            if isinstance(step, core.Request):
                try:
                    response = await self.session.send(step)
                except KintoException as exc:
                    step = core.resume(stream, error=exc)
                else:
                    step = core.resume(stream, response)
            else:
                yield step
                step = core.start(stream)

    async def info(self) -> ServerInfo:
        """The server's description (``GET /v1/``) as a typed :class:`ServerInfo`."""
        return await self._arun(self._op_info())

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
        plan = _files.DownloadPlan(info, record, filepath, overwrite)
        if plan.up_to_date:
            return str(plan.target)
        try:
            size, sha256 = await self.session.download(plan.url, plan.partial, chunk_size)
        except BaseException:
            plan.abandon()
            raise
        return plan.finish(size, sha256, save_metadata)

    async def close(self) -> None:
        """Close the connection pool."""
        await self.session.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _write_key(placeholder: Any, name: str) -> Any:
    """What a queued model save writes: a later save of the same object replaces it."""
    if name in ("save", "asave") and isinstance(placeholder, KintoObject):
        return (id(placeholder), "save")
    return None
