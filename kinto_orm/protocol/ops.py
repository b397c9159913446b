"""Running operations: start and resume a generator of requests, drive it with a sync
``send``, stream pages."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from .messages import KintoException, Op, Request, Response

T = TypeVar("T")


# ---------------------------------------------------------------------------- driving ops


@dataclass(slots=True)
class Done:
    """An operation finished with ``value``."""

    value: Any


def start(op: Op[Any]) -> Request | Done:
    """Run ``op`` up to its first request (or to its end, when it needs none)."""
    try:
        return next(op)
    except StopIteration as stop:
        return Done(stop.value)


def resume(
    op: Op[Any], response: Response | None = None, error: KintoException | None = None
) -> Request | Done:
    """Hand ``op`` the answer to its last request (or the error it caused, which the op
    may catch); returns its next request, or :class:`Done`. Errors it does not catch
    propagate."""
    try:
        if error is not None:
            return op.throw(error)
        assert response is not None
        return op.send(response)
    except StopIteration as stop:
        return Done(stop.value)


def drive_sync(send: Any, op: Op[T], step: Request | Done | None = None) -> T:
    """Run operation ``op`` to completion, sending each request with ``send``.

    Errors raised by ``send`` are thrown into the operation so that it can recover
    (``if_not_exists``, ``if_exists``); anything it does not catch propagates.
    """
    step = start(op) if step is None else step
    while isinstance(step, Request):
        try:
            response = send(step)
        except KintoException as exc:
            step = resume(op, error=exc)
        else:
            step = resume(op, response)
    result: T = step.value
    return result


def request_op(request: Request) -> Op[Response]:
    """The simplest operation: one request, its response."""
    response = yield request
    return response


def stream_sync(send: Any, stream: Generator[Any, Any, None]) -> Iterator[Any]:
    """Run a stream op: answer each yielded :class:`Request` with ``send`` and hand every
    other yielded value (a page) to the caller."""
    step = start(stream)
    while not isinstance(step, Done):
        if isinstance(step, Request):
            try:
                response = send(step)
            except KintoException as exc:
                step = resume(stream, error=exc)
            else:
                step = resume(stream, response)
        else:
            yield step
            step = start(stream)
