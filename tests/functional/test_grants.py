"""grant / revoke against a real Kinto: JSON Patch on permissions, concurrent changes
kept, absent principals and missing create-permission lists handled."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kinto_orm import AsyncClient, Client, Record

from .conftest import Raw, rec_path, seed

pytestmark = pytest.mark.functional


def perms(raw: Raw, path: str) -> dict[str, list[str]]:
    return {k: sorted(v) for k, v in raw.body(path)["permissions"].items()}


def test_grant_adds_without_dropping_a_concurrent_change(
    client: Client, twin: Client, raw: Raw, bid: str, cid: str
) -> None:
    seed(raw, bid, cid, [{"id": "r1", "title": "x"}])
    record = client.collection(cid).record("r1").refresh()      # an old copy
    twin.patch_record(id="r1", collection=cid, permissions={"read": ["account:carol"]})
    sent: list[Any] = []
    client.on("request", lambda event: sent.append(event.request))
    assert record.grant("read", "account:bob", "/buckets/b/groups/g") is record
    (patch,) = sent
    assert patch.content_type == "application/json-patch+json"
    assert "If-Match" not in patch.headers
    assert [op["path"] for op in patch.json] == [
        "/permissions/read/account:bob", "/permissions/read/~1buckets~1b~1groups~1g"]
    stored = perms(raw, rec_path(bid, cid, "r1"))
    assert stored["read"] == ["/buckets/b/groups/g", "account:bob", "account:carol"]
    assert sorted(record.permissions.read) == stored["read"]    # the server's answer
    assert record.last_modified == raw.data(rec_path(bid, cid, "r1"))["last_modified"]


def test_revoke_ignores_absent_principals(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    raw.put(rec_path(bid, cid, "r1"), {}, permissions={"read": ["account:a", "account:b"]})
    record = client.collection(cid).record("r1")
    record.revoke("read", "account:a", "account:nobody")
    assert perms(raw, rec_path(bid, cid, "r1"))["read"] == ["account:b"]
    record.revoke("read", "account:nobody")                      # nothing to do: no error
    assert record.permissions.read == ["account:b"]
    record.revoke("read", "account:b")
    assert "read" not in perms(raw, rec_path(bid, cid, "r1"))


def test_grant_a_create_permission_the_object_does_not_have_yet(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    coll = client.collection(cid)
    coll.grant("record:create", "account:bob")
    assert perms(raw, f"/buckets/{bid}/collections/{cid}")["record:create"] == ["account:bob"]
    coll.grant("record_create", "account:carol")                # attribute name works too
    assert perms(raw, f"/buckets/{bid}/collections/{cid}")["record:create"] == [
        "account:bob", "account:carol"]
    client.bucket(bid).grant("collection:create", "system.Authenticated")
    assert perms(raw, f"/buckets/{bid}")["collection:create"] == ["system.Authenticated"]


def test_bad_permission_names_fail_before_sending(client: Client) -> None:
    record = client.collection("c").record("r1")
    with pytest.raises(ValueError, match="Unknown permission"):
        record.grant("admin", "account:bob")
    with pytest.raises(ValueError, match="at least one principal"):
        record.grant("read")


def test_query_grant_and_revoke(client: Client, raw: Raw, bid: str, cid: str) -> None:
    seed(raw, bid, cid, [{"id": f"r{i}", "n": i} for i in range(6)])
    query = client.records(collection=cid).filter(n__gte=3)
    result = query.grant("read", "account:bob")
    assert result.ok and result.done == 3
    read = {r: perms(raw, rec_path(bid, cid, r)).get("read") for r in
            (f"r{i}" for i in range(6))}
    assert read == {"r0": None, "r1": None, "r2": None, "r3": ["account:bob"],
                    "r4": ["account:bob"], "r5": ["account:bob"]}
    assert query.revoke("read", "account:bob").done == 3
    assert all("read" not in perms(raw, rec_path(bid, cid, f"r{i}")) for i in range(6))


def test_async_grant(kinto_server: Any, client: Client, raw: Raw, bid: str, cid: str) -> None:
    seed(raw, bid, cid, [{"id": f"r{i}"} for i in range(3)])

    async def run() -> int:
        async with AsyncClient(kinto_server.url, auth=client.session.auth, bucket=bid) as ac:
            record = await ac.collection(cid).record("r0", Record).arefresh()
            await record.agrant("write", "account:bob")
            await record.arevoke("write", "account:bob", "account:zed")
            result = await ac.records(collection=cid).agrant("read", "system.Everyone")
            return result.done

    assert asyncio.run(run()) == 3
    assert "account:bob" not in perms(raw, rec_path(bid, cid, "r0"))["write"]
    assert perms(raw, rec_path(bid, cid, "r2"))["read"] == ["system.Everyone"]


def test_typed_query_grant_reaches_records_that_do_not_fit(
    client: Client, raw: Raw, bid: str, cid: str
) -> None:
    class Titled(Record):
        title: str

    seed(raw, bid, cid, [{"id": "ok", "title": "x"}, {"id": "odd", "title": 3}])
    result = client.records(Titled, collection=cid).grant("read", "account:bob")
    assert result.ok and result.done == 2
    assert perms(raw, rec_path(bid, cid, "odd"))["read"] == ["account:bob"]
