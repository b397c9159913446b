"""Local Kinto servers for the benchmarks: start, prepare the bench bucket, fill."""

from __future__ import annotations

import uuid
from typing import Any

import requests
from workloads import BUCKET, COLLECTION, record_data

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
        ``batch_max_requests``; returns their ids."""
        ids = []
        path = f"/buckets/{BUCKET}/collections/{COLLECTION}/records/"
        for first in range(start, start + count, self.batch_max):
            last = min(start + count, first + self.batch_max)
            chunk = [(i, str(uuid.uuid4())) for i in range(first, last)]
            body = self._ok(self.session.post(self.url + "/batch", json={"requests": [
                {"method": "PUT", "path": path + rid, "body": {"data": record_data(i)}}
                for i, rid in chunk
            ]}))
            for answer in body["responses"]:
                if answer["status"] >= 400:
                    raise RuntimeError(f"fill failed: {answer}")
            ids += [rid for _, rid in chunk]
        return ids

    def count(self) -> int:
        response = self.session.head(
            f"{self.url}/buckets/{BUCKET}/collections/{COLLECTION}/records"
        )
        return int(response.headers["Total-Objects"])
