"""Copy a collection (metadata, permissions and records) from one server to another.

>>> origin = Client("https://a.example/v1", bucket="blog", collection="posts")
>>> destination = Client("http://localhost:8888/v1", auth=..., bucket="blog",
...                      collection="posts")
>>> replicate(origin, destination)

Every record is copied (not only the changed ones), one page at a time through batch,
so memory stays bounded by the page size. Tombstones in the origin delete the
destination's copy.
"""

from __future__ import annotations

import logging
from typing import Any

from .client import AsyncClient, Client

logger = logging.getLogger("kinto_orm.replication")


def _queue_page(batch: Any, records: list[dict[str, Any]]) -> Any:
    for record in records:
        if record.get("deleted") is True:
            yield batch.delete_record(id=record["id"], if_exists=True, safe=False)
        else:
            yield batch.update_record(data=record, safe=False)


def replicate(origin: Client, destination: Client) -> int:
    """Replicate ``origin``'s collection into ``destination``'s; returns the number of
    records copied. Both clients name their bucket and collection (their defaults)."""
    logger.info("Replication from %r to %r", origin, destination)
    destination.create_bucket(if_not_exists=True)
    collection = origin.get_collection()
    destination.create_collection(
        data=collection["data"], permissions=collection.get("permissions") or None,
        if_not_exists=True,
    )
    copied = 0
    # `_since=0`: Kinto then lists tombstones too, so deletions are replicated.
    for page in origin.get_paginated_records(_since=0):
        with destination.batch() as batch:
            copied += sum(1 for _ in _queue_page(batch, page["data"]))
    logger.info("Replicated %s records", copied)
    return copied


async def areplicate(origin: AsyncClient, destination: AsyncClient) -> int:
    """Async :func:`replicate`."""
    logger.info("Replication from %r to %r", origin, destination)
    await destination.create_bucket(if_not_exists=True)
    collection = await origin.get_collection()
    await destination.create_collection(
        data=collection["data"], permissions=collection.get("permissions") or None,
        if_not_exists=True,
    )
    copied = 0
    async for page in origin.get_paginated_records(_since=0):
        async with destination.batch() as batch:
            for call in _queue_page(batch, page["data"]):
                await call
                copied += 1
    logger.info("Replicated %s records", copied)
    return copied


__all__ = ["areplicate", "replicate"]
