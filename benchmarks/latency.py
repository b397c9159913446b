"""A loopback TCP proxy that adds a fixed delay each way: a slow link on one machine.

>>> with ProxyProcess("http://127.0.0.1:8888/v1", delay=0.020) as proxy:
...     client = Client(proxy.url)          # every byte arrives 20 ms later, both ways

Each chunk read on one side is written to the other ``delay`` seconds after it arrived,
in order, without holding back the chunks after it (latency, not a bandwidth cap).

The benchmarks run it in a process of its own (``ProxyProcess``, i.e. ``python
latency.py UPSTREAM_URL DELAY``): a link is not slowed down by the client being busy, so
the proxy must not share a GIL (and its 5 ms switch interval) with the client or with
the process that drives the benchmark, and its CPU is its own (``cpu_seconds``), not
charged to anyone else. ``LatencyProxy`` is the same proxy in a thread, for one-off use.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


class LatencyProxy:
    """Forward ``127.0.0.1:<port>`` to ``upstream_url``'s host and port, ``delay`` s late
    in each direction."""

    def __init__(self, upstream_url: str, delay: float = 0.020) -> None:
        parts = urlsplit(upstream_url)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._parts = parts
        self.delay = delay
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None

    @property
    def url(self) -> str:
        """``upstream_url`` with the proxy's address instead."""
        return urlunsplit(self._parts._replace(netloc=f"127.0.0.1:{self.port}"))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        last = 0.0
        try:
            while data := await reader.read(65536):
                # Same delay for every chunk, never earlier than the chunk before it.
                last = max(last, loop.time() + self.delay)
                loop.call_at(last, writer.write, data)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if not loop.is_closed():
                loop.call_at(max(last, loop.time()), writer.close)

    async def _handle(self, client_r: asyncio.StreamReader,
                      client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self._upstream)
        except OSError:
            client_w.close()
            return
        try:
            await asyncio.gather(self._pipe(client_r, server_w), self._pipe(server_r, client_w))
        except asyncio.CancelledError:
            pass  # the proxy stops

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    def __enter__(self) -> LatencyProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


class ProxyProcess:
    """``LatencyProxy`` in a process of its own (see the module docstring for why)."""

    def __init__(self, upstream_url: str, delay: float = 0.020) -> None:
        self.upstream_url = upstream_url
        self.delay = delay
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def __enter__(self) -> ProxyProcess:
        self._process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), self.upstream_url, str(self.delay)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self._process.stdout is not None
        self.url = self._process.stdout.readline().strip()  # printed once it listens
        if not self.url:
            self._process.wait(10)
            raise RuntimeError(f"the latency proxy did not start ({self._process.returncode})")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            assert self._process.stdin is not None
            self._process.stdin.close()  # the proxy stops at the end of its input
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the proxy process used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _serve(upstream_url: str, delay: float) -> None:
    """Run a proxy until standard input closes (or SIGTERM); print its URL first."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with LatencyProxy(upstream_url, delay) as proxy:
        print(proxy.url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    _serve(sys.argv[1], float(sys.argv[2]))
