"""An advisory lock shared by Kinto clients, built on Kinto's one atomic check: creating a
record with ``If-None-Match: *`` (a unique insert on PostgreSQL).

>>> with Lock(client, "counter", bucket="blog"):          # async: `async with Lock(...)`
...     counter = client.records(Counter).get("hits")
...     counter.value += 1
...     counter.save()

Why: on PostgreSQL, Kinto checks ``If-Match`` before the write, not atomically with it,
so two read-modify-write cycles from the same version can both succeed (a lost update;
see docs/concurrency.md). Writers that take the same lock around their cycle never race.

How: the holders of lock ``name`` are a sequence of records ``<name>-<n>`` in a
collection (``locks`` by default). To acquire, read the newest; when it is released or
expired, create the next one with ``If-None-Match: *``: of several clients trying, exactly
one creates it. Releasing marks the record ``released``. Nothing is ever overwritten or
deleted under contention, so no check-then-write race is involved.

It does not cover: writers that do not take the lock; a holder that outlives ``ttl``
(after it, another client may take the lock: keep the critical section well under it);
client clocks that disagree by more than a fraction of ``ttl``; fairness (waiters poll).
"""

from __future__ import annotations

import json
import random
import secrets
import time
from typing import TYPE_CHECKING, Any

from .endpoints import check_id
from .errors import KintoException, NotFound, PreconditionFailed
from .protocol import Op, Request, Response

if TYPE_CHECKING:
    from ._client_like import ClientLike


class LockTimeout(KintoException):
    """The lock could not be acquired within ``timeout`` seconds."""


class Lock:
    """An advisory lock named ``name`` (see the module docstring).

    :param client: a :class:`~kinto_orm.Client` (``with``) or an
        :class:`~kinto_orm.AsyncClient` (``async with``).
    :param bucket: where the lock records live (default: the client's bucket); the
        ``collection`` is created on first use when missing.
    :param ttl: seconds after which a lock not released is free again.
    :param timeout: seconds to wait for the lock before :class:`LockTimeout`.
    :param poll: seconds between two tries while another client holds it (jittered).
    """

    def __init__(
        self,
        client: ClientLike,
        name: str,
        *,
        bucket: str | None = None,
        collection: str = "locks",
        ttl: float = 30.0,
        timeout: float = 60.0,
        poll: float = 0.05,
    ) -> None:
        check_id(name, "lock name")
        bucket = bucket or client.bucket_name
        if bucket is None:
            raise ValueError("Lock needs a bucket: Lock(client, name, bucket='...').")
        check_id(bucket, "bucket id")
        check_id(collection, "collection id")
        self.client = client
        self.name = name
        self.ttl = ttl
        self.timeout = timeout
        self.poll = poll
        self.owner = secrets.token_hex(8)
        self._collection = f"/buckets/{bucket}/collections/{collection}"
        #: The generation held (None when not held).
        self.generation: int | None = None

    def _record(self, n: int) -> str:
        return f"{self._collection}/records/{self.name}-{n:012d}"

    def _op_newest(self, delay: float) -> Op[dict[str, Any] | None]:
        params = {"lock": json.dumps(self.name), "_sort": "-n", "_limit": "1"}
        request = Request("GET", self._collection + "/records", params=params, delay=delay)
        try:
            response: Response = yield request
        except NotFound:  # the collection is missing: create it (a concurrent create is fine)
            try:
                yield Request("PUT", self._collection, json={}, headers={"If-None-Match": "*"})
            except PreconditionFailed:
                pass
            return None
        items = response.data()
        return items[0] if items else None

    def _op_acquire(self) -> Op[Lock]:
        deadline = time.monotonic() + self.timeout
        delay = 0.0
        while True:
            newest = yield from self._op_newest(delay)
            now_ms = int(time.time() * 1000)
            if newest is None or newest.get("released") or newest.get("expires", 0) <= now_ms:
                n = int(newest["n"]) + 1 if newest else 1
                data = {"lock": self.name, "n": n, "owner": self.owner,
                        "expires": now_ms + int(self.ttl * 1000), "released": False}
                try:
                    yield Request("PUT", self._record(n), json={"data": data},
                                  headers={"If-None-Match": "*"})
                except PreconditionFailed:
                    pass  # another client created generation n first: it holds the lock
                else:
                    self.generation = n
                    return self
            if time.monotonic() >= deadline:
                raise LockTimeout(f"Lock {self.name!r} still held after {self.timeout} s.")
            delay = random.uniform(self.poll / 2, self.poll * 1.5)

    def _op_release(self) -> Op[None]:
        n, self.generation = self.generation, None
        if n is None:
            return
        yield Request("PATCH", self._record(n), json={"data": {"released": True}})
        if n > 1:  # forget older generations (nobody reads them any more)
            params = {"lock": json.dumps(self.name), "max_n": str(n - 1)}
            try:
                yield Request("DELETE", self._collection + "/records", params=params)
            except KintoException:
                pass  # best effort: they only take space

    def __enter__(self) -> Lock:
        return self.client._run(self._op_acquire())

    def __exit__(self, *exc: object) -> None:
        self.client._run(self._op_release())

    async def __aenter__(self) -> Lock:
        return await self.client._arun(self._op_acquire())

    async def __aexit__(self, *exc: object) -> None:
        await self.client._arun(self._op_release())

    def __repr__(self) -> str:
        state = f"held (generation {self.generation})" if self.generation else "not held"
        return f"<Lock {self.name!r} {state}>"


__all__ = ["Lock", "LockTimeout"]
