"""Files and options shared by the ``kinto-orm`` commands: required options, the format
a file name implies, output files written in full or not at all, records read from
JSON Lines or JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .hints import UsageError


def need(args: argparse.Namespace, *names: str) -> None:
    """A usage error unless every option of ``names`` was given."""
    for name in names:
        if not getattr(args, name, None):
            raise UsageError(f"--{name} is required for '{args.command}'.")


def file_format(chosen: str | None, path: str | None) -> str:
    """``--format``, else from the file name (``.json``, ``.parquet``), else JSON Lines."""
    if chosen:
        return chosen
    for suffix in ("json", "parquet"):
        if path and path.endswith("." + suffix):
            return suffix
    return "jsonl"


@contextlib.contextmanager
def atomic_output(path: str | None, mode: str = "w") -> Iterator[IO[Any]]:
    """Standard output, or a file written in full or not at all: a command that fails
    half way never destroys the previous file."""
    if path in (None, "-"):
        yield sys.stdout.buffer if "b" in mode else sys.stdout
        return
    assert path is not None
    target = Path(path)
    partial = target.with_name(target.name + ".part")
    try:
        with partial.open(mode, encoding=None if "b" in mode else "utf-8") as handle:
            yield handle
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def read_rows(path: str, fmt: str | None) -> Iterator[tuple[int, Any]]:
    """(line number, parsed object or the JSON error) of each input record."""
    try:
        source: IO[str] = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        if file_format(fmt, path) == "json":
            try:
                data = json.load(source)
            except ValueError as exc:
                raise UsageError(f"{path} is not valid JSON: {exc}") from exc
            if not isinstance(data, list):
                raise UsageError(f"{path}: a JSON file to import must hold a list of records.")
            yield from enumerate(data, 1)
            return
        for number, line in enumerate(source, 1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except ValueError as exc:
                yield number, exc
    finally:
        if source is not sys.stdin:
            source.close()


def count_lines(path: str, fmt: str | None) -> int | None:
    """How many records a file holds, for the progress total (None: unknown)."""
    if path == "-" or file_format(fmt, path) != "jsonl":
        return None
    with contextlib.suppress(OSError), open(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())
    return None


__all__ = ["atomic_output", "count_lines", "file_format", "need", "read_rows"]
