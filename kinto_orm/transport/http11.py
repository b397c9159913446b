"""HTTP/1.1 for the async transport's short route: a pool of keep-alive connections to
one origin on asyncio's own transports, answers parsed by httptools (the binding of
llhttp, Node.js's C parser, that uvicorn uses too). ``direct.py`` builds the bytes of
each request; this module sends them and reads the whole answer.

Why: on httpcore + h11 + anyio, the layers httpx sends with, an ``aget()`` spent most of
its client CPU in the HTTP layer (h11's pure-Python header checks and state machine,
httpcore's pool walks, trace objects and locks): about 1.35x a sync ``get()``. Here a
request is one write, the answer is parsed in C as the loop receives it, and waiting
for it is one future.

What it keeps from httpx's pool: its limits (100 connections, 20 kept idle for 5 s);
a connection the server closed, said it would close (``Connection: close``, HTTP/1.0),
or sent unexpected bytes on is never reused (the socket is asked before reuse, in case
the loop was blocked and has not seen it), nor one whose exchange did not finish
(cancelled, timed out, failed: closed at once); timeouts per phase (connect, write, read
= the longest silence while waiting for the answer, pool = the wait for a free
connection). Errors are httpx's exception types, with httpcore's and h11's messages
where this code raises the same condition. Connections belong to the event loop that
opened them: under another loop (a second ``asyncio.run()``), the pool starts afresh.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import select
import ssl

import httpx

from .answers import PARSER_ERRORS, Answer, AnswerReader, cut_short, parser_error

#: (connect, read, write, pool) seconds, None for no limit.
Timeouts = tuple[float | None, float | None, float | None, float | None]

MAX_CONNECTIONS = 100  # httpx.Limits' defaults, the pool the long way uses
MAX_IDLE = 20
IDLE_EXPIRY = 5.0

_DISCONNECTED = "Server disconnected without sending a response."  # httpcore's words
_poll = getattr(select, "poll", None)  # not on Windows: select() there


class Connection(AnswerReader, asyncio.Protocol):
    """One connection and the answer it is reading; the loop calls the protocol's
    methods as bytes arrive, the parser calls the ``on_*`` ones (``answers.py``)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.fileno = -1  # the socket's, to ask whether it is readable before reuse
        self.parser = None
        self.waiter: asyncio.Future[None] | None = None  # set while an exchange runs
        self.drain: asyncio.Future[None] | None = None  # set while waiting to write
        self.paused = False  # asyncio's write buffer is above its high-water mark
        self.closed = False  # the server closed, or the connection is lost
        self.reusable = False
        self.expires = 0.0
        self.received = 0.0  # loop time of the last bytes received (read timeout)
        self.timer: asyncio.TimerHandle | None = None  # the read timeout's watch
        self.read_timeout = 0.0
        self.head = False
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.status = 0
        self.reason = b""
        self.headers = []
        self.body = []
        self.header_bytes = 0

    # ------------------------------------------------------------------ one exchange

    async def exchange(
        self, data: bytes, body: bytes | None, head: bool, timeouts: Timeouts
    ) -> Answer:
        """Send ``data`` (and ``body``), return the answer; the caller closes the
        connection if this raises."""
        transport = self.transport
        if self.closed or transport is None or transport.is_closing():
            raise httpx.RemoteProtocolError(_DISCONNECTED)
        self._begin(head)
        waiter = self.waiter = self.loop.create_future()
        try:
            if body is None or len(body) < 65536:  # one segment for small requests
                transport.write(data if body is None else data + body)
            else:
                transport.write(data)
                transport.write(body)
            if self.paused and not self.complete:
                await self._drained(timeouts[2])
            if not self.complete:
                await self._answered(waiter, timeouts[1])
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                waiter.exception()  # reported or not, it is retrieved: no warning at exit
            raise
        finally:
            self.waiter = None
        waiter.result()  # raises what the loop reported
        answer = self._answer()
        self.reusable = self.keep_alive and not self.closed \
            and not transport.get_write_buffer_size()
        return answer

    async def _drained(self, timeout: float | None) -> None:
        drain = self.drain = self.loop.create_future()
        timer = None if timeout is None else self.loop.call_later(
            timeout, _expire, drain, httpx.WriteTimeout)
        try:
            await drain
        finally:
            self.drain = None
            if timer is not None:
                timer.cancel()

    async def _answered(self, waiter: asyncio.Future[None], timeout: float | None) -> None:
        if timeout is None:
            await waiter
            return
        now = self.loop.time()
        self.received, self.read_timeout = now, timeout
        # One watch per connection, not a timer per request (a timer made and cancelled
        # for every answer cost 13 us of the 88 of an exchange): the watch left by an
        # earlier answer serves when it fires no later than this one's deadline.
        timer = self.timer
        if timer is None or timer.when() > now + timeout:
            if timer is not None:
                timer.cancel()
            self.timer = self.loop.call_at(now + timeout, self._silence)
        await waiter

    def _silence(self) -> None:
        """The read timeout's watch: fails the exchange after ``read_timeout`` s without
        a byte; fires again while bytes keep coming; ends when no exchange waits."""
        self.timer = None
        waiter = self.waiter
        if waiter is None or waiter.done() or self.closed:
            return
        deadline = self.received + self.read_timeout
        if deadline > self.loop.time():
            self.timer = self.loop.call_at(deadline, self._silence)
        else:
            waiter.set_exception(httpx.ReadTimeout(""))

    def _fail(self, error: Exception) -> None:
        self.keep_alive = False
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        self._wake_writer()

    def _finish(self) -> None:
        super()._finish()
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self._wake_writer()

    def _wake_writer(self) -> None:
        drain = self.drain
        if drain is not None and not drain.done():
            drain.set_result(None)

    # ------------------------------------------------------------------ asyncio's calls

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            self.fileno = sock.fileno()

    def stale(self) -> bool:
        """Whether the idle connection is closed, or has bytes (the server's end, or
        bytes nobody asked for) the loop has not read yet: it has not run since, when
        blocked by CPU work or a blocking call. httpcore asks the socket the same before
        reusing a connection (one ``poll()``: about 1 µs, 1 % of a GET)."""
        if self.closed or self.fileno < 0:
            return self.closed
        if _poll is None:
            readable = bool(select.select([self.fileno], [], [], 0)[0])
        else:
            poller = _poll()
            poller.register(self.fileno, select.POLLIN)
            readable = bool(poller.poll(0))
        if readable:
            self._unexpected()
        return readable

    def data_received(self, data: bytes) -> None:
        parser = self.parser
        if self.waiter is None or self.complete or parser is None:
            self._unexpected()  # bytes nobody asked for: the connection is not ours to reuse
            return
        self.received = self.loop.time()
        try:
            self._feed(data)
        except PARSER_ERRORS as exc:
            self._unexpected()
            self._fail(httpx.RemoteProtocolError(parser_error(exc)))

    def eof_received(self) -> bool | None:
        self.closed = True
        self._ended(None)
        return None  # asyncio closes the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._ended(exc)
        self.parser = None  # it refers to this protocol: no cycle left for the GC
        if self.timer is not None:  # nothing to watch: the loop lets go of it now
            self.timer.cancel()
            self.timer = None

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self._wake_writer()

    def _unexpected(self) -> None:
        self.closed = True
        self.keep_alive = False
        if self.transport is not None:
            self.transport.close()

    def _ended(self, exc: Exception | None) -> None:
        """The server closed the connection (or it broke): what that means for the
        answer being read, in h11's and httpcore's words."""
        self._wake_writer()
        if self.waiter is None or self.complete:
            return
        if not self.headers_done:
            self._fail(httpx.ReadError(str(exc)) if exc is not None
                       else httpx.RemoteProtocolError(_DISCONNECTED))
            return
        if exc is not None:
            self._fail(httpx.ReadError(str(exc)))
            return
        verdict = cut_short(self.headers, self._received())
        if verdict is None:  # a body delimited by the end of the connection
            self.keep_alive = False
            self._finish()
        else:
            self._fail(httpx.RemoteProtocolError(verdict))


def _expire(waiter: asyncio.Future[None], error: type[httpx.TransportError]) -> None:
    if not waiter.done():
        waiter.set_exception(error(""))


class Pool:
    """Keep-alive connections to one origin (``host``, ``port``, TLS when ``context``)."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext | None) -> None:
        self.host, self.port, self.context = host, port, context
        if context is not None:
            context.set_alpn_protocols(["http/1.1"])  # as httpcore asks, on the same context
        self.loop: asyncio.AbstractEventLoop | None = None
        self.idle: list[Connection] = []  # oldest first
        self.busy: set[Connection] = set()
        self.opening = 0
        self.waiting: collections.deque[asyncio.Future[None]] = collections.deque()

    async def request(
        self, data: bytes, body: bytes | None, head: bool, keep: bool, timeouts: Timeouts
    ) -> Answer:
        """Send one request (``data``: request line and headers) on an idle connection or
        a new one; return its answer."""
        loop = asyncio.get_running_loop()
        if loop is not self.loop:  # connections belong to the loop that opened them
            self._forget(loop)
        connection = self._idle(loop.time())
        if connection is None:
            connection = await self._acquire(loop, timeouts)
        busy = self.busy
        busy.add(connection)
        try:
            answer = await connection.exchange(data, body, head, timeouts)
        except BaseException:  # cancelled, timed out, failed: never half-read in the pool
            busy.discard(connection)
            _abort(connection)
            self._wake()
            raise
        busy.discard(connection)
        if keep and connection.reusable:
            connection.expires = loop.time() + IDLE_EXPIRY
            idle = self.idle
            idle.append(connection)
            if len(idle) > MAX_IDLE:
                _close(idle.pop(0))
        else:
            _close(connection)
        if self.waiting:
            self._wake()
        return answer

    def _idle(self, now: float) -> Connection | None:
        idle = self.idle
        while idle and (idle[0].expires < now or idle[0].closed):
            _close(idle.pop(0))
        while idle:
            connection = idle.pop()  # the most recently used
            if not connection.stale():
                return connection
            _close(connection)
        return None

    async def _acquire(self, loop: asyncio.AbstractEventLoop, timeouts: Timeouts) -> Connection:
        """An idle connection, else a new one; at the limit, wait (``timeouts[3]``) until
        one is given back or closed."""
        deadline = None if timeouts[3] is None else loop.time() + timeouts[3]
        while True:
            connection = self._idle(loop.time())
            if connection is not None:
                return connection
            if len(self.busy) + self.opening < MAX_CONNECTIONS:  # none idle: open one
                return await self._connect(loop, timeouts[0])
            waiter = loop.create_future()
            self.waiting.append(waiter)
            timer = None if deadline is None else loop.call_at(
                deadline, _expire, waiter, httpx.PoolTimeout)
            try:
                await waiter
            except BaseException:
                if waiter in self.waiting:
                    self.waiting.remove(waiter)
                elif not waiter.cancelled() and waiter.exception() is None:
                    self._wake()  # woken, but leaving: the next one in line gets the turn
                raise
            finally:
                if timer is not None:
                    timer.cancel()

    async def _connect(self, loop: asyncio.AbstractEventLoop, timeout: float | None) -> Connection:
        self.opening += 1
        try:
            try:
                _, connection = await asyncio.wait_for(loop.create_connection(
                    lambda: Connection(loop), self.host, self.port, ssl=self.context,
                    server_hostname=self.host if self.context is not None else None,
                ), timeout)
            except asyncio.TimeoutError as exc:
                raise httpx.ConnectTimeout(str(exc)) from exc
            except OSError as exc:  # refused, unreachable, name unknown, TLS refused
                raise httpx.ConnectError(str(exc)) from exc
        except BaseException:
            self._wake()  # the slot it would have taken is free again
            raise
        finally:
            self.opening -= 1
        return connection

    def _wake(self) -> None:
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _forget(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start again on ``loop``: the connections of another loop cannot be used."""
        for connection in (*self.idle, *self.busy):
            _abort(connection)
        self.idle, self.busy, self.opening, self.loop = [], set(), 0, loop
        self.waiting.clear()

    async def aclose(self) -> None:
        """Close every connection."""
        for connection in self.idle:
            _close(connection)
        for connection in self.busy:  # their callers fail now, as through httpx's pool
            connection._fail(httpx.ReadError(""))
            _abort(connection)
        self.idle, self.busy = [], set()
        await asyncio.sleep(0)  # the loop closes the sockets now, not when it is closed


# Below, a RuntimeError means the connection's loop is closed and cannot close it any
# more: the garbage collector closes its socket.


def _close(connection: Connection) -> None:
    if connection.transport is not None:
        with contextlib.suppress(RuntimeError):
            connection.transport.close()


def _abort(connection: Connection) -> None:
    connection.waiter = None  # nobody reads what the end of it would report
    if connection.transport is not None:
        with contextlib.suppress(RuntimeError):
            connection.transport.abort()
