"""``kinto-orm pull``: a collection into a replica file, run as a user runs it."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from kinto_orm import Record

from .conftest import SCRIPT, Cli


def test_pull_creates_then_updates_a_replica_file(cli: Cli, tmp_path: Path) -> None:
    cli.seed("todos", [{"id": f"t{i}", "title": f"task {i}"} for i in range(15)])
    file = tmp_path / "todos.sqlite"
    command = [SCRIPT, "pull", "-b", cli.bucket, "-c", "todos", str(file)]
    first = subprocess.run(command, env=cli.env(), capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert f"created {file}: 15 created, 0 updated, 0 deleted; 15 record(s)" in first.stderr
    cli.client.update_record(id="t1", data={"title": "changed"}, bucket=cli.bucket,
                             collection="todos")
    cli.client.delete_record(id="t2", bucket=cli.bucket, collection="todos")
    second = subprocess.run(command, env=cli.env(), capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    assert f"updated {file}: 0 created, 1 updated, 1 deleted; 14 record(s)" in second.stderr
    db = sqlite3.connect(file)
    assert db.execute("SELECT json_extract(data, '$.title') FROM records WHERE id = 't1'"
                      ).fetchone() == ("changed",)
    db.close()


def test_pull_reports_conflicts_with_local_changes(cli: Cli, tmp_path: Path) -> None:
    cli.seed("todos", [{"id": "t1", "title": "one"}])
    file = tmp_path / "todos.sqlite"
    assert cli("pull", "-b", cli.bucket, "-c", "todos", str(file)).code == 0
    query = cli.client.records(Record, bucket=cli.bucket, collection="todos")
    with query.replica(file) as replica:  # an application's local change
        local = replica.get("t1")
        local["title"] = "local"
        replica.save(local)
    cli.client.update_record(id="t1", data={"title": "server"}, bucket=cli.bucket,
                             collection="todos")
    run = cli("pull", "-b", cli.bucket, "-c", "todos", str(file))
    assert run.code == 1 and "changed both locally and on the server (t1)" in run.err
    run = cli("pull", "-b", cli.bucket, "-c", "todos", str(file), "--strategy", "server_wins")
    assert run.code == 0 and "1 updated" in run.err


def test_pull_needs_a_collection(cli: Cli, tmp_path: Path) -> None:
    run = cli("pull", "-b", cli.bucket, str(tmp_path / "x.sqlite"))
    assert run.code == 2 and "--collection is required for 'pull'" in run.err
    assert not (tmp_path / "x.sqlite").exists()
