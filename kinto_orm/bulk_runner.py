"""How the bulk helpers run: items in chunks of the server's batch size, through batch,
several chunks in flight (threads or tasks, see ``InFlight``), progress, and a
``BulkResult`` that names every item not written."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from . import protocol as core
from .batch import Batch
from .errors import KintoBatchException, KintoException
from .protocol import Op

if TYPE_CHECKING:
    from ._client_like import ClientLike

Progress = Callable[[int, "int | None"], Any]
MakeOp = Callable[[Any], Op[Any]]
T = TypeVar("T")

#: Answers that mean "the server is busy": fewer batches should be in flight.
_STRUGGLE_STATUSES = frozenset({409, 429, 502, 503, 504})


@dataclass
class BulkFailure:
    """One item that was not written: the item, its id, and why."""

    item: Any
    id: str | None
    error: Exception

    def __str__(self) -> str:
        return f"{self.id}: {self.error}"


@dataclass
class BulkResult:
    """What a bulk operation did: ``done`` items written, ``failed`` the others."""

    done: int = 0
    failed: list[BulkFailure] = field(default_factory=list)
    # Chunks written from several threads add up their counts under this lock.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """True when every item was written."""
        return not self.failed

    @property
    def failed_ids(self) -> list[str | None]:
        return [failure.id for failure in self.failed]

    def fail(self, item: Any, error: Exception) -> None:
        if isinstance(item, str):
            item_id: str | None = item
        elif isinstance(item, dict):
            item_id = item.get("id")
        else:
            item_id = getattr(item, "id", None)
        self.failed.append(BulkFailure(item, item_id, error))

    def merge(self, other: BulkResult) -> None:
        """Add ``other``'s counts and failures to this result (thread-safe)."""
        with self._lock:
            self.done += other.done
            self.failed += other.failed

    def raise_on_failure(self) -> None:
        """Raise :class:`KintoBatchException` if any item failed: its message counts them
        and shows the first few with their id and reason; ``.exceptions`` holds one error
        per failed item and ``.failures`` the :class:`BulkFailure` list."""
        if self.failed:
            errors = [
                e.error if isinstance(e.error, KintoException)
                else KintoException(f"{type(e.error).__name__}: {e.error}", e.error)
                for e in self.failed
            ]
            labels = [failure.id for failure in self.failed]
            exc = KintoBatchException(errors, [], labels, what="of the bulk items")
            exc.failures = list(self.failed)
            raise exc

    def __repr__(self) -> str:
        return f"<BulkResult done={self.done} failed={len(self.failed)}>"


def iter_chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Lazily cut ``items`` (any iterable, even a generator) into lists of ``size``."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


class InFlight:
    """How many chunks may be in flight (additive increase, multiplicative decrease, as
    TCP's congestion window): ``limit`` starts at ``ceiling``, halves after a chunk
    that struggled, grows by one after a clean one. Sans-I/O: the runners wait on it."""

    def __init__(self, ceiling: int) -> None:
        if ceiling < 1:
            raise ValueError("concurrency must be at least 1.")
        self.ceiling = ceiling
        self.limit = ceiling
        self.running = 0

    def can_start(self) -> bool:
        return self.running < self.limit

    def started(self) -> None:
        self.running += 1

    def finished(self, struggled: bool) -> None:
        self.running -= 1
        if struggled:
            self.limit = max(1, self.limit // 2)
        else:
            self.limit = min(self.ceiling, self.limit + 1)


def watched(op: Op[T], struggled: list[bool]) -> Op[T]:
    """Run ``op``, appending ``True`` to ``struggled`` when one of its requests needed
    retries or failed with a busy-server status."""
    step = core.start(op)
    while isinstance(step, core.Request):
        if step.delay:  # a resend after a conflict
            struggled.append(True)
        try:
            response = yield step
        except KintoException as exc:
            answer = exc.response
            if isinstance(answer, core.Response) and (
                answer.attempts > 1 or answer.status in _STRUGGLE_STATUSES
            ):
                struggled.append(True)
            step = core.resume(op, error=exc)
        else:
            if response.attempts > 1:
                struggled.append(True)
            step = core.resume(op, response)
    result: T = step.value
    return result


def chunk_op(client: ClientLike, items: list[Any], make_op: MakeOp, total: BulkResult) -> Op[None]:
    """Write one chunk: its batchable requests in one batch, the others one by one."""
    result = BulkResult()
    try:
        yield from _chunk_op(client, items, make_op, result)
    finally:
        total.merge(result)


def _chunk_op(
    client: ClientLike, items: list[Any], make_op: MakeOp, result: BulkResult
) -> Op[None]:
    batch = Batch(client)
    for item in items:
        try:
            batch.queue(make_op(item), placeholder=True, tag=item)
        except (ValueError, TypeError, KintoException) as exc:
            result.fail(item, exc)
    queued = len(batch)
    if queued:
        try:
            yield from batch._op_flush()
        except KintoBatchException:
            pass
        for item, error in batch.failures:
            result.fail(item, error or KintoException("failed"))
        result.done += queued - len(batch.failures)


def _batch_size(info: dict[str, Any]) -> int:
    return int((info.get("settings") or {}).get("batch_max_requests") or 25)


def _total(items: Iterable[Any]) -> int | None:
    return len(items) if hasattr(items, "__len__") else None  # type: ignore[arg-type]


def run_bulk(
    client: ClientLike, items: Iterable[Any], make_op: MakeOp, progress: Progress | None,
    concurrency: int = 1,
) -> BulkResult:
    """Blocking bulk run: chunk after chunk, or up to ``concurrency`` chunks at once in a
    thread pool (the client's connection pool is shared by the threads)."""
    flow = InFlight(concurrency)
    size = _batch_size(client._run(client._op_server_info()))
    result, total = BulkResult(), _total(items)
    if concurrency == 1:
        for chunk in iter_chunks(items, size):
            client._run(chunk_op(client, chunk, make_op, result))
            if progress is not None:
                progress(result.done + len(result.failed), total)
        return result
    ready = threading.Condition()

    def send(chunk: list[Any]) -> None:
        struggled: list[bool] = []
        try:
            client._run(watched(chunk_op(client, chunk, make_op, result), struggled))
            if progress is not None:
                with ready:
                    progress(result.done + len(result.failed), total)
        finally:
            with ready:
                flow.finished(bool(struggled))
                ready.notify_all()

    futures: list[Future[None]] = []
    with ThreadPoolExecutor(concurrency, thread_name_prefix="kinto-orm-bulk") as pool:
        for chunk in iter_chunks(items, size):
            with ready:
                ready.wait_for(flow.can_start)
                flow.started()
            futures.append(pool.submit(send, chunk))
    for future in futures:
        future.result()  # an error outside the chunks' own reporting (progress...) surfaces
    return result


async def arun_bulk(
    client: ClientLike,
    items: Iterable[Any],
    make_op: MakeOp,
    progress: Progress | None,
    concurrency: int,
) -> BulkResult:
    """Async bulk run: up to ``concurrency`` chunks in flight at once."""
    flow = InFlight(concurrency)
    size = _batch_size(await client._arun(client._op_server_info()))
    result, total = BulkResult(), _total(items)
    ready = asyncio.Condition()
    tasks: set[asyncio.Task[None]] = set()

    async def send(chunk: list[Any]) -> None:
        struggled: list[bool] = []
        try:
            await client._arun(watched(chunk_op(client, chunk, make_op, result), struggled))
            if progress is not None:
                progress(result.done + len(result.failed), total)
        finally:
            async with ready:
                flow.finished(bool(struggled))
                ready.notify_all()

    for chunk in iter_chunks(items, size):
        async with ready:
            await ready.wait_for(flow.can_start)
            flow.started()
        task = asyncio.create_task(send(chunk))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)
    return result


__all__ = [
    "BulkFailure", "BulkResult", "InFlight", "MakeOp", "Progress", "arun_bulk", "chunk_op",
    "iter_chunks", "run_bulk", "watched",
]
