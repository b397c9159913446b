"""Batches: queue requests and send them through ``POST /batch`` in chunks.

>>> with client.batch() as batch:
...     for todo in todos:
...         todo.save()                        # bound to client: queued
...     batch.update_record(data={"id": "x"}, collection="todos")
>>> batch.results()                            # one body per queued request, in order

The flush is one operation (see ``protocol.Op``), run by the sync or the async
transport alike. Each queued operation is resumed with its own sub-response, so a model
saved in the block holds its server state afterwards. Requests Kinto refuses inside a
batch (a path holding ``/batch``, JSON Patch bodies) keep their place in the queue and
are sent on their own at flush time.

The open batch belongs to the task (or thread) that opened it: other asyncio tasks and
threads using the same client are not captured by it.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from typing_extensions import Self

from . import protocol as core
from .batch_entries import (
    Entry,
    FromBatch,
    chunk_failure,
    encoding_failure,
    segments,
    stopped,
)
from .batch_session import BatchSession, log_answer, run_blocking
from .errors import KintoBatchException, KintoException
from .protocol import Done, Op, Request, Response

if TYPE_CHECKING:
    from ._client_like import ClientLike

C = TypeVar("C", bound="ClientLike")
logger = logging.getLogger("kinto_orm")

#: The batches open in the current context, by client.
_OPEN: contextvars.ContextVar[dict[int, Batch[Any]] | None] = contextvars.ContextVar(
    "kinto_orm_open_batches", default=None
)


def open_batch(client: ClientLike) -> Batch[Any] | None:
    """The batch ``client`` queues into in the current task/thread, if any."""
    batches = _OPEN.get()
    return batches.get(id(client)) if batches else None


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


class Batch(Generic[C]):
    """The state of one ``client.batch()`` block (see the module docstring).

    ``ignore_4xx_errors=True`` keeps the failed sub-requests out of the
    :class:`KintoBatchException` (their bodies are still in :meth:`results`).

    ``kinto_http=True`` (``client.batch()``) is kinto-http's batch: the first chunk whose
    ``POST /batch`` fails, or that holds a 5xx answer, stops it and that error is raised
    (the chunks after it are not sent); the batch size comes from the client's own
    ``GET /v1/`` settings cache. Otherwise (bulk helpers) every chunk is sent and one
    :class:`KintoBatchException` reports every failure.
    """

    def __init__(
        self, client: C, ignore_4xx_errors: bool = False, *, kinto_http: bool = False,
        **kwargs: Any,
    ):
        self.client = client
        self.ignore_4xx_errors = ignore_4xx_errors
        self.kinto_http = kinto_http
        self._stop: KintoException | None = None  # what stopped a kinto-http batch
        self._numbered = 0  # sub-requests logged so far ("Batch #N")
        self._clone_kwargs = kwargs
        self._entries: list[Entry] = []
        self._by_key: dict[Any, Entry] = {}  # the live entry of each write key
        self._bodies: list[Any] = []  # dicts, or FromBatch until results()
        self._errors: list[KintoException] = []
        self._view: C | None = None
        self._token: contextvars.Token[dict[int, Batch[Any]] | None] | None = None
        #: After the flush: ``(tag, error)`` of every failed queued operation.
        self.failures: list[tuple[Any, KintoException | None]] = []

    # ------------------------------------------------------------------ queueing

    def queue(self, op: Op[Any], placeholder: Any, tag: Any = None, key: Any = None) -> Any:
        """Queue ``op`` (run up to its first request); returns ``placeholder``.

        ``tag`` is kept to tell later whose a failure is. ``key`` names what the op
        writes: a later op with the same key replaces this one (saving a model twice in
        a batch sends its last version once).
        """
        step = core.start(op)
        if isinstance(step, Done):
            return step.value
        entry = Entry(step, op, tag if tag is not None else placeholder, key)
        if key is not None:
            earlier = self._by_key.get(key)
            if earlier is not None:
                earlier.superseded_by = entry
                earlier.op.close()
            self._by_key[key] = entry
        self._entries.append(entry)
        return placeholder

    def __len__(self) -> int:
        return sum(1 for entry in self._entries if entry.superseded_by is None)

    # ------------------------------------------------------------------ flushing

    def _op_flush(self) -> Op[None]:
        """Send everything queued; the bodies are then in :meth:`results`."""
        if self.kinto_http:
            settings = yield from self.client._op_server_settings()
        else:
            settings = (yield from self.client._op_server_info()).get("settings") or {}
        size = int(settings.get("batch_max_requests") or 25)
        entries, self._entries = self._entries, []
        self._by_key = {}
        live = [entry for entry in entries if entry.superseded_by is None]
        for group in segments(live, size):
            if self._stop is not None:
                for entry in group:
                    entry.end(stopped(entry, self._stop))
            elif len(group) == 1 and not core.batchable(group[0].request):
                yield from self._send_alone(group[0])
            else:
                yield from self._send_chunk(group)
        for entry in entries:
            final = entry
            while final.superseded_by is not None:
                final = final.superseded_by
            entry.body = final.body
        self._bodies = [entry.body for entry in entries]
        self.failures = [(entry.tag, entry.error) for entry in live if entry.error]
        if self._stop is not None:
            stop, self._stop, self._errors = self._stop, None, []
            raise stop
        if self._errors:
            errors, self._errors = self._errors, []
            raise KintoBatchException(errors, self.results())
        return None

    def _send_chunk(self, group: list[Entry]) -> Op[None]:
        """Send one chunk in a ``POST /batch`` and settle its entries. The part a
        transient conflict rolled back (see :func:`core.last_conflict`) is sent again,
        after a jittered wait, within the transport's conflict budget."""
        policy: core.RetryPolicy | None = getattr(self.client.session, "policy", None)
        resends, delay = 0, 0.0
        while group:
            requests = [entry.request for entry in group]
            try:
                batch = core.batch_request(requests, delay)
            except core.Unencodable as exc:  # those fail, the others go
                for index, error in exc.errors.items():
                    unsent = group[index]
                    self._errors.append(unsent.end(encoding_failure(unsent, error)))
                group = [entry for i, entry in enumerate(group) if i not in exc.errors]
                continue
            try:
                response = yield batch
                answers = core.batch_responses(response, requests)
            except KintoException as exc:
                self._chunk_failed(group, exc)
                return
            except Exception as exc:  # never let one chunk hide the ones after it
                self._chunk_failed(group, KintoException(f"{type(exc).__name__}: {exc}", exc))
                return
            cut = core.last_conflict(answers)
            for entry, answer in zip(group[cut + 1 :], answers[cut + 1 :]):
                if response.attempts > 1 and answer.status >= 400:
                    answer = core.recovered_write(entry.request, answer) or answer
                self._log(entry, answer)
                follow = self._settle(entry, answer)
                if follow is not None:
                    yield from self._follow(entry, follow)
            group = group[: cut + 1]
            budget = max(policy.retry, policy.conflict_retries) if policy else 0
            if group and (resends >= budget or not (policy and policy.conflict_retries)):
                # Never trust the 2xx answers of the rolled-back part.
                conflict = core.error_from_response(answers[cut], resends + 1)
                self._chunk_failed(group, conflict)
                return
            if group:
                resends += 1
                assert policy is not None
                delay = max(policy.conflict_wait(resends), 1e-3)
                logger.info("POST /batch: a conflict rolled back %d sub-requests, resending "
                            "them in %.2f s", len(group), delay)

    def _send_alone(self, entry: Entry) -> Op[None]:
        """A request Kinto refuses inside a batch: sent by itself, in its place."""
        try:
            response = yield entry.request
        except KintoException as exc:
            if exc.response is None:
                self._fail(entry, exc)
                return
            response = exc.response
        self._log(entry, response)
        follow = self._settle(entry, response)
        if follow is not None:
            yield from self._follow(entry, follow)

    def _log(self, entry: Entry, answer: Response) -> None:
        """kinto-http's ``Batch #N`` line; a kinto-http batch stops at a 5xx answer. (Bulk
        helpers log nothing per record: they report in their result.)"""
        if not self.kinto_http:
            return
        log_answer(self._numbered, entry.request, answer)
        self._numbered += 1
        if answer.status >= 500 and self._stop is None:
            self._stop = core.error_from_response(answer)

    def _settle(self, entry: Entry, answer: Response) -> Request | None:
        """Resume ``entry``'s operation with its answer; returns the follow-up request it
        needs (an ``if_not_exists`` read...), sent outside the batch by :meth:`_follow`."""
        if answer.source is not None:
            # Its part of the batch answer: parsed again for results(), since the objects
            # parsed now go into the models saved in the batch.
            entry.body = FromBatch(answer.source)
        else:
            body = answer.json()
            entry.body = {} if body is None else body
        try:
            if answer.status < 400:
                step = core.resume(entry.op, answer)
            else:  # the op may recover (if_exists, if_not_exists)
                step = core.resume(entry.op, error=core.error_from_response(answer))
        except KintoException as exc:
            self._refused(entry, exc)
            return None
        return step if isinstance(step, Request) else None

    def _follow(self, entry: Entry, step: Request | Done) -> Op[None]:
        """Send the follow-up requests of ``entry``'s operation until it is done."""
        try:
            while isinstance(step, Request):
                try:
                    response = yield step
                except KintoException as exc:
                    step = core.resume(entry.op, error=exc)
                else:
                    entry.body = response.json() if response.content else {}
                    step = core.resume(entry.op, response)
        except KintoException as exc:
            self._refused(entry, exc)

    def _refused(self, entry: Entry, exc: KintoException) -> None:
        status = exc.status_code or 0
        if not (self.ignore_4xx_errors and 400 <= status < 500):
            self._fail(entry, exc)

    def _fail(self, entry: Entry, exc: KintoException) -> None:
        entry.error = exc
        self._errors.append(exc)

    def _chunk_failed(self, chunk: list[Entry], exc: KintoException) -> None:
        """A whole chunk failed (after the transport's retries): see :func:`chunk_failure`."""
        if self.kinto_http and self._stop is None:
            self._stop = exc  # kinto-http raises the POST /batch error itself
        for entry in chunk:  # results() shows the batch's own error, as before the split
            self._errors.append(entry.end(chunk_failure(entry, exc), exc))

    def queued(self) -> list[Request]:
        """The requests queued so far, in order (kinto-http's ``batch.session.requests``)."""
        return [entry.request for entry in self._entries if entry.superseded_by is None]

    def results(self) -> list[dict[str, Any]]:
        """The body of each queued request's answer, in order (for a request whose whole
        chunk failed, the error as Kinto words one: ``code``, ``errno``, ``message``...)."""
        parsed: dict[tuple[int, int], Any] = {}
        bodies = []
        for body in self._bodies:
            if isinstance(body, FromBatch):
                content, index = body.source
                key = (id(content), index)
                if key not in parsed:  # each answer once, however many entries share it
                    answers = core.loads(content)["responses"]
                    for position, answer in enumerate(answers):
                        sub = answer.get("body")
                        parsed[(id(content), position)] = {} if sub is None else sub
                body = parsed[key]
            bodies.append(body)
        return bodies

    # ------------------------------------------------------------------ context managers

    def _enter(self) -> C:
        if open_batch(self.client) is not None:
            raise RuntimeError("A batch is already open on this client; batches do not nest.")
        view: C = self.client.clone(**self._clone_kwargs)
        view.session = BatchSession(  # kinto-http's batch.session, with .requests
            view.session, self.queued, self._queue_raw, self.client._is_async
        )
        view._last_batch = self
        self.client._last_batch = self
        self._view = view
        opened = {**(_OPEN.get() or {}), id(self.client): self, id(view): self}
        self._token = _OPEN.set(opened)
        return view

    def _leave(self) -> None:
        if self._token is not None:
            _OPEN.reset(self._token)
            self._token = None

    def _queue_raw(self, op: Op[Any], placeholder: Any) -> Any:
        return self.queue(op, placeholder)

    def __await__(self) -> Generator[Any, None, Self]:
        """kinto-http's ``with await aclient.batch() as batch:``: awaiting gives the batch
        itself, a plain context manager (see :meth:`__exit__`)."""
        return self
        yield  # a generator: the await returns at once

    def __enter__(self) -> C:
        return self._enter()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        """Send the batch. On an AsyncClient (kinto-http's ``with await
        aclient.batch()``) this blocks until it is sent, as kinto-http's does: prefer
        ``async with``, which does not block the event loop."""
        self._leave()
        if exc_type is not None:
            self._discard()
        elif self.client._is_async:
            run_blocking(self._flush_on_own_pool)
        else:
            self.client._run(self._op_flush())

    async def _flush_on_own_pool(self) -> None:
        """Flush from another thread's event loop, through a copy of the client with a
        connection pool of its own (the client's belongs to its event loop)."""
        session = self.client.session
        own = self.client.clone(
            server_url=session.server_url, auth=session.auth, headers=dict(session.headers)
        )
        try:
            await own._arun(self._op_flush())
        finally:
            await own.session.close()

    async def __aenter__(self) -> C:
        if not self.client._is_async:
            raise TypeError("Client.batch() is a plain context manager: "
                            "use `with client.batch() as batch:`.")
        return self._enter()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._leave()
        if exc_type is None:
            await self.client._arun(self._op_flush())
        else:
            self._discard()

    def _discard(self) -> None:
        for entry in self._entries:
            entry.op.close()
        self._entries = []
        self._by_key = {}
