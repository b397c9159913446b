"""Helpers for the unit tests: build core ``Response`` values and fake ``send`` callables.

The protocol core (``kinto_orm.protocol``) is sans-I/O: it takes a ``send`` function
and ``Response`` values, so a scripted fake ``send`` is all these tests need. Nothing
here stands in for the Kinto server in functional tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from kinto_orm import protocol as core
from kinto_orm.errors import KintoException

ResponseFactory = Callable[..., core.Response]


def make_response(
    status: int = 200,
    body: Any = None,
    headers: dict[str, str] | None = None,
    request: core.Request | None = None,
    content: bytes | None = None,
) -> core.Response:
    """A core Response; ``body`` is JSON-encoded unless raw ``content`` is given."""
    if content is None:
        content = b"" if body is None else json.dumps(body).encode()
    return core.Response(
        status,
        core.Headers(headers or {}),
        content,
        request if request is not None else core.Request("GET", "/buckets/b"),
    )


@pytest.fixture
def response() -> ResponseFactory:
    """``response(status, body, headers=..., request=..., content=...)``."""
    return make_response


class FakeSend:
    """A scripted ``send``: answers each request with the next scripted item.

    An item is a ``Response`` (returned), a ``KintoException`` (raised), or a callable
    taking the request and returning either. Every request is kept in ``requests``.
    """

    def __init__(self, answers: Iterable[Any] = ()) -> None:
        self.answers = list(answers)
        self.requests: list[core.Request] = []

    def __call__(self, request: core.Request) -> core.Response:
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"unexpected request {request.describe()}")
        answer = self.answers.pop(0)
        if callable(answer) and not isinstance(answer, core.Response):
            answer = answer(request)
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, core.Response):
            answer.request = request
            if answer.status >= 400:
                raise core.error_from_response(answer)
        return answer  # type: ignore[no-any-return]


@pytest.fixture
def fake_send() -> Callable[..., FakeSend]:
    """``fake_send([response, exception, ...])`` -> a scripted send callable."""
    return FakeSend


__all__ = ["FakeSend", "KintoException", "make_response"]
