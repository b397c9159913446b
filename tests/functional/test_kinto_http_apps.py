"""What real kinto-http applications rely on, reproduced against the real Kinto: the
usage patterns of kinto-wizard (its loader: ``with await aclient.batch()``, logging
``batch.session.requests``, 4xx answers in a batch, a missing collection name) and of
remote-settings' cronjobs (an empty batch then ``server_info()``, ``purge_history()``,
``get_changeset(bust_cache=True)`` with ``kinto_http.client.random`` patched), and a
server URL without ``/v1``.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from kinto_orm import AsyncClient, Client, KintoBatchException, KintoException
from kinto_orm.protocol.failures import Redirected

from .conftest import Raw, rec_path

pytestmark = pytest.mark.functional

SCHEMA = {"type": "object", "required": ["title"],
          "properties": {"title": {"type": "string"}}}


def sent_by(client: Client) -> list[str]:
    """The ``"METHOD path"`` of every request ``client`` sends from now on."""
    sent: list[str] = []
    client.on("request", lambda event: sent.append(
        f"{event.request.method} {event.request.path}"))
    return sent


def aclient_of(kinto_server: Any, client: Client, **kwargs: Any) -> AsyncClient:
    return AsyncClient(kinto_server.url, auth=client.session.auth, **kwargs)


# ---------------------------------------------------------------------------- kinto-wizard


def test_wizard_loader_with_await_batch(
    kinto_server: Any, client: Client, raw: Raw, bid: str, caplog: pytest.LogCaptureFixture
) -> None:
    """kinto-wizard's loader: ``with await async_client.batch() as batch:``, awaited
    create/patch calls, ``batch.session.requests`` logged at the end of the block."""
    logged: list[str] = []

    async def load() -> None:
        async with aclient_of(kinto_server, client) as aclient:
            user = (await aclient.server_info())["user"]["id"]
            with await aclient.batch() as batch:
                await batch.patch_bucket(id=bid, data={"title": "Blog"},
                                         permissions={"read": ["system.Everyone"]})
                await batch.create_group(id="editors", bucket=bid, data={"members": [user]},
                                         safe=True)
                await batch.create_collection(id="posts", bucket=bid, data={"schema": SCHEMA},
                                              permissions={"write": ["/buckets/x/groups/y"]},
                                              safe=True)
                logged.append(f"Sending batch:\n\n{batch.session.requests}")
                queued = batch.session.requests
            assert [(method, path) for method, path, _, _ in queued] == [
                ("patch", f"/buckets/{bid}"),
                ("put", f"/buckets/{bid}/groups/editors"),
                ("put", f"/buckets/{bid}/collections/posts"),
            ]
            _, _, payload, headers = queued[2]
            assert payload == {"data": {"schema": SCHEMA},
                               "permissions": {"write": ["/buckets/x/groups/y"]}}
            assert headers == {"If-None-Match": "*"}
            assert queued[0][3] is None  # no headers: kinto-http's None

    with caplog.at_level(logging.WARNING, logger="kinto_orm.batch"):
        asyncio.run(load())
    assert raw.get(f"/buckets/{bid}").json()["data"]["title"] == "Blog"
    assert raw.get(f"/buckets/{bid}/groups/editors").status_code == 200
    assert raw.get(f"/buckets/{bid}/collections/posts").json()["data"]["schema"] == SCHEMA
    assert "('put', '/buckets/" in logged[0]
    # kinto-http's lines, at its level, under kinto_orm.batch.
    lines = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert lines == [
        ("kinto_orm.batch", "WARNING", f"Batch #0: PATCH /buckets/{bid} - 200 "),
        ("kinto_orm.batch", "WARNING", f"Batch #1: PUT /buckets/{bid}/groups/editors - 201 "),
        ("kinto_orm.batch", "WARNING",
         f"Batch #2: PUT /buckets/{bid}/collections/posts - 201 "),
    ]


def test_wizard_4xx_in_batch_raises_after_every_chunk(
    kinto_server: Any, client: Client, raw: Raw, bid: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A record the schema refuses: the other records (of later chunks too) are written,
    then KintoBatchException; with ``ignore_batch_4xx=True`` nothing is raised."""
    client.create_collection(id="c", data={"schema": SCHEMA})
    size = client.server_info()["settings"]["batch_max_requests"]
    count = size + 3  # two chunks; the refused record is in the first

    async def load(ignore: bool, prefix: str) -> None:
        async with aclient_of(kinto_server, client, ignore_batch_4xx=ignore) as aclient:
            with await aclient.batch(bucket=bid, collection="c") as batch:
                for i in range(count):
                    data = {"id": f"{prefix}{i}"} if i == 1 else {"id": f"{prefix}{i}",
                                                                  "title": "t"}
                    await batch.create_record(data=data)

    with pytest.raises(KintoBatchException) as caught, caplog.at_level(logging.ERROR):
        asyncio.run(load(False, "a"))
    assert [e.status_code for e in caught.value.exceptions] == [400]
    assert len(raw.all(rec_path(bid, "c"))) == count - 1
    errors = [r for r in caplog.records if r.name == "kinto_orm.batch"]
    assert len(errors) == 1 and errors[0].levelname == "ERROR"
    assert errors[0].getMessage().startswith(f"Batch #1: PUT {rec_path(bid, 'c', 'a1')} - 400 ")
    asyncio.run(load(True, "b"))
    assert len(raw.all(rec_path(bid, "c"))) == 2 * (count - 1)


def test_missing_collection_name_is_a_kinto_exception(client: Client, bid: str) -> None:
    """kinto-wizard expects ``get_collection(bucket=...)`` without a name to raise
    KintoException (kinto-http's ``Cannot get collection endpoint``); also a ValueError."""
    sent = sent_by(client)
    with pytest.raises(KintoException) as caught:
        client.get_collection(bucket=bid)
    assert isinstance(caught.value, ValueError)
    assert "no collection given" in str(caught.value)
    with pytest.raises(KintoException):
        client.get_records(bucket=bid)
    assert sent == []


# ---------------------------------------------------------------------------- cronjobs


def test_empty_batch_then_server_info_reads_the_root_twice(client: Client) -> None:
    """remote-settings' backport job counts the ``GET /v1/`` after a batch: one for the
    batch's size (kinto-http reads it even for an empty batch), one for server_info()."""
    client._server_info = None
    sent = sent_by(client)
    with client.batch() as batch:
        pass
    assert batch.results() == []
    assert client.server_info()["capabilities"]
    with client.batch() as batch:  # each cache is read once per client
        batch.create_collection(id="c")
    client.server_info()
    assert sent == ["GET /", "GET /", "POST /batch"]


def test_purge_history_sends_no_probe(client: Client, bid: str) -> None:
    client._server_info = None
    sent = sent_by(client)
    client.create_collection(id="c")
    purged = client.purge_history(bucket=bid)
    assert [entry["deleted"] for entry in purged] == [True] * len(purged)
    assert sent == [f"PUT /buckets/{bid}/collections/c", f"DELETE /buckets/{bid}/history"]
    assert client.get_history(bucket=bid) == []


def test_changeset_cache_buster_comes_from_kinto_orm_client_random(
    client: Client, bid: str
) -> None:
    """remote-settings' tests patch ``kinto_http.client.random`` to know ``_expected``."""
    params: list[Any] = []
    client.on("request", lambda event: params.append(event.request.params))
    with mock.patch("kinto_orm.client.random") as patched:
        patched.randint.return_value = 42
        with pytest.raises(KintoException):  # a plain Kinto has no changeset endpoint
            client.get_changeset(bucket=bid, collection="c", bust_cache=True)
    assert params[-1]["_expected"] == "42"


# ---------------------------------------------------------------------------- server URL


def test_server_url_without_v1_names_the_url_to_use(kinto_server: Any, client: Client) -> None:
    root = kinto_server.url.removesuffix("/v1")
    with Client(root, auth=client.session.auth) as wrong:
        with pytest.raises(Redirected) as caught:
            wrong.server_info()
        assert caught.value.server_url == kinto_server.url
        assert f"Use server_url={kinto_server.url!r}" in str(caught.value)
        assert caught.value.status_code == 307
        with pytest.raises(KintoException, match=r"Use server_url="):
            wrong.create_bucket(id="x")
        with pytest.raises(KintoException, match=r"Use server_url="):
            wrong.info()

    async def run() -> None:
        async with AsyncClient(root, auth=client.session.auth) as awrong:
            with pytest.raises(Redirected, match=r"Use server_url="):
                await awrong.server_info()

    asyncio.run(run())


def test_cli_on_a_url_without_v1_exits_non_zero(kinto_server: Any) -> None:
    root = kinto_server.url.removesuffix("/v1")
    script = Path(sys.executable).parent / "kinto-orm"
    run = subprocess.run([str(script), "info", "--server", root], capture_output=True,
                         text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert run.returncode == 1, run
    assert f"use --server {kinto_server.url}" in run.stderr
    assert "Traceback" not in run.stderr
