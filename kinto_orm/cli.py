"""The ``kinto-orm`` command line.

    kinto-orm info                         who am I, what the server can do
    kinto-orm tree                         buckets > collections and groups, with counts
    kinto-orm export -b blog -c posts      records as JSON Lines (or --format json)
    kinto-orm import -b blog -c posts FILE write records through batch
    kinto-orm dump -b blog -o blog.yaml    a bucket's whole structure in one file
    kinto-orm load blog.yaml               re-apply a dump (idempotent)
    kinto-orm history -b blog              what changed, newest first
    kinto-orm codegen -b blog -c posts     a typed Record subclass from the server schema
    kinto-orm serve                        a local Kinto for development

Server options (``-s/--server``, ``-a/--auth``, ...) default to ``KINTO_SERVER_URL`` and
``KINTO_AUTH``. Exit codes: 0 success, 1 the operation failed (or some records did),
2 bad usage or input.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from . import __version__
from . import _codegen as codegen
from .cli_utils import add_parser_options, create_client_from_args, setup_logger
from .client import Client
from .endpoints import check_id
from .errors import KintoException
from .models import Record

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
logger = logging.getLogger("kinto_orm")


class UsageError(Exception):
    """Bad input from the user: exit code 2."""


class Output:
    """Where the command writes: data to stdout (or a file), messages and progress to
    stderr; progress only on a terminal and never with --quiet."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self._last = 0.0

    def say(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr)

    def progress(self, label: str) -> Callable[[int, int | None], None]:
        def show(done: int, total: int | None) -> None:
            if self.quiet or not self.tty:
                return
            now = time.monotonic()
            if now - self._last < 0.1 and done != total:
                return
            self._last = now
            of = f"/{total}" if total else ""
            sys.stderr.write(f"\r{label} {done}{of}")
            sys.stderr.flush()

        return show

    def end_progress(self, label: str = "", done: int | None = None) -> None:
        if self.tty and not self.quiet:
            final = f"\r{label} {done}" if label and done is not None else ""
            sys.stderr.write(final + "\n")


# ---------------------------------------------------------------------------- commands


def cmd_info(client: Client, args: argparse.Namespace, out: Output) -> int:
    info = client.info()
    print(f"server:       {info.project_name} {info.project_version} "
          f"(HTTP API {info.http_api_version})")
    print(f"url:          {info.url or client.server_url}")
    print(f"batch size:   {info.settings.batch_max_requests}")
    print(f"capabilities: {', '.join(sorted(info.capabilities)) or '-'}")
    if info.user is None:
        print("user:         anonymous (no credentials, or wrong ones)")
    else:
        print(f"user:         {info.user.id}")
        print(f"principals:   {', '.join(info.user.principals)}")
    return EXIT_OK


def cmd_tree(client: Client, args: argparse.Namespace, out: Output) -> int:
    buckets = [client.bucket(args.bucket)] if args.bucket else client.buckets().all()
    for bucket in buckets:
        print(bucket.id)
        for collection in bucket.collections().sort("id"):
            count = collection.records().count()
            print(f"  {collection.id}  ({count} record{'s' if count != 1 else ''})")
        for group in bucket.groups().sort("id"):
            print(f"  @{group.id}  ({len(group.members)} member(s))")
    return EXIT_OK


def _need(args: argparse.Namespace, *names: str) -> None:
    for name in names:
        if not getattr(args, name, None):
            raise UsageError(f"--{name} is required for '{args.command}'.")


def _format(chosen: str | None, path: str | None) -> str:
    """``--format``, else JSON for a ``.json`` file name, else JSON Lines."""
    if chosen:
        return chosen
    return "json" if path and path.endswith(".json") else "jsonl"


@contextlib.contextmanager
def _atomic_output(path: str | None) -> Iterator[IO[str]]:
    """Standard output, or a file written in full or not at all: a command that fails
    half way never destroys the previous file."""
    if path in (None, "-"):
        yield sys.stdout
        return
    assert path is not None
    target = Path(path)
    partial = target.with_name(target.name + ".part")
    try:
        with partial.open("w", encoding="utf-8") as handle:
            yield handle
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _records_of(client: Client, bucket: str, collection: str) -> Iterator[dict[str, Any]]:
    for page in client.get_paginated_records(bucket=bucket, collection=collection):
        yield from page["data"]


def cmd_export(client: Client, args: argparse.Namespace, out: Output) -> int:
    _need(args, "bucket")
    if args.collection:
        rows: Iterable[Any] = _records_of(client, args.bucket, args.collection)
    else:
        rows = (
            {"collection": coll["id"], "data": record}
            for coll in client.get_collections(bucket=args.bucket)
            for record in _records_of(client, args.bucket, coll["id"])
        )
    show = out.progress("exported")
    fmt = _format(args.format, args.output)
    count = 0
    with _atomic_output(args.output) as handle:
        if fmt == "json":
            handle.write("[")
        for count, row in enumerate(rows, 1):
            line = json.dumps(row, ensure_ascii=False, sort_keys=True)
            if fmt == "json":
                handle.write(("\n" if count == 1 else ",\n") + line)
            else:
                handle.write(line + "\n")
            show(count, None)
        if fmt == "json":
            handle.write("\n]\n" if count else "]\n")
    out.end_progress("exported", count)
    out.say(f"exported {count} record(s)")
    return EXIT_OK


def _read_rows(path: str, fmt: str | None) -> Iterator[tuple[int, Any]]:
    """(line number, parsed object or the JSON error) of each input record."""
    try:
        source: IO[str] = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        if _format(fmt, path) == "json":
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


def cmd_import(client: Client, args: argparse.Namespace, out: Output) -> int:
    _need(args, "bucket", "collection")
    failures: list[str] = []
    lines: dict[int, int] = {}  # id(item) -> line number
    created = False

    def items() -> Iterator[dict[str, Any]]:
        nonlocal created
        for number, row in _read_rows(args.file, args.format):
            if isinstance(row, dict) and "data" in row and "collection" in row:
                row = row["data"]  # a line of a bucket export
            if not isinstance(row, dict):
                failures.append(f"line {number}: not a JSON object ({row})")
                continue
            if "id" in row:
                try:
                    check_id(row["id"])
                except ValueError as exc:
                    failures.append(f"line {number} (id {row['id']}): {exc}")
                    continue
            if not created and not args.dry_run:
                client.create_bucket(id=args.bucket, if_not_exists=True)
                client.create_collection(id=args.collection, bucket=args.bucket,
                                         if_not_exists=True)
                created = True
            lines[id(row)] = number
            yield row

    if args.dry_run:
        count = sum(1 for _ in items())
        for failure in failures:
            print(failure, file=sys.stderr)
        out.say(f"dry run: {count} record(s) would be written to "
                f"{args.bucket}/{args.collection}, {len(failures)} line(s) refused")
        return EXIT_FAILED if failures else EXIT_OK
    query = client.records(Record, bucket=args.bucket, collection=args.collection)
    result = query.bulk_save(items(), safe=False, progress=out.progress("imported"))
    out.end_progress("imported", result.done + len(result.failed))
    for failed in result.failed:
        number = lines.get(id(failed.item), "?")
        failures.append(f"line {number} (id {failed.id}): {failed.error}")
    for failure in failures:
        print(failure, file=sys.stderr)  # the report of failures shows even with -q
    out.say(f"imported {result.done} record(s), {len(failures)} failed")
    return EXIT_FAILED if failures else EXIT_OK


def cmd_dump(client: Client, args: argparse.Namespace, out: Output) -> int:
    _need(args, "bucket")
    bucket = client.get_bucket(id=args.bucket)
    dump: dict[str, Any] = {
        "kinto-orm": __version__,
        "bucket": {"data": bucket["data"], "permissions": bucket.get("permissions", {})},
        "groups": [client.get_group(id=g["id"], bucket=args.bucket)
                   for g in client.get_groups(bucket=args.bucket)],
        "collections": [],
    }
    for coll in client.get_collections(bucket=args.bucket):
        full = client.get_collection(id=coll["id"], bucket=args.bucket)
        full["records"] = _with_permissions(client, args.bucket, coll["id"])
        dump["collections"].append(full)
        out.say(f"  {coll['id']}: {len(full['records'])} record(s)")
    _write_structured(dump, args.output)
    out.say(f"dumped bucket {args.bucket}")
    return EXIT_OK


def _with_permissions(client: Client, bucket: str, collection: str) -> list[dict[str, Any]]:
    """Every record with its own permissions (lists do not carry them: one batched GET
    per record)."""
    ids = [record["id"] for record in _records_of(client, bucket, collection)]
    if not ids:
        return []
    with client.batch() as batch:
        for record_id in ids:
            batch.get_record(id=record_id, bucket=bucket, collection=collection)
    return [
        {"data": body["data"], "permissions": body.get("permissions") or {}}
        for body in batch.results()
        if isinstance(body, dict) and "data" in body
    ]


def _record_of(entry: dict[str, Any]) -> Record:
    """A dumped record: ``{"data", "permissions"}`` (or, from older dumps, bare data)."""
    if set(entry) == {"data", "permissions"} and isinstance(entry["data"], dict):
        return Record.from_kinto({"data": _strip(entry["data"]),
                                  "permissions": entry["permissions"]})
    return Record.model_validate(_strip(entry))


def _strip(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("last_modified", "schema")} | (
        {"schema": obj["schema"]} if isinstance(obj.get("schema"), dict) else {}
    )


def cmd_load(client: Client, args: argparse.Namespace, out: Output) -> int:
    dump = _read_structured(args.file)
    bucket_id = args.bucket or dump["bucket"]["data"]["id"]
    perms = dump["bucket"].get("permissions") or None
    client.update_bucket(id=bucket_id, data=_strip(dump["bucket"]["data"]) | {"id": bucket_id},
                         permissions=perms, safe=False)
    for group in dump.get("groups", []):
        client.update_group(id=group["data"]["id"], bucket=bucket_id, data=_strip(group["data"]),
                            permissions=group.get("permissions") or None, safe=False)
    failed = 0
    for coll in dump.get("collections", []):
        cid = coll["data"]["id"]
        client.update_collection(id=cid, bucket=bucket_id, data=_strip(coll["data"]),
                                 permissions=coll.get("permissions") or None, safe=False)
        records = [_record_of(r) for r in coll.get("records", [])]
        query = client.records(Record, bucket=bucket_id, collection=cid)
        result = query.bulk_save(records, safe=False, progress=out.progress(f"  {cid}"))
        out.end_progress()
        for failure in result.failed:
            out.say(f"{cid}/{failure.id}: {failure.error}")
        failed += len(result.failed)
        out.say(f"  {cid}: {result.done} record(s)")
    out.say(f"loaded bucket {bucket_id}" + (f", {failed} record(s) failed" if failed else ""))
    return EXIT_FAILED if failed else EXIT_OK


def cmd_history(client: Client, args: argparse.Namespace, out: Output) -> int:
    _need(args, "bucket")
    query = client.bucket(args.bucket).history().limit(args.limit)
    if args.resource_name:
        query = query.filter(resource_name=args.resource_name)
    for entry in query:
        print(f"{entry.date}  {entry.action:<7} {entry.uri}  by {entry.user_id}")
    return EXIT_OK


def cmd_codegen(client: Client, args: argparse.Namespace, out: Output) -> int:
    _need(args, "bucket", "collection")
    collection = client.get_collection(id=args.collection, bucket=args.bucket)["data"]
    schema = collection.get("schema")
    if not isinstance(schema, dict) or not schema:
        raise UsageError(f"{args.bucket}/{args.collection} has no schema to generate from.")
    source = codegen.record_class(schema, args.bucket, args.collection, args.class_name)
    with _atomic_output(args.output) as handle:
        handle.write(source)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, out: Output) -> int:
    from .testing import KintoServer

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    # Also when started in the background (where SIGINT is ignored) or stopped by `kill`.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    server = KintoServer(port=args.port, paginate_by=args.paginate_by)
    with server:
        print(f"Kinto is running at {server.url} (memory backend; Ctrl-C stops it)", flush=True)
        try:
            while server.running:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    return EXIT_OK


# ---------------------------------------------------------------------------- files


def _write_structured(data: Any, path: str | None) -> None:
    if path and path.endswith((".yaml", ".yml")):
        text = _yaml().safe_dump(data, sort_keys=False, allow_unicode=True)
    else:
        text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    with _atomic_output(path) as handle:
        handle.write(text)


def _read_structured(path: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    yaml_file = path.endswith((".yaml", ".yml"))
    try:
        data = _yaml().safe_load(text) if yaml_file else json.loads(text)
    except (ValueError, _yaml().YAMLError) as exc:
        kind = "YAML" if yaml_file else "JSON"
        raise UsageError(f"{path} is not valid {kind}: {exc}") from exc
    if not isinstance(data, dict) or "bucket" not in data:
        raise UsageError(f"{path} is not a kinto-orm dump (no 'bucket').")
    return data


def _yaml() -> Any:
    try:
        import yaml
    except ImportError:
        raise UsageError("YAML needs PyYAML: pip install pyyaml (or use a .json file).") from None
    return yaml


# ---------------------------------------------------------------------------- parser

COMMANDS: dict[str, tuple[Callable[..., int], str]] = {
    "info": (cmd_info, "Show the server, its capabilities and who you are."),
    "tree": (cmd_tree, "Show buckets > collections and groups, with record counts."),
    "export": (cmd_export, "Write a collection's (or bucket's) records as JSON Lines/JSON."),
    "import": (cmd_import, "Write records from a JSON Lines/JSON file into a collection."),
    "dump": (cmd_dump, "Save a bucket's whole structure and records to one YAML/JSON file."),
    "load": (cmd_load, "Re-apply a dump file (idempotent: run it twice, same result)."),
    "history": (cmd_history, "Show a bucket's history (history plugin), newest first."),
    "codegen": (cmd_codegen, "Print a typed Record subclass from a collection's schema."),
    "serve": (cmd_serve, "Run a local Kinto (memory backend) for development."),
}


def build_parser() -> argparse.ArgumentParser:
    common = add_parser_options(add_help=False)
    parser = argparse.ArgumentParser(
        prog="kinto-orm",
        description="Work with a Kinto server from the command line.",
        epilog="Exit codes: 0 success, 1 failure (some records failed), 2 bad usage.",
    )
    parser.add_argument("--version", action="version", version=f"kinto-orm {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_, summary) in COMMANDS.items():
        sub = commands.add_parser(
            name, parents=[] if name == "serve" else [common], help=summary,
            description=summary,
        )
        if name == "serve":
            sub.add_argument("-q", "--quiet", action="store_const", const=logging.CRITICAL,
                             dest="verbosity", help="No messages.")
            sub.add_argument("--port", type=int, default=8888, help="Port (default: 8888).")
            sub.add_argument("--paginate-by", type=int, default=None, help="Page size.")
            sub.add_argument("-D", "--debug", action="store_const", const=logging.DEBUG,
                             dest="verbosity", help="Show tracebacks.")
        if name in ("export", "dump", "codegen"):
            sub.add_argument("-o", "--output", default=None,
                             help="Output file (default: standard output).")
        if name in ("export", "import"):
            sub.add_argument("--format", choices=("jsonl", "json"), default=None,
                             help="JSON Lines, or one JSON list (default: JSON for a .json "
                             "file name, else JSON Lines).")
        if name in ("import", "load"):
            sub.add_argument("file", help="Input file ('-' for standard input).")
        if name == "import":
            sub.add_argument("--dry-run", action="store_true",
                             help="Read and check the file, write nothing.")
        if name == "history":
            sub.add_argument("--limit", type=int, default=50, help="How many entries (50).")
            sub.add_argument("--resource-name", default=None,
                             help="Only bucket, collection, group or record entries.")
        if name == "codegen":
            sub.add_argument("--class-name", default=None, help="Name of the generated class.")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    out = Output(quiet=getattr(args, "verbosity", None) == logging.CRITICAL)
    debug = getattr(args, "verbosity", None) == logging.DEBUG
    setup_logger(logger, args)
    logger.setLevel(getattr(args, "verbosity", None) or logging.WARNING)
    handler, _ = COMMANDS[args.command]
    try:
        if args.command == "serve":
            return handler(args, out)
        with create_client_from_args(args) as client:
            return handler(client, args, out)
    except UsageError as exc:
        return _fail(exc, EXIT_USAGE, debug)
    except (KintoException, ValueError, OSError) as exc:
        return _fail(exc, EXIT_FAILED, debug)
    except KeyboardInterrupt:
        return _fail(RuntimeError("interrupted"), EXIT_FAILED, debug)


def _fail(exc: BaseException, code: int, debug: bool) -> int:
    if debug:
        import traceback

        traceback.print_exception(exc)
    # A person reads this: the fuller explanation rather than kinto-http's terse text.
    text = exc.description if isinstance(exc, KintoException) else str(exc)
    print(f"kinto-orm: error: {text}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
