"""Fixtures of the ``kinto-orm`` command-line tests.

Everything runs against the real Kinto of the ``kinto_server`` fixture (memory backend,
``kinto_orm.testing`` plugin); nothing is mocked. ``cli`` runs ``kinto_orm.cli.main`` in
the test process and captures what it prints with ``capsys``; set-up and read-backs go
through a plain :class:`kinto_orm.Client` with the same identity.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kinto_orm import Client, Record
from kinto_orm.cli import main
from kinto_orm.testing import new_credentials, unique_id

#: Nothing listens there: requests fail with a network error.
DEAD_URL = "http://127.0.0.1:9/v1"


class LOG:
    """``main`` adds a handler (on the stderr of the moment) to the ``kinto_orm`` logger,
    and sets its level, on each run with ``-v/-q/-D``, and never removes them: the tests
    put the logger back as it was, so one test's runs do not leak into the next."""

    logger = logging.getLogger("kinto_orm")

    @classmethod
    def state(cls) -> tuple[list[logging.Handler], int]:
        return list(cls.logger.handlers), cls.logger.level

    @classmethod
    def restore(cls, state: tuple[list[logging.Handler], int]) -> None:
        cls.logger.handlers[:] = state[0]
        cls.logger.setLevel(state[1])


#: The console script under test: the one installed next to this Python (.venv/bin).
SCRIPT = str(Path(sys.executable).with_name("kinto-orm"))


@dataclass
class Run:
    """What one ``kinto-orm`` run did."""

    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


@dataclass
class Cli:
    """One identity on the test server, its bucket, and a way to run the CLI as it."""

    url: str
    creds: tuple[str, str]
    client: Client
    bucket: str
    capsys: pytest.CaptureFixture[str]
    created: list[str] = field(default_factory=list)
    logger_state: tuple[list[logging.Handler], int] = field(default_factory=lambda: LOG.state())

    @property
    def auth(self) -> str:
        return ":".join(self.creds)

    @property
    def options(self) -> list[str]:
        """The ``-s/-a`` options naming this server and identity."""
        return ["-s", self.url, "-a", self.auth]

    def __call__(self, *args: str, options: bool = True) -> Run:
        """Run ``kinto-orm ARGS`` in-process (with ``-s/-a`` unless ``options=False``,
        then the environment gives them)."""
        self.capsys.readouterr()
        code = main([*args, *(self.options if options else [])])
        captured = self.capsys.readouterr()
        return Run(code, captured.out, captured.err)

    def env(self) -> dict[str, str]:
        """An environment for a subprocess run as this identity."""
        return {**os.environ, "KINTO_SERVER_URL": self.url, "KINTO_AUTH": self.auth}

    def new_bucket_id(self, prefix: str = "b") -> str:
        """A fresh bucket id, deleted after the test if something creates it."""
        bid = unique_id(prefix)
        self.created.append(bid)
        return bid

    def records(self, collection: str, bucket: str | None = None) -> dict[str, dict[str, Any]]:
        """The records of a collection on the server, by id."""
        found = self.client.get_records(bucket=bucket or self.bucket, collection=collection)
        return {r["id"]: r for r in found}

    def seed(self, collection: str, records: list[dict[str, Any]],
             bucket: str | None = None, **collection_kwargs: Any) -> None:
        """Create ``collection`` and write ``records`` into it (through batch)."""
        bucket = bucket or self.bucket
        self.client.create_collection(id=collection, bucket=bucket, if_not_exists=True,
                                      **collection_kwargs)
        if records:
            result = self.client.records(Record, bucket=bucket, collection=collection) \
                .bulk_save(records, safe=False)
            assert result.ok, result.failed


def make_cli(url: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    creds = new_credentials()
    client = Client(url, auth=creds)
    bucket = unique_id("b")
    client.create_bucket(id=bucket)
    return Cli(url=url, creds=creds, client=client, bucket=bucket, capsys=capsys,
               created=[bucket])


def drop(cli: Cli) -> None:
    LOG.restore(cli.logger_state)  # before any request: the leaked handlers' streams are gone
    try:
        for bid in cli.created:
            cli.client.delete_bucket(id=bid, if_exists=True, safe=False)
    finally:
        cli.client.close()


@pytest.fixture
def cli(kinto_server: Any, capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    """A new identity with its own bucket, and the CLI run as it."""
    obj = make_cli(kinto_server.url, capsys)
    try:
        yield obj
    finally:
        drop(obj)


@pytest.fixture
def other(kinto_server: Any, capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    """Someone else, with a bucket ``cli``'s identity may not touch."""
    obj = make_cli(kinto_server.url, capsys)
    try:
        yield obj
    finally:
        drop(obj)


@pytest.fixture(autouse=True)
def _restore_cli_logger() -> Iterator[None]:
    """Undo what ``main`` did to the ``kinto_orm`` logger during the test."""
    state = LOG.state()
    yield
    LOG.restore(state)


@pytest.fixture
def server_env(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """``cli`` whose server and credentials come from ``KINTO_SERVER_URL``/``KINTO_AUTH``."""
    monkeypatch.setenv("KINTO_SERVER_URL", cli.url)
    monkeypatch.setenv("KINTO_AUTH", cli.auth)
    return cli
