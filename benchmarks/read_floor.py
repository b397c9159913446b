"""Where the client CPU of a typed bulk read goes, per record, for one page of 1,000.

    .venv/bin/python benchmarks/read_floor.py            # 15 rounds
    .venv/bin/python benchmarks/read_floor.py --rounds 25

``records(M).all()`` is one HTTP request per page, one pydantic-core call that turns the
page's bytes into models, the garbage collector's pass over the new objects and, when
the list is dropped, their deallocation. This prints each part next to what a dict
client (kinto-http: ``requests`` + ``json.loads``) pays for the same page, and the
floors below them: a raw socket for HTTP, a ``TypedDict`` (the same type checks, no
objects) and a plain Pydantic model (objects, no kinto-orm) for parsing. Client CPU time
(``time.process_time()``), every part interleaved round by round, medians.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import socket
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from pydantic import BaseModel, ConfigDict, TypeAdapter
from typing_extensions import TypedDict

sys.path.insert(0, str(Path(__file__).resolve().parent))

from servers import BenchServer
from workloads import Ctx, make_model

from kinto_orm import protocol as core
from kinto_orm.models.state import Binding
from kinto_orm.pages import Source, _list_adapter, parse_page

PAGE = 1000


class TodoDict(TypedDict, total=False):
    id: str
    last_modified: int
    title: str
    description: str
    done: bool
    priority: int
    tags: list[str]


class PlainTodo(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    last_modified: int | None = None
    title: str
    description: str = ""
    done: bool = False
    priority: int = 0
    tags: list[str] = []


def socket_get(url: str, authorization: str) -> Callable[[], bytes]:
    """The floor of HTTP: one keep-alive socket, the request written by hand."""
    host_port, path = url.split("//", 1)[1].split("/", 1)
    host, port = host_port.split(":")
    sock = socket.create_connection((host, int(port)))
    request = (f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\n"
               f"Authorization: {authorization}\r\n\r\n").encode()

    def get() -> bytes:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(1 << 20)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        chunks = [body]
        while length > sum(map(len, chunks)):
            chunks.append(sock.recv(1 << 20))
        return b"".join(chunks)

    return get


def paused(parse: Callable[[bytes], Any], body: bytes) -> Callable[[], Any]:
    def run() -> Any:
        gc.disable()  # as parse_page does: the collector's pass is measured apart
        try:
            return parse(body)
        finally:
            gc.enable()
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    settings = {"kinto.explicit_permissions": "false", "kinto.paginate_by": str(PAGE)}
    with BenchServer(settings) as server:
        server.fill(PAGE)
        ctx = Ctx(server.url, server.auth, PAGE)
        Todo = make_model()
        orm, http, raw = ctx.orm(), ctx.kinto_http(), ctx.requests()
        loop = asyncio.new_event_loop()
        aorm = ctx.aorm(loop)
        path = ctx.records_url.split("/v1", 1)[1]
        request = core.Request("GET", path)
        response = orm.session.send(request)
        body = response.content
        authorization = requests.Request(
            "GET", ctx.records_url, auth=server.auth
        ).prepare().headers["Authorization"]
        source = Source(Todo, path, Binding(orm, "bench", "todos"))
        adapters = {name: TypeAdapter(dict[str, list[kind]]).validate_json  # type: ignore[valid-type]
                    for name, kind in (("typeddict", TodoDict), ("plain", PlainTodo))}
        parts: dict[str, Callable[[], Any]] = {
            "HTTP: raw socket (floor)": socket_get(ctx.records_url, authorization),
            "HTTP: requests get().content (kinto-http's)": lambda: raw.get(ctx.records_url).content,
            "HTTP: kinto-orm sync transport": lambda: orm.session.send(request),
            "HTTP: kinto-orm async transport":
                lambda: loop.run_until_complete(aorm.session.send(request)),
            "parse: json.loads (kinto-http's)": paused(json.loads, body),
            "parse: TypedDict, same checks (floor)": paused(adapters["typeddict"], body),
            "parse: plain Pydantic model (floor)": paused(adapters["plain"], body),
            "parse: kinto-orm model (validate_json)": paused(
                _list_adapter(Todo).validate_json, body),
            "parse_page (validate, share state, GC pass)":
                lambda: parse_page(source, response, False, "raise", []),
            "whole: kinto-http get_records()": http.get_records,
            "whole: kinto-orm get_records() (dicts)": orm.get_records,
            "whole: kinto-orm records(M).all()": lambda: orm.records(Todo).all(),
            "whole: kinto-orm records(M).aall()":
                lambda: loop.run_until_complete(aorm.records(Todo).aall()),
        }
        made = {"dicts (json.loads)": lambda: json.loads(body)["data"],
                "kinto-orm models (parse_page)":
                    lambda: parse_page(source, response, False, "raise", []).items}
        cpu: dict[str, list[float]] = {name: [] for name in parts}
        for name in made:
            cpu[f"GC: gen-0 pass over the page's {name}"] = []
            cpu[f"dealloc: the page's {name}"] = []
        for run in (*parts.values(), *made.values()):
            run()
        for _ in range(args.rounds):
            for name, run in parts.items():
                gc.collect()
                start = time.process_time()
                result = run()
                cpu[name].append(time.process_time() - start)
                del result
            for name, make in made.items():
                gc.collect()
                gc.disable()
                objects = make()
                start = time.process_time()
                gc.collect(0)
                cpu[f"GC: gen-0 pass over the page's {name}"].append(time.process_time() - start)
                gc.enable()
                start = time.process_time()
                del objects
                cpu[f"dealloc: the page's {name}"].append(time.process_time() - start)
        memory = {}
        for name, make in made.items():
            gc.collect()
            tracemalloc.start()
            objects = make()
            memory[name] = tracemalloc.get_traced_memory()[0] / PAGE
            tracemalloc.stop()
            del objects
        for close in ctx.closers:  # the async client's closer runs on ``loop``
            close()
        loop.close()
    print(f"## One page of {PAGE:,} records ({len(body):,} bytes), {args.rounds} rounds\n")
    print("| part | client CPU per record |\n|---|---:|")
    for name, values in cpu.items():
        print(f"| {name} | {statistics.median(values) * 1e6 / PAGE:.2f} µs |")
    print("\n| retained memory per record | bytes |\n|---|---:|")
    for name, size in memory.items():
        print(f"| {name} | {size:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
