"""A typed data pipeline: CSV -> typed records -> Kinto (one batch) -> queries -> report.

Run it with ``make demo``: it starts an embedded local Kinto server (memory backend),
so nothing has to be installed or running beforehand. Pass a server URL to use
another one: ``python examples/pipeline.py http://localhost:8888/v1``.
"""

from __future__ import annotations

import csv
import datetime
import sys
from decimal import Decimal
from pathlib import Path

from kinto_orm import Client, PreconditionFailed, Record
from kinto_orm.testing import KintoServer, new_credentials

DATA = Path(__file__).parent / "data" / "tasks.csv"


class Task(Record, bucket="demo", collection="tasks"):
    """One task of the CSV file, with real types."""

    title: str
    owner: str
    priority: int
    due: datetime.date
    done: bool = False
    estimate: Decimal


def load_csv(path: Path) -> list[Task]:
    """Parse and validate every row; a bad row stops the pipeline with its line number."""
    with path.open(newline="") as handle:
        return [Task.model_validate(row) for row in csv.DictReader(handle)]


def run(server_url: str) -> None:
    client = Client(server_url, auth=new_credentials())
    client.bucket("demo").create(if_not_exists=True)
    client.collection("tasks", bucket="demo").create(if_not_exists=True)

    tasks = load_csv(DATA)
    with client.batch():
        for task in tasks:
            task.bind(client).save()
    print(f"imported {len(tasks)} tasks in one batch; first one is now at "
          f"last_modified={tasks[0].last_modified}")

    tasks_q = client.records(Task)
    urgent = tasks_q.filter(done=False, priority__gte=4).sort("due")
    print(f"\n{urgent.count()} urgent open tasks:")
    for task in urgent:
        print(f"  {task.due:%d %b}  P{task.priority}  {task.title:<28} ({task.owner})")

    print("\nopen work per owner (hours):")
    totals: dict[str, Decimal] = {}
    for task in tasks_q.filter(done=False).fields("owner", "estimate"):
        totals[task.owner] = totals.get(task.owner, Decimal(0)) + task.estimate
    for owner, hours in sorted(totals.items()):
        print(f"  {owner:<6} {hours:>6}")

    # Optimistic concurrency: a stale copy cannot overwrite a newer one.
    mine = tasks_q.get("t-001")
    theirs = tasks_q.get("t-001")
    theirs.done = True
    theirs.patch()
    mine.priority = 1
    try:
        mine.save()
    except PreconditionFailed as conflict:
        server_copy = conflict.existing or {}
        print(f"\nconflict detected on t-001: the server has done={server_copy.get('done')}")
        mine.refresh()
        mine.priority = 1
        mine.patch()
        print(f"merged: done={mine.done}, priority={mine.priority}")


def main() -> None:
    if len(sys.argv) > 1:
        run(sys.argv[1])
        return
    with KintoServer(history=False, attachments=False) as server:
        print(f"embedded Kinto at {server.url}")
        run(server.url)


if __name__ == "__main__":
    main()
