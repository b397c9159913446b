"""Local Kinto servers for the benchmarks: start, prepare the bench bucket, fill, and
read the CPU time the server (and its PostgreSQL, if any) has used."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import requests
from workloads import BUCKET, COLLECTION, record_data, record_id

from kinto_orm.testing import KintoServer, new_credentials


class BenchServer:
    """A fresh Kinto (memory or PostgreSQL, no history, no attachments) with a bench user
    allowed to write in bucket ``bench``, collection ``todos`` created."""

    def __init__(self, settings: dict[str, str], backend: str = "memory") -> None:
        self.server = KintoServer(history=False, attachments=False, settings=settings,
                                  backend=backend)
        self.auth = new_credentials()
        self.session = requests.Session()
        self.session.auth = self.auth

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> BenchServer:
        self.server.start()
        try:
            self._prepare()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.session.close()
        self.server.stop()

    def _prepare(self) -> None:
        info = self.session.get(self.url + "/").json()
        user_id = info["user"]["id"]
        # Give write on the bucket explicitly: with kinto.explicit_permissions = false the
        # creator is not added to it.
        self._ok(self.session.put(
            f"{self.url}/buckets/{BUCKET}", json={"permissions": {"write": [user_id]}}
        ))
        self._ok(self.session.put(f"{self.url}/buckets/{BUCKET}/collections/{COLLECTION}"))
        self.batch_max = int(info["settings"]["batch_max_requests"])

    @staticmethod
    def _ok(response: requests.Response) -> Any:
        if response.status_code >= 400:
            raise RuntimeError(f"{response.request.method} {response.url}: "
                               f"{response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def fill(self, count: int, start: int = 0) -> list[str]:
        """Create ``count`` records with raw ``POST /batch`` chunks of the server's
        ``batch_max_requests``, record number ``i`` with id ``record_id(i)``; returns
        their ids."""
        if self.server.dsn and count:
            return self._fill_sql(count, start)
        ids = []
        path = f"/buckets/{BUCKET}/collections/{COLLECTION}/records/"
        for first in range(start, start + count, self.batch_max):
            last = min(start + count, first + self.batch_max)
            chunk = [(i, record_id(i)) for i in range(first, last)]
            body = self._ok(self.session.post(self.url + "/batch", json={"requests": [
                {"method": "PUT", "path": path + rid, "body": {"data": record_data(i)}}
                for i, rid in chunk
            ]}))
            for answer in body["responses"]:
                if answer["status"] >= 400:
                    raise RuntimeError(f"fill failed: {answer}")
            ids += [rid for _, rid in chunk]
        return ids

    def _fill_sql(self, count: int, start: int) -> list[str]:
        """On PostgreSQL, the same records inserted straight into Kinto's ``objects``
        table (its trigger gives each one a ``last_modified``, as Kinto's own insert
        does): through the API, 50,000 records take Kinto 5 to 10 minutes of CPU there,
        through SQL a few seconds. Filling is setup, never measured."""
        import psycopg2
        from psycopg2.extras import Json, execute_values

        parent = f"/buckets/{BUCKET}/collections/{COLLECTION}"
        ids = [record_id(i) for i in range(start, start + count)]
        rows = [(rid, parent, "record", Json(record_data(i)), False)
                for rid, i in zip(ids, range(start, start + count))]
        connection = psycopg2.connect(self.server.dsn)
        try:
            with connection, connection.cursor() as cursor:
                execute_values(cursor, "INSERT INTO objects (id, parent_id, resource_name, "
                               "data, deleted) VALUES %s", rows, page_size=1000)
        finally:
            connection.close()
        if self.count() != start + count:
            raise RuntimeError(f"fill: the server holds {self.count()} records, "
                               f"not {start + count}")
        return ids

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU time used so far by the Kinto process (and its children) and, on
        PostgreSQL, by the cluster's processes (postmaster and backends; else 0)."""
        process = self.server._process
        kinto = process_tree_cpu(process.pid) if process is not None else 0.0
        cluster = self.server._cluster
        if cluster is None or cluster.folder is None:
            return kinto, 0.0
        postmaster = int((cluster.folder / "data" / "postmaster.pid").read_text().split()[0])
        return kinto, process_tree_cpu(postmaster)

    def count(self) -> int:
        response = self.session.head(
            f"{self.url}/buckets/{BUCKET}/collections/{COLLECTION}/records"
        )
        return int(response.headers["Total-Objects"])


def _stat(pid: int) -> list[str]:
    # The fields after the command name (which may hold spaces): field 3 (state) is [0].
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_tree_cpu(root: int) -> float:
    """User + system CPU seconds of ``root`` and every live process under it, plus what
    their children that already exited used (``cutime``/``cstime``, once reaped)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                children.setdefault(int(_stat(int(entry))[1]), []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass  # gone meanwhile
    ticks, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            fields = _stat(pid)
        except OSError:
            continue
        ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        todo += children.get(pid, [])
    return ticks / os.sysconf("SC_CLK_TCK")
