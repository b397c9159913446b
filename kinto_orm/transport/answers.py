"""One HTTP/1.1 answer as httptools parses it: the parser's callbacks and the state they
fill (status, reason, raw headers, body parts, keep-alive), shared by the async pool
(``http11.py``, asyncio) and the sync one (``http11_sync.py``, blocking sockets).

Why here: what the bytes of an answer mean (an interim ``1xx``, a HEAD answer that has
no body, a second answer nobody asked for, a body the end of the connection delimits or
cuts short) is protocol logic, written once; each pool only says what finishing or
failing means for its own waiting (a future, or a loop over ``recv()``).
"""

from __future__ import annotations

import io

import httptools

#: (status, reason phrase, raw headers, body) of one answer.
Answer = tuple[int, bytes, list[tuple[bytes, bytes]], bytes]

#: The most header bytes an answer may carry (httpcore's limit, 100 KiB): a server that
#: sends more fails the request, instead of filling the client's memory.
MAX_HEADER_BYTES = 100 * 1024


class HeadersTooLarge(ValueError):
    """An answer's headers over :data:`MAX_HEADER_BYTES`."""


#: A body of at least this many bytes, with a ``Content-Length``, is written in place
#: into one buffer of its size as it arrives: joining its pieces at the end would hold it
#: twice at the peak (a page of 10,000 records is 2.3 MB).
IN_PLACE = 1 << 20

#: What feeding an answer's bytes may raise: the parser's errors and the headers' limit.
PARSER_ERRORS = (httptools.HttpParserError, httptools.HttpParserUpgrade, HeadersTooLarge)


def parser_error(exc: Exception) -> str:
    """What one of :data:`PARSER_ERRORS` says."""
    return str(exc) or type(exc).__name__


class AnswerReader:
    """The answer being read on one connection; ``parser`` calls the ``on_*`` methods.
    Subclasses extend :meth:`_finish` (the answer is whole) and :meth:`_unexpected`
    (bytes nobody asked for: the connection must not be reused)."""

    parser: httptools.HttpResponseParser | None
    head: bool
    headers_done: bool
    complete: bool
    reusable: bool  # the last answer was read whole and allows keep-alive
    keep_alive: bool
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    header_bytes: int  # received while the headers were not complete
    body: list[bytes]
    # A large body written in place (see IN_PLACE): the buffer, a view on it, bytes in it.
    store: io.BytesIO | None = None
    into: memoryview | None = None
    filled = 0

    def _begin(self, head: bool) -> None:
        """Get ready for the answer to a new request (``head``: to a HEAD request)."""
        if self.parser is None:
            self.parser = httptools.HttpResponseParser(self)
        self.head, self.headers_done, self.complete, self.reusable = head, False, False, False
        self.status, self.reason, self.headers, self.body = 0, b"", [], []
        self.header_bytes = 0
        if self.into is not None:
            self.into.release()
        self.store, self.into, self.filled = None, None, 0

    def _feed(self, data: bytes) -> None:
        """Give ``data`` to the parser: raises one of :data:`PARSER_ERRORS`. Bytes that
        do not end the headers count towards their limit (counted per chunk received,
        not per header: a header callback is the hot path)."""
        assert self.parser is not None
        self.parser.feed_data(data)
        if not self.headers_done:
            self.header_bytes += len(data)
            if self.header_bytes > MAX_HEADER_BYTES:
                raise HeadersTooLarge(f"the answer's headers exceed {MAX_HEADER_BYTES} bytes")

    def _answer(self) -> Answer:
        if self.head:  # the parser still waits for the body a HEAD answer never has
            self.parser = None
        if self.into is not None and self.store is not None:
            self.into.release()
            # Unshared and full, the buffer's bytes object is handed out without a copy.
            content = self.store.getvalue()
            self.store, self.into = None, None
        else:
            content = b"".join(self.body)
        return self.status, self.reason, self.headers, content

    def _received(self) -> int:
        """How many bytes of the body came."""
        return self.filled + sum(map(len, self.body))

    def _in_place(self) -> None:
        """Go on writing a large body with a known length in place (see IN_PLACE)."""
        length = next((value for name, value in self.headers
                       if name.lower() == b"content-length"), b"")
        if not length.isdigit() or int(length) < IN_PLACE:
            return
        store = io.BytesIO(bytes(int(length)))  # zeroed pages: memory is used as filled
        into = store.getbuffer()
        filled = 0
        for piece in self.body:
            into[filled : filled + len(piece)] = piece
            filled += len(piece)
        self.store, self.into, self.filled, self.body = store, into, filled, []

    def _finish(self) -> None:
        self.complete = True

    def _unexpected(self) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ the parser's calls

    def on_message_begin(self) -> None:
        if self.complete:  # a second answer to one request
            self._unexpected()

    # Once an answer's headers are read, the parser's later header calls are a chunked
    # body's trailer fields (left out, as http.client and h11 leave them) or a second
    # answer in the same bytes (not ours: it must not change the one asked for).

    def on_status(self, status: bytes) -> None:
        if not self.headers_done:
            self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.headers_done:
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self.parser
        assert parser is not None
        if self.complete:  # a second answer's
            return
        self.status = parser.get_status_code()
        self.keep_alive = parser.should_keep_alive()
        self.headers_done = True
        if self.head and self.status >= 200:
            self._finish()

    def on_body(self, body: bytes) -> None:
        if self.complete:
            return
        into = self.into
        if into is None:
            self.body.append(body)
            if len(self.body) == 2:  # a body in pieces: a large one goes on in place
                self._in_place()
            return
        end = self.filled + len(body)
        if end > len(into):  # more than its Content-Length: llhttp never gives that
            raise ValueError("the answer's body exceeds its Content-Length")
        into[self.filled : end] = body
        self.filled = end

    def on_message_complete(self) -> None:
        if 100 <= self.status < 200:  # an interim answer (100 Continue): the real one follows
            self.status, self.reason, self.headers, self.headers_done = 0, b"", [], False
            return
        if not self.complete:
            self._finish()


def cut_short(headers: list[tuple[bytes, bytes]], received: int) -> str | None:
    """What the end of the connection means for an answer whose headers were read and
    whose body was not complete: None when no framing was announced (the end delimits
    the body), else how it was cut short, in h11's and httpcore's words."""
    framing = {name.lower(): value for name, value in headers
               if name.lower() in (b"content-length", b"transfer-encoding")}
    if not framing:
        return None
    if b"content-length" in framing:
        expected = int(framing[b"content-length"])
        return ("peer closed connection without sending complete message body "
                f"(received {received} bytes, expected {expected})")
    return ("peer closed connection without sending complete message body "
            "(incomplete chunked read)")
