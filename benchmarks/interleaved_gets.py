"""Single GETs, clients interleaved in small blocks inside one process.

    .venv/bin/python benchmarks/interleaved_gets.py [--rounds 40] [--block 50]

On a shared, noisy machine the separate processes of ``run.py`` see different loads, so
their per-call CPU ratios move by +-50 %. Here every client runs ``--block`` GETs in
turn, round after round (the order rotates), against the same server, and each block's
``time.process_time()`` is charged to its client: the load changes far less between two
neighbouring blocks than between two processes. Reported: CPU per GET (total over all
rounds) and the median over rounds of each client's CPU ratio to requests in that round.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from servers import BenchServer
from workloads import (
    Ctx,
    get_kinto_http,
    get_orm_async_query_get,
    get_orm_get_record,
    get_orm_query_get,
    get_requests,
)

CLIENTS: dict[str, Callable[[Ctx], Callable[[], int]]] = {
    "kinto-orm get_record()": get_orm_get_record,
    "kinto-orm records(Todo).get(id)": get_orm_query_get,
    "kinto-orm async records(Todo).aget(id)": get_orm_async_query_get,
    "kinto-http get_record()": get_kinto_http,
    "requests Session.get().json()": get_requests,
}
BASELINE = "requests Session.get().json()"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--block", type=int, default=50, help="GETs per client per round")
    args = parser.parse_args()

    with BenchServer({"kinto.explicit_permissions": "false"}) as server:
        record_id = server.fill(1)[0]
        runs: dict[str, Callable[[], int]] = {}
        contexts: list[Ctx] = []
        for name, make in CLIENTS.items():
            ctx = Ctx(server.url, server.auth, args.block, record_id)
            runs[name] = make(ctx)
            contexts.append(ctx)
        for run in runs.values():  # warm-up block, not counted
            run()
        cpu: dict[str, list[float]] = {name: [] for name in runs}
        names = list(runs)
        started = time.perf_counter()
        for rnd in range(args.rounds):
            shift = rnd % len(names)
            order = names[shift:] + names[:shift]
            for name in order[::-1] if rnd % 2 else order:
                before = time.process_time()
                runs[name]()
                cpu[name].append(time.process_time() - before)
        elapsed = time.perf_counter() - started
        for ctx in contexts:
            for close in ctx.closers:
                close()
    calls = args.rounds * args.block
    print(f"### Interleaved single GETs: {args.rounds} rounds x {args.block} GETs per client "
          f"({elapsed:.0f} s)\n")
    print("| client | CPU per GET | CPU vs requests (total) | CPU vs requests (median of "
          "rounds) |\n|---|---:|---:|---:|")
    base_total = sum(cpu[BASELINE])
    for name in names:
        total = sum(cpu[name])
        per_round = [a / b for a, b in zip(cpu[name], cpu[BASELINE]) if b > 0]
        print(f"| {name} | {total / calls * 1e6:.0f} µs | {total / base_total:.2f}x | "
              f"{statistics.median(per_round):.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
