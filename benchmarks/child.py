"""One measurement in a process of its own: ``python benchmarks/child.py SPEC`` sets up
the workload ``SPEC`` names (a JSON object: function, url, auth, n...), times one call of
it and prints one JSON line (CPU, wall, peak-RSS growth, optionally the tracemalloc peak).

``run.py`` starts it for every measurement, so that a measurement's peak RSS belongs to
it alone and no client's imports, caches or heap leftovers weigh on another.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from felt import FUNCTIONS as FELT
from workloads import FUNCTIONS, Ctx


def _status_kib(key: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux >= 4.0), so that VmHWM
    afterwards is the peak of the measured call alone."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


class PeakRSS:
    """Peak RSS growth of the process during a block, in KiB: VmHWM after the block minus
    VmRSS before it, with the peak mark reset first; where that is impossible, the
    growth of ``ru_maxrss`` (which misses peaks lower than an earlier one)."""

    def __enter__(self) -> PeakRSS:
        self.exact = _reset_peak_rss()
        if self.exact:
            self.before = _status_kib("VmRSS")
        else:
            self.before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return self

    def __exit__(self, *exc: object) -> None:
        if self.exact:
            after = _status_kib("VmHWM")
        else:
            after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.growth = max(0, after - self.before)


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Set the workload up, then time one call of it; optionally a second call (reads
    only) under tracemalloc for the Python-level peak."""
    ctx = Ctx(
        url=spec["url"],
        auth=tuple(spec["auth"]),  # type: ignore[arg-type]
        n=spec["n"],
        record_id=spec.get("record_id"),
        concurrency=spec.get("concurrency", 16),
        token=spec.get("token", ""),
    )
    run = {**FUNCTIONS, **FELT}[spec["function"]](ctx)
    gc.collect()
    with PeakRSS() as rss:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        count = run()
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
    result: dict[str, Any] = {
        "wall": wall,
        "cpu": cpu,
        "rss_kib": rss.growth,
        "rss_before_kib": rss.before,
        "rss_exact": rss.exact,
        "count": count,
    }
    if spec.get("tracemalloc"):
        gc.collect()
        tracemalloc.start()
        run()
        result["tm_peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    for close in ctx.closers:
        close()
    return result


if __name__ == "__main__":
    print(json.dumps(measure(json.loads(sys.argv[1]))))
