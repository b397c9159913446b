"""The replica's SQLite file: one row per record, the timestamp it is at, in WAL mode.

Tables:

- ``records(id, data, last_modified, status, base)``: ``data`` is the record's JSON (the
  server's copy, or the local version while it is not pushed), ``last_modified`` the server
  version ``data`` came from (NULL for a local creation), ``status`` one of ``synced``,
  ``created``, ``updated``, ``deleted``, and ``base`` the server version a local change was
  made on (sent as ``If-Match`` by the push).
- ``meta(key, value)``: ``timestamp`` (the collection timestamp of the last complete pull),
  ``server`` and ``collection`` (what the file replicates: a file is never mixed up with
  another collection), ``format``.
- ``incoming``: a temporary table, one page of a pull on its way in.

Every pull is one transaction (see ``sync.py``); readers in other processes see the state
before it or after it, never between (WAL).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

FORMAT = "1"
STATUSES = ("synced", "created", "updated", "deleted")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    last_modified INTEGER,
    status TEXT NOT NULL DEFAULT 'synced',
    base INTEGER
);
CREATE INDEX IF NOT EXISTS records_pending ON records(status) WHERE status != 'synced';
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""


class Row:
    """One stored record: its id, JSON, server version, local status and base version."""

    __slots__ = ("base", "data", "id", "last_modified", "status")

    def __init__(
        self, id: str, data: str, last_modified: int | None, status: str, base: int | None
    ) -> None:
        self.id = id
        self.data = data
        self.last_modified = last_modified
        self.status = status
        self.base = base

    def content(self) -> dict[str, Any]:
        """The record's fields without ``last_modified`` (what two versions compare on)."""
        fields: dict[str, Any] = json.loads(self.data)
        fields.pop("last_modified", None)
        return fields


class Store:
    """The SQLite file of one replica (``":memory:"`` for a replica kept in memory)."""

    def __init__(self, path: str | os.PathLike[str], server: str, collection: str) -> None:
        self.path = os.fspath(path)
        # Autocommit: transactions are opened explicitly (BEGIN IMMEDIATE), so a pull is
        # exactly one transaction, whatever Python's sqlite3 module would do implicitly.
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        if self.path != ":memory:":
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        self.db.execute(
            "CREATE TEMP TABLE IF NOT EXISTS incoming (id TEXT PRIMARY KEY, data TEXT, "
            "last_modified INTEGER, deleted INTEGER)"
        )
        self._check_identity(server, collection)
        # Queries read through a connection of their own: they see the last committed
        # state, not the pages of a pull under way (an async pull between two pages).
        # A database in memory exists only for its one connection.
        self.reader = self.db
        if self.path != ":memory:":
            self.reader = sqlite3.connect(self.path, isolation_level=None, timeout=30)

    def _check_identity(self, server: str, collection: str) -> None:
        """Refuse a file that replicates another collection (or another server)."""
        known = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        if not known:
            with self.transaction():
                self.db.executemany(
                    "INSERT INTO meta(key, value) VALUES (?, ?)",
                    [("format", FORMAT), ("server", server), ("collection", collection)],
                )
            return
        if known.get("format") != FORMAT:
            raise ValueError(
                f"{self.path} is a replica of format {known.get('format')!r}, this kinto-orm "
                f"reads format {FORMAT!r}: use another file."
            )
        if (known.get("server"), known.get("collection")) != (server, collection):
            raise ValueError(
                f"{self.path} replicates {known.get('collection')} on {known.get('server')}, "
                f"not {collection} on {server}: use one file per collection."
            )

    def close(self) -> None:
        if self.reader is not self.db:
            self.reader.close()
        self.db.close()

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed at the end of the block, rolled back on error."""
        if self.db.in_transaction:
            raise RuntimeError(
                f"A pull or push is under way on the replica {self.path}: write to it after "
                "that ends (one writer at a time)."
            )
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ------------------------------------------------------------------ meta

    @property
    def timestamp(self) -> int | None:
        found = self.db.execute("SELECT value FROM meta WHERE key = 'timestamp'").fetchone()
        return int(found[0]) if found else None

    def set_timestamp(self, value: int) -> None:
        self.db.execute(
            "INSERT INTO meta(key, value) VALUES ('timestamp', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (str(value),)
        )

    # ------------------------------------------------------------------ rows

    def row(self, id: str) -> Row | None:
        found = self.db.execute(
            "SELECT id, data, last_modified, status, base FROM records WHERE id = ?", (id,)
        ).fetchone()
        return Row(*found) if found else None

    def pending(self) -> list[Row]:
        """The local changes a push sends."""
        rows = self.db.execute(
            "SELECT id, data, last_modified, status, base FROM records "
            "WHERE status != 'synced' ORDER BY id"
        ).fetchall()
        return [Row(*found) for found in rows]

    def put(self, row: Row) -> None:
        self.db.execute(
            "INSERT INTO records(id, data, last_modified, status, base) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET data = excluded.data, "
            "last_modified = excluded.last_modified, status = excluded.status, "
            "base = excluded.base",
            (row.id, row.data, row.last_modified, row.status, row.base),
        )

    def synced(self, id: str, data: str, last_modified: int) -> None:
        """Store the server's copy of a record as the local one."""
        self.put(Row(id, data, last_modified, "synced", last_modified))

    def remove(self, id: str) -> None:
        self.db.execute("DELETE FROM records WHERE id = ?", (id,))
