"""What the ``kinto-orm`` command draws, through rich: progress bars (total, rate, ETA) and
error lines on standard error, tables on standard output.

On a terminal progress is a live bar; elsewhere (a pipe, a file, CI) only the final
summary line is written, with no control codes; with ``--quiet`` nothing but errors.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

#: ``show(done, total)``: what the bulk helpers call after each chunk.
Show = Callable[[int, "int | None"], Any]


def _nothing(done: int, total: int | None = None) -> None:
    """Progress off a terminal: nothing drawn (the summary line comes at the end)."""


class RateColumn(ProgressColumn):
    """Records per second (rich's own speed column counts bytes)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f}/s" if speed else "-/s", style="progress.data.speed")


def _print_table(table: Table) -> None:
    """On a terminal, as rich draws it; elsewhere whole lines (rich would wrap them at 80
    columns) without the padding rich adds at their end."""
    if sys.stdout.isatty():
        Console(highlight=False).print(table)
        return
    console = Console(highlight=False, width=1000, file=io.StringIO())
    with console.capture() as captured:
        console.print(table)
    for line in captured.get().splitlines():
        print(line.rstrip())


class Output:
    """Where a command writes: data and tables to stdout, messages, progress and errors to
    stderr; progress only on a terminal, and nothing but errors with ``--quiet``."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        # Created per run: ``sys.stderr`` is looked up when writing (tests swap it).
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    @property
    def tty(self) -> bool:
        """Whether standard error is a terminal (where live progress is drawn)."""
        return self.err.is_terminal

    def say(self, message: str) -> None:
        """A message on stderr (not with ``--quiet``)."""
        if not self.quiet:
            self.err.print(message, markup=False)

    def warn(self, message: str) -> None:
        """A line on stderr even with ``--quiet`` (e.g. each refused record)."""
        self.err.print(message, markup=False)

    def error(self, message: str) -> None:
        """The one ``kinto-orm: error: ...`` line of a failed run."""
        self.err.print(f"[bold red]kinto-orm: error:[/] {escape(message)}")

    @contextlib.contextmanager
    def progress(self, label: str, total: int | None = None) -> Iterator[Show]:
        """A live bar on a terminal (done/total, rate, elapsed, ETA); a no-op elsewhere.
        Yields ``show(done, total)``."""
        if self.quiet or not self.tty:
            yield _nothing
            return
        columns = [
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            RateColumn(), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        ]
        # stdout carries the data: through the live display only when both are a screen.
        with Progress(*columns, console=self.err, redirect_stdout=sys.stdout.isatty(),
                      redirect_stderr=False) as bar:
            task = bar.add_task(label, total=total)

            def show(done: int, now_total: int | None = None) -> None:
                bar.update(task, completed=done, total=now_total or total)

            yield show

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]],
              title: str | None = None, plain: bool = False) -> None:
        """A table on stdout (``plain``: no borders nor header, e.g. key/value lists)."""
        table = Table(title=title, show_header=not plain, box=None if plain else box.SIMPLE_HEAD,
                      header_style="bold", pad_edge=False, show_edge=False)
        for header in headers:
            table.add_column(header, overflow="fold")
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))
        _print_table(table)


__all__ = ["Output", "Show"]
