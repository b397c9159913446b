"""Async example: load records concurrently, stream them back, and batch an update.

    python examples/async_pipeline.py            # embedded local Kinto
    python examples/async_pipeline.py URL        # another server
"""

from __future__ import annotations

import asyncio
import sys
import time

from kinto_orm import AsyncClient, Record
from kinto_orm.testing import KintoServer, new_credentials


class Reading(Record, bucket="sensors", collection="readings"):
    """One sensor reading."""

    sensor: str
    value: float
    ok: bool = True


async def run(server_url: str) -> None:
    async with AsyncClient(server_url, auth=new_credentials(), retry=2) as client:
        await client.bucket("sensors").acreate(if_not_exists=True)
        await client.collection("readings", bucket="sensors").acreate(if_not_exists=True)
        readings = client.records(Reading)

        started = time.perf_counter()
        items = (Reading(id=f"r{i:04d}", sensor=f"s{i % 5}", value=i / 10) for i in range(500))
        result = await readings.abulk_create(items, concurrency=4)
        print(f"created {result.done} readings in {time.perf_counter() - started:.2f} s "
              f"({len(result.failed)} failed)")

        # Single saves run concurrently too: each one is its own request.
        extra = [Reading(id=f"x{i}", sensor="s9", value=-1.0).bind(client) for i in range(20)]
        await asyncio.gather(*(r.asave() for r in extra))

        bad = readings.filter(value__lt=0)
        print(f"{await bad.acount()} readings below zero; flagging them in one batch")
        async with client.batch():
            async for reading in bad:
                reading.ok = False
                await reading.apatch()           # queued, sent when the block ends

        total = sum([r.value async for r in readings.filter(ok=True)])
        print(f"sum of the good readings: {total:.1f}")


def main() -> None:
    if len(sys.argv) > 1:
        asyncio.run(run(sys.argv[1]))
        return
    with KintoServer(history=False, attachments=False) as server:
        asyncio.run(run(server.url))


if __name__ == "__main__":
    main()
