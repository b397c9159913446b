"""Functional tests of the ``kinto-orm`` console script (``kinto_orm.cli:main``).

Every command talks to the real Kinto of the ``kinto_server`` fixture; most runs call
``main([...])`` in-process (``cli`` fixture, output captured with ``capsys``), and a few go
through the installed ``.venv/bin/kinto-orm`` to check exit codes, ``--help``, the
progress bar on a real terminal and ``serve``.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.util
import io
import json
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pydantic
import pytest
import requests
import yaml
from pydantic import Field

from kinto_orm import Client, Record
from kinto_orm.cli import COMMANDS, main
from kinto_orm.testing import free_port, new_credentials

from .conftest import DEAD_URL, SCRIPT, Cli


class Post(Record):
    """A blog post."""

    title: str
    views: int = 0
    tags: list[str] = Field(default_factory=list)
    status: Literal["draft", "published"] = "draft"
    published: datetime.date | None = None


#: Strings YAML would read back as something else if they were written unquoted.
TRICKY = {
    "yes": "yes", "date": "2024-01-01", "null_word": "null", "hex": "0x10", "exp": "1e3",
    "empty": "", "multi": "line 1\nline 2", "unicode": "café ☕ 東京", "colon": "a: b",
    "hash": "# not a comment", "nested": {"list": [1, 2.5, None, True, "x"], "n": -0.0},
}


def content(record: dict[str, Any]) -> dict[str, Any]:
    """A record without the fields the server sets (timestamp, schema version)."""
    return {k: v for k, v in record.items() if k not in ("last_modified", "schema")}


def perms(permissions: dict[str, list[str]]) -> dict[str, list[str]]:
    return {k: sorted(v) for k, v in permissions.items() if v}


def one_error_line(run: Any) -> str:
    """The single line a failed run printed on stderr (and check it is the only one)."""
    assert len(run.err_lines) == 1, run.err
    line: str = run.err_lines[0]
    assert line.startswith("kinto-orm: error: "), line
    assert "Traceback" not in run.err
    return line


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def run_scripts(commands: list[list[str]], env: dict[str, str] | None = None,
                ) -> list[subprocess.CompletedProcess[str]]:
    """Run several ``kinto-orm`` processes at once (start-up is the slow part)."""
    procs = [
        (cmd, subprocess.Popen([SCRIPT, *cmd], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env))
        for cmd in commands
    ]
    done = []
    for cmd, proc in procs:
        out, err = proc.communicate(timeout=60)
        done.append(subprocess.CompletedProcess(cmd, proc.returncode, out, err))
    return done


def run_on_tty(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run ``kinto-orm ARGS`` with stderr on a pseudo-terminal: (exit code, stdout,
    what the terminal received)."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([SCRIPT, *args], stdout=subprocess.PIPE, stderr=slave,
                                stdin=subprocess.DEVNULL, env=env)
        os.close(slave)
        received = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            received += chunk
        out, _ = proc.communicate(timeout=60)
    finally:
        os.close(master)
    return proc.returncode, out.decode(), received.decode().replace("\r\n", "\n")


def posts(count: int, prefix: str = "p") -> list[dict[str, Any]]:
    return [{"id": f"{prefix}{i:03d}", "title": f"Post {i}", "views": i, "tags": ["t", str(i)]}
            for i in range(count)]


# =============================================================== the console script itself


def test_help_of_the_program_and_of_every_subcommand(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Through the console script: the program and one subcommand...
    top, export = run_scripts([["--help"], ["export", "--help"]])
    for run in (top, export):
        assert run.returncode == 0 and run.stderr == "", (run.args, run.stderr)
    assert top.stdout.startswith("usage: kinto-orm")
    for name in COMMANDS:
        assert name in top.stdout
    assert "Exit codes" in top.stdout
    assert export.stdout.startswith("usage: kinto-orm export")
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.startswith("kinto-orm ")
    # ... and every subcommand in-process (same parser, no start-up cost).
    helps = {}
    for name in COMMANDS:
        with pytest.raises(SystemExit) as exc:
            main([name, "--help"])
        assert exc.value.code == 0, name
        captured = capsys.readouterr()
        assert captured.err == ""
        helps[name] = captured.out
        assert helps[name].startswith(f"usage: kinto-orm {name}"), helps[name]
        assert COMMANDS[name][1] in helps[name]  # the command's description
        if name != "serve":
            for option in ("--server", "--auth", "--bucket", "--quiet", "--debug"):
                assert option in helps[name], (name, option)
    assert helps["export"] == export.stdout
    assert "--format" in helps["export"] and "--output" in helps["export"]
    assert "--dry-run" in helps["import"] and "--format" in helps["import"]
    assert "--class-name" in helps["codegen"]
    assert "--limit" in helps["history"] and "--resource-name" in helps["history"]
    assert "--port" in helps["serve"] and "--paginate-by" in helps["serve"]


def test_exit_codes_of_the_console_script(cli: Cli, other: Cli) -> None:
    cli.seed("posts", posts(3))
    runs = run_scripts([
        ["export", "-b", cli.bucket, "-c", "posts"],    # 0
        ["export", "-c", "posts"],                      # 2: no --bucket
        ["export", "-b", other.bucket, "-c", "posts"],  # 1: 403
    ], env=cli.env())  # argparse's own usage errors (exit 2): test_argparse_usage_errors_exit_2
    assert [r.returncode for r in runs] == [0, 2, 1], [
        (r.args, r.returncode, r.stderr) for r in runs
    ]
    export, no_bucket, forbidden = runs
    assert len(export.stdout.splitlines()) == 3
    assert export.stderr == "exported 3 record(s)\n"
    assert no_bucket.stderr == "kinto-orm: error: --bucket is required for 'export'.\n"
    assert forbidden.stdout == ""
    lines = forbidden.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kinto-orm: error: "), forbidden.stderr
    assert "403" in forbidden.stderr


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def frames(tty: str) -> list[str]:
    """What a terminal showed, frame by frame: control codes removed, one entry per
    redraw (rich redraws its bar after a carriage return)."""
    return [f.strip() for f in re.split(r"[\r\n]", ANSI.sub("", tty)) if f.strip()]


def test_progress_bar_on_a_real_terminal(cli: Cli) -> None:
    cli.seed("posts", posts(5))
    code, out, tty = run_on_tty(["export", "-b", cli.bucket, "-c", "posts"], cli.env())
    assert code == 0 and len(out.splitlines()) == 5  # the data still goes to stdout
    assert "\x1b[" in tty  # drawn by rich: a live bar
    shown = frames(tty)
    bars = [f for f in shown if f.startswith("exported ") and "/5" in f]
    assert bars and bars[0].split()[2] == "0/5", shown  # the total is known from the start
    final = bars[-1].split()
    assert final[2] == "5/5" and final[3].endswith("/s") and "ETA" in final, shown  # rate, ETA
    assert shown[-1] == "exported 5 record(s)"
    # Piped: the same summary line, no control codes.
    piped = subprocess.run([SCRIPT, "export", "-b", cli.bucket, "-c", "posts"],
                           env=cli.env(), capture_output=True, text=True, timeout=60)
    assert (piped.returncode, piped.stderr) == (0, "exported 5 record(s)\n")
    assert "\x1b" not in piped.stdout + piped.stderr


def test_import_progress_on_a_terminal_counts_to_the_total(cli: Cli, tmp_path: Path) -> None:
    rows = write(tmp_path / "rows.jsonl", "".join(json.dumps(r) + "\n" for r in posts(60)))
    code, _, tty = run_on_tty(["import", "-b", cli.bucket, "-c", "posts", rows], cli.env())
    assert code == 0
    shown = frames(tty)
    counts = [f.split()[2] for f in shown if f.startswith("imported ") and "/60" in f]
    assert counts[0] == "0/60" and counts[-1] == "60/60", shown
    assert shown[-1] == "imported 60 record(s), 0 failed"
    code, _, tty = run_on_tty(["import", "-q", "-b", cli.bucket, "-c", "posts", rows], cli.env())
    assert (code, tty) == (0, "")  # --quiet: nothing, not even a bar


def stderr_is_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the captured stderr claim to be a terminal (``Output`` asks ``isatty()``).
    Call it in the test body: the capture swaps its streams between setup and call."""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)


def test_progress_only_on_a_terminal_and_never_with_quiet(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stderr_is_a_tty(monkeypatch)
    rows = write(tmp_path / "rows.jsonl", "".join(json.dumps(r) + "\n" for r in posts(60)))
    run = cli("import", "-b", cli.bucket, "-c", "posts", rows)
    assert run.code == 0
    assert "60/60" in frames(run.err)[-2]  # the bar's last frame, then the summary
    assert frames(run.err)[-1] == "imported 60 record(s), 0 failed"
    for quiet in ("-q", "--quiet"):
        run = cli("export", quiet, "-b", cli.bucket, "-c", "posts")
        assert (run.code, run.err, len(run.out.splitlines())) == (0, "", 60)
        run = cli("import", quiet, "-b", cli.bucket, "-c", "again", rows)
        assert (run.code, run.err) == (0, "")


def test_no_progress_when_stderr_is_not_a_terminal(cli: Cli, tmp_path: Path) -> None:
    rows = write(tmp_path / "rows.jsonl", "".join(json.dumps(r) + "\n" for r in posts(60)))
    run = cli("import", "-b", cli.bucket, "-c", "posts", rows)
    assert run.err == "imported 60 record(s), 0 failed\n"
    run = cli("export", "-b", cli.bucket, "-c", "posts")
    assert run.err == "exported 60 record(s)\n"


def test_progress_bar_ends_on_the_final_count(cli: Cli,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    stderr_is_a_tty(monkeypatch)
    cli.seed("posts", posts(5))
    run = cli("export", "-b", cli.bucket, "-c", "posts")
    assert run.code == 0
    last_frame = frames(run.err)[-2].split()
    assert (last_frame[0], last_frame[2]) == ("exported", "5/5"), run.err


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


class Served:
    """A ``kinto-orm serve`` process in its own process group."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.proc = subprocess.Popen(
            [SCRIPT, "serve", "--port", str(self.port)], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.folders: list[Path] = []
        self.banner = ""

    def wait_started(self) -> None:
        assert self.proc.stdout is not None
        self.banner = self.proc.stdout.readline()
        for child in _children(self.proc.pid):  # Kinto's temp folder, to remove afterwards
            cmd = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            if b"--ini" in cmd:
                self.folders.append(Path(cmd[cmd.index(b"--ini") + 1].decode()).parent)

    def answers(self) -> bool:
        try:
            return requests.get(self.url + "/__heartbeat__", timeout=2).ok
        except requests.RequestException:
            return False

    def kill(self) -> None:
        """Kill the group (the serve process and the Kinto it started)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.communicate(timeout=10)
        for folder in self.folders:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def served() -> Iterator[list[Served]]:
    """Two ``kinto-orm serve`` started together (Kinto start-up is slow), one per test."""
    servers = [Served(), Served()]
    try:
        for server in servers:
            server.wait_started()
        yield servers
    finally:
        for server in servers:
            server.kill()


@pytest.mark.timeout(90)
def test_serve_runs_a_local_kinto_until_ctrl_c(served: list[Served],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    server = served[0]
    assert server.banner == (f"Kinto is running at {server.url} "
                             "(memory backend; Ctrl-C stops it)\n"), server.banner
    assert main(["info", "-s", server.url, "-a", ":".join(new_credentials())]) == 0
    assert "schema" in capsys.readouterr().out
    with Client(server.url, auth=new_credentials()) as client:
        client.create_bucket(id="dev")
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(timeout=20) == 0
    assert not server.answers()


@pytest.mark.timeout(90)
def test_serve_stops_its_kinto_on_sigterm(served: list[Served]) -> None:
    server = served[1]
    assert server.answers()
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(timeout=20)
    assert not server.answers()


# ========================================================================== info and tree


def test_info_shows_server_capabilities_and_user(server_env: Cli) -> None:
    run = server_env("info", options=False)
    assert run.code == 0 and run.err == ""
    fields = dict(line.split(":", 1) for line in run.out.splitlines())
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    me = server_env.client.server_info()["user"]
    assert fields["server"].startswith("kinto ") and "HTTP API 1." in fields["server"]
    assert fields["url"].rstrip("/") == server_env.url
    assert int(fields["batch size"]) > 0
    capabilities = fields["capabilities"].split(", ")
    assert {"history", "schema", "accounts"} <= set(capabilities)
    assert capabilities == sorted(capabilities)
    assert fields["user"] == me["id"]
    assert set(fields["principals"].split(", ")) == set(me["principals"])
    assert "system.Authenticated" in fields["principals"]


def test_info_without_credentials_is_anonymous(kinto_server: Any, capsys: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KINTO_SERVER_URL", kinto_server.url)
    monkeypatch.delenv("KINTO_AUTH", raising=False)
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    fields = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in out.splitlines()}
    assert fields["user"].startswith("anonymous") and "principals" not in fields


def test_tree_shows_collections_with_counts_and_groups(server_env: Cli) -> None:
    cli = server_env
    cli.seed("b-two", posts(1))
    cli.seed("a-one", posts(3))
    cli.seed("c-empty", [])
    cli.seed("d-many", posts(23))  # more than a page (paginate_by=10)
    cli.client.create_group(id="editors", bucket=cli.bucket, data={"members": ["x", "y"]})
    cli.client.create_group(id="admins", bucket=cli.bucket, data={"members": []})
    run = cli("tree", "-b", cli.bucket, options=False)
    assert run.code == 0 and run.err == ""
    assert table(run.out) == [
        ["bucket", "collection / @group", "size"],
        [cli.bucket, "a-one", "3 records"],
        [cli.bucket, "b-two", "1 record"],
        [cli.bucket, "c-empty", "0 records"],
        [cli.bucket, "d-many", "23 records"],
        [cli.bucket, "@admins", "0 members"],
        [cli.bucket, "@editors", "2 members"],
    ]


def table(text: str) -> list[list[str]]:
    """The cells of a table rich printed off a terminal (the rule under the header
    left out)."""
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()
            if line.strip() and not set(line.strip()) <= {"─", " "}]


def test_tree_on_an_empty_server_says_so(cli: Cli) -> None:
    """A new identity that can read no bucket (the bucket of ``cli`` is not its own)."""
    user = ":".join(new_credentials())
    run = subprocess.run([SCRIPT, "tree", "-s", cli.url, "-a", user], capture_output=True,
                         text=True, timeout=60)
    assert (run.returncode, run.stdout) == (0, "")
    assert run.stderr.startswith("No bucket on " + cli.url) and "can read" in run.stderr
    assert len(run.stderr.splitlines()) == 1 and "kinto-orm import" in run.stderr


def test_tree_of_every_bucket(cli: Cli) -> None:
    second = cli.new_bucket_id()
    cli.client.create_bucket(id=second)
    cli.seed("notes", posts(2), bucket=second)
    run = cli("tree")
    assert run.code == 0
    rows = table(run.out)[1:]
    assert [cli.bucket, "-", "empty"] in rows and [second, "notes", "2 records"] in rows


# ================================================================================= export


def test_export_collection_as_json_lines_to_stdout(server_env: Cli) -> None:
    cli = server_env
    written = [*posts(25), {"id": "tricky", "title": "t", **TRICKY}]
    cli.seed("posts", written)
    run = cli("export", "-b", cli.bucket, "-c", "posts", options=False)
    assert run.code == 0
    assert run.err == "exported 26 record(s)\n"
    lines = run.out.splitlines()
    assert len(lines) == 26
    rows = [json.loads(line) for line in lines]
    assert {r["id"]: content(r) for r in rows} == {r["id"]: r for r in written}
    assert all(isinstance(r["last_modified"], int) for r in rows)
    assert "café ☕ 東京" in run.out  # not \u-escaped


def test_export_collection_as_json_to_a_file(cli: Cli, tmp_path: Path) -> None:
    written = posts(12)
    cli.seed("posts", written)
    target = tmp_path / "posts.json"
    run = cli("export", "-b", cli.bucket, "-c", "posts", "--format", "json", "-o", str(target))
    assert run.code == 0 and run.out == ""
    assert run.err == "exported 12 record(s)\n"
    data = json.loads(target.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    assert {r["id"]: content(r) for r in data} == {r["id"]: r for r in written}


def test_export_json_lines_to_a_file_and_json_to_stdout(cli: Cli, tmp_path: Path) -> None:
    cli.seed("posts", posts(4))
    target = tmp_path / "posts.jsonl"
    run = cli("export", "-b", cli.bucket, "-c", "posts", "--output", str(target))
    assert run.code == 0 and run.out == ""
    assert sorted(json.loads(line)["id"] for line in target.read_text().splitlines()) == [
        "p000", "p001", "p002", "p003"]
    run = cli("export", "-b", cli.bucket, "-c", "posts", "--format", "json", "-o", "-")
    assert run.code == 0
    assert sorted(r["id"] for r in json.loads(run.out)) == ["p000", "p001", "p002", "p003"]


def test_export_an_empty_collection(cli: Cli) -> None:
    cli.seed("empty", [])
    run = cli("export", "-b", cli.bucket, "-c", "empty", "--format", "json")
    assert run.code == 0 and json.loads(run.out) == []
    assert run.err == "exported 0 record(s)\n"
    run = cli("export", "-b", cli.bucket, "-c", "empty")
    assert run.code == 0 and run.out == ""


def test_export_a_whole_bucket(cli: Cli) -> None:
    cli.seed("posts", posts(11))
    cli.seed("notes", [{"id": "n1", "text": "hello"}, {"id": "n2", "text": "world"}])
    cli.seed("empty", [])
    run = cli("export", "-b", cli.bucket, "--format", "json")
    assert run.code == 0 and run.err == "exported 13 record(s)\n"
    rows = json.loads(run.out)
    assert all(set(row) == {"collection", "data"} for row in rows)
    by_collection: dict[str, set[str]] = {}
    for row in rows:
        by_collection.setdefault(row["collection"], set()).add(row["data"]["id"])
    assert by_collection == {"posts": {f"p{i:03d}" for i in range(11)}, "notes": {"n1", "n2"}}
    run = cli("export", "-b", cli.bucket)
    assert len(run.out.splitlines()) == 13


# ================================================================================= import


def test_import_json_lines(cli: Cli, tmp_path: Path) -> None:
    rows = [*posts(30), {"id": "tricky", "title": "t", **TRICKY}]
    source = write(tmp_path / "rows.jsonl",
                   "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n")
    bucket = cli.new_bucket_id()  # does not exist yet: import creates it
    run = cli("import", "-b", bucket, "-c", "posts", source)
    assert run.code == 0, run.err
    assert run.err == "imported 31 record(s), 0 failed\n"
    assert {k: content(v) for k, v in cli.records("posts", bucket).items()} == {
        r["id"]: r for r in rows}


def test_import_json_file_and_json_from_stdin(cli: Cli, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    rows = posts(7)
    source = write(tmp_path / "rows.json", json.dumps(rows, indent=2))
    run = cli("import", "-b", cli.bucket, "-c", "from-file", source)
    assert run.code == 0 and run.err == "imported 7 record(s), 0 failed\n"
    assert {k: content(v) for k, v in cli.records("from-file").items()} == {
        r["id"]: r for r in rows}
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(rows[:3])))
    run = cli("import", "-b", cli.bucket, "-c", "from-stdin", "--format", "json", "-")
    assert run.code == 0, run.err
    assert sorted(cli.records("from-stdin")) == ["p000", "p001", "p002"]


def test_import_json_that_is_not_a_list_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    source = write(tmp_path / "one.json", json.dumps({"id": "a", "title": "x"}))
    run = cli("import", "-b", cli.bucket, "-c", "posts", source)
    assert run.code == 2
    assert "must hold a list of records" in one_error_line(run)


def test_export_then_import_round_trip(cli: Cli, tmp_path: Path) -> None:
    cli.seed("posts", [*posts(15), {"id": "tricky", "title": "t", **TRICKY}])
    cli.seed("notes", [{"id": "n1", "text": "hello"}])
    for fmt in ("jsonl", "json"):
        dump = tmp_path / f"posts.{fmt}"
        assert cli("export", "-b", cli.bucket, "-c", "posts", "--format", fmt,
                   "-o", str(dump)).code == 0
        run = cli("import", "-b", cli.bucket, "-c", f"copy-{fmt}", str(dump))
        assert run.code == 0, run.err
        assert {k: content(v) for k, v in cli.records(f"copy-{fmt}").items()} == {
            k: content(v) for k, v in cli.records("posts").items()}
    # A whole-bucket export ({"collection", "data"} lines): each record to its collection.
    whole = tmp_path / "bucket.jsonl"
    assert cli("export", "-b", cli.bucket, "-o", str(whole)).code == 0
    copy = cli.new_bucket_id("copy")
    run = cli("import", "-b", copy, str(whole))
    assert run.code == 0, run.err
    assert run.err == "imported 49 record(s), 0 failed\n"  # 16 posts, 1 note, 2 x 16 copies
    for name in ("posts", "notes", "copy-jsonl", "copy-json"):
        assert {k: content(v) for k, v in cli.records(name, copy).items()} == {
            k: content(v) for k, v in cli.records(name).items()}, name


def test_export_to_a_json_file_name_then_import_it(cli: Cli, tmp_path: Path) -> None:
    cli.seed("posts", posts(3))
    target = str(tmp_path / "posts.json")
    assert cli("export", "-b", cli.bucket, "-c", "posts", "-o", target).code == 0
    run = cli("import", "-b", cli.bucket, "-c", "copy", target)
    assert run.code == 0, run.err
    assert sorted(cli.records("copy")) == ["p000", "p001", "p002"]


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_failed_export_keeps_the_existing_output_file(cli: Cli, other: Cli, tmp_path: Path,
                                                      fmt: str) -> None:
    backup = tmp_path / f"backup.{fmt}"
    backup.write_text('{"id": "precious"}\n')
    run = cli("export", "-b", other.bucket, "-c", "posts", "--format", fmt, "-o", str(backup))
    assert run.code == 1 and "403" in one_error_line(run)
    assert backup.read_text() == '{"id": "precious"}\n'


def test_import_dry_run_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    source = write(tmp_path / "rows.jsonl", "".join(json.dumps(r) + "\n" for r in posts(3)))
    bucket = cli.new_bucket_id()
    run = cli("import", "--dry-run", "-b", bucket, "-c", "posts", source)
    assert run.code == 0, run.err
    assert run.err == (f"dry run: 3 record(s) would be written to {bucket}/posts, "
                       "0 line(s) refused\n")
    assert bucket not in {b["id"] for b in cli.client.get_buckets()}
    run = cli("import", "--dry-run", "-b", cli.bucket, "-c", "posts", source)
    assert run.code == 0
    assert "posts" not in {c["id"] for c in cli.client.get_collections(bucket=cli.bucket)}


def test_import_dry_run_reports_bad_lines(cli: Cli, tmp_path: Path) -> None:
    source = write(tmp_path / "rows.jsonl", '{"id": "a"}\n{oops\n[1, 2]\n{"id": "b"}\n')
    run = cli("import", "--dry-run", "-b", cli.bucket, "-c", "posts", source)
    assert run.code == 1
    assert run.err_lines[0].startswith("line 2: not a JSON object")
    assert run.err_lines[1].startswith("line 3: not a JSON object")
    assert run.err_lines[-1].endswith("2 record(s) would be written to "
                                      f"{cli.bucket}/posts, 2 line(s) refused")
    assert "posts" not in {c["id"] for c in cli.client.get_collections(bucket=cli.bucket)}


def test_import_dry_run_refuses_what_the_import_refuses(cli: Cli, tmp_path: Path) -> None:
    source = write(tmp_path / "rows.jsonl", '{"id": "ok"}\n{"id": "../x"}\n')
    run = cli("import", "--dry-run", "-b", cli.bucket, "-c", "posts", source)
    assert run.code == 1
    assert any(line.startswith("line 2") and "../x" in line for line in run.err_lines)


def test_import_with_bad_lines_writes_the_good_ones(cli: Cli, tmp_path: Path) -> None:
    lines = [
        '{"id": "a", "title": "first"}',    # 1 ok
        '{"id": "b", "title": ',            # 2 invalid JSON
        '{"id": "../x", "title": "evil"}',  # 3 invalid id
        '"just a string"',                  # 4 not an object
        '',                                 # 5 blank: skipped
        '{"title": "no id"}',               # 6 ok, the server gives it an id
        '{"id": "c", "title": "last"}',     # 7 ok
    ]
    source = write(tmp_path / "rows.jsonl", "\n".join(lines) + "\n")
    run = cli("import", "-b", cli.bucket, "-c", "posts", source)
    assert run.code == 1
    report = run.err_lines
    assert report[-1] == "imported 3 record(s), 3 failed"
    failed = report[:-1]
    assert len(failed) == 3, run.err
    assert any(f.startswith("line 2: not a JSON object") for f in failed)
    assert any(f.startswith("line 4: not a JSON object") for f in failed)
    assert any(f.startswith("line 3 (id ../x): ") and "Invalid id" in f for f in failed)
    stored = cli.records("posts")
    assert {"a", "c"} <= set(stored) and len(stored) == 3
    assert sorted(r["title"] for r in stored.values()) == ["first", "last", "no id"]


def test_import_reports_records_the_server_refuses_with_their_line(cli: Cli,
                                                                    tmp_path: Path) -> None:
    cli.client.create_collection(id="posts", bucket=cli.bucket)
    cli.client.collection("posts", bucket=cli.bucket).set_schema(Post)
    rows = [{"id": "ok1", "title": "fine"}, {"id": "bad1", "title": 5},
            {"id": "ok2", "title": "also fine", "status": "published"},
            {"id": "bad2", "views": 3}, {"id": "bad3", "title": "x", "status": "archived"}]
    source = write(tmp_path / "rows.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    run = cli("import", "-b", cli.bucket, "-c", "posts", source)
    assert run.code == 1
    assert run.err_lines[-1] == "imported 2 record(s), 3 failed"
    failed = sorted(run.err_lines[:-1])
    assert [f.split(":")[0] for f in failed] == ["line 2 (id bad1)", "line 4 (id bad2)",
                                                 "line 5 (id bad3)"]
    assert all("400" in f for f in failed)
    assert sorted(cli.records("posts")) == ["ok1", "ok2"]


@pytest.mark.parametrize("command", ["import", "load"])
def test_unparsable_input_file_is_bad_input(cli: Cli, tmp_path: Path, command: str) -> None:
    source = write(tmp_path / "broken.json", '[{"id": 1')
    args = ["import", "-b", cli.bucket, "-c", "posts", source] if command == "import" else [
        "load", "-b", cli.new_bucket_id(), source]
    run = cli(*args)
    line = one_error_line(run)
    assert run.code == 2 and "broken.json" in line


def test_missing_input_file_is_one_error_line(cli: Cli, tmp_path: Path) -> None:
    run = cli("import", "-b", cli.bucket, "-c", "posts", str(tmp_path / "nope.jsonl"))
    assert run.code in (1, 2)
    assert "nope.jsonl" in one_error_line(run)


@pytest.mark.parametrize("name", ["nope.jsonl", "broken.json"])
def test_import_whose_input_cannot_be_read_writes_nothing(cli: Cli, tmp_path: Path,
                                                          name: str) -> None:
    (tmp_path / "broken.json").write_text("[{")
    bucket = cli.new_bucket_id()
    run = cli("import", "-b", bucket, "-c", "posts", str(tmp_path / name))
    assert run.code != 0
    assert bucket not in {b["id"] for b in cli.client.get_buckets()}


# ============================================================================= dump/load


def seed_rich_bucket(cli: Cli) -> None:
    """A bucket with data and permissions, groups, collections (one with a schema set from
    a typed model, one with cache_expires, an empty one) and records."""
    bid, client = cli.bucket, cli.client
    client.update_bucket(id=bid, data={"title": "My blog", "lang": "fr"},
                         permissions={"read": ["system.Authenticated"]}, safe=False)
    client.create_group(id="editors", bucket=bid, data={"members": ["alice", "bob"]},
                        permissions={"read": ["system.Authenticated"]})
    client.create_group(id="nobody", bucket=bid, data={"members": []})
    cli.seed("posts", [], data={"description": "Blog posts"},
             permissions={"read": [f"/buckets/{bid}/groups/editors"],
                          "record:create": ["system.Authenticated"]})
    client.collection("posts", bucket=bid).set_schema(Post)
    cli.seed("posts", [*posts(12), {"id": "tricky", "title": "Tricky", "status": "published",
                                     "published": "2024-02-29", **TRICKY}])
    cli.seed("notes", [{"id": "n1", "text": "hello", "pinned": True},
                       {"id": "n2", "text": None, "size": 1.5}], data={"cache_expires": 3600})
    cli.seed("empty", [])


def snapshot(client: Client, bucket: str) -> dict[str, Any]:
    """Everything a dump should carry, read from the server (timestamps left out)."""
    b = client.get_bucket(id=bucket)
    groups = {}
    for g in client.get_groups(bucket=bucket):
        full = client.get_group(id=g["id"], bucket=bucket)
        groups[g["id"]] = {"data": content(full["data"]), "permissions": perms(full["permissions"])}
    collections = {}
    for c in client.get_collections(bucket=bucket):
        full = client.get_collection(id=c["id"], bucket=bucket)
        records = client.get_records(bucket=bucket, collection=c["id"])
        collections[c["id"]] = {
            "data": {k: v for k, v in full["data"].items() if k != "last_modified"},
            "permissions": perms(full["permissions"]),
            "records": {r["id"]: content(r) for r in records},
        }
    return {
        "bucket": {"data": {k: v for k, v in b["data"].items()
                            if k not in ("id", "last_modified")},
                   "permissions": perms(b["permissions"])},
        "groups": groups,
        "collections": collections,
    }


@pytest.mark.parametrize("suffix", ["yaml", "yml", "json"])
def test_dump_then_load_into_another_bucket(cli: Cli, tmp_path: Path, suffix: str) -> None:
    seed_rich_bucket(cli)
    target = tmp_path / f"blog.{suffix}"
    run = cli("dump", "-b", cli.bucket, "-o", str(target))
    assert run.code == 0 and run.out == ""
    assert run.err_lines[-1] == f"dumped bucket {cli.bucket}"
    assert sorted(run.err_lines[:-1]) == ["  empty: 0 record(s)", "  notes: 2 record(s)",
                                          "  posts: 13 record(s)"]
    text = target.read_text(encoding="utf-8")
    data = yaml.safe_load(text) if suffix != "json" else json.loads(text)
    if suffix != "json":
        assert not text.lstrip().startswith("{")  # real YAML, not JSON
    assert {"kinto-orm", "bucket", "groups", "collections"} <= set(data)
    assert data["bucket"]["data"]["id"] == cli.bucket

    copy = cli.new_bucket_id("copy")
    run = cli("load", "-b", copy, str(target))
    assert run.code == 0, run.err
    assert run.err_lines[-1] == f"loaded bucket {copy}"
    source, loaded = snapshot(cli.client, cli.bucket), snapshot(cli.client, copy)
    assert loaded == source
    # The pieces, spelled out.
    assert set(loaded["collections"]) == {"posts", "notes", "empty"}
    assert loaded["collections"]["posts"]["data"]["schema"] == Post.kinto_schema()
    assert loaded["collections"]["notes"]["data"]["cache_expires"] == 3600
    assert loaded["groups"]["editors"]["data"]["members"] == ["alice", "bob"]
    assert loaded["bucket"]["data"] == {"title": "My blog", "lang": "fr"}
    assert loaded["bucket"]["permissions"]["read"] == ["system.Authenticated"]
    assert loaded["collections"]["posts"]["records"]["tricky"] == {
        "id": "tricky", "title": "Tricky", "status": "published", "published": "2024-02-29",
        **TRICKY}
    # The schema is enforced in the copy too.
    with pytest.raises(Exception, match="400"):
        cli.client.create_record(data={"id": "x", "views": 1}, bucket=copy, collection="posts")


def test_load_twice_gives_the_same_result(cli: Cli, tmp_path: Path) -> None:
    seed_rich_bucket(cli)
    target = tmp_path / "blog.yaml"
    assert cli("dump", "-b", cli.bucket, "-o", str(target)).code == 0
    copy = cli.new_bucket_id("copy")
    assert cli("load", "-b", copy, str(target)).code == 0
    first = snapshot(cli.client, copy)
    run = cli("load", "-b", copy, str(target))
    assert run.code == 0, run.err
    assert run.err_lines[-1] == f"loaded bucket {copy}"
    assert snapshot(cli.client, copy) == first == snapshot(cli.client, cli.bucket)


def test_dump_to_stdout_and_load_from_stdin_recreates_the_bucket(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_rich_bucket(cli)
    before = snapshot(cli.client, cli.bucket)
    run = cli("dump", "-b", cli.bucket)
    assert run.code == 0
    dumped = json.loads(run.out)  # without -o: JSON on stdout
    assert len(dumped["collections"]) == 3
    cli.client.delete_bucket(id=cli.bucket)
    monkeypatch.setattr(sys, "stdin", io.StringIO(run.out))
    run = cli("load", "-")  # no -b: the bucket id of the dump
    assert run.code == 0, run.err
    assert snapshot(cli.client, cli.bucket) == before


def test_load_of_a_file_that_is_not_a_dump(cli: Cli, tmp_path: Path) -> None:
    source = write(tmp_path / "not-a-dump.yaml", "- just\n- a list\n")
    run = cli("load", source)
    assert run.code == 2
    assert "not a kinto-orm dump" in one_error_line(run)


def test_dump_and_load_keep_record_permissions(cli: Cli, tmp_path: Path) -> None:
    cli.seed("posts", [])
    cli.client.create_record(data={"id": "public", "title": "hi"}, bucket=cli.bucket,
                             collection="posts", permissions={"read": ["system.Everyone"]})
    target = tmp_path / "blog.json"
    assert cli("dump", "-b", cli.bucket, "-o", str(target)).code == 0
    copy = cli.new_bucket_id("copy")
    assert cli("load", "-b", copy, str(target)).code == 0
    record = cli.client.get_record(id="public", bucket=copy, collection="posts")
    assert "system.Everyone" in record["permissions"].get("read", [])


# ================================================================================ history


def test_history_newest_first_with_filters_and_limit(cli: Cli) -> None:
    client, bid = cli.client, cli.bucket
    client.create_collection(id="h", bucket=bid)
    client.create_record(data={"id": "r1", "v": 1}, bucket=bid, collection="h")
    client.update_record(data={"id": "r1", "v": 2}, bucket=bid, collection="h")
    client.create_record(data={"id": "r2"}, bucket=bid, collection="h")
    client.delete_record(id="r1", bucket=bid, collection="h")
    me = client.server_info()["user"]["id"]
    run = cli("history", "-b", bid)
    assert run.code == 0 and run.err == ""
    entries = [line.split() for line in run.out.splitlines()]
    assert all(len(e) == 5 and e[3] == "by" and e[4] == me for e in entries), run.out
    dates = [datetime.datetime.fromisoformat(e[0]) for e in entries]
    assert dates == sorted(dates, reverse=True)
    rec = f"/buckets/{bid}/collections/h/records"
    assert [(e[1], e[2]) for e in entries[:5]] == [
        ("delete", f"{rec}/r1"), ("create", f"{rec}/r2"), ("update", f"{rec}/r1"),
        ("create", f"{rec}/r1"), ("create", f"/buckets/{bid}/collections/h")]
    run = cli("history", "-b", bid, "--limit", "2")
    assert [line.split()[1] for line in run.out.splitlines()] == ["delete", "create"]
    run = cli("history", "-b", bid, "--resource-name", "collection")
    assert [line.split()[2] for line in run.out.splitlines()] == [f"/buckets/{bid}/collections/h"]
    run = cli("history", "-b", bid, "--resource-name", "record")
    assert len(run.out.splitlines()) == 4 and all(rec in line for line in run.out.splitlines())


# ================================================================================ codegen


def import_source(path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    name = f"generated_{path.stem.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


def test_codegen_from_a_schema_set_with_a_typed_model(cli: Cli, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    cli.client.create_collection(id="blog-posts", bucket=cli.bucket)
    cli.client.collection("blog-posts", bucket=cli.bucket).set_schema(Post)
    cli.client.create_record(data={"id": "p1", "title": "On the server", "tags": ["a"]},
                             bucket=cli.bucket, collection="blog-posts")
    run = cli("codegen", "-b", cli.bucket, "-c", "blog-posts")
    assert run.code == 0 and run.err == ""
    compile(run.out, "generated.py", "exec")
    target = tmp_path / "models.py"
    run = cli("codegen", "-b", cli.bucket, "-c", "blog-posts", "-o", str(target),
              "--class-name", "BlogPost")
    assert run.code == 0 and run.out == ""
    module = import_source(target, monkeypatch)
    BlogPost = module.BlogPost
    assert issubclass(BlogPost, Record)
    assert (BlogPost.kinto_bucket, BlogPost.kinto_collection) == (cli.bucket, "blog-posts")
    assert BlogPost.__doc__ == "A blog post."
    good = BlogPost(id="g1", title="Hello", views=3, tags=["x"], status="published",
                    published="2024-05-01")
    assert good.published == datetime.date(2024, 5, 1) and good.views == 3
    defaults = BlogPost(title="only a title")
    assert (defaults.views, defaults.tags, defaults.status, defaults.published) == (
        0, [], "draft", None)
    for bad in ({"views": 1}, {"title": "x", "status": "archived"},
                {"title": "x", "views": "many"}, {"title": "x", "tags": "not a list"},
                {"title": "x", "published": "someday"}):
        with pytest.raises(pydantic.ValidationError):
            BlogPost(**bad)
    # The generated model matches the server's schema, and reads the server's records.
    server_schema = cli.client.get_collection(id="blog-posts", bucket=cli.bucket)["data"][
        "schema"]
    assert BlogPost.kinto_schema()["required"] == server_schema["required"] == ["title"]
    assert set(BlogPost.kinto_schema()["properties"]) == set(server_schema["properties"])
    (stored,) = cli.client.records(BlogPost).all()
    assert isinstance(stored, BlogPost) and stored.title == "On the server"
    # A record built with the generated class is accepted by the server's schema.
    good.bind(cli.client).save()
    assert cli.records("blog-posts")["g1"]["published"] == "2024-05-01"


def test_codegen_without_schema_is_a_usage_error(cli: Cli) -> None:
    cli.seed("plain", [])
    run = cli("codegen", "-b", cli.bucket, "-c", "plain")
    assert run.code == 2 and run.out == ""
    assert "has no schema" in one_error_line(run)


# ======================================================================== quiet, errors


def test_quiet_prints_nothing_on_stderr_on_success(cli: Cli, tmp_path: Path) -> None:
    cli.seed("posts", posts(12))
    jsonl, dump = tmp_path / "posts.jsonl", tmp_path / "blog.yaml"
    copy = cli.new_bucket_id("copy")
    runs = {
        "export": cli("export", "-q", "-b", cli.bucket, "-c", "posts"),
        "export -o": cli("export", "--quiet", "-b", cli.bucket, "-c", "posts", "-o", str(jsonl)),
        "import": cli("import", "-q", "-b", cli.bucket, "-c", "copy", str(jsonl)),
        "dry-run": cli("import", "-q", "--dry-run", "-b", cli.bucket, "-c", "x", str(jsonl)),
        "dump": cli("dump", "-q", "-b", cli.bucket, "-o", str(dump)),
        "load": cli("load", "-q", "-b", copy, str(dump)),
        "tree": cli("tree", "-q", "-b", cli.bucket),
        "info": cli("info", "-q"),
        "history": cli("history", "-q", "-b", cli.bucket, "--limit", "3"),
    }
    for name, run in runs.items():
        assert (run.code, run.err) == (0, ""), name
    assert len(runs["export"].out.splitlines()) == 12
    assert len(cli.records("copy")) == 12 and len(cli.records("posts", copy)) == 12
    # Failed lines still fail the run under --quiet.
    bad = write(tmp_path / "bad.jsonl", '{"id": "ok"}\nnope\n')
    assert cli("import", "-q", "-b", cli.bucket, "-c", "copy", bad).code == 1


@pytest.mark.parametrize(("args", "missing"), [
    (["export"], "--bucket is required for 'export'."),
    (["export", "-c", "posts"], "--bucket is required for 'export'."),
    (["dump"], "--bucket is required for 'dump'."),
    (["history"], "--bucket is required for 'history'."),
    (["import", "rows.jsonl"], "--bucket is required for 'import'."),
    (["codegen", "-b", "blog"], "--collection is required for 'codegen'."),
])
def test_missing_options_are_usage_errors(cli: Cli, args: list[str], missing: str) -> None:
    run = cli(*args)
    assert run.code == 2 and run.out == ""
    assert one_error_line(run) == f"kinto-orm: error: {missing}"


def test_argparse_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["export", "--format", "xml"], ["nope"], ["import", "-b", "x"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2, argv
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.startswith("usage: kinto-orm")
        last = captured.err.splitlines()[-1]
        assert last.startswith("kinto-orm") and ": error: " in last, captured.err


@pytest.mark.parametrize("args", [
    ["export", "-c", "posts"],
    ["export"],
    ["dump"],
    ["history"],
    ["tree"],
    ["import", "-c", "posts", "ROWS"],
    ["load", "-b", "BUCKET", "DUMP"],
])
def test_someone_elses_bucket_is_one_error_line_and_exit_1(
    cli: Cli, other: Cli, tmp_path: Path, args: list[str]
) -> None:
    other.seed("posts", posts(2))
    rows = write(tmp_path / "rows.jsonl", '{"id": "a"}\n')
    dump = tmp_path / "mine.json"
    assert cli("dump", "-b", cli.bucket, "-o", str(dump)).code == 0
    args = [{"ROWS": rows, "BUCKET": other.bucket, "DUMP": str(dump)}.get(a, a) for a in args]
    if args[0] != "load":
        args += ["-b", other.bucket]
    run = cli(*args)
    assert run.code == 1
    assert "403" in one_error_line(run)
    assert other.records("posts").keys() == {"p000", "p001"}  # nothing written there
    assert set(other.client.get_bucket(id=other.bucket)["data"]) == {"id", "last_modified"}


def test_debug_shows_the_traceback(cli: Cli, other: Cli) -> None:
    run = cli("export", "-D", "-b", other.bucket, "-c", "posts")
    assert run.code == 1
    assert "Traceback (most recent call last)" in run.err
    assert "Forbidden" in run.err
    assert run.err_lines[-1].startswith("kinto-orm: error: ") and "403" in run.err_lines[-1]
    run = cli("export", "--debug")  # usage errors too
    assert run.code == 2 and "Traceback" in run.err
    assert run.err_lines[-1] == "kinto-orm: error: --bucket is required for 'export'."


def test_unreachable_server_is_one_error_line(capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KINTO_SERVER_URL", DEAD_URL)
    monkeypatch.setenv("KINTO_AUTH", "user:pass")
    assert main(["info"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("kinto-orm: error: ")
    assert f"cannot reach a Kinto server at {DEAD_URL} (Connection refused)" in err
    assert "kinto-orm serve" in err and "--server" in err and "KINTO_SERVER_URL" in err


def test_auth_option_wins_over_the_environment(kinto_server: Any, cli: Cli,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """-a wins over KINTO_AUTH; KINTO_AUTH alone gives another identity (no access)."""
    monkeypatch.setenv("KINTO_SERVER_URL", kinto_server.url)
    monkeypatch.setenv("KINTO_AUTH", ":".join(new_credentials()))
    cli.seed("posts", posts(1))
    assert cli("export", "-b", cli.bucket, "-c", "posts", options=False).code == 1
    run = cli("export", "-b", cli.bucket, "-c", "posts", "-a", cli.auth, options=False)
    assert run.code == 0 and len(run.out.splitlines()) == 1


def test_debug_logging_does_not_leak_between_runs(cli: Cli) -> None:
    first = cli("info", "-D")
    second = cli("info", "-D")
    assert first.code == second.code == 0
    assert "GET " in first.err and second.err == first.err
    plain = cli("info")
    assert plain.err == ""
