"""A loopback TCP relay in front of the real Kinto server, for the tests of a client's
connections: it counts the connections clients open (and how many are still open), can
hold the server's answers after a number of bytes, hang up on every client at once
(what a server does to idle keep-alive connections), hang up on the next request
without answering it (a server that closed just as the client reused the connection),
or pass the next request on and hang up instead of relaying its answer (the request
was applied, its answer lost). It also lists the request lines clients sent
(``requests``): what the server saw, to count against what a tool recorded.
Bytes go through unchanged; nothing is mocked."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator

#: A request line (JSON bodies cannot hold a raw CR LF, so none is found inside one).
_REQUEST_LINE = re.compile(rb"(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) (/\S*) HTTP/1\.1\r\n")


class Relay:
    def __init__(self, upstream_url: str) -> None:
        host_port = upstream_url.split("//", 1)[1].split("/", 1)[0]
        host, port = host_port.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.path = upstream_url.split(host_port, 1)[1]  # "/v1"
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.lock = threading.Lock()
        self.connections = 0  # opened by clients, ever
        self.open: list[socket.socket] = []  # client sides still open
        self.budget: int | None = None  # answer bytes let through before holding
        self.released = threading.Event()
        self.drop_next_request = False
        self.drop_next_answer = False
        #: "METHOD /path?query" of every request clients sent, in order of arrival.
        self.requests: list[str] = []
        self._threads: list[threading.Thread] = []
        self._stopped = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}{self.path}"

    @property
    def live(self) -> int:
        """Client connections not closed by the client yet."""
        with self.lock:
            return len(self.open)

    def hold_after(self, count: int) -> None:
        """Let ``count`` more bytes of answers through, then hold them until
        :meth:`release`."""
        self.released.clear()
        self.budget = count

    def release(self) -> None:
        self.budget = None
        self.released.set()

    def hang_up(self) -> None:
        """Close every client connection, as a server closes idle ones."""
        with self.lock:
            sockets, self.open = self.open, []
        for sock in sockets:
            _shut(sock)

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            with self.lock:
                self.connections += 1
                self.open.append(client)
            for source, sink, answers in ((client, upstream, False), (upstream, client, True)):
                thread = threading.Thread(target=self._pipe, args=(source, sink, answers),
                                          daemon=True)
                thread.start()
                self._threads.append(thread)

    def _note_requests(self, tail: bytes, data: bytes) -> bytes:
        """Record the request lines that end in ``data`` (``tail``: the end of the bytes
        before, where a line cut in two began); returns the new tail."""
        seen = tail + data
        for found in _REQUEST_LINE.finditer(seen):
            if found.end() > len(tail):
                with self.lock:
                    self.requests.append(found.group().decode("latin-1")[:-11])
        return seen[-300:]

    def _pipe(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        tail = b""
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if not answers:
                    tail = self._note_requests(tail, data)
                if not answers and self.drop_next_request:
                    self.drop_next_request = False
                    break  # hang up on this request without answering it
                if answers and self.drop_next_answer:
                    self.drop_next_answer = False
                    break  # the server applied it: hang up instead of answering
                while answers and data:
                    budget = self.budget
                    if budget is None:
                        sink.sendall(data)
                        break
                    if budget > 0:
                        sink.sendall(data[:budget])
                        self.budget = max(0, budget - len(data))
                        data = data[budget:]
                    if data and not self.released.wait(30):
                        return
                if not answers:
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                _shut(sock)
            with self.lock:
                self.open = [s for s in self.open if s not in (source, sink)]

    def __enter__(self) -> Relay:
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped = True
        self.release()
        _shut(self.listener)
        self.hang_up()
        for thread in self._threads:
            thread.join(5)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def relay_to(url: str) -> Iterator[Relay]:
    with Relay(url) as relay:
        yield relay
