"""Measuring in rounds for ``quick.py``: every client called once per round, the order
rotating and reversing, each call's client CPU and wall time recorded; ratios within a
round, medians over rounds; the Markdown tables."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Run = Callable[[], int]


@dataclass
class Client:
    label: str
    run: Run
    per: int  # items per call (for the per-item CPU)


class timed:  # lower case: used like a function
    """A call whose input is prepared before the clock starts: ``prepare()`` then
    ``run(prepared)``; :func:`measure` calls :meth:`prepare` outside the measured time."""

    def __init__(self, prepare: Callable[[], Any], run: Callable[[Any], int]) -> None:
        self.prepare_input, self.work = prepare, run
        self.prepared: Any = None

    def prepare(self) -> None:
        self.prepared = self.prepare_input()

    def __call__(self) -> int:
        prepared, self.prepared = self.prepared, None
        return self.work(prepared)


# ---------------------------------------------------------------------------- measuring


def measure(clients: list[Client], rounds: int) -> dict[str, list[tuple[float, float]]]:
    """``{label: [(cpu, wall) per round]}``; one unmeasured warm-up call each first."""
    for client in clients:
        _call(client)
    times: dict[str, list[tuple[float, float]]] = {c.label: [] for c in clients}
    for rnd in range(rounds):
        shift = rnd % len(clients)
        order = clients[shift:] + clients[:shift]
        for client in order[::-1] if rnd % 2 else order:
            times[client.label].append(_call(client))
    return times


def _call(client: Client) -> tuple[float, float]:
    prepare = getattr(client.run, "prepare", None)
    if prepare is not None:
        prepare()
    gc.collect()  # nobody pays for the previous client's garbage
    cpu, wall = time.process_time(), time.perf_counter()
    count = client.run()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if count != client.per:
        raise RuntimeError(f"{client.label}: {count} done, expected {client.per}")
    return cpu, wall


def ratio(times: dict[str, list[tuple[float, float]]], label: str, base: str) -> float:
    """Median over rounds of ``label``'s CPU / ``base``'s CPU in the same round."""
    pairs = zip(times[label], times[base])
    return statistics.median(a[0] / b[0] for a, b in pairs if b[0] > 0)


def per_item(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs" if seconds < 0.001 else f"{seconds * 1e3:.2f} ms"


def table(title: str, clients: list[Client], times: dict[str, list[tuple[float, float]]],
          bases: list[str]) -> str:
    head = " | ".join(f"CPU vs {b.split(' ')[0] if b.startswith('kinto-http') else b}"
                      for b in bases)
    lines = [f"### {title}", "",
             f"| client | CPU per item | wall per item | {head} |",
             "|---|---:|---:|" + "---:|" * len(bases)]
    for client in clients:
        cpu = statistics.median(t[0] for t in times[client.label]) / client.per
        wall = statistics.median(t[1] for t in times[client.label]) / client.per
        ratios = " | ".join(f"{ratio(times, client.label, b):.2f}x" for b in bases)
        lines.append(f"| {client.label} | {per_item(cpu)} | {per_item(wall)} | {ratios} |")
    return "\n".join(lines)
