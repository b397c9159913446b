"""``KintoMethod``: one kinto-http method defined once from its ``_op_*`` builder, a plain
method on a ``Client`` and a coroutine function on an ``AsyncClient``."""

from __future__ import annotations

import inspect
import logging
from collections import defaultdict
from collections.abc import Callable, Coroutine
from typing import (
    Any,
    Concatenate,
    Generic,
    Literal,
    ParamSpec,
    Protocol,
    TypeVar,
    overload,
)

from ..protocol import Op

T = TypeVar("T")
P = ParamSpec("P")

#: kinto-http logs each call at INFO under ``kinto_http.client``: the same lines here.
logger = logging.getLogger("kinto_orm.client")

_IN_BUCKET = " in bucket {bucket!r}"
_IN_COLLECTION = " in collection {collection!r}" + _IN_BUCKET
#: kinto-http's INFO line of each method (``{id}``, ``{bucket}``, ``{collection}``: the
#: arguments, else the client's defaults).
MESSAGES: dict[str, str] = {
    **{f"{verb.lower()}_bucket": f"{verb} bucket {{id!r}}"
       for verb in ("Create", "Update", "Patch", "Get", "Delete")},
    "delete_buckets": "Delete buckets",
    **{f"{verb.lower()}_group": f"{verb} group {{id!r}}" + _IN_BUCKET
       for verb in ("Create", "Update", "Patch", "Get", "Delete")},
    "delete_groups": "Delete groups" + _IN_BUCKET,
    **{f"{verb.lower()}_collection": f"{verb} collection {{collection!r}}" + _IN_BUCKET
       for verb in ("Create", "Update", "Patch", "Get", "Delete")},
    "delete_collections": "Delete collections" + _IN_BUCKET,
    "get_record": "Get record with id {id!r} from collection {collection!r}" + _IN_BUCKET,
    **{f"{verb.lower()}_record": f"{verb} record with id {{id!r}}" + _IN_COLLECTION
       for verb in ("Create", "Update", "Patch")},
    "delete_record": "Delete record with id {id!r} from collection {collection!r}"
    + _IN_BUCKET,
    "delete_records": "Delete records from collection {collection!r}" + _IN_BUCKET,
    "get_history": "Get history from bucket {bucket!r}",
    "purge_history": "Purge History of bucket {bucket!r}",
}


class SyncOwner(Protocol):
    """A client whose methods block (``Client``)."""

    @property
    def _is_async(self) -> Literal[False]: ...


class AsyncOwner(Protocol):
    """A client whose methods are coroutines (``AsyncClient``)."""

    @property
    def _is_async(self) -> Literal[True]: ...


class KintoMethod(Generic[P, T]):
    """A kinto-http method, defined once from its ``_op_*`` builder.

    On a :class:`~kinto_orm.Client` it is a blocking method; on an
    :class:`~kinto_orm.AsyncClient` a coroutine function with the same parameters.
    """

    def __init__(self, builder: Callable[Concatenate[Any, P], Op[T]]) -> None:
        self.builder = builder
        self.name = builder.__name__.removeprefix("_op_")
        self.__doc__ = builder.__doc__
        params = list(inspect.signature(builder).parameters.values())[1:]
        self.__signature__ = inspect.Signature(params)

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> KintoMethod[P, T]: ...
    @overload
    def __get__(
        self, obj: AsyncOwner, owner: type
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...
    @overload
    def __get__(self, obj: SyncOwner, owner: type) -> Callable[P, T]: ...
    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return self
        builder = self.builder
        log = self._log
        method: Any
        if obj._is_async:

            async def method(*args: Any, **kwargs: Any) -> Any:
                log(obj, args, kwargs)
                return await obj._arun(builder(obj, *args, **kwargs), placeholder=_placeholder())

        else:

            def method(*args: Any, **kwargs: Any) -> Any:
                log(obj, args, kwargs)
                return obj._run(builder(obj, *args, **kwargs), placeholder=_placeholder())

        method.__name__ = method.__qualname__ = self.name
        method.__doc__ = self.__doc__
        method.__signature__ = self.__signature__
        return method


    def _log(self, obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """kinto-http's INFO line for this call, if it has one and INFO is on."""
        message = MESSAGES.get(self.name)
        if message is None or not logger.isEnabledFor(logging.INFO):
            return
        try:
            given = self.__signature__.bind_partial(*args, **kwargs).arguments
        except TypeError:
            return  # the call itself will say what is wrong
        data = given.get("data")
        data = data if isinstance(data, dict) else {}
        bucket = given.get("bucket") or obj.bucket_name
        if self.name.endswith("_bucket"):
            bucket = given.get("id") or bucket
        collection = given.get("collection") or obj.collection_name
        if self.name.endswith("_collection"):
            collection = given.get("id") or collection
        values = {"id": given.get("id") or data.get("id"), "bucket": bucket,
                  "collection": collection}
        if self.name.endswith("_bucket"):
            values["id"] = bucket
        logger.info(message.format(**values))


def _placeholder() -> Any:
    """What a queued kinto-http call returns inside a batch (as kinto-http does)."""
    return defaultdict(dict)


__all__ = ["AsyncOwner", "KintoMethod", "SyncOwner"]
