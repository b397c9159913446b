"""Event hooks: ``client.on("retry" | "backoff" | "deprecated" | "request" | "response", cb)``.

The transports' shared delivery loop (``TransportSettings.delivery``) emits these typed
events where it takes its decisions; this module holds the event types and the registry.

>>> seen = []
>>> remove = client.on("response", lambda event: seen.append(event.elapsed))
>>> client.server_info()
>>> remove()                       # or client.off("response", callback)
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, overload

if TYPE_CHECKING:
    from .protocol import Request, Response

logger = logging.getLogger("kinto_orm")

#: The names of the events a client emits.
EventName = Literal["retry", "backoff", "deprecated", "request", "response"]


@dataclass(frozen=True, slots=True)
class RequestEvent:
    """A request is about to be sent (once per attempt)."""

    request: Request
    #: The full URL (no credentials: authentication is added by the HTTP library).
    url: str
    #: 1 for the first try, 2 for the first retry...
    attempt: int


@dataclass(frozen=True, slots=True)
class ResponseEvent:
    """An attempt ended: with a ``response`` (any status), or a network ``error``."""

    request: Request
    url: str
    attempt: int
    #: Seconds between sending the request and receiving the whole answer (or the error).
    elapsed: float
    response: Response | None = None
    error: BaseException | None = None

    @property
    def status(self) -> int | None:
        """The HTTP status, None after a network error."""
        return self.response.status if self.response is not None else None


@dataclass(frozen=True, slots=True)
class RetryEvent:
    """A failed attempt is going to be tried again after ``wait`` seconds."""

    request: Request
    #: The attempt that failed (the next one is ``attempt + 1``).
    attempt: int
    wait: float
    #: Why: ``"503"``, ``"429"``... or ``"network error: ConnectionError ..."``.
    reason: str
    response: Response | None = None
    error: BaseException | None = None


@dataclass(frozen=True, slots=True)
class BackoffEvent:
    """The server sent a ``Backoff`` header: the next request waits ``seconds``."""

    seconds: float
    response: Response


@dataclass(frozen=True, slots=True)
class DeprecatedEvent:
    """The server sent an ``Alert`` header (end of service announced, or reached)."""

    #: ``"soft-eol"`` (still served) or ``"hard-eol"`` (requests now fail with 410).
    code: str
    message: str | None
    #: Where to read more.
    url: str | None
    #: The header as sent.
    raw: str
    response: Response

    @classmethod
    def parse(cls, header: str, response: Response) -> DeprecatedEvent:
        """Read Kinto's JSON ``Alert`` header; a non-JSON one becomes the message."""
        try:
            body = json.loads(header)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return cls("soft-eol", header, None, header, response)
        message, url = body.get("message"), body.get("url")
        return cls(
            str(body.get("code") or "soft-eol"),
            None if message is None else str(message),
            None if url is None else str(url),
            header,
            response,
        )


Event = RequestEvent | ResponseEvent | RetryEvent | BackoffEvent | DeprecatedEvent
Callback = Callable[[Any], object]

_EVENT_TYPES: dict[str, type[Any]] = {
    "request": RequestEvent,
    "response": ResponseEvent,
    "retry": RetryEvent,
    "backoff": BackoffEvent,
    "deprecated": DeprecatedEvent,
}


class Hooks:
    """The callbacks registered on a transport, by event name (thread-safe).

    Callbacks run in the thread (or task) that sends the request, right where the event
    happens. One that raises is logged (``kinto_orm`` logger) and does not break the
    request. With ``allow_coroutines`` (AsyncClient), a callback may be a coroutine
    function: its coroutine is scheduled as a task and not awaited, so a slow metrics
    sink never delays requests.
    """

    def __init__(self, allow_coroutines: bool = False) -> None:
        self.allow_coroutines = allow_coroutines
        self._callbacks: dict[str, tuple[Callback, ...]] = {}
        self._lock = threading.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()

    def add(self, name: str, callback: Callback) -> Callable[[], None]:
        if name not in _EVENT_TYPES:
            raise ValueError(f"Unknown event {name!r}: choose one of {sorted(_EVENT_TYPES)}.")
        if not callable(callback):
            raise TypeError(f"The callback of {name!r} must be callable, got {callback!r}.")
        if inspect.iscoroutinefunction(callback) and not self.allow_coroutines:
            raise TypeError(
                "A coroutine function cannot be a callback of the sync Client (nothing would "
                "await it): pass a plain function, or use AsyncClient."
            )
        with self._lock:
            self._callbacks[name] = (*self._callbacks.get(name, ()), callback)
        return lambda: self.remove(name, callback)

    def remove(self, name: str, callback: Callback) -> None:
        """Unregister ``callback`` (once); nothing happens when it is not registered."""
        with self._lock:
            callbacks = list(self._callbacks.get(name, ()))
            if callback in callbacks:
                callbacks.remove(callback)
                self._callbacks[name] = tuple(callbacks)

    def wants(self, name: str) -> bool:
        """Whether anything listens to ``name`` (so events are only built when needed)."""
        return bool(self._callbacks.get(name))

    def emit(self, name: str, event: Event) -> None:
        for callback in self._callbacks.get(name, ()):
            try:
                result = callback(event)
                if inspect.isawaitable(result):
                    self._schedule(name, callback, result)
            except Exception:
                logger.exception("The %r callback %r raised; the request goes on", name,
                                 callback)

    def _schedule(self, name: str, callback: Callback, awaitable: Any) -> None:
        task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)  # a strong reference until it is done

        def done(finished: asyncio.Task[Any]) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                logger.error("The %r callback %r raised", name, callback,
                             exc_info=finished.exception())

        task.add_done_callback(done)


class HooksMixin:
    """``on`` / ``off`` for the clients: the callbacks live on the transport, so clones
    (``client.clone(...)``) share them."""

    session: Any

    @overload
    def on(
        self, event: Literal["request"], callback: Callable[[RequestEvent], object]
    ) -> Callable[[], None]: ...
    @overload
    def on(
        self, event: Literal["response"], callback: Callable[[ResponseEvent], object]
    ) -> Callable[[], None]: ...
    @overload
    def on(
        self, event: Literal["retry"], callback: Callable[[RetryEvent], object]
    ) -> Callable[[], None]: ...
    @overload
    def on(
        self, event: Literal["backoff"], callback: Callable[[BackoffEvent], object]
    ) -> Callable[[], None]: ...
    @overload
    def on(
        self, event: Literal["deprecated"], callback: Callable[[DeprecatedEvent], object]
    ) -> Callable[[], None]: ...
    def on(self, event: EventName, callback: Callable[[Any], object]) -> Callable[[], None]:
        """Call ``callback(event_object)`` each time ``event`` happens; returns a function
        that unregisters it.

        - ``"request"``: :class:`RequestEvent`, before each attempt is sent;
        - ``"response"``: :class:`ResponseEvent`, after each attempt (with ``elapsed``);
        - ``"retry"``: :class:`RetryEvent`, when a failed attempt is tried again;
        - ``"backoff"``: :class:`BackoffEvent`, when the server sends ``Backoff``;
        - ``"deprecated"``: :class:`DeprecatedEvent`, the first time the server sends a
          given ``Alert`` header (end of service).

        A callback that raises is logged and the request goes on. On an
        :class:`~kinto_orm.AsyncClient`, a coroutine function is scheduled as a task
        (not awaited).

        >>> remove = client.on("retry", lambda e: print(e.attempt, e.reason, e.wait))
        >>> remove()
        """
        hooks: Hooks = self.session.hooks
        return hooks.add(event, callback)

    def off(self, event: EventName, callback: Callable[[Any], object]) -> None:
        """Unregister a callback given to :meth:`on`."""
        hooks: Hooks = self.session.hooks
        hooks.remove(event, callback)
