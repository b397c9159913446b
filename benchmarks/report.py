"""What the full benchmark (``run.py``) measures and how it prints it: the workloads and
their client variants, and one Markdown table per workload with the ratios to kinto-http
and to raw ``requests``."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

ORM, KINTO_HTTP, REQUESTS = "kinto-orm", "kinto-http", "requests"


@dataclass
class Variant:
    label: str
    function: str
    role: str  # ORM, KINTO_HTTP or REQUESTS; the last two are the ratio baselines
    extra: dict[str, Any] = field(default_factory=dict)
    baseline: bool = False


@dataclass
class Workload:
    key: str
    title: str
    n: int
    settings: dict[str, str]
    variants: list[Variant]
    server: str  # "per-client": fresh server per measurement; "shared": one, filled once
    fill: int = 0
    tracemalloc: bool = False
    op: str = "record"
    latency: float = 0.0  # seconds added each way by a proxy between client and server


def title(workload: Workload) -> str:
    return workload.title.format(n=f"{workload.n:,}")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def fmt_ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base > 0 else "-"


def fmt_per_op(seconds: float) -> str:
    return f"{seconds * 1e6:.0f} µs" if seconds < 0.001 else f"{seconds * 1e3:.2f} ms"


def table(workload: Workload, results: dict[tuple[str, str], list[Any]]) -> str:
    stats = {}
    for variant in workload.variants:
        runs = results[(workload.key, variant.label)]
        walls = [r["wall"] for r in runs]
        stats[variant.label] = {
            "wall": median(walls),
            "spread": (max(walls) - min(walls)) / median(walls) if walls else 0.0,
            "cpu": median([r["cpu"] for r in runs]),
            "rss": median([r["rss_kib"] for r in runs]) / 1024,
            "tm": median([r["tm_peak"] for r in runs if "tm_peak" in r]) / 2**20
            if any("tm_peak" in r for r in runs) else None,
            "runs": len(runs),
        }
    base = {v.role: stats[v.label] for v in workload.variants if v.baseline}
    http, raw = base.get(KINTO_HTTP), base.get(REQUESTS)
    lines = [
        f"### {title(workload)}",
        "",
        "| client | wall (s) | wall spread | CPU (s) | CPU per "
        f"{workload.op} | peak RSS growth (MiB) | tracemalloc peak (MiB) | "
        "wall vs kinto-http | wall vs requests | CPU vs kinto-http | CPU vs requests |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for variant in workload.variants:
        s = stats[variant.label]
        tm = f"{s['tm']:.1f}" if s["tm"] is not None else "-"
        lines.append(
            f"| {variant.label} | {s['wall']:.3f} | {s['spread'] * 100:.0f}% | "
            f"{s['cpu']:.3f} | {fmt_per_op(s['cpu'] / workload.n)} | {s['rss']:.1f} | {tm} | "
            f"{fmt_ratio(s['wall'], http['wall']) if http else '-'} | "
            f"{fmt_ratio(s['wall'], raw['wall']) if raw else '-'} | "
            f"{fmt_ratio(s['cpu'], http['cpu']) if http else '-'} | "
            f"{fmt_ratio(s['cpu'], raw['cpu']) if raw else '-'} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------- users' table

Results = dict[tuple[str, str], list[Any]]
BACKEND_NAMES = {"memory": "memory", "postgresql": "PostgreSQL"}


def paired_ratio(workload: Workload, results: Results, key: str = "wall") -> float:
    """Median over repetitions of kinto-orm's ``key`` over kinto-http's in the same
    repetition (the two ran next to each other, under the same load)."""
    orm, http = (results[(workload.key, v.label)] for v in workload.variants)
    return median([a[key] / b[key] for a, b in zip(orm, http) if b[key] > 0])


Felt = dict[str, tuple[list[Workload], Results]]  # backend: its users' workloads, results


def row_labels(felt: Felt) -> list[str]:
    """The first backend's workload titles, with another backend's where it differs
    (bulk create is smaller on PostgreSQL)."""
    first, *others = felt.items()
    labels = []
    for i, workload in enumerate(first[1][0]):
        label = workload.title
        for backend, (workloads, _) in others:
            if workloads[i].title != workload.title:
                label += f" ({BACKEND_NAMES[backend]}: {workloads[i].title.split()[-1]})"
        labels.append(label)
    return labels


def felt_table(felt: Felt) -> str:
    """One row per workload: each client's median wall time and the ratio, per backend."""
    head, rule = ["workload"], ["---"]
    for backend in felt:
        name = BACKEND_NAMES[backend]
        head += [f"{name}: kinto-orm", f"{name}: kinto-http", f"{name}: ratio"]
        rule += ["---:"] * 3
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(rule) + "|"]
    for i, label in enumerate(row_labels(felt)):
        cells = [label]
        for workloads, results in felt.values():
            workload = workloads[i]
            walls = [median([r["wall"] for r in results[(workload.key, v.label)]])
                     for v in workload.variants]
            cells += [f"{walls[0]:.2f} s", f"{walls[1]:.2f} s",
                      f"**{paired_ratio(workload, results):.2f}x**"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def limits_table(workloads: list[Workload], backend: str, results: Results) -> str:
    """Where each client's wall time went on ``backend``: its own CPU, the server's CPU
    (Kinto, plus PostgreSQL), medians in seconds."""
    lines = [
        f"| workload ({BACKEND_NAMES[backend]}) | client | wall | client CPU | "
        "Kinto CPU | PostgreSQL CPU |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for workload in workloads:
        for variant in workload.variants:
            runs = results[(workload.key, variant.label)]
            kinto = median([r["server_cpu"] - r["db_cpu"] for r in runs])
            lines.append(
                f"| {workload.title} | {variant.label} | "
                f"{median([r['wall'] for r in runs]):.2f} s | "
                f"{median([r['cpu'] for r in runs]):.2f} s | {kinto:.2f} s | "
                + (f"{median([r['db_cpu'] for r in runs]):.2f} s |"
                   if backend == "postgresql" else "- |")
            )
    return "\n".join(lines)
