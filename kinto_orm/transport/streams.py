"""An asyncio network backend for httpcore (its public ``AsyncNetworkBackend`` API): the
connections of the async transport's short route, on asyncio's own transports and a
small protocol, TLS by ``loop.start_tls``.

Why: httpcore's default backend goes through anyio, whose stream wrappers cost per
read and per write (a cancel scope for each timeout, an attribute table built for each
``get_extra_info``), and httpcore asks every pooled connection whether it is still
usable twice per request: with 8 requests in flight, anyio's part was a quarter of
an ``aget()``'s client CPU. Here a read takes what the event loop already received
(``data_received``), a timeout is one ``call_later``, and "is the connection still
usable" is a flag the loop set when the server closed it.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore

#: Bytes kept unread before the loop stops reading the socket (flow control).
_READ_LIMIT = 256 * 1024

#: ``get_extra_info`` names httpcore asks for, as asyncio's transports call them.
_EXTRA_INFO = {"ssl_object": "ssl_object", "client_addr": "sockname",
               "server_addr": "peername", "socket": "socket"}


class _Receiver(asyncio.Protocol):
    """What the loop received on one connection, and the wake-ups of its reader and
    writer."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.closed = False  # the server closed its side, or the connection is lost
        self.error: Exception | None = None
        self.reader: asyncio.Future[None] | None = None
        self.writer: asyncio.Future[None] | None = None  # set while writing is paused
        self.paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _READ_LIMIT and self.transport is not None:
            self.transport.pause_reading()
            self.paused = True
        self._wake_reader()

    def eof_received(self) -> bool | None:
        self.closed = True
        self._wake_reader()
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.error = exc
        self._wake_reader()
        self.resume_writing()

    def pause_writing(self) -> None:
        if self.writer is None:
            self.writer = self.loop.create_future()

    def resume_writing(self) -> None:
        writer, self.writer = self.writer, None
        if writer is not None and not writer.done():
            writer.set_result(None)

    def _wake_reader(self) -> None:
        reader = self.reader
        if reader is not None and not reader.done():
            reader.set_result(None)


def _expire(waiter: asyncio.Future[None], error: type[Exception]) -> None:
    if not waiter.done():
        waiter.set_exception(error())


async def _wait(
    receiver: _Receiver, waiter: asyncio.Future[None], timeout: float | None,
    error: type[Exception],
) -> None:
    """Wait for ``waiter``; after ``timeout`` seconds raise ``error``."""
    if timeout is None:
        await waiter
        return
    timer = receiver.loop.call_later(timeout, _expire, waiter, error)
    try:
        await waiter
    finally:
        timer.cancel()


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One TCP (or TLS) connection, as httpcore reads and writes it."""

    def __init__(self, transport: asyncio.Transport, receiver: _Receiver) -> None:
        self._transport = transport
        self._receiver = receiver

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        receiver = self._receiver
        if not receiver.buffer and not receiver.closed:
            receiver.reader = receiver.loop.create_future()
            try:
                await _wait(receiver, receiver.reader, timeout, httpcore.ReadTimeout)
            finally:
                receiver.reader = None
        buffer = receiver.buffer
        if not buffer:
            if receiver.error is not None:
                raise httpcore.ReadError(str(receiver.error)) from receiver.error
            return b""  # the server closed the connection
        data = bytes(buffer[:max_bytes])
        del buffer[:max_bytes]
        if receiver.paused and len(buffer) <= _READ_LIMIT and receiver.transport is not None:
            receiver.paused = False
            receiver.transport.resume_reading()
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        receiver = self._receiver
        if receiver.error is not None or self._transport.is_closing():
            raise httpcore.WriteError("the connection is closed")
        self._transport.write(buffer)
        if receiver.writer is not None:  # above the high-water mark: wait for it to drain
            await _wait(receiver, receiver.writer, timeout, httpcore.WriteTimeout)

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = self._receiver.loop
        try:
            transport = await asyncio.wait_for(
                loop.start_tls(self._transport, self._receiver, ssl_context,
                               server_hostname=server_hostname),
                timeout,
            )
        except asyncio.TimeoutError as exc:
            self._transport.close()
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except (OSError, ssl.SSLError) as exc:
            self._transport.close()
            raise httpcore.ConnectError(str(exc)) from exc
        if transport is None:  # the server closed the connection during the handshake
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        assert isinstance(transport, asyncio.Transport)
        self._receiver.transport = transport  # flow control now goes through TLS
        return AsyncioStream(transport, self._receiver)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # asked of idle pooled connections: readable = closed
            return self._receiver.closed or bool(self._receiver.buffer)
        name = _EXTRA_INFO.get(info)
        return None if name is None else self._transport.get_extra_info(name)


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Opens :class:`AsyncioStream` connections on the running event loop."""

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None,
        local_address: str | None = None, socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = None if local_address is None else (local_address, 0)
        try:
            transport, receiver = await asyncio.wait_for(
                loop.create_connection(lambda: _Receiver(loop), host, port, local_addr=local),
                timeout,
            )
        except asyncio.TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock: socket.socket | None = transport.get_extra_info("socket")
        for option in socket_options or ():  # asyncio already sets TCP_NODELAY
            if sock is not None:
                sock.setsockopt(*option)
        return AsyncioStream(transport, receiver)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
