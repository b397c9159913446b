"""The ``kinto-orm`` console script when things go wrong, run as a user runs it (a
subprocess of ``.venv/bin/kinto-orm``) against the real Kinto of the fixtures: a port
already taken, a missing extra, an unreachable server, a missing bucket, a bad option
value; and imports of bucket exports, whose lines name their collection.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kinto_orm.testing import free_port

from .conftest import DEAD_URL, SCRIPT, Cli


def kinto_orm(*args: str, env: dict[str, str] | None = None,
              timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the console script; stdout and stderr captured (pipes, not a terminal)."""
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, env=env,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def one_line(run: subprocess.CompletedProcess[str]) -> str:
    """The single ``kinto-orm: error:`` line a failed run printed, and nothing else."""
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("kinto-orm: error: "), lines[0]
    assert "Traceback" not in run.stderr and "\x1b" not in run.stderr
    return lines[0]


def without(tmp_path: Path, *modules: str) -> dict[str, str]:
    """An environment where ``modules`` cannot be imported, as if their extra were not
    installed (a ``sitecustomize`` on PYTHONPATH blocks them)."""
    folder = tmp_path / "site-without"
    folder.mkdir(exist_ok=True)
    (folder / "sitecustomize.py").write_text(
        "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in modules))
    return {**os.environ, "PYTHONPATH": str(folder)}


# =================================================================================== serve


@pytest.mark.timeout(60)
def test_serve_refuses_a_port_held_by_another_kinto(kinto_server: Any) -> None:
    port = kinto_server.url.split(":")[-1].split("/")[0]
    run = kinto_orm("serve", "--port", port, timeout=30)
    assert run.returncode == 1 and run.stdout == ""  # no "Kinto is running at ..."
    line = one_line(run)
    assert f"port {port} is already in use by a running kinto " in line, line
    assert "--port" in line


@pytest.mark.timeout(60)
def test_serve_refuses_a_port_held_by_another_program() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = str(holder.getsockname()[1])
        run = kinto_orm("serve", "--port", port, timeout=30)
    assert run.returncode == 1 and run.stdout == ""
    line = one_line(run)
    assert f"port {port} is already in use by another program" in line, line


def test_serve_without_the_server_extra(tmp_path: Path) -> None:
    run = kinto_orm("serve", "--port", str(free_port()), env=without(tmp_path, "kinto"))
    assert run.returncode == 1 and run.stdout == ""
    assert 'pip install "kinto-orm[server]"' in one_line(run)


def test_the_command_without_the_cli_extra(tmp_path: Path) -> None:
    run = kinto_orm("info", "-s", DEAD_URL, env=without(tmp_path, "rich"))
    assert run.returncode == 1
    assert 'pip install "kinto-orm[cli]"' in one_line(run)


# ====================================================================== errors and hints


def test_unreachable_server_gives_one_line_with_what_to_do(tmp_path: Path) -> None:
    env = {**os.environ, "KINTO_SERVER_URL": DEAD_URL}
    for args in (["info"], ["tree"], ["export", "-b", "blog", "-c", "posts"]):
        run = kinto_orm(*args, env=env)
        assert run.returncode == 1 and run.stdout == "", args
        line = one_line(run)
        assert f"cannot reach a Kinto server at {DEAD_URL} (Connection refused)" in line
        for hint in ("`kinto-orm serve`", "--server", "KINTO_SERVER_URL"):
            assert hint in line, (hint, line)


def test_history_resource_name_must_be_a_kind_the_plugin_records(cli: Cli) -> None:
    run = kinto_orm("history", "-b", cli.bucket, "--resource-name", "nope", env=cli.env())
    assert run.returncode == 2 and run.stdout == ""
    assert "invalid choice: 'nope'" in run.stderr
    for kind in ("bucket", "collection", "group", "record"):
        assert repr(kind) in run.stderr.splitlines()[-1]
    ok = kinto_orm("history", "-b", cli.bucket, "--resource-name", "bucket", env=cli.env())
    assert ok.returncode == 0 and f"/buckets/{cli.bucket}" in ok.stdout


def test_export_of_a_missing_bucket_says_what_is_missing_and_what_to_do(cli: Cli) -> None:
    missing = cli.new_bucket_id("missing")
    run = kinto_orm("export", "-b", missing, "-c", "posts", env=cli.env())
    assert run.returncode == 1 and run.stdout == ""
    line = one_line(run)
    assert f"bucket {missing!r} does not exist" in line and "403" in line
    assert "kinto-orm tree" in line and "--auth" in line
    # A missing collection of a readable bucket: a 404, named as such.
    run = kinto_orm("export", "-b", cli.bucket, "-c", "nope", env=cli.env())
    line = one_line(run)
    assert f"collection 'nope' does not exist in bucket {cli.bucket!r}" in line
    assert f"kinto-orm tree -b {cli.bucket}" in line


def test_dump_to_yaml_without_pyyaml_fails_before_fetching(tmp_path: Path) -> None:
    """Against a dead server: a dump that fetched first would fail on the network."""
    env = {**without(tmp_path, "yaml"), "KINTO_SERVER_URL": DEAD_URL}
    target = tmp_path / "x.yaml"
    run = kinto_orm("dump", "-b", "blog", "-o", str(target), env=env)
    assert run.returncode == 2
    line = one_line(run)
    assert "PyYAML" in line and 'pip install "kinto-orm[cli]"' in line
    assert "cannot reach" not in line and not target.exists()


# =================================================================== import bucket exports


def test_import_of_a_bucket_export_puts_records_in_their_own_collection(
    cli: Cli, tmp_path: Path
) -> None:
    cli.seed("first", [{"id": "x1", "n": 1}, {"id": "only-first"}])
    cli.seed("second", [{"id": "x1", "n": 2}])
    export = kinto_orm("export", "-b", cli.bucket, "-o", str(tmp_path / "two.jsonl"),
                       env=cli.env())
    assert export.returncode == 0, export.stderr
    lines = [json.loads(line) for line in (tmp_path / "two.jsonl").read_text().splitlines()]
    assert {line["collection"] for line in lines} == {"first", "second"}

    copy = cli.new_bucket_id("two-copy")
    run = kinto_orm("import", "-b", copy, "-c", "all", str(tmp_path / "two.jsonl"),
                    env=cli.env())
    assert run.returncode == 0, run.stderr
    assert run.stderr == "imported 3 record(s), 0 failed\n"
    assert {k: v["n"] for k, v in cli.records("first", copy).items() if "n" in v} == {"x1": 1}
    assert {k: v["n"] for k, v in cli.records("second", copy).items()} == {"x1": 2}
    assert set(cli.records("first", copy)) == {"x1", "only-first"}
    assert [c["id"] for c in cli.client.get_collections(bucket=copy)] != ["all"]
    assert "all" not in {c["id"] for c in cli.client.get_collections(bucket=copy)}


def test_import_dry_run_of_a_bucket_export_names_each_collection(
    cli: Cli, tmp_path: Path
) -> None:
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps(line) + "\n" for line in [
        {"collection": "a", "data": {"id": "x1"}},
        {"collection": "b", "data": {"id": "x1"}},
        {"collection": "b", "data": {"id": "x2"}},
        {"collection": "bad id!", "data": {"id": "x3"}},
    ]))
    run = kinto_orm("import", "--dry-run", "-b", cli.bucket, str(rows), env=cli.env())
    assert run.returncode == 1  # the line with an invalid collection id
    assert run.stderr.splitlines()[0].startswith("line 4 (id x3): ")
    assert run.stderr.splitlines()[-1] == (
        f"dry run: 3 record(s) would be written to {cli.bucket}/a, {cli.bucket}/b, "
        "1 line(s) refused")
    assert cli.client.get_collections(bucket=cli.bucket) == []


def test_import_of_plain_records_needs_a_collection(cli: Cli, tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"id": "a"}\n')
    run = kinto_orm("import", "-b", cli.bucket, str(rows), env=cli.env())
    assert run.returncode == 2
    assert "--collection is required for 'import'" in one_line(run)
    assert cli.client.get_collections(bucket=cli.bucket) == []
