"""``KintoServer`` on PostgreSQL, and ``kinto-orm serve --backend postgresql``, run as a
user runs them (real initdb/pg_ctl, real Kinto). Skipped, saying why, without PostgreSQL."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from kinto_orm import Client
from kinto_orm import _postgres as pg
from kinto_orm.testing import KintoServer, PostgresUnavailable, free_port, new_credentials

MISSING = pg.postgresql_missing()
needs_postgresql = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")
SCRIPT = str(Path(sys.executable).with_name("kinto-orm"))


@needs_postgresql
def test_throw_away_cluster_is_made_used_and_removed() -> None:
    with KintoServer(backend="postgresql", history=False, attachments=False) as server:
        cluster = server._cluster
        assert cluster is not None and cluster.folder is not None and cluster.folder.exists()
        folder = cluster.folder
        with Client(server.url, auth=new_credentials()) as client:
            client.create_bucket(id="kept")
            assert [b["id"] for b in client.get_buckets()] == ["kept"]
        assert "postgresql" in repr(server)
    assert not folder.exists()
    assert not server.running


@needs_postgresql
def test_dsn_names_a_database_whose_data_outlives_the_server() -> None:
    auth = new_credentials()
    with pg.PostgresCluster() as cluster:
        dsn = cluster.create_database("mine")
        with KintoServer(dsn=dsn, history=False, attachments=False) as server:
            assert server.backend == "postgresql"
            with Client(server.url, auth=auth) as client:
                client.create_bucket(id="persists")
        with KintoServer(dsn=dsn, history=False, attachments=False) as again, \
                Client(again.url, auth=auth) as client:
            assert [b["id"] for b in client.get_buckets()] == ["persists"]
        assert cluster.folder is not None and cluster.folder.exists()  # not ours to remove


def test_missing_postgresql_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(pg, "_BIN_GLOBS", ())
    server = KintoServer(backend="postgresql")
    with pytest.raises(PostgresUnavailable) as caught:
        server.start()
    message = str(caught.value)
    assert "\n" not in message and message.startswith("PostgreSQL is not available: `initdb`")
    assert not server.running


def test_backend_is_checked_and_memory_stays_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KINTO_ORM_BACKEND", raising=False)
    assert KintoServer().backend == "memory"
    monkeypatch.setenv("KINTO_ORM_BACKEND", "postgresql")
    assert KintoServer().backend == "postgresql"
    with pytest.raises(ValueError, match="backend must be"):
        KintoServer(backend="sqlite")


@needs_postgresql
@pytest.mark.timeout(90)
def test_serve_with_postgresql_until_sigterm() -> None:
    port = free_port()
    proc = subprocess.Popen([SCRIPT, "serve", "--port", str(port), "--backend", "postgresql"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert banner == (f"Kinto is running at http://127.0.0.1:{port}/v1 "
                          "(postgresql backend; Ctrl-C stops it)\n"), banner + proc.stderr.read()
        with Client(f"http://127.0.0.1:{port}/v1", auth=new_credentials()) as client:
            client.create_bucket(id="dev")
        clusters = sorted(Path("/tmp").glob("kinto-orm-pg-*"))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        with pytest.raises(requests.RequestException):
            requests.get(f"http://127.0.0.1:{port}/v1/", timeout=2)
        assert not [c for c in clusters if c.exists() and not _in_use(c)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _in_use(folder: Path) -> bool:
    """A cluster of another test run still running (its postmaster.pid is there)."""
    return (folder / "data" / "postmaster.pid").exists()


def test_serve_without_postgresql_says_so_in_one_line(tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c",
         "import sys; from kinto_orm import _postgres as pg; pg._BIN_GLOBS = (); "
         "from kinto_orm.cli import main; sys.exit(main(sys.argv[1:]))",
         "serve", "--backend", "postgresql", "--port", str(free_port())],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "kinto-orm: error: PostgreSQL is not available: `initdb` was not found (install the "
        "PostgreSQL server, e.g. apt-get install postgresql)."
    ], done.stderr
