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

Wall times (the local query is CPU in this process; the round trip waits on the server).
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


def median_ms(run: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


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
        results: dict[str, list[float]] = {
            "round trip": [], "local first 10": [], "local count()": [], "local all()": []}
        for _ in range(args.rounds):
            results["round trip"].append(median_ms(remote.all, 1))
            results["local first 10"].append(median_ms(local.limit(10).all, 1))
            results["local count()"].append(median_ms(local.count, 1))
            results["local all()"].append(median_ms(local.all, 1))
        replica.close()
    trip = statistics.median(results["round trip"])
    print(f"replica: first pull of {args.seed:,} records {pulled * 1000:.0f} ms; file grown "
          f"to {args.records:,} records; the query matches {matched:,}")
    print(f"{'':<16}{'median ms':>10}{'x round trip':>14}")
    for name, values in results.items():
        value = statistics.median(values)
        print(f"{name:<16}{value:>10.1f}{value / trip:>14.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
