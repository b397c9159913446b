"""Attachment uploads of NEW records when the connection fails, through the fault proxy
in front of the real Kinto: the record exists whole (with its file) or not at all, and
the client says which. The server's records are read directly, not through the proxy."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest

from kinto_orm import Record
from kinto_orm.errors import NetworkError

from .conftest import Place
from .proxy import DROP_AFTER, DROP_BEFORE, FaultProxy, Rule

UPLOAD: dict[str, Any] = {"path": r"/attachment$", "methods": ["POST"]}
FILE = b"quarterly numbers\n" * 20


def attach_new(place: Place, proxy: FaultProxy, is_async: bool, **settings: Any) -> Record:
    """``Record(id="r1").attach(FILE)`` through the proxy; re-raises the library's error."""
    if not is_async:
        with place.client(proxy, **settings) as client:
            return Record(id="r1", title="Q3").bind(client).attach(FILE, filename="q3.txt")

    async def run() -> Record:
        async with place.aclient(proxy, **settings) as aclient:
            record = Record(id="r1", title="Q3").bind(aclient)
            return await record.aattach(FILE, filename="q3.txt")

    return asyncio.run(run())


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_upload_lost_before_the_server_creates_nothing(
    place: Place, proxy: FaultProxy, is_async: bool
) -> None:
    proxy.set_plan([Rule(DROP_BEFORE, always=True, **UPLOAD)])
    with pytest.raises(NetworkError):
        attach_new(place, proxy, is_async)
    assert place.server_records() == []
    assert len(proxy.events_for("POST")) == 1


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_upload_whose_answer_is_lost_is_found_complete(
    place: Place, proxy: FaultProxy, is_async: bool
) -> None:
    """No retry allowed: the client reads the record to learn that its upload landed."""
    proxy.set_plan([Rule(DROP_AFTER, always=True, **UPLOAD)])
    record = attach_new(place, proxy, is_async)
    assert record.attachment is not None
    assert record.attachment.hash == hashlib.sha256(FILE).hexdigest()
    (stored,) = place.server_records()
    assert stored["title"] == "Q3" and stored["attachment"]["hash"] == record.attachment.hash
    assert len(proxy.events_for("POST")) == 1  # not sent twice


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_upload_retried_after_a_lost_answer(
    place: Place, proxy: FaultProxy, is_async: bool
) -> None:
    proxy.set_plan([Rule(DROP_AFTER, nth=[1], **UPLOAD)])
    record = attach_new(place, proxy, is_async, retry=2, retry_after=0)
    (stored,) = place.server_records()
    assert record.attachment is not None
    assert stored["attachment"] == record.attachment.model_dump()
    assert len(proxy.events_for("POST")) == 2
