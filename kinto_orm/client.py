"""Clients: the kinto-http method set plus the object-mapper entry points.

>>> from kinto_orm import Client
>>> client = Client("http://localhost:8888/v1", auth=("alice", "s3cr3t"), bucket="blog")
>>> client.create_collection(id="todos", if_not_exists=True)        # kinto-http style
>>> client.records(Todo).filter(done=False).all()                  # typed queries
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal, TypeVar, overload

from typing_extensions import Self

from . import protocol as core
from ._timeouts import DEFAULT_TIMEOUT, Timeout, TimeoutMixin
from .auth import parse_auth
from .batch import Batch, open_batch
from .endpoints import check_id, endpoint
from .errors import KintoException
from .events import HooksMixin
from .http_api import AsyncStreams, HttpApi, SyncStreams
from .models import (
    Bucket,
    Collection,
    Group,
    KintoObject,
    PermissionEntry,
    Record,
    ServerInfo,
)
from .models.lists import list_query
from .models.resources import records_query
from .pages import Page
from .query import Query
from .session import AsyncSession, Session

T = TypeVar("T")
M = TypeVar("M", bound=KintoObject)
R = TypeVar("R", bound=Record)


class BaseClient(HttpApi, HooksMixin, TimeoutMixin):
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
        self._server_settings: dict[str, Any] | None = None
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
    _is_async: bool = False

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
        return list_query(self, Bucket, "buckets")

    def permissions(self, **filters: Any) -> Query[PermissionEntry]:
        """A query over the objects you have permissions on (permissions endpoint):
        ``client.permissions(resource_name="bucket")``."""
        query = list_query(self, PermissionEntry, "permissions")
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
        return records_query(self, Model, bucket, collection)

    def _cache_buster(self) -> int:
        # Drawn with this module's ``random``, as kinto-http draws it in kinto_http.client:
        # tests written for kinto-http patch ``kinto_http.client.random`` to know it.
        return random.randint(999999000000, 999999999999)

    def _bucket(self, bucket: str | None) -> str:
        return bucket or self.bucket_name or "default"

    def _op_info(self) -> core.Op[ServerInfo]:
        return ServerInfo.model_validate((yield from self._op_server_info()))

    # ------------------------------------------------------------------ batch

    def batch(self, ignore_4xx_errors: bool | None = None, **kwargs: Any) -> Batch[Self]:
        """Queue the requests made in the block and send them through ``POST /batch``.

        ``with client.batch() as batch:`` (on an AsyncClient ``async with``, or
        kinto-http's ``with await aclient.batch() as batch:``, which blocks at the end
        of the block). Inside, kinto-http calls on ``batch`` and model calls on objects
        bound to this client are queued (``batch.session.requests`` lists them); at the
        end of the block they are sent in chunks of the server's ``batch_max_requests``.

        As in kinto-http: failed sub-requests (4xx) raise :class:`KintoBatchException`
        after every chunk was sent, unless ``ignore_4xx_errors=True``; a chunk whose
        ``POST /batch`` fails, or that holds a 5xx answer, stops the batch and its error
        is raised. ``kwargs`` give the batch client other defaults (``bucket=``,
        ``collection=``).
        """
        if ignore_4xx_errors is None:
            ignore_4xx_errors = self._ignore_batch_4xx
        return Batch(self, ignore_4xx_errors=ignore_4xx_errors, kinto_http=True, **kwargs)

    def results(self) -> list[dict[str, Any]]:
        """The bodies of the requests of the last batch run through this client."""
        if self._last_batch is None:
            raise RuntimeError("No batch has run on this client yet.")
        return self._last_batch.results()

class Client(SyncStreams, BaseClient):
    """The blocking client: the kinto-http method set plus typed models and queries.

    >>> client = Client("http://localhost:8888/v1", auth="alice:s3cr3t", bucket="blog")
    >>> client.get_records(collection="todos", done=False)
    >>> client.records(Todo).filter(done=False).all()
    """

    session: Session
    _is_async: Literal[False] = False

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

    def close(self) -> None:
        """Close the connection pool."""
        self.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(AsyncStreams, BaseClient):
    """The asyncio client on httpx: every kinto-http method as a coroutine, and the
    same models and queries (``await todo.asave()``, ``async for t in query``).

    >>> async with AsyncClient("http://localhost:8888/v1", auth=("alice", "pw")) as client:
    ...     await client.create_bucket(id="blog", if_not_exists=True)
    ...     todos = await client.records(Todo).filter(done=False).aall()
    """

    session: AsyncSession
    _is_async: Literal[True] = True

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
