"""A real local Kinto server for tests and development, and pytest fixtures.

>>> with KintoServer() as server:
...     client = Client(server.url, auth=("alice", "s3cr3t"))
...     client.create_bucket(id="blog")

Needs the ``kinto`` package (``pip install "kinto-orm[server]"``). The server uses the
memory backend by default: everything is gone when it stops. ``backend="postgresql"``
runs it on PostgreSQL, the backend of production servers: in a throw-away cluster made
for it (PostgreSQL's ``initdb``/``pg_ctl`` must be installed) or in the database ``dsn``.

As a pytest plugin (enabled automatically when kinto-orm is installed) it offers the
fixtures ``kinto_server`` (one server per test session) and ``kinto_client`` (a
:class:`~kinto_orm.Client` with its own user and its own bucket, removed afterwards).
``pytest --kinto-backend postgresql`` (or ``KINTO_ORM_BACKEND=postgresql``) runs them on
PostgreSQL; ``--kinto-dsn``/``KINTO_ORM_DSN`` names an existing database to use.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import importlib.util
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from ._postgres import PostgresCluster, PostgresUnavailable, postgresql_missing

BACKENDS = ("memory", "postgresql")

INI_TEMPLATE = """\
[server:main]
use = egg:waitress#main
host = 127.0.0.1
port = %(http_port)s
threads = {threads}

[app:main]
{app}

[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %%(asctime)s %%(levelname)-5.5s [%%(name)s] %%(message)s
"""


# `python -m kinto` has no __main__ guard; call its entry point the way its script does.
_START = "import sys; from kinto.__main__ import main; sys.exit(main(sys.argv[1:]))"


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something already listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As waitress does: a port with only TIME_WAIT connections left is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


class KintoServer:
    """Start a real Kinto on a free loopback port.

    :param backend: ``"memory"`` or ``"postgresql"``; by default the ``KINTO_ORM_BACKEND``
        environment variable, else ``"memory"`` (or ``"postgresql"`` when ``dsn`` is given).
    :param dsn: with PostgreSQL, the database to use
        (``postgresql://user:password@host:port/db``, with ``TIMEZONE`` set to UTC; its
        data stays). Without it, a throw-away cluster is made and removed on stop.

    :param paginate_by: page size the server imposes (small values exercise pagination).
    :param history: include the history plugin (slows writes down).
    :param attachments: include kinto-attachment (files in a temporary folder).
    :param settings: more settings (they win over the defaults), e.g.
        ``{"kinto.batch_max_requests": "50"}``.
    :param includes: more plugins for ``kinto.includes``.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        paginate_by: int | None = None,
        history: bool = True,
        attachments: bool = True,
        settings: dict[str, str] | None = None,
        includes: list[str] | None = None,
        threads: int = 8,
        startup_timeout: float = 60.0,
        backend: str | None = None,
        dsn: str | None = None,
    ) -> None:
        if backend is None:
            backend = "postgresql" if dsn else os.environ.get("KINTO_ORM_BACKEND") or "memory"
        if backend not in BACKENDS:
            raise ValueError(f"backend must be 'memory' or 'postgresql', not {backend!r}.")
        if dsn and backend != "postgresql":
            raise ValueError("dsn= is for backend='postgresql'.")
        self.backend = backend
        self.dsn = dsn
        self._cluster: PostgresCluster | None = None
        self.port = port or free_port()
        self.paginate_by = paginate_by
        self.history = history
        self.attachments = attachments and _has_module("kinto_attachment")
        self.settings = dict(settings or {})
        self.includes = list(includes or [])
        self.threads = threads
        self.startup_timeout = startup_timeout
        self._dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._files: http.server.ThreadingHTTPServer | None = None
        self.files_port = free_port() if self.attachments else 0

    @property
    def files_url(self) -> str:
        """Where attached files are served (a small static server: Kinto does not serve
        local attachments itself)."""
        return f"http://127.0.0.1:{self.files_port}/"

    def _serve_files(self, folder: Path) -> None:
        handler = functools.partial(_QuietFiles, directory=str(folder))
        self._files = http.server.ThreadingHTTPServer(("127.0.0.1", self.files_port), handler)
        threading.Thread(target=self._files.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        """The server URL with its ``/v1`` prefix."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _ini(self, folder: Path) -> str:
        includes = ["kinto.plugins.default_bucket", "kinto.plugins.accounts", "kinto.plugins.flush"]
        if self.history:
            includes.append("kinto.plugins.history")
        if self.attachments:
            includes.append("kinto_attachment")
        includes += self.includes
        (folder / "attachments").mkdir(exist_ok=True)
        app = {"use": "egg:kinto"}
        for part in ("storage", "cache", "permission"):
            app[f"kinto.{part}_backend"] = f"kinto.core.{part}.{self.backend}"
            app[f"kinto.{part}_url"] = self.dsn or ""
        app.update({
            "kinto.includes": " ".join(includes),
            # Basic-auth user ids derive from this secret: stable for a given database,
            # so that a server restarted on the same ``dsn`` shows its users their data.
            "kinto.userid_hmac_secret": hashlib.sha256(self.dsn.encode()).hexdigest()
            if self.dsn else secrets.token_hex(16),
            "multiauth.policies": "account basicauth",
            "multiauth.policy.account.use":
                "kinto.plugins.accounts.authentication.AccountsAuthenticationPolicy",
            "multiauth.policy.basicauth.use":
                "kinto.core.authentication.BasicAuthAuthenticationPolicy",
            "kinto.account_create_principals": "system.Everyone",
            "kinto.bucket_create_principals": "system.Authenticated",
            "kinto.experimental_collection_schema_validation": "true",
            "kinto.experimental_permissions_endpoint": "true",
            "kinto.flush_endpoint_enabled": "true",
        })
        if self.attachments:
            app["kinto.attachment.base_path"] = str(folder / "attachments")
            app["kinto.attachment.base_url"] = self.files_url
            app["kinto.attachment.extensions"] = "any"
        if self.paginate_by:
            app["kinto.paginate_by"] = str(self.paginate_by)
        app.update(self.settings)
        body = "\n".join(f"{key} = {value}".rstrip() for key, value in app.items())
        return INI_TEMPLATE.format(threads=self.threads, app=body.replace("%", "%%"))

    def start(self) -> KintoServer:
        """Start the server and wait until it answers its heartbeat."""
        if not _has_module("kinto"):
            raise RuntimeError(
                "The Kinto server is not installed: pip install 'kinto-orm[server]'."
            )
        if port_in_use(self.port):  # else someone else's server would answer our heartbeat
            raise RuntimeError(f"Port {self.port} is already in use: pick another one.")
        self._dir = Path(tempfile.mkdtemp(prefix="kinto-orm-server-"))
        ini = self._dir / "kinto.ini"
        env = {**os.environ, "KINTO_INI": str(ini)}
        if self.backend == "postgresql":
            try:
                self._prepare_postgresql(ini, env)
            except BaseException:
                self.stop()
                raise
        else:
            ini.write_text(self._ini(self._dir))
        if self.attachments:
            self._serve_files(self._dir / "attachments")
        log = open(self._dir / "server.log", "wb")  # noqa: SIM115 - closed in stop()
        self._process = subprocess.Popen(
            [sys.executable, "-c", _START, "start", "--ini", str(ini), "--port", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self._dir,
        )
        self._log = log
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            try:
                if requests.get(self.url + "/__lbheartbeat__", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        tail = self.log_tail()
        self.stop()
        raise RuntimeError(f"Kinto did not start on {self.url}. Server log:\n{tail}")

    def _prepare_postgresql(self, ini: Path, env: dict[str, str]) -> None:
        """Make the database (unless ``dsn`` names one) and create Kinto's tables."""
        if importlib.util.find_spec("psycopg2") is None:
            raise PostgresUnavailable(postgresql_missing() or "psycopg2 is missing")
        if self.dsn is None:
            self._cluster = PostgresCluster().start()
            self.dsn = self._cluster.create_database("kinto")
        assert self._dir is not None
        ini.write_text(self._ini(self._dir))
        done = subprocess.run(
            [sys.executable, "-c", _START, "migrate", "--ini", str(ini)],
            capture_output=True, text=True, env=env, cwd=self._dir, timeout=120,
        )
        if done.returncode != 0:
            raise PostgresUnavailable(
                f"`kinto migrate` failed on {self._safe_dsn()}: {done.stderr.strip()[-2000:]}"
            )

    def _safe_dsn(self) -> str:
        """The DSN without its password (for messages)."""
        return re.sub(r"(//[^:/@]+):[^@]*@", r"\1:***@", self.dsn or "")

    def log_tail(self, size: int = 4000) -> str:
        if self._dir is None or not (self._dir / "server.log").exists():
            return ""
        return (self._dir / "server.log").read_bytes()[-size:].decode(errors="replace")

    def flush(self) -> None:
        """Erase everything on the server (``POST /__flush__``)."""
        requests.post(self.url + "/__flush__", timeout=10).raise_for_status()

    def stop(self) -> None:
        """Stop the server and remove its files."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._files is not None:
            self._files.shutdown()
            self._files.server_close()
            self._files = None
        if getattr(self, "_log", None) is not None:
            self._log.close()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        if self._cluster is not None:  # a database we made: it goes with the server
            self._cluster.stop()
            self._cluster = None
            self.dsn = None

    def __enter__(self) -> KintoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<KintoServer {self.url} {self.backend} {state}>"


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def unique_id(prefix: str = "t") -> str:
    """A fresh id usable as a Kinto bucket/collection/record id."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def new_credentials() -> tuple[str, str]:
    """Basic-auth credentials of a brand new identity (Kinto's basicauth policy)."""
    return (unique_id("user"), secrets.token_hex(8))


try:  # The pytest plugin: only when pytest is there.
    import pytest
except ImportError:  # pragma: no cover
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    def pytest_addoption(parser: Any) -> None:
        group = parser.getgroup("kinto-orm", "Kinto server of the kinto_server fixture")
        group.addoption(
            "--kinto-backend", choices=BACKENDS, default=None,
            help="storage backend of the test server: memory (default) or postgresql "
                 "(a throw-away cluster for the session); env KINTO_ORM_BACKEND",
        )
        group.addoption(
            "--kinto-dsn", default=None,
            help="an existing PostgreSQL database for the test server (implies "
                 "--kinto-backend postgresql); env KINTO_ORM_DSN",
        )

    def pytest_report_header(config: Any) -> str:
        backend, dsn = _chosen_backend(config)
        return f"kinto-orm test server: {backend} backend" + (" (given DSN)" if dsn else "")

    def _chosen_backend(config: Any) -> tuple[str, str | None]:
        dsn = config.getoption("kinto_dsn", None) or os.environ.get("KINTO_ORM_DSN") or None
        backend = (config.getoption("kinto_backend", None)
                   or os.environ.get("KINTO_ORM_BACKEND")
                   or ("postgresql" if dsn else "memory"))
        return backend, dsn

    @pytest.fixture(scope="session")
    def kinto_backend(pytestconfig: Any) -> str:
        """The storage backend of the session's test server: ``memory`` or
        ``postgresql`` (``--kinto-backend``, or ``KINTO_ORM_BACKEND``, which also tells
        it for a server named by ``KINTO_ORM_TEST_SERVER``)."""
        if os.environ.get("KINTO_ORM_TEST_SERVER"):  # only the environment can tell
            backend = os.environ.get("KINTO_ORM_BACKEND") or "memory"
            return backend if backend in BACKENDS else "memory"
        return _chosen_backend(pytestconfig)[0]

    @pytest.fixture(scope="session")
    def kinto_server(pytestconfig: Any) -> Iterator[Any]:
        """A Kinto server for the whole test session, on the backend chosen with
        ``--kinto-backend``/``--kinto-dsn`` (``KINTO_ORM_TEST_SERVER`` may name an
        already running one instead)."""
        url = os.environ.get("KINTO_ORM_TEST_SERVER")
        if url:
            yield _External(url)
            return
        backend, dsn = _chosen_backend(pytestconfig)
        paginate_by = int(os.environ.get("KINTO_ORM_PAGINATE_BY", "10"))
        with KintoServer(paginate_by=paginate_by, backend=backend, dsn=dsn) as srv:
            yield srv

    @pytest.fixture
    def kinto_client(kinto_server: Any) -> Iterator[Any]:
        """A Client with its own identity and its own (created) bucket."""
        from .client import Client

        bucket = unique_id("b")
        client = Client(kinto_server.url, auth=new_credentials(), bucket=bucket)
        client.create_bucket(id=bucket)
        try:
            yield client
        finally:
            try:
                client.delete_bucket(id=bucket, if_exists=True, safe=False)
            finally:
                client.close()


class _External:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
