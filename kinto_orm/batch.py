"""Batches: queue requests and send them through ``POST /batch`` in chunks.

>>> with client.batch() as batch:
...     for todo in todos:
...         todo.save()                        # bound to client: queued
...     batch.update_record(data={"id": "x"}, collection="todos")
>>> batch.results()                            # one body per queued request, in order

The flush is one operation (see ``_protocol.Op``), run by the sync or the async
transport alike. Each queued operation is resumed with its own sub-response, so a model
saved in the block holds its server state afterwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _protocol as core
from ._protocol import Done, Op, Request, Response
from .errors import KintoBatchException, KintoException

if TYPE_CHECKING:
    from .client import BaseClient


class _Entry:
    """A queued operation: the request it is waiting on, and later its outcome."""

    __slots__ = ("body", "error", "op", "request", "tag")

    def __init__(self, request: Request, op: Op[Any], tag: Any = None) -> None:
        self.request = request
        self.op = op
        self.tag = tag
        self.body: Any = None
        self.error: KintoException | None = None


def continue_op(op: Op[Any], step: Request | Done) -> Op[Any]:
    """Go on with an operation that is waiting on ``step`` (an op itself)."""
    while isinstance(step, Request):
        try:
            response = yield step
        except KintoException as exc:
            step = core.resume(op, error=exc)
        else:
            step = core.resume(op, response)
    return step.value


class Batch:
    """The state of one ``client.batch()`` block (see the module docstring).

    ``ignore_4xx_errors=True`` keeps the failed sub-requests out of the
    :class:`KintoBatchException` (their bodies are still in :meth:`results`).
    """

    def __init__(self, client: BaseClient, ignore_4xx_errors: bool = False, **kwargs: Any):
        self.client = client
        self.ignore_4xx_errors = ignore_4xx_errors
        self._clone_kwargs = kwargs
        self._entries: list[_Entry] = []
        self._bodies: list[Any] = []
        self._errors: list[KintoException] = []
        self._view: BaseClient | None = None
        #: After the flush: ``(tag, error)`` of every failed queued operation.
        self.failures: list[tuple[Any, KintoException | None]] = []

    # ------------------------------------------------------------------ queueing

    def queue(self, op: Op[Any], placeholder: Any, tag: Any = None) -> tuple[bool, Any]:
        """Queue ``op``'s first request. Returns ``(True, placeholder)`` when queued,
        ``(False, step)`` when the request cannot be batched and must be sent now.
        ``tag`` is kept with the entry, to tell later which failures are whose."""
        step = core.start(op)
        if isinstance(step, Done):
            return True, step.value
        if not core.batchable(step):
            return False, step
        self._entries.append(_Entry(step, op, tag))
        return True, placeholder

    def __len__(self) -> int:
        return len(self._entries)

    # ------------------------------------------------------------------ flushing

    def _op_flush(self) -> Op[list[Any]]:
        info = yield from self.client._op_server_info()
        size = int((info.get("settings") or {}).get("batch_max_requests") or 25)
        entries, self._entries = self._entries, []
        for chunk in core.chunks(entries, size):
            requests = [entry.request for entry in chunk]
            try:
                response = yield core.batch_request(requests)
                answers = core.batch_responses(response, requests)
            except KintoException as exc:
                self._chunk_failed(chunk, exc)
                continue
            for entry, answer in zip(chunk, answers):
                follow = self._settle(entry, answer)
                if follow is not None:
                    try:
                        yield from continue_op(entry.op, follow)
                    except KintoException as exc:
                        self._fail(entry, exc)
        self._bodies = [entry.body for entry in entries]
        self.failures = [(entry.tag, entry.error) for entry in entries if entry.error]
        if self._errors:
            errors, self._errors = self._errors, []
            raise KintoBatchException(errors, self._bodies)
        return self._bodies

    def _fail(self, entry: _Entry, exc: KintoException) -> None:
        entry.error = exc
        self._errors.append(exc)

    def _settle(self, entry: _Entry, answer: Response) -> Request | None:
        """Resume ``entry``'s operation with its sub-response; returns a follow-up
        request it needs (sent outside the batch), or None."""
        entry.body = answer.json() if answer.content else None
        if answer.status < 400:
            step = core.resume(entry.op, answer)
            return step if isinstance(step, Request) else None
        error = core.error_from_response(answer)
        try:
            step = core.resume(entry.op, error=error)
        except KintoException as exc:
            if not (self.ignore_4xx_errors and 400 <= answer.status < 500):
                self._fail(entry, exc)
            return None
        return step if isinstance(step, Request) else None

    def _chunk_failed(self, chunk: list[_Entry] | Any, exc: KintoException) -> None:
        """A whole chunk failed (after the transport's retries): nothing of it applied."""
        for entry in chunk:
            entry.body = exc
            self._fail(
                entry,
                KintoException(
                    f"{entry.request.describe()} - not applied: its batch failed ({exc})",
                    exc,
                    request=entry.request,
                ),
            )
            entry.op.close()

    def results(self) -> list[Any]:
        """The body of each queued request's answer, in order (for a request whose whole
        chunk failed, the exception)."""
        return list(self._bodies)

    # ------------------------------------------------------------------ context managers

    def _enter(self) -> BaseClient:
        if self.client._batch is not None:
            raise RuntimeError("A batch is already open on this client; batches do not nest.")
        view: BaseClient = self.client.clone(**self._clone_kwargs)
        view._batch = self
        view._last_batch = self
        self.client._batch = self
        self.client._last_batch = self
        self._view = view
        return view

    def _leave(self) -> None:
        self.client._batch = None
        if self._view is not None:
            self._view._batch = None

    def __enter__(self) -> Any:
        if self.client._is_async:
            raise TypeError("AsyncClient.batch() is an async context manager: "
                            "use `async with aclient.batch() as batch:`.")
        return self._enter()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._leave()
        if exc_type is None:
            self.client._run(self._op_flush())
        else:
            self._entries = []

    async def __aenter__(self) -> Any:
        if not self.client._is_async:
            raise TypeError("Client.batch() is a plain context manager: "
                            "use `with client.batch() as batch:`.")
        return self._enter()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._leave()
        if exc_type is None:
            await self.client._arun(self._op_flush())
        else:
            self._entries = []
