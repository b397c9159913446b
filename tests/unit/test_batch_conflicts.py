"""A batch whose sub-response is a transient conflict (409 errno 122): Kinto rolled back
every sub-request up to it, although it answered them 201. Checked against the real
server in tests/functional/test_concurrent_writes.py (PostgreSQL); here, the decisions."""

from __future__ import annotations

from typing import Any

import pytest

from kinto_orm import Client, KintoBatchException
from kinto_orm import protocol as core
from kinto_orm.batch import Batch
from kinto_orm.bulk import InFlight

from .conftest import FakeSend, make_response

CONFLICT = {"status": 409, "path": "", "headers": {},
            "body": {"code": 409, "errno": 122, "error": "Conflict",
                     "message": "Integrity constraint violated, please retry."}}


def created(rid: str) -> dict[str, Any]:
    return {"status": 201, "path": "", "headers": {}, "body": {"data": {"id": rid}}}


def batch_of(client: Client, count: int) -> Batch:
    client._server_info = {"settings": {"batch_max_requests": 25}}
    batch = Batch(client)
    for i in range(count):
        path = f"/buckets/b/collections/c/records/r{i}"
        batch.queue(core.request_op(core.Request("PUT", path, json={"data": {}})), f"r{i}")
    return batch


def sent_ids(request: core.Request) -> list[str]:
    return [sub["path"].rsplit("/", 1)[-1] for sub in request.json["requests"]]


def test_the_rolled_back_part_is_sent_again_after_a_short_wait() -> None:
    client = Client("http://127.0.0.1:9/v1")
    batch = batch_of(client, 4)
    send = FakeSend([
        make_response(200, {"responses": [created("r0"), CONFLICT, created("r2"),
                                          created("r3")]}),
        make_response(200, {"responses": [created("r0"), created("r1")]}),
    ])
    core.drive_sync(send, batch._op_flush())
    first, second = send.requests
    assert sent_ids(first) == ["r0", "r1", "r2", "r3"] and first.delay == 0
    assert sent_ids(second) == ["r0", "r1"]  # r0 was answered 201 but rolled back
    assert 0 < second.delay <= client.session.policy.conflict_base
    assert [body["data"]["id"] for body in batch.results()] == ["r0", "r1", "r2", "r3"]


def test_without_budget_the_rolled_back_part_is_reported_never_trusted() -> None:
    client = Client("http://127.0.0.1:9/v1")
    client.session.policy.conflict_retries = 0
    batch = batch_of(client, 3)
    send = FakeSend([make_response(200, {"responses": [created("r0"), CONFLICT,
                                                       created("r2")]})])
    with pytest.raises(KintoBatchException) as caught:
        core.drive_sync(send, batch._op_flush())
    failed = sorted(str(tag) for tag, _ in batch.failures)
    assert failed == ["r0", "r1"]  # r0's 201 is not believed
    assert all("not applied" in e.description for e in caught.value.exceptions)
    assert batch.results()[2] == {"data": {"id": "r2"}}


def test_in_flight_halves_on_struggle_and_grows_back_one_by_one() -> None:
    flow = InFlight(8)
    for _ in range(8):
        assert flow.can_start()
        flow.started()
    assert not flow.can_start()
    flow.finished(struggled=True)
    assert flow.limit == 4 and not flow.can_start()  # 7 running, 4 allowed
    for _ in range(3):
        flow.finished(struggled=True)
    assert flow.limit == 1
    for _ in range(4):
        flow.finished(struggled=False)
    assert flow.limit == 5 and flow.running == 0
    with pytest.raises(ValueError):
        InFlight(0)


def test_a_failed_chunk_shows_the_batch_error_in_results() -> None:
    """Each entry of a chunk whose ``POST /batch`` failed holds the batch's own error in
    ``results()``, as Kinto words it; its ``failures`` say what became of each request."""
    client = Client("http://127.0.0.1:9/v1")
    batch = batch_of(client, 2)
    send = FakeSend([make_response(400, {"code": 400, "errno": 107, "message": "bad"})])
    with pytest.raises(KintoBatchException):
        core.drive_sync(send, batch._op_flush())
    first, second = batch.results()
    assert first == second
    assert first["error"] == "BadRequest" and first["message"].startswith("POST /batch - 400")
    assert all("not applied" in (error.description or "") for _, error in batch.failures)
