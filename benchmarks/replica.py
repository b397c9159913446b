"""Local replica queries against one server round trip (issue 22).

    .venv/bin/python benchmarks/replica.py               # 100,000 records (part of make bench)
    .venv/bin/python benchmarks/replica.py --records 20000 --rounds 9

A local Kinto (memory backend, no history) holds ``--seed`` records; a replica pulls them
(the real pull), then the replica file is grown to ``--records`` records with copies made
by SQLite (new ids, same shape: the server's memory backend takes minutes to hold
100,000 records, and the local query does not care where rows came from). Then, in
alternating order, median of ``--rounds``:

- one round trip: ``client.records(Task).filter(done=False, priority__gte=7)
  .sort("-priority", "title").limit(10).all()`` from the server (one GET), over only
  ``--seed`` records, so its server side is a lower bound of what it would be over
  ``--records``;
- local, over ``--records`` records: the same query on ``replica.records()`` (the same
  first 10 typed objects), then its ``count()``, then ``all()`` (every match as a typed
  object: a tenth of the records per priority level, 20% of them here).

Wall times, and the client's CPU time (the local query is CPU in this process; the round
trip mostly waits on the server, another process). The machine is shared: the CPU column
moves less with other people's jobs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kinto_orm import Client, Record
from kinto_orm.testing import KintoServer, new_credentials


class Task(Record, bucket="bench", collection="tasks"):
    title: str
    priority: int = 0
    done: bool = False
    tags: list[str] = []


def seed(client: Client, count: int) -> None:
    client.bucket("bench").create(if_not_exists=True)
    client.collection("tasks", bucket="bench").create(if_not_exists=True)
    tasks = [Task(id=f"t{i:06d}", title=f"task {i:06d}", priority=i % 10, done=i % 3 == 0,
                  tags=[f"tag{i % 5}"]) for i in range(count)]
    result = client.records(Task).bulk_save(tasks, safe=False)
    assert result.ok, result.failed


def grow(db_path: Path, records: int, seed_count: int) -> None:
    """Copies of the pulled rows, under new ids, until the file holds ``records`` rows."""
    import sqlite3

    db = sqlite3.connect(db_path)
    copies = -(-records // seed_count) - 1
    with db:
        for copy in range(1, copies + 1):
            db.execute(
                "INSERT INTO records(id, data, last_modified, status, base) "
                "SELECT id || '-' || ?1, json_set(data, '$.id', id || '-' || ?1), "
                "last_modified, status, base FROM records WHERE id NOT LIKE '%-%' "
                "LIMIT ?2", (copy, records - seed_count * copy),
            )
    assert db.execute("SELECT count(*) FROM records").fetchone()[0] == records
    db.close()


def timed_ms(run: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU milliseconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    with KintoServer(history=False, attachments=False, paginate_by=1000) as server, \
            tempfile.TemporaryDirectory() as folder, \
            Client(server.url, auth=new_credentials()) as client:
        seed(client, args.seed)
        path = Path(folder) / "tasks.sqlite"
        with client.records(Task).replica(path) as replica:
            started = time.perf_counter()
            replica.pull()
            pulled = time.perf_counter() - started
        grow(path, args.records, args.seed)
        replica = client.records(Task).replica(path)
        local = replica.records().filter(done=False, priority__gte=7).sort("-priority", "title")
        remote = client.records(Task).filter(done=False, priority__gte=7) \
            .sort("-priority", "title").limit(10)
        matched = len(local.all())
        if args.records == args.seed:  # (the copies change what comes first)
            assert [t.id for t in local.limit(10).all()] == [t.id for t in remote.all()]
        runs = {"round trip": remote.all, "local first 10": local.limit(10).all,
                "local count()": local.count, "local all()": local.all}
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
        for round_ in range(args.rounds):  # the order alternates
            order = list(runs) if round_ % 2 == 0 else list(reversed(runs))
            for name in order:
                results[name].append(timed_ms(runs[name]))
        replica.close()
    trip = statistics.median(wall for wall, _ in results["round trip"])
    print(f"replica: first pull of {args.seed:,} records {pulled * 1000:.0f} ms; file grown "
          f"to {args.records:,} records; the query matches {matched:,}")
    print(f"{'':<16}{'wall ms':>9}{'client CPU ms':>15}{'x round trip':>14}  (medians)")
    for name, values in results.items():
        wall = statistics.median(w for w, _ in values)
        cpu = statistics.median(c for _, c in values)
        print(f"{name:<16}{wall:>9.1f}{cpu:>15.1f}{wall / trip:>14.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
