"""When to send a request again and how long to wait: ``Retry-After``, ``Backoff``,
transient conflicts, the ``RetryPolicy`` of a client."""

from __future__ import annotations

import email.utils
import json
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from .headers import is_idempotent
from .messages import Request, Response

T = TypeVar("T")


# ---------------------------------------------------------------------------- retries


def _seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:  # Retry-After may also be an HTTP date.
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_READS = frozenset({"GET", "HEAD"})
#: The default of ``RetryPolicy.read_retries``: kinto-http's ``retry_timeout`` tries
#: every call twice.
READ_RETRIES = 1


def _read_retries() -> int:
    return READ_RETRIES

#: Kinto's errno for a storage transaction that lost a race (PostgreSQL backend).
CONFLICT_ERRNO = 122


def is_transient_conflict(response: Response) -> bool:
    """A ``409`` errno 122 "Integrity constraint violated, please retry.": concurrent
    writes into one collection raced in PostgreSQL and this transaction was rolled back.
    Nothing was applied, so the request (even a plain POST, even a whole batch) is safe
    to send again."""
    if response.status != 409:
        return False
    try:
        body = json.loads(response.content) if response.content else None
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("errno") == CONFLICT_ERRNO


@dataclass(slots=True)
class RetryPolicy:
    """Decides whether a failed attempt is tried again, and after how long.

    ``retry`` is how many extra attempts are allowed; ``retry_after`` (seconds)
    overrides the server's ``Retry-After``.

    A transient conflict (:func:`is_transient_conflict`) is retried even with
    ``retry=0``, up to ``conflict_retries`` times (or ``retry``, when larger), after a
    short jittered wait: ``uniform(0, min(conflict_cap, conflict_base * 2**n))`` seconds
    before retry ``n + 1``, not the ``Retry-After: 3`` Kinto sends with it (the race
    lasts milliseconds; waiting 3 s would stall every writer, and the jitter keeps the
    writers that collided from colliding again). ``conflict_retries = 0`` restores
    kinto-http's behaviour (a 409 counts against ``retry`` and waits ``Retry-After``).
    """

    retry: int = 0
    retry_after: float | None = None
    read_retries: int = field(default_factory=_read_retries)
    conflict_retries: int = 10
    conflict_base: float = 0.05
    conflict_cap: float = 2.0

    def _wait(self, headers: Mapping[str, str] | None, attempt: int) -> float:
        if self.retry_after is not None:
            return float(self.retry_after)
        server = _seconds(headers.get("Retry-After")) if headers is not None else None
        if server is not None:
            return server
        return min(0.1 * (2.0 ** (attempt - 1)), 5.0)

    def conflict_wait(self, conflicts: int) -> float:
        """The jittered wait before retrying after the ``conflicts``-th conflict."""
        if self.retry_after is not None:
            return float(self.retry_after)
        ceiling = min(self.conflict_cap, self.conflict_base * 2.0 ** (conflicts - 1))
        return random.uniform(0.0, ceiling)

    def after_response(
        self, response: Response, attempt: int, conflicts: int = 0
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up.

        ``conflicts`` is how many of the ``attempt`` answers so far were transient
        conflicts (this one included): they have their own budget.
        """
        if self.conflict_retries and is_transient_conflict(response):
            if conflicts > max(self.retry, self.conflict_retries):
                return None
            return self.conflict_wait(conflicts)
        if attempt - conflicts > self.retry:
            return None
        status = response.status
        retry_after = response.headers.get("Retry-After")
        retryable = status in (429, 502, 503, 504) or (
            (status == 409 or status >= 500) and retry_after is not None
        )
        if not retryable or not is_idempotent(response.request):
            return None
        return self._wait(response.headers, attempt)

    def after_network_error(
        self, request: Request, attempt: int, conflicts: int = 0
    ) -> float | None:
        """Seconds to wait before sending ``request`` again after no answer came (a lost
        connection, a timeout), or None to give up.

        A read (GET, HEAD) gets at least ``read_retries`` (1) retries, as kinto-http's
        ``retry_timeout`` tries every call twice even with ``retry=0``: a keep-alive
        connection the server had closed fails the first attempt of a request that
        nothing else was wrong with. Other idempotent requests get ``retry`` retries;
        the rest none.
        """
        budget = max(self.retry, self.read_retries) if request.method in _READS else self.retry
        if attempt - conflicts > budget or not is_idempotent(request):
            return None
        return self._wait(None, attempt)

    def tracker(self) -> RetryTracker:
        """The counters of one delivery (one request and its retries)."""
        return RetryTracker(self)


@dataclass(slots=True)
class RetryTracker:
    """One delivery's attempts, asking its :class:`RetryPolicy` after each failure."""

    policy: RetryPolicy
    attempt: int = 0
    conflicts: int = 0

    def after_response(self, response: Response) -> float | None:
        """Seconds to wait before sending again, or None to give up."""
        if self.policy.conflict_retries and is_transient_conflict(response):
            self.conflicts += 1
        return self.policy.after_response(response, self.attempt, self.conflicts)

    def after_network_error(self, request: Request) -> float | None:
        return self.policy.after_network_error(request, self.attempt, self.conflicts)


def backoff_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks clients to wait (``Backoff`` header), or None."""
    return _seconds(headers.get("Backoff"))
