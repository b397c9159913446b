"""The measured workloads, one function per (workload, client).

Each measurement runs in a fresh Python process (``benchmarks/child.py``, which looks the
function up in :data:`FUNCTIONS`); the parent (``run.py``) starts a Kinto server, prepares
its data, runs the child and reads one JSON line back.

A workload function takes the :class:`Ctx` and returns a callable doing the measured work
(everything before that call, e.g. building the input dicts or the client, is setup and
is not measured).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

BUCKET = "bench"
COLLECTION = "todos"


def record_id(i: int) -> str:
    """The id ``BenchServer.fill`` gives record number ``i``: the same in every process,
    so a measurement can name the records a server was filled with."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kinto-orm-bench/{i}"))


def record_data(i: int, record_id: str | None = None) -> dict[str, Any]:
    """The data of record number ``i`` (the same shape for every client)."""
    data: dict[str, Any] = {
        "title": f"Task number {i}",
        "description": "Write the quarterly report, then send it to the team for review.",
        "done": i % 3 == 0,
        "priority": i % 5,
        "tags": ["bench", f"tag-{i % 7}"],
    }
    if record_id is not None:
        data["id"] = record_id
    return data


def make_model() -> type:
    from kinto_orm import Record

    class Todo(Record, bucket=BUCKET, collection=COLLECTION):
        title: str
        description: str = ""
        done: bool = False
        priority: int = 0
        tags: list[str] = []

    return Todo


@dataclass
class Ctx:
    url: str
    auth: tuple[str, str]
    n: int
    record_id: str | None = None
    concurrency: int = 16
    token: str = ""  # unique to the measurement (the reconcile workload's new values)
    closers: list[Callable[[], Any]] = field(default_factory=list)

    @property
    def records_url(self) -> str:
        return f"{self.url}/buckets/{BUCKET}/collections/{COLLECTION}/records"

    # ------------------------------------------------------------------ clients

    def orm(self) -> Any:
        from kinto_orm import Client

        client = Client(self.url, auth=self.auth, bucket=BUCKET, collection=COLLECTION)
        client.get_collection()  # warm-up: connection open, imports done
        self.closers.append(client.close)
        return client

    def aorm(self, loop: asyncio.AbstractEventLoop) -> Any:
        from kinto_orm import AsyncClient

        client = AsyncClient(self.url, auth=self.auth, bucket=BUCKET, collection=COLLECTION)
        loop.run_until_complete(client.get_collection())
        self.closers.append(lambda: loop.run_until_complete(client.close()))
        return client

    def kinto_http(self) -> Any:
        import logging

        import kinto_http

        # kinto-http logs a WARNING line per batch sub-response; an application would
        # usually not print them, so they are not emitted here (its best case).
        logging.getLogger("kinto_http").setLevel(logging.ERROR)
        client = kinto_http.Client(
            server_url=self.url, auth=self.auth, bucket=BUCKET, collection=COLLECTION
        )
        client.get_collection()
        return client

    def requests(self) -> Any:
        import requests

        session = requests.Session()
        session.auth = self.auth
        session.get(f"{self.url}/buckets/{BUCKET}/collections/{COLLECTION}").raise_for_status()
        self.closers.append(session.close)
        return session


# ---------------------------------------------------------------------------- 1. batch create


def _create_inputs(ctx: Ctx) -> list[dict[str, Any]]:
    return [record_data(i, str(uuid.uuid4())) for i in range(ctx.n)]


def create_orm_sync(ctx: Ctx) -> Callable[[], int]:
    Todo = make_model()
    client = ctx.orm()
    inputs = _create_inputs(ctx)

    def run() -> int:
        with client.batch():
            for data in inputs:
                Todo(**data).bind(client).save()
        return len(inputs)

    return run


def create_orm_async_batch(ctx: Ctx) -> Callable[[], int]:
    Todo = make_model()
    loop = asyncio.new_event_loop()
    client = ctx.aorm(loop)
    inputs = _create_inputs(ctx)

    async def work() -> int:
        async with client.batch():
            for data in inputs:
                await Todo(**data).bind(client).asave()
        return len(inputs)

    return lambda: loop.run_until_complete(work())


def create_orm_async_concurrent(ctx: Ctx) -> Callable[[], int]:
    Todo = make_model()
    loop = asyncio.new_event_loop()
    client = ctx.aorm(loop)
    inputs = _create_inputs(ctx)

    async def work() -> int:
        semaphore = asyncio.Semaphore(ctx.concurrency)

        async def one(data: dict[str, Any]) -> None:
            async with semaphore:
                await Todo(**data).bind(client).asave()

        await asyncio.gather(*(one(data) for data in inputs))
        return len(inputs)

    return lambda: loop.run_until_complete(work())


def bulk_orm_async(ctx: Ctx) -> Callable[[], int]:
    Todo = make_model()
    loop = asyncio.new_event_loop()
    client = ctx.aorm(loop)
    inputs = _create_inputs(ctx)

    async def work() -> int:
        result = await client.records(Todo).abulk_create(inputs, concurrency=ctx.concurrency)
        if not result.ok:
            raise RuntimeError(f"{len(result.failed)} failed: {result.failed[0]}")
        return int(result.done)

    return lambda: loop.run_until_complete(work())


def bulk_orm_sync(ctx: Ctx) -> Callable[[], int]:
    Todo = make_model()
    client = ctx.orm()
    inputs = _create_inputs(ctx)

    def run() -> int:
        result = client.records(Todo).bulk_create(inputs, concurrency=ctx.concurrency)
        if not result.ok:
            raise RuntimeError(f"{len(result.failed)} failed: {result.failed[0]}")
        return int(result.done)

    return run


def create_kinto_http(ctx: Ctx) -> Callable[[], int]:
    client = ctx.kinto_http()
    inputs = _create_inputs(ctx)

    def run() -> int:
        with client.batch() as batch:
            for data in inputs:
                batch.create_record(data=data)
        return len(inputs)

    return run


def create_requests(ctx: Ctx) -> Callable[[], int]:
    session = ctx.requests()
    inputs = _create_inputs(ctx)
    path = f"/buckets/{BUCKET}/collections/{COLLECTION}/records/"
    batch_url = f"{ctx.url}/batch"

    def run() -> int:
        for start in range(0, len(inputs), 25):
            chunk = inputs[start : start + 25]
            body = {"requests": [
                {"method": "PUT", "path": path + data["id"], "headers": {"If-None-Match": "*"},
                 "body": {"data": data}}
                for data in chunk
            ]}
            response = session.post(batch_url, json=body)
            response.raise_for_status()
            for answer in response.json()["responses"]:
                if answer["status"] >= 400:
                    raise RuntimeError(f"batch sub-request failed: {answer}")
        return len(inputs)

    return run


# ---------------------------------------------------------------------------- 2 and 4. reads


def read_orm_all(ctx: Ctx) -> Callable[[], int]:
    Todo = make_model()
    client = ctx.orm()
    return lambda: len(client.records(Todo).all())


def read_orm_get_records(ctx: Ctx) -> Callable[[], int]:
    client = ctx.orm()
    return lambda: len(client.get_records())


def read_orm_async_all(ctx: Ctx) -> Callable[[], int]:
    Todo = make_model()
    loop = asyncio.new_event_loop()
    client = ctx.aorm(loop)
    return lambda: len(loop.run_until_complete(client.records(Todo).aall()))


def read_kinto_http(ctx: Ctx) -> Callable[[], int]:
    client = ctx.kinto_http()
    return lambda: len(client.get_records())


def read_requests(ctx: Ctx) -> Callable[[], int]:
    session = ctx.requests()

    def run() -> int:
        records: list[dict[str, Any]] = []
        url: str | None = ctx.records_url
        while url:
            response = session.get(url)
            response.raise_for_status()
            records.extend(response.json()["data"])
            url = response.headers.get("Next-Page")
        return len(records)

    return run


def stream_orm(ctx: Ctx) -> Callable[[], int]:
    Todo = make_model()
    client = ctx.orm()

    def run() -> int:
        count = 0
        for todo in client.records(Todo):
            count += todo.priority >= 0
        return count

    return run


def stream_kinto_http(ctx: Ctx) -> Callable[[], int]:
    client = ctx.kinto_http()

    def run() -> int:
        count = 0
        for page in client.get_paginated_records():
            for record in page["data"]:
                count += record["priority"] >= 0
        return count

    return run


def stream_requests(ctx: Ctx) -> Callable[[], int]:
    session = ctx.requests()

    def run() -> int:
        count = 0
        url: str | None = ctx.records_url
        while url:
            response = session.get(url)
            response.raise_for_status()
            for record in response.json()["data"]:
                count += record["priority"] >= 0
            url = response.headers.get("Next-Page")
        return count

    return run


# ---------------------------------------------------------------------------- 3. single GETs


def get_orm_get_record(ctx: Ctx) -> Callable[[], int]:
    client = ctx.orm()
    rid = ctx.record_id

    def run() -> int:
        for _ in range(ctx.n):
            client.get_record(id=rid)
        return ctx.n

    return run


def get_orm_query_get(ctx: Ctx) -> Callable[[], int]:
    Todo = make_model()
    client = ctx.orm()
    query = client.records(Todo)
    rid = ctx.record_id

    def run() -> int:
        for _ in range(ctx.n):
            query.get(rid)
        return ctx.n

    return run


def get_orm_async_query_get(ctx: Ctx) -> Callable[[], int]:
    Todo = make_model()
    loop = asyncio.new_event_loop()
    client = ctx.aorm(loop)
    query = client.records(Todo)
    rid = ctx.record_id

    async def work() -> int:
        for _ in range(ctx.n):
            await query.aget(rid)
        return ctx.n

    return lambda: loop.run_until_complete(work())


def get_kinto_http(ctx: Ctx) -> Callable[[], int]:
    client = ctx.kinto_http()
    rid = ctx.record_id

    def run() -> int:
        for _ in range(ctx.n):
            client.get_record(id=rid)
        return ctx.n

    return run


def get_requests(ctx: Ctx) -> Callable[[], int]:
    session = ctx.requests()
    url = f"{ctx.records_url}/{ctx.record_id}"

    def run() -> int:
        for _ in range(ctx.n):
            response = session.get(url)
            response.raise_for_status()
            response.json()
        return ctx.n

    return run


FUNCTIONS: dict[str, Callable[[Ctx], Callable[[], int]]] = {
    function.__name__: function
    for function in (
        create_orm_sync, create_orm_async_batch, create_orm_async_concurrent,
        create_kinto_http, create_requests, bulk_orm_async, bulk_orm_sync,
        read_orm_all, read_orm_get_records, read_orm_async_all, read_kinto_http, read_requests,
        stream_orm, stream_kinto_http, stream_requests,
        get_orm_get_record, get_orm_query_get, get_orm_async_query_get, get_kinto_http,
        get_requests,
    )
}
