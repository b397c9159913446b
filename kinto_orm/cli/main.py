"""The ``kinto-orm`` command line.

    kinto-orm info                         who am I, what the server can do
    kinto-orm tree                         buckets > collections and groups, with counts
    kinto-orm export -b blog -c posts      records as JSON Lines (or JSON, or Parquet)
    kinto-orm import -b blog -c posts FILE write records through batch
    kinto-orm dump -b blog -o blog.yaml    a bucket's whole structure in one file
    kinto-orm load blog.yaml               re-apply a dump (only what differs)
    kinto-orm history -b blog              what changed, newest first
    kinto-orm codegen -b blog -c posts     a typed Record subclass from the server schema
    kinto-orm pull -b blog -c posts F.db   the collection in a local SQLite replica
    kinto-orm serve                        a local Kinto for development

Server options (``-s/--server``, ``-a/--auth``, ...) default to ``KINTO_SERVER_URL`` and
``KINTO_AUTH``. Exit codes: 0 success, 1 the operation failed (or some records did),
2 bad usage or input. Needs the ``cli`` extra (rich, PyYAML).
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import logging
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .. import Client, KintoException, Record, __version__
from ..cli_utils import add_parser_options, create_client_from_args, setup_logger
from ..endpoints import check_id
from . import codegen, pull
from .dump import cmd_dump, cmd_load, records_of
from .files import atomic_output, count_lines, file_format, need, read_rows
from .hints import CliError, UsageError

if TYPE_CHECKING:
    from .ui import Output, Show

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
logger = logging.getLogger("kinto_orm")
#: The resources the history plugin records (``kinto.plugins.history``).
HISTORY_RESOURCES = ("bucket", "collection", "group", "record")


# ---------------------------------------------------------------------------- commands


def cmd_info(client: Client, args: argparse.Namespace, out: Output) -> int:
    info = client.info()
    rows = [
        ("server", f"{info.project_name} {info.project_version} "
                   f"(HTTP API {info.http_api_version})"),
        ("url", info.url or client.server_url),
        ("batch size", str(info.settings.batch_max_requests)),
        ("capabilities", ", ".join(sorted(info.capabilities)) or "-"),
    ]
    if info.user is None:
        rows.append(("user", "anonymous (no credentials, or wrong ones)"))
    else:
        rows += [("user", info.user.id), ("principals", ", ".join(info.user.principals))]
    out.table(["", ""], [(f"{key}:", value) for key, value in rows], plain=True)
    return EXIT_OK


def cmd_tree(client: Client, args: argparse.Namespace, out: Output) -> int:
    buckets = [client.bucket(args.bucket)] if args.bucket else client.buckets().sort("id").all()
    if not buckets:
        who = client.server_info().get("user", {}).get("id") or "anonymous"
        out.say(f"No bucket on {client.server_url} that {who} can read. Create one with "
                "`kinto-orm import -b BUCKET -c COLLECTION FILE` or `kinto-orm load DUMP`.")
        return EXIT_OK
    rows: list[tuple[str, str, str]] = []
    for bucket in buckets:
        children: list[tuple[str, str, str]] = []
        for collection in bucket.collections().sort("id"):
            count = collection.records().count()
            children.append((str(bucket.id), str(collection.id),
                             f"{count} record{'s' if count != 1 else ''}"))
        for group in bucket.groups().sort("id"):
            size = len(group.members)
            children.append((str(bucket.id), f"@{group.id}",
                             f"{size} member{'s' if size != 1 else ''}"))
        rows += children or [(str(bucket.id), "-", "empty")]
    out.table(["bucket", "collection / @group", "size"], rows)
    return EXIT_OK


def cmd_export(client: Client, args: argparse.Namespace, out: Output) -> int:
    need(args, "bucket")
    fmt = file_format(args.format, args.output)
    if fmt == "parquet":
        return _export_parquet(client, args, out)
    names = [args.collection] if args.collection else [
        coll["id"] for coll in client.get_collections(bucket=args.bucket)]
    total = sum(client.records(Record, bucket=args.bucket, collection=name).count()
                for name in names)
    rows: Iterable[Any] = (
        record if args.collection else {"collection": name, "data": record}
        for name in names for record in records_of(client, args.bucket, name)
    )
    count = 0
    with out.progress("exported", total) as show, atomic_output(args.output) as handle:
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
    out.say(f"exported {count} record(s)")
    return EXIT_OK


def _export_parquet(client: Client, args: argparse.Namespace, out: Output) -> int:
    """One collection as a Parquet file, through :mod:`kinto_orm.dataframes`."""
    from .. import dataframes

    need(args, "collection")
    if args.output in (None, "-") and sys.stdout.isatty():
        raise UsageError("Parquet is binary: give -o FILE.parquet (or redirect stdout).")
    dataframes.require("pyarrow", "parquet")
    query = client.records(Record, bucket=args.bucket, collection=args.collection)
    with out.progress("exported", query.count()) as show, \
            atomic_output(args.output, "wb") as handle:
        count = dataframes.write_parquet(query, handle, extras="infer", progress=show)
    out.say(f"exported {count} record(s)")
    return EXIT_OK


def _routed(args: argparse.Namespace, failures: list[str], lines: dict[int, int],
            ) -> Iterator[tuple[str, dict[str, Any]]]:
    """(collection, record) of each good input line: a line of a bucket export
    (``{"collection", "data"}``) goes to its own collection, a plain record to ``-c``."""
    for number, row in read_rows(args.file, args.format):
        collection = args.collection
        if isinstance(row, dict) and set(row) == {"collection", "data"}:
            collection, row = row["collection"], row["data"]
        if not isinstance(row, dict):
            failures.append(f"line {number}: not a JSON object ({row})")
            continue
        if not collection:
            raise UsageError(f"line {number} is a plain record: --collection is required "
                             f"for 'import' (or import a bucket export).")
        try:
            check_id(collection)
            if "id" in row:
                check_id(row["id"])
        except (ValueError, TypeError) as exc:
            failures.append(f"line {number} (id {row.get('id')}): {exc}")
            continue
        lines[id(row)] = number
        yield collection, row


def _offset(show: Show, start: int) -> Show:
    """A progress callback counting on from ``start`` (one bulk run per collection)."""

    def shifted(done: int, total: int | None = None) -> None:
        show(start + done, None)

    return shifted


def cmd_import(client: Client, args: argparse.Namespace, out: Output) -> int:
    need(args, "bucket")
    failures: list[str] = []
    lines: dict[int, int] = {}  # id(row) -> line number
    counts: dict[str, int] = {}
    groups = itertools.groupby(_routed(args, failures, lines), key=lambda pair: pair[0])
    done = 0
    with out.progress("imported", count_lines(args.file, args.format)) as show:
        for collection, pairs in groups:
            rows = (row for _, row in pairs)
            if args.dry_run:
                counts[collection] = counts.get(collection, 0) + sum(1 for _ in rows)
                continue
            if collection not in counts:
                client.create_bucket(id=args.bucket, if_not_exists=True)
                client.create_collection(id=collection, bucket=args.bucket, if_not_exists=True)
            query = client.records(Record, bucket=args.bucket, collection=collection)
            result = query.bulk_save(rows, safe=False, progress=_offset(show, done))
            done += result.done + len(result.failed)
            counts[collection] = counts.get(collection, 0) + result.done
            for failed in result.failed:
                number = lines.get(id(failed.item), "?")
                failures.append(f"line {number} (id {failed.id}): {failed.error}")
    for failure in failures:
        out.warn(failure)  # the report of failures shows even with -q
    where = ", ".join(f"{args.bucket}/{name}" for name in counts) or args.bucket
    if args.dry_run:
        out.say(f"dry run: {sum(counts.values())} record(s) would be written to {where}, "
                f"{len(failures)} line(s) refused")
    else:
        out.say(f"imported {sum(counts.values())} record(s), {len(failures)} failed")
    return EXIT_FAILED if failures else EXIT_OK


def cmd_history(client: Client, args: argparse.Namespace, out: Output) -> int:
    need(args, "bucket")
    query = client.bucket(args.bucket).history().limit(args.limit)
    if args.resource_name:
        query = query.filter(resource_name=args.resource_name)
    for entry in query:
        print(f"{entry.date}  {entry.action:<7} {entry.uri}  by {entry.user_id}")
    return EXIT_OK


def cmd_codegen(client: Client, args: argparse.Namespace, out: Output) -> int:
    need(args, "bucket", "collection")
    collection = client.get_collection(id=args.collection, bucket=args.bucket)["data"]
    schema = collection.get("schema")
    if not isinstance(schema, dict) or not schema:
        raise UsageError(f"{args.bucket}/{args.collection} has no schema to generate from.")
    source = codegen.record_class(schema, args.bucket, args.collection, args.class_name)
    with atomic_output(args.output) as handle:
        handle.write(source)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, out: Output) -> int:
    if importlib.util.find_spec("kinto") is None:
        raise CliError('serve needs the Kinto server: pip install "kinto-orm[server]"')
    from ..testing import KintoServer
    from .hints import check_port_free

    check_port_free(args.port)

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    # Also when started in the background (where SIGINT is ignored) or stopped by `kill`.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    server = KintoServer(port=args.port, paginate_by=args.paginate_by,
                         backend=args.backend, dsn=args.dsn)
    try:
        server.start()
    except RuntimeError as exc:  # port taken, Kinto or PostgreSQL missing: one line
        raise CliError(str(exc).splitlines()[0]) from exc
    try:
        print(f"Kinto is running at {server.url} ({server.backend} backend; Ctrl-C stops it)",
              flush=True)
        try:
            while server.running:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    finally:
        server.stop()
    return EXIT_OK


# ---------------------------------------------------------------------------- parser

COMMANDS: dict[str, tuple[Callable[..., int], str]] = {
    "info": (cmd_info, "Show the server, its capabilities and who you are."),
    "tree": (cmd_tree, "Show buckets > collections and groups, with record counts."),
    "export": (cmd_export, "Write a collection's (or bucket's) records as JSON Lines/JSON/"
               "Parquet."),
    "import": (cmd_import, "Write records from a JSON Lines/JSON file into a collection."),
    "dump": (cmd_dump, "Save a bucket's whole structure and records to one YAML/JSON file."),
    "load": (cmd_load, "Re-apply a dump file: write only what differs (kinto-wizard style)."),
    "history": (cmd_history, "Show a bucket's history (history plugin), newest first."),
    "codegen": (cmd_codegen, "Print a typed Record subclass from a collection's schema."),
    "pull": (pull.cmd_pull, pull.SUMMARY),
    "serve": (cmd_serve, "Run a local Kinto (memory or PostgreSQL) for development."),
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
            sub.add_argument("--backend", choices=("memory", "postgresql"), default=None,
                             help="Storage: memory (default) or postgresql (a throw-away "
                             "cluster, removed on exit, unless --dsn names a database).")
            sub.add_argument("--dsn", default=None,
                             help="PostgreSQL database to use: postgresql://user:pw@host/db.")
            sub.add_argument("-D", "--debug", action="store_const", const=logging.DEBUG,
                             dest="verbosity", help="Show tracebacks.")
        if name in ("export", "dump", "codegen"):
            sub.add_argument("-o", "--output", default=None,
                             help="Output file (default: standard output).")
        if name in ("export", "import"):
            parquet = ("parquet",) if name == "export" else ()
            sub.add_argument("--format", choices=("jsonl", "json", *parquet), default=None,
                             help="JSON Lines, one JSON list" + (", or Parquet (one collection; "
                             "the pandas or arrow extra)" if parquet else "") + " (default: from "
                             "the file name's .json/.parquet, else JSON Lines).")
        if name in ("import", "load"):
            sub.add_argument("file", help="Input file ('-' for standard input).")
        if name in ("import", "load"):
            sub.add_argument("--dry-run", action="store_true", help="Read and check the file, "
                             "write nothing" + (": show the plan." if name == "load" else "."))
        if name in ("dump", "load"):
            sub.add_argument("--attachments", metavar="FOLDER", default=None,
                             help="Where attached files are saved (dump) or read from, to be "
                             "sent when their hash differs on the server (load).")
        if name == "load":
            sub.add_argument("--delete-records", action="store_true",
                             help="Delete the records of the dumped collections that are not "
                             "in the file.")
        if name == "history":
            sub.add_argument("--limit", type=int, default=50, help="How many entries (50).")
            sub.add_argument("--resource-name", default=None, choices=HISTORY_RESOURCES,
                             help="Only the entries of this kind of object.")
        if name == "pull":
            pull.add_options(sub)
        if name == "codegen":
            sub.add_argument("--class-name", default=None, help="Name of the generated class.")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = getattr(args, "verbosity", None) == logging.DEBUG
    if importlib.util.find_spec("rich") is None:
        print('kinto-orm: error: the kinto-orm command needs its extra: '
              'pip install "kinto-orm[cli]"', file=sys.stderr)
        return EXIT_FAILED
    from .hints import explain
    from .ui import Output

    out = Output(quiet=getattr(args, "verbosity", None) == logging.CRITICAL)
    setup_logger(logger, args)
    logger.setLevel(getattr(args, "verbosity", None) or logging.WARNING)
    # kinto-http's "Batch #N" line per batched request is logged at WARNING: shown by
    # -v/-D only (the commands say what they did themselves).
    logging.getLogger("kinto_orm.batch").setLevel(
        logging.NOTSET if logger.level <= logging.INFO else logging.ERROR)
    handler, _ = COMMANDS[args.command]
    try:
        if args.command == "serve":
            return handler(args, out)
        with create_client_from_args(args) as client:
            return handler(client, args, out)
    except UsageError as exc:
        return _fail(out, exc, str(exc), EXIT_USAGE, debug)
    except CliError as exc:
        return _fail(out, exc, str(exc), EXIT_FAILED, debug)
    except (KintoException, ValueError, OSError, ImportError) as exc:
        return _fail(out, exc, explain(exc, args), EXIT_FAILED, debug)
    except KeyboardInterrupt:
        return _fail(out, None, "interrupted", EXIT_FAILED, debug)


def _fail(out: Output, exc: BaseException | None, message: str, code: int,
          debug: bool) -> int:
    if debug and exc is not None:
        import traceback

        traceback.print_exception(exc)
    out.error(message)
    return code
