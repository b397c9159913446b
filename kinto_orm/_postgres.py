"""A throw-away PostgreSQL cluster for local Kinto servers (tests, benchmarks, ``serve``).

>>> with PostgresCluster() as cluster:
...     dsn = cluster.create_database("kinto")   # postgresql://kinto:...@127.0.0.1:PORT/kinto

Made with the server's own ``initdb`` and ``pg_ctl`` in a temporary folder, listening on a
free loopback port, tuned for speed over durability (``fsync=off``), removed on stop.
``initdb`` refuses to run as root: as root, the commands run as the ``postgres`` user.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

#: Where distributions put the server binaries when they are not on the PATH.
_BIN_GLOBS = ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/opt/homebrew/opt/postgresql*/bin")

#: Durability is useless for a throw-away cluster: these make writes much cheaper.
_FAST = ("-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
         "-c max_connections=200")


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be used here (the message says why, in one line)."""


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in (f for pattern in _BIN_GLOBS for f in sorted(glob.glob(pattern), reverse=True)):
        candidate = os.path.join(folder, name)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _run_as() -> list[str]:
    """The command prefix that runs PostgreSQL tools as an unprivileged user."""
    if os.geteuid() != 0:
        return []
    return [shutil.which("runuser") or "runuser", "-u", "postgres", "--"]


def postgresql_missing() -> str | None:
    """Why a throw-away PostgreSQL cluster cannot be made here, or None when it can."""
    for tool in ("initdb", "pg_ctl"):
        if _binary(tool) is None:
            return (f"PostgreSQL is not available: `{tool}` was not found (install the "
                    "PostgreSQL server, e.g. apt-get install postgresql).")
    if importlib.util.find_spec("psycopg2") is None:
        return ("PostgreSQL is not available: Kinto's PostgreSQL driver is missing "
                "(pip install 'kinto-orm[server]', which installs kinto[postgresql]).")
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return ("PostgreSQL is not available: initdb refuses to run as root and there "
                    "is no `postgres` user to run it as.")
        if shutil.which("runuser") is None:
            return "PostgreSQL is not available: running as root needs `runuser`."
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresCluster:
    """A PostgreSQL cluster of its own in a temporary folder (see the module docstring).

    :param port: loopback port (a free one by default).
    """

    def __init__(self, *, port: int | None = None) -> None:
        self.port = port or _free_port()
        self.folder: Path | None = None
        self._password = secrets.token_hex(8)
        self._users: set[str] = set()

    @property
    def running(self) -> bool:
        return self.folder is not None

    def _tool(self, name: str, *args: str, timeout: float = 120) -> None:
        assert self.folder is not None
        binary = _binary(name)
        if binary is None:
            raise PostgresUnavailable(postgresql_missing() or f"{name} not found")
        done = subprocess.run(
            [*_run_as(), binary, *args], cwd=self.folder, capture_output=True, text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise PostgresUnavailable(
                f"PostgreSQL `{name}` failed ({done.returncode}): "
                + (done.stderr or done.stdout).strip()[-2000:] + self._log_tail()
            )

    def _log_tail(self) -> str:
        log = self.folder / "server.log" if self.folder else None
        if log is None or not log.exists():
            return ""
        return "\nserver log:\n" + log.read_text(errors="replace")[-2000:]

    def start(self) -> PostgresCluster:
        """Create the cluster and start its server (about 2 s)."""
        reason = postgresql_missing()
        if reason:
            raise PostgresUnavailable(reason)
        self.folder = Path(tempfile.mkdtemp(prefix="kinto-orm-pg-"))
        try:
            if os.geteuid() == 0:
                shutil.chown(self.folder, "postgres", "postgres")
            data = str(self.folder / "data")
            self._tool("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                       "--locale=C", "--no-sync")
            options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 {_FAST}"
            self._tool("pg_ctl", "-D", data, "-l", str(self.folder / "server.log"), "-w",
                       "-t", "60", "-o", options, "start")
        except BaseException:
            self.stop()
            raise
        return self

    def _connect(self, database: str = "postgres") -> Any:
        # Kinto's own driver (kinto[postgresql]); not imported at module level, as the
        # memory backend does not need it.
        psycopg2 = importlib.import_module("psycopg2")
        connection = psycopg2.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=database
        )
        connection.autocommit = True  # CREATE DATABASE refuses to run in a transaction
        return connection

    def create_database(self, name: str, user: str = "kinto") -> str:
        """Create database ``name`` owned by ``user`` (made once, with a random
        password), in UTC as Kinto requires; returns its DSN."""
        connection = self._connect()
        try:
            with connection.cursor() as cursor:
                if user not in self._users:
                    cursor.execute(f'CREATE USER "{user}" PASSWORD %s', (self._password,))
                    self._users.add(user)
                cursor.execute(f'CREATE DATABASE "{name}" OWNER "{user}" ENCODING \'UTF8\'')
                cursor.execute(f"ALTER DATABASE \"{name}\" SET TIMEZONE TO 'UTC'")
        finally:
            connection.close()
        return f"postgresql://{user}:{self._password}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        """Stop the server and remove every file of the cluster."""
        if self.folder is None:
            return
        data = self.folder / "data"
        if (data / "postmaster.pid").exists():
            try:
                self._tool("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop",
                           timeout=60)
            except (PostgresUnavailable, subprocess.TimeoutExpired):
                pass  # removing the folder below is what matters most
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<PostgresCluster 127.0.0.1:{self.port} {'running' if self.running else 'stopped'}>"
