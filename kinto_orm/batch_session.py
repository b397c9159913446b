"""What kinto-http code sees of a batch besides its methods: ``batch.session`` (with
``requests``, the queued requests), the ``Batch #N`` log lines, and the blocking end of
``with await aclient.batch() as batch:``.

>>> with client.batch() as batch:
...     batch.create_record(data={"id": "r1"})
...     batch.session.requests
[('put', '/buckets/blog/collections/todos/records/r1', {'data': {'id': 'r1'}}, {...})]
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

from .errors import KintoException
from .protocol import Op, Request, Response
from .protocol.encoding import dumps
from .session import session_answer, session_request

#: kinto-http logs each sub-request of a batch under ``kinto_http.batch``: here
#: ``kinto_orm.batch``, at the same levels (WARNING, ERROR for a failed one).
logger = logging.getLogger("kinto_orm.batch")
# Shown only where logging is configured: Python's last-resort handler would print a
# WARNING line per batched request of a program that configured none.
logger.addHandler(logging.NullHandler())

#: One queued request as kinto-http's ``BatchSession.requests`` lists it:
#: ``(method, path, payload, headers)``.
QueuedRequest = tuple[str, str, dict[str, Any], "dict[str, str] | None"]


def queued_request(request: Request) -> QueuedRequest:
    """``request`` in the shape of an entry of kinto-http's ``BatchSession.requests``."""
    path = request.path
    if request.params:
        path += "?" + urlencode(request.params)
    payload = request.json if isinstance(request.json, dict) else {}
    return (request.method.lower(), path, dict(payload), dict(request.headers) or None)


class BatchSession:
    """``batch.session`` inside a ``client.batch()`` block: the client's session, plus
    kinto-http's :attr:`requests`; its :meth:`request` queues, as kinto-http's does.

    Every other attribute is the client's session's (``server_url``, ``auth``...).
    """

    def __init__(
        self, session: Any, queued: Callable[[], Iterable[Request]],
        queue: Callable[[Op[Any], Any], Any], is_async: bool,
    ) -> None:
        self._session = session
        self._queued = queued
        self._queue = queue
        self._is_async = is_async

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    @property
    def requests(self) -> list[QueuedRequest]:
        """The requests queued so far: ``(method, path, payload, headers)`` each."""
        return [queued_request(request) for request in self._queued()]

    def request(
        self, method: str, endpoint: str, data: Any = None, permissions: Any = None,
        payload: Any = None, **kwargs: Any,
    ) -> Any:
        """Queue a request (sent with the batch); returns kinto-http's placeholder
        ``(body, headers)`` pair (awaitable on an AsyncClient)."""
        request = session_request(method, endpoint, data, permissions, payload, **kwargs)
        placeholder: tuple[Any, Any] = (defaultdict(dict), defaultdict(dict))
        self._queue(_send(request), placeholder)
        if not self._is_async:
            return placeholder
        return _ready(placeholder)


def _send(request: Request) -> Op[Any]:
    response = yield request
    return session_answer(response)


async def _ready(value: Any) -> Any:
    return value


def log_answer(number: int, request: Request, answer: Response) -> None:
    """kinto-http's lines for sub-request ``number`` of a batch: ``Batch #3: PUT
    /buckets/b - 201`` at WARNING (ERROR when it failed), then both in full at DEBUG."""
    status = answer.status
    level = logging.WARNING if status < 400 else logging.ERROR
    if not logger.isEnabledFor(level):
        return
    debug = logger.isEnabledFor(logging.DEBUG)
    body = _body(answer) if status >= 400 or debug else None
    message = str(body.get("message", "")) if isinstance(body, dict) else ""
    method, path, payload, headers = queued_request(request)
    logger.log(level, "Batch #%d: %s %s - %d %s", number, method.upper(), path, status, message)
    if debug:
        sent = {"method": method.upper(), "path": path, "body": payload, "headers": headers}
        got = {"status": status, "body": body}
        logger.debug("\nBatch #%d: \n\tRequest: %s\n\tResponse: %s\n", number,
                     dumps(sent).decode(), dumps(got).decode())


def _body(answer: Response) -> Any:
    try:
        return answer.json()
    except KintoException:
        return None


def run_blocking(make: Callable[[], Awaitable[None]]) -> None:
    """Run the coroutine ``make()`` to its end from plain (blocking) code, even inside a
    running event loop: in a worker thread with its own loop.

    kinto-http's ``with await aclient.batch() as batch:`` ends in a plain ``with``, so
    the batch is sent by a blocking ``__exit__`` (kinto-http's is blocking too).
    """

    def run() -> None:
        async def main() -> None:
            await make()

        asyncio.run(main())

    with ThreadPoolExecutor(1, thread_name_prefix="kinto-orm-batch") as pool:
        pool.submit(run).result()


__all__ = ["BatchSession", "QueuedRequest", "log_answer", "queued_request", "run_blocking"]
