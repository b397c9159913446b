"""kinto-http's batch, decided in the core (scripted answers; the real server is in
tests/functional/test_kinto_http_apps.py and tests/faults): a 5xx answer stops the batch,
4xx answers are raised after every chunk, an answer that lost responses is refused, the
``Batch #N`` lines, ``batch.session.requests`` and ``batch.session.request()``."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from kinto_orm import AsyncClient, Client, KintoBatchException, KintoException, ServerError
from kinto_orm import protocol as core
from kinto_orm.batch import Batch

from .conftest import FakeSend, make_response


def answer(status: int, rid: str) -> dict[str, Any]:
    body = {"data": {"id": rid}} if status < 400 else {"code": status, "message": f"m{rid}"}
    return {"status": status, "path": "", "headers": {}, "body": body}


def kinto_http_batch(client: Client, count: int, size: int = 2) -> Batch[Client]:
    client._server_settings = {"batch_max_requests": size}
    batch = Batch(client, kinto_http=True)
    for i in range(count):
        path = f"/buckets/b/collections/c/records/r{i}"
        batch.queue(core.request_op(core.Request("PUT", path, json={"data": {}})), f"r{i}")
    return batch


def test_a_5xx_answer_stops_the_batch_and_is_raised() -> None:
    client = Client("http://127.0.0.1:9/v1")
    batch = kinto_http_batch(client, 6)
    send = FakeSend([
        make_response(200, {"responses": [answer(201, "r0"), answer(400, "r1")]}),
        make_response(200, {"responses": [answer(201, "r2"), answer(500, "r3")]}),
    ])
    with pytest.raises(ServerError) as caught:
        core.drive_sync(send, batch._op_flush())
    assert not isinstance(caught.value, KintoBatchException)  # kinto-http raises it alone
    assert str(caught.value).startswith("PUT /buckets/b/collections/c/records/r3 - 500 500 - {")
    assert len(send.requests) == 2  # the third chunk is never sent
    errors = {tag: error for tag, error in batch.failures}
    assert sorted(errors) == ["r1", "r3", "r4", "r5"]
    assert errors["r4"] is not None and "not sent" in errors["r4"].description


def test_4xx_answers_are_raised_after_every_chunk() -> None:
    client = Client("http://127.0.0.1:9/v1")
    batch = kinto_http_batch(client, 4)
    send = FakeSend([
        make_response(200, {"responses": [answer(400, "r0"), answer(201, "r1")]}),
        make_response(200, {"responses": [answer(201, "r2"), answer(403, "r3")]}),
    ])
    with pytest.raises(KintoBatchException) as caught:
        core.drive_sync(send, batch._op_flush())
    assert [e.status_code for e in caught.value.exceptions] == [400, 403]
    assert len(send.requests) == 2


def test_an_answer_that_lost_responses_is_refused() -> None:
    """kinto-http accepts ``{"responses": []}`` for one queued request (its results are
    then empty); kinto-orm refuses it: nobody can tell whether the request was applied."""
    client = Client("http://127.0.0.1:9/v1")
    batch = kinto_http_batch(client, 1)
    send = FakeSend([make_response(200, {"responses": []})])
    with pytest.raises(KintoException, match=r"expected 1 responses"):
        core.drive_sync(send, batch._op_flush())


def test_batch_lines_at_kinto_http_levels(caplog: pytest.LogCaptureFixture) -> None:
    client = Client("http://127.0.0.1:9/v1")
    batch = kinto_http_batch(client, 3)
    send = FakeSend([
        make_response(200, {"responses": [answer(201, "r0"), answer(404, "r1")]}),
        make_response(200, {"responses": [answer(200, "r2")]}),
    ])
    with caplog.at_level(logging.DEBUG, logger="kinto_orm.batch"), pytest.raises(
        KintoBatchException
    ):
        core.drive_sync(send, batch._op_flush())
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.levelno > 10]
    assert lines == [
        ("WARNING", "Batch #0: PUT /buckets/b/collections/c/records/r0 - 201 "),
        ("ERROR", "Batch #1: PUT /buckets/b/collections/c/records/r1 - 404 mr1"),
        ("WARNING", "Batch #2: PUT /buckets/b/collections/c/records/r2 - 200 "),
    ]
    debug = [r.getMessage() for r in caplog.records if r.levelno == 10]
    assert '"status":404' in debug[1] and '"path":"/buckets/b/collections/c/records/r1"' in debug[1]


def test_session_requests_and_a_queued_session_request() -> None:
    client = Client("http://127.0.0.1:9/v1", bucket="b", dry_mode=True)
    with client.batch() as batch:
        batch.create_collection(id="c", data={"x": 1}, safe=True)
        body, headers = batch.session.request("post", "/buckets/b/groups", data={"id": "g"})
        assert body == {} and headers == {}  # kinto-http's placeholders
        assert batch.session.requests == [
            ("put", "/buckets/b/collections/c", {"data": {"x": 1}}, {"If-None-Match": "*"}),
            ("post", "/buckets/b/groups", {"data": {"id": "g"}}, None),
        ]
        assert batch.session.server_url == client.session.server_url
    assert client.session.requests == []
    assert batch.results() == [{}, {}]


def test_await_gives_the_batch_itself() -> None:
    import asyncio

    async def main() -> None:
        async with AsyncClient("http://127.0.0.1:9/v1", bucket="b", dry_mode=True) as aclient:
            batch = aclient.batch()
            assert await batch is batch
            with batch as view:
                await view.create_collection(id="c")
                assert [r[:2] for r in view.session.requests] == [
                    ("put", "/buckets/b/collections/c")]
            assert view.results() == [{}]

    asyncio.run(main())


def test_kinto_http_info_lines(caplog: pytest.LogCaptureFixture) -> None:
    """kinto-http logs each call at INFO (``kinto_http.client``): ``kinto_orm.client``."""
    client = Client("http://127.0.0.1:9/v1", bucket="b", collection="c", dry_mode=True)
    with caplog.at_level(logging.INFO, logger="kinto_orm.client"):
        client.create_bucket(id="x")
        client.patch_collection(data={"a": 1})
        client.update_record(data={"id": "r1"})
        client.delete_record(id="r2", bucket="other")
        client.get_records()  # kinto-http has no line for it
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records
            if r.name == "kinto_orm.client"] == [
        ("kinto_orm.client", "INFO", "Create bucket 'x'"),
        ("kinto_orm.client", "INFO", "Patch collection 'c' in bucket 'b'"),
        ("kinto_orm.client", "INFO", "Update record with id 'r1' in collection 'c' in bucket 'b'"),
        ("kinto_orm.client", "INFO",
         "Delete record with id 'r2' from collection 'c' in bucket 'other'"),
    ]


def test_mocked_patterns_of_remote_settings_cronjobs() -> None:
    """What remote-settings' cronjobs tests count with ``responses``: purge_history() is
    one DELETE (no capability probe); an empty batch then server_info() are two GET /v1/;
    a mocked batch answer that lost responses is refused, saying so."""
    import responses

    url = "http://kinto.test/v1"
    with responses.RequestsMock() as mock:
        mock.add(responses.DELETE, f"{url}/buckets/main/history", json={"data": []})
        mock.add(responses.GET, f"{url}/", json={"settings": {"batch_max_requests": 10},
                                                 "capabilities": {}})
        mock.add(responses.POST, f"{url}/batch", json={"responses": []})
        client = Client(url, bucket="main", collection="c")
        assert client.purge_history() == []
        with client.batch():
            pass
        client.server_info()
        assert [(c.request.method, c.request.url) for c in mock.calls] == [
            ("DELETE", f"{url}/buckets/main/history"), ("GET", f"{url}/"), ("GET", f"{url}/")]
        with pytest.raises(KintoException, match=r"a mocked POST /batch must too"), \
                client.batch() as batch:
            batch.create_record(data={"id": "r1"})
