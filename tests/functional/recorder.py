"""A loopback HTTP/1.1 server that records the bytes it receives and answers what a test
asks (a body, gzip, a cookie, a hang-up, a broken or cut body, chunked or close-delimited
framing, a delay, a body trickling in), for the transport tests of both clients:
headers, cookies, compression, framings and TLS are things Kinto does not exercise."""

from __future__ import annotations

import gzip
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class Recorder(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[tuple[str, str, list[tuple[str, str]], bytes]] = []
        self.connections = 0
        self.answer: dict[str, Any] = {}

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up mid-answer are what some tests do: no traceback for
        a connection reset or a broken pipe; anything else is printed as usual."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server: Recorder

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append((self.command, self.path, list(self.headers.items()), body))
        answer = self.server.answer
        content = answer.get("body", b'{"data": {"id": "x"}}')
        if answer.get("delay"):  # seconds of silence before the answer
            time.sleep(answer["delay"])
        if answer.get("interim"):  # a 1xx answer first (say, 100 Continue or 103 hints)
            self.wfile.write(answer["interim"])
        self.send_response(answer.get("status", 200))
        for name, value in answer.get("raw-headers", ()):  # bytes as they are: not ASCII
            self._headers_buffer.append(b"%s: %s\r\n" % (name, value))
        self.send_header("Content-Type", "application/json")
        if answer.get("gzip"):
            content = gzip.compress(content)
            self.send_header("Content-Encoding", "gzip")
        if answer.get("broken-gzip"):
            self.send_header("Content-Encoding", "gzip")
        if answer.get("cookie"):
            self.send_header("Set-Cookie", answer["cookie"])
        for name, value in answer.get("headers", ()):
            self.send_header(name, value)
        if answer.get("connection-close"):  # say so, then hang up
            self.send_header("Connection", "close")
        framing = answer.get("framing", "length")
        if framing == "length":
            self.send_header("Content-Length", str(len(content)))
        elif framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.command == "HEAD":
            pass
        elif framing == "chunked":  # in chunks of 1000 bytes, then the last, empty one
            for start in range(0, len(content), 1000):
                piece = content[start : start + 1000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                if answer.get("truncate"):  # one chunk, then hang up
                    self.close_connection = True
                    return
            self.wfile.write(b"0\r\n\r\n")
        elif answer.get("truncate"):  # half the body it announced, then hang up
            self.wfile.write(content[: len(content) // 2])
            self.close_connection = True
        elif answer.get("trickle"):  # (pieces, seconds between them): slow, never silent long
            pieces, gap = answer["trickle"]
            size = -(-len(content) // pieces)
            for start in range(0, len(content), size):
                time.sleep(gap)
                self.wfile.write(content[start : start + size])
                self.wfile.flush()
        else:
            self.wfile.write(content)
        # hang up after answering, without saying so (or, with no length, to end the body)
        if answer.get("close") or answer.get("connection-close") or framing == "until-close":
            self.close_connection = True

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = _handle


def serve(server: Recorder) -> Iterator[Recorder]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def url_of(server: Recorder, scheme: str = "http", host: str = "127.0.0.1") -> str:
    return f"{scheme}://{host}:{server.server_address[1]}/v1"


def tls_recorder_and_ca(tmp_path: Any) -> tuple[Recorder, str]:
    """A recorder behind TLS with a certificate for ``localhost`` from a throwaway CA,
    and the path of that CA's certificate (PEM)."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server = Recorder()
    server.socket = context.wrap_socket(server.socket, server_side=True)
    return server, str(ca_file)
