"""``KintoMethod``: one kinto-http method defined once from its ``_op_*`` builder, a plain
method on a ``Client`` and a coroutine function on an ``AsyncClient``."""

from __future__ import annotations

import inspect
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
        method: Any
        if obj._is_async:

            async def method(*args: Any, **kwargs: Any) -> Any:
                return await obj._arun(builder(obj, *args, **kwargs), placeholder=_placeholder())

        else:

            def method(*args: Any, **kwargs: Any) -> Any:
                return obj._run(builder(obj, *args, **kwargs), placeholder=_placeholder())

        method.__name__ = method.__qualname__ = self.name
        method.__doc__ = self.__doc__
        method.__signature__ = self.__signature__
        return method


def _placeholder() -> Any:
    """What a queued kinto-http call returns inside a batch (as kinto-http does)."""
    return defaultdict(dict)


__all__ = ["AsyncOwner", "KintoMethod", "SyncOwner"]
