"""The chart of ``make bench``: kinto-orm's wall time over kinto-http's, per workload and
backend, as a PNG (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

#: Bar colours per backend (colour-blind safe: blue and orange).
COLOURS = {"memory": "#4C72B0", "postgresql": "#DD8452"}
NAMES = {"memory": "memory backend", "postgresql": "PostgreSQL backend"}


def write_chart(path: Path, rows: list[tuple[str, dict[str, float]]], subtitle: str) -> None:
    """Horizontal bars of ``rows`` (workload label, {backend: ratio}), the first row on
    top, a line at 1.0 (as fast as kinto-http), each bar labelled with its ratio."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    backends = [b for b in COLOURS if any(b in ratios for _, ratios in rows)]
    height = 0.8 / max(1, len(backends))
    fig, ax = plt.subplots(figsize=(8, 1.0 + 0.75 * len(rows)), dpi=110)
    for b, backend in enumerate(backends):
        ys = [len(rows) - 1 - i + 0.4 - height * (b + 0.5) for i in range(len(rows))]
        values = [ratios.get(backend, 0.0) for _, ratios in rows]
        bars = ax.barh(ys, values, height=height * 0.9, color=COLOURS[backend],
                       label=NAMES[backend])
        ax.bar_label(bars, labels=[f"{v:.2f}x" if v else "" for v in values], padding=3,
                     fontsize=9)
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_yticks(range(len(rows)), [label for label, _ in reversed(rows)])
    top = max([v for _, ratios in rows for v in ratios.values()] + [1.0])
    ax.set_xlim(0, max(1.3, top * 1.18))
    ax.set_xlabel("kinto-orm wall time / kinto-http wall time (lower is faster; "
                  "1.0 = the same)")
    ax.set_title("kinto-orm vs kinto-http, wall clock on a local Kinto\n" + subtitle,
                 fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1 - 0.25 / len(rows)), ncol=2,
              fontsize=9, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
