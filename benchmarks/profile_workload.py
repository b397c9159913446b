"""Profile one benchmark workload of one client with cProfile (client side only).

    .venv/bin/python benchmarks/profile_workload.py read_orm_all --n 10000
    .venv/bin/python benchmarks/profile_workload.py create_orm_sync --n 10000
    .venv/bin/python benchmarks/profile_workload.py get_orm_query_get --n 500 --sort cumtime

FUNCTION is a name from ``workloads.FUNCTIONS``. The server is started and filled as in
``run.py`` (reads get pages of 1000), then the measured call runs under cProfile.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from servers import BenchServer
from workloads import FUNCTIONS, Ctx


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("function", choices=sorted(FUNCTIONS))
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--out", type=Path, help="also dump the raw profile here")
    args = parser.parse_args()

    settings = {"kinto.explicit_permissions": "false"}
    reading = args.function.startswith(("read_", "stream_"))
    if reading:
        settings.update({"kinto.paginate_by": "1000", "kinto.batch_max_requests": "500"})
    with BenchServer(settings) as server:
        ids = []
        if reading:
            server.fill(args.n)
        elif args.function.startswith("get_"):
            ids = server.fill(1)
        ctx = Ctx(server.url, server.auth, args.n, ids[0] if ids else None, args.concurrency)
        run = FUNCTIONS[args.function](ctx)
        profiler = cProfile.Profile()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        profiler.enable()
        count = run()
        profiler.disable()
        print(f"{args.function} n={args.n}: {count} done, wall "
              f"{time.perf_counter() - wall0:.3f} s, cpu {time.process_time() - cpu0:.3f} s "
              "(under cProfile)")
        for close in ctx.closers:
            close()
    stats = pstats.Stats(profiler)
    if args.out:
        stats.dump_stats(args.out)
    stats.strip_dirs().sort_stats(args.sort).print_stats(args.limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
