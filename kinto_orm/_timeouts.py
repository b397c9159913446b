"""Timeouts: the finite default, their validation, and ``with client.timeout(...)``.

Why (10, 60) by default: connecting to a live server takes well under a second, and
10 s lets the kernel retransmit a lost SYN three times (after 1 s, 3 s, 7 s) before giving
up. The read timeout bounds each wait for bytes (not the whole answer); Kinto answers in
milliseconds, and the proxies in front of most deployments (nginx's
``proxy_read_timeout``, cloud load balancers' idle timeout) give up after 60 s with a
504 anyway, so waiting longer only hangs a job on a dead server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import Any

#: Seconds, a ``(connect, read)`` tuple (either may be None), or None for no timeout.
Timeout = float | tuple[float | None, float | None] | None

#: The default of ``Client(timeout=...)``: 10 s to connect, 60 s to wait for bytes.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)

# (transport, timeout) pairs set by ``client.timeout(...)`` blocks, innermost last. A
# ContextVar so each thread and each asyncio task sees only its own blocks.
_OVERRIDES: ContextVar[tuple[tuple[object, Timeout], ...]] = ContextVar(
    "kinto_orm_timeouts", default=()
)


def check_timeout(value: Any) -> Timeout:
    """``value`` if it is a valid timeout, else a ``ValueError`` saying what is."""
    parts = value if isinstance(value, tuple) else (value,)
    valid = len(parts) in (1, 2) and all(
        part is None or (isinstance(part, (int, float)) and not isinstance(part, bool)
                         and part > 0)
        for part in parts
    )
    if not valid or (isinstance(value, tuple) and len(value) != 2):
        raise ValueError(
            f"timeout must be seconds (> 0), a (connect, read) tuple, or None for no "
            f"timeout; got {value!r}."
        )
    if isinstance(value, tuple):
        connect, read = value
        return (None if connect is None else float(connect), None if read is None else float(read))
    return None if value is None else float(value)


def current_timeout(owner: object, default: Timeout) -> Timeout:
    """The timeout ``owner`` (a transport) uses now: the innermost ``client.timeout()``
    block for it, else its own setting."""
    for key, value in reversed(_OVERRIDES.get()):
        if key is owner:
            return value
    return default


@contextmanager
def _override(owner: object, timeout: Timeout) -> Iterator[None]:
    token = _OVERRIDES.set((*_OVERRIDES.get(), (owner, timeout)))
    try:
        yield
    finally:
        _OVERRIDES.reset(token)


class TimeoutMixin:
    """``client.timeout(...)``: another timeout for the requests made inside a block."""

    session: Any

    def timeout(self, timeout: Timeout) -> AbstractContextManager[None]:
        """Use ``timeout`` for the requests this client (and the objects and queries
        bound to it) sends inside the ``with`` block, in this thread or asyncio task.

        >>> with client.timeout(2):               # fail fast on a health check
        ...     client.server_info()
        >>> with client.timeout((5, None)):       # a long export: no read timeout
        ...     rows = client.records(Todo).all()

        For a lasting change, make a client: ``client.clone(timeout=2)`` (same
        connection pool, auth and hooks).
        """
        return _override(self.session, check_timeout(timeout))
