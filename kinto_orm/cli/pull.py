"""``kinto-orm pull -b BUCKET -c COLLECTION FILE``: bring a collection into a replica file
(SQLite, see ``docs/replicas.md``), or bring an existing one up to date.

The first run copies every record; the next ones ask only for what changed since. A file
with local changes (written by an application through ``Replica.save``) keeps them; a
record changed on both sides is a conflict, settled by ``--strategy``.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .. import Client, Record
from .files import need
from .hints import CliError

if TYPE_CHECKING:
    from .ui import Output

SUMMARY = "Pull a collection into a local replica file (SQLite), incrementally."


def add_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("file", help="The replica file (created on the first pull).")
    sub.add_argument("--strategy", choices=("manual", "server_wins", "pull_only"),
                     default="manual", help="What a record changed both locally and on the "
                     "server becomes: manual (left as it is and reported, the default), "
                     "server_wins or pull_only (the server's version).")


def cmd_pull(client: Client, args: argparse.Namespace, out: Output) -> int:
    need(args, "bucket", "collection")
    query = client.records(Record, bucket=args.bucket, collection=args.collection)
    with query.replica(args.file) as replica:
        before = replica.timestamp
        report = replica.pull(args.strategy)
        total = replica.records().count()
        out.say(
            f"{'updated' if before is not None else 'created'} {args.file}: "
            f"{len(report.created)} created, {len(report.updated)} updated, "
            f"{len(report.deleted)} deleted; {total} record(s) at timestamp "
            f"{replica.timestamp}"
        )
        if report.conflicts:
            ids = ", ".join(conflict.id for conflict in report.conflicts[:10])
            raise CliError(
                f"{len(report.conflicts)} record(s) changed both locally and on the server "
                f"({ids}): left as they are. Pull with --strategy server_wins to take the "
                "server's versions."
            )
    return 0
