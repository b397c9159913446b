"""A replica's pull when the connection fails on a later page (a real dropped connection,
a truncated body, garbage), sync and async: the replica stays at its last complete state,
and the next pull catches up with nothing missed and nothing twice."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import requests

from kinto_orm import KintoException, Replica

from .conftest import Item, Place
from .proxy import DROP_AFTER, DROP_BEFORE, MALFORMED_JSON, TRUNCATED, FaultProxy, Rule


def seed(place: Place, start: int, count: int, title: str = "v1") -> None:
    """Write records straight to the server (``paginate_by`` 10: several pages)."""
    requests_ = [
        {"method": "PUT", "path": f"{place.records_path}/r{i:05d}",
         "body": {"data": {"n": i, "title": f"{title} {i}"}}}
        for i in range(start, start + count)
    ]
    with requests.Session() as session:
        session.auth = place.auth
        for first in range(0, len(requests_), 25):
            response = session.post(place.server_url + "/batch", timeout=30,
                                    json={"requests": requests_[first:first + 25]})
            assert response.status_code == 200


def state(replica: Replica[Item]) -> dict[str, Any]:
    return {item.id: item.title for item in replica.records().all()}


async def apull(replica: Replica[Item]) -> Any:
    return await replica.apull()


@pytest.mark.parametrize("fault", [DROP_BEFORE, DROP_AFTER, TRUNCATED, MALFORMED_JSON])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_a_pull_cut_on_a_later_page_catches_up(
    fault: str, is_async: bool, place: Place, proxy: FaultProxy, tmp_path: Path
) -> None:
    seed(place, 0, 12)
    client = place.aclient(proxy) if is_async else place.client(proxy)
    replica = client.records(Item).replica(tmp_path / "r.sqlite")

    def pull() -> Any:
        return asyncio.run(apull(replica)) if is_async else replica.pull()

    pull()
    before, stamp = state(replica), replica.timestamp
    seed(place, 0, 12, title="v2")
    seed(place, 100, 20)
    # The third page and the second try of it (a read is tried twice after a network
    # error, as kinto-http does; an answer that is not JSON is not tried again).
    proxy.set_plan([Rule(fault, nth=[3, 4], methods=["GET"], path="/records")])
    with pytest.raises(KintoException):
        pull()
    assert proxy.injected[fault] == (1 if fault == MALFORMED_JSON else 2)
    assert state(replica) == before and replica.timestamp == stamp
    proxy.set_plan([])
    report = pull()
    assert len(report.updated) == 12 and len(report.created) == 20
    assert report.deleted == []
    assert state(replica) == {r["id"]: r["title"] for r in place.server_records()}
    replica.close()
    if is_async:
        asyncio.run(client.close())
    else:
        client.close()
