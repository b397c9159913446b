"""Bad input from both sides: answers that are not Kinto JSON, and ids that must never
reach the network."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pydantic import ValidationError

from kinto_orm import KintoException, ServerError

from .conftest import Item, Place
from .proxy import HTML_BAD_GATEWAY, MALFORMED_JSON, FaultProxy, Rule

# ---------------------------------------------------------------------------- answers

#: name -> (sync call, async call) on a client whose collection holds record r00000.
CALLS: dict[str, tuple[Any, Any]] = {
    "server_info": (lambda c: c.server_info(), lambda c: c.server_info()),
    "get_record": (lambda c: c.get_record(id="r00000"), lambda c: c.get_record(id="r00000")),
    "get_records": (lambda c: c.get_records(), lambda c: c.get_records()),
    "query_all": (lambda c: c.records(Item).all(), lambda c: c.records(Item).aall()),
    "create_record": (
        lambda c: c.create_record(data={"n": 1, "title": "x"}),
        lambda c: c.create_record(data={"n": 1, "title": "x"}),
    ),
    "model_save": (
        lambda c: Item(id="r00001", n=1, title="x").bind(c).save(),
        lambda c: Item(id="r00001", n=1, title="x").bind(c).asave(),
    ),
    "model_refresh": (
        lambda c: Item(id="r00000", n=0, title="x").bind(c).refresh(),
        lambda c: Item(id="r00000", n=0, title="x").bind(c).arefresh(),
    ),
}


def call(place: Place, proxy: FaultProxy, name: str, is_async: bool, **settings: Any) -> Any:
    sync_call, async_call = CALLS[name]
    if not is_async:
        with place.client(proxy, timeout=10, **settings) as client:
            return sync_call(client)

    async def run() -> Any:
        async with place.aclient(proxy, timeout=10, **settings) as aclient:
            return await async_call(aclient)

    return asyncio.run(run())


@pytest.fixture
def one_record(place: Place, proxy: FaultProxy) -> Place:
    with place.client(proxy) as client:
        place.items(client, 1)[0].save()
    return place


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("name", list(CALLS))
def test_malformed_json_gives_a_clear_kinto_exception(
    name: str, is_async: bool, one_record: Place, proxy: FaultProxy
) -> None:
    proxy.set_plan([Rule(MALFORMED_JSON, always=True)])
    with pytest.raises(KintoException) as caught:
        call(one_record, proxy, name, is_async, retry=2, retry_after=0)
    error = caught.value
    assert not isinstance(error, (json.JSONDecodeError, ValidationError))
    assert "not JSON" in str(error), str(error)
    assert error.status_code == 200
    assert proxy.injected[MALFORMED_JSON] == 1, "a 200 answer must not be retried"


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("name", ["get_record", "get_records", "query_all", "model_save"])
def test_html_error_page_gives_a_clear_server_error(
    name: str, is_async: bool, one_record: Place, proxy: FaultProxy
) -> None:
    proxy.set_plan([Rule(HTML_BAD_GATEWAY, always=True, path="/records")])
    with pytest.raises(ServerError) as caught:
        call(one_record, proxy, name, is_async)
    error = caught.value
    assert error.status_code == 502
    text = error.description
    assert "non-JSON" in text and "502 Bad Gateway" in text, text
    assert error.errno is None


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_html_error_page_in_a_batch_is_raised_and_reported_per_operation(
    is_async: bool, place: Place, proxy: FaultProxy
) -> None:
    """As kinto-http, the failed ``POST /batch``'s own error is raised; the batch's
    ``failures`` name each operation it carried."""
    proxy.set_plan([Rule(HTML_BAD_GATEWAY, always=True, path="/batch$")])
    if is_async:

        async def run() -> Any:
            async with place.aclient(proxy, timeout=10) as aclient:
                batch = aclient.batch()
                try:
                    async with batch:
                        for item in place.items(aclient, 3):
                            await item.asave()
                finally:
                    failures.extend(batch.failures)

        failures: list[Any] = []
        with pytest.raises(ServerError) as caught:
            asyncio.run(run())
    else:
        failures = []
        client = place.client(proxy, timeout=10)
        batch = client.batch()
        with pytest.raises(ServerError) as caught, batch:
            for item in place.items(client, 3):
                item.save()
        failures = batch.failures
        client.close()
    assert caught.value.status_code == 502 and "502 Bad Gateway" in str(caught.value)
    assert len(failures) == 3
    assert all("502 Bad Gateway" in str(error) for _, error in failures)
    assert place.server_records() == []


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_malformed_server_info_fails_a_batch_cleanly(
    is_async: bool, place: Place, proxy: FaultProxy
) -> None:
    """The batch reads ``GET /`` (batch_max_requests) first: when that answer is garbage
    the block raises a KintoException and sends nothing."""
    proxy.set_plan([Rule(MALFORMED_JSON, always=True, methods=["GET"], path="^/v1/$")])
    if is_async:

        async def run() -> None:
            async with place.aclient(proxy, timeout=10) as aclient, aclient.batch():
                for item in place.items(aclient, 3):
                    await item.asave()

        with pytest.raises(KintoException, match="not JSON"):
            asyncio.run(run())
    else:
        client = place.client(proxy, timeout=10)
        with pytest.raises(KintoException, match="not JSON"), client.batch():
            for item in place.items(client, 3):
                item.save()
        client.close()
    assert proxy.events_for("POST") == []
    assert place.server_records() == []


# ---------------------------------------------------------------------------- ids

BAD_IDS = [
    "../../../etc/passwd",
    "..",
    "a/../../b",
    "a/b",
    "%2e%2e",
    "a?b=1",
    "a#b",
    "a b",
    "line\nbreak",
    "_leading-underscore",
    "-leading-dash",
    "é",
    "ünïcödé-id",
    "日本",
    "emoji-\U0001f600",
    "a" * 256,
    "b" * 10_000,
]

#: name -> call that puts ``bad`` somewhere in a path (sync client).
ID_CALLS: dict[str, Any] = {
    "model_save": lambda c, bad: Item(id=bad, n=1, title="x").bind(c).save(),
    "model_create": lambda c, bad: Item(id=bad, n=1, title="x").bind(c).create(),
    "model_delete": lambda c, bad: Item(id=bad, n=1, title="x").bind(c).delete(),
    "model_refresh": lambda c, bad: Item(id=bad, n=1, title="x").bind(c).refresh(),
    "get_record": lambda c, bad: c.get_record(id=bad),
    "create_record": lambda c, bad: c.create_record(id=bad, data={"n": 1}),
    "create_record_data_id": lambda c, bad: c.create_record(data={"id": bad, "n": 1}),
    "update_record": lambda c, bad: c.update_record(id=bad, data={"n": 1}),
    "patch_record": lambda c, bad: c.patch_record(id=bad, data={"n": 1}),
    "delete_record": lambda c, bad: c.delete_record(id=bad),
    "get_bucket": lambda c, bad: c.get_bucket(id=bad),
    "create_collection": lambda c, bad: c.create_collection(id=bad),
    "records_query": lambda c, bad: c.records(Item, collection=bad).all(),
    "collection_model": lambda c, bad: c.collection(bad).refresh(),
}


@pytest.mark.parametrize("name", list(ID_CALLS))
def test_invalid_ids_raise_before_anything_is_sent(
    name: str, place: Place, proxy: FaultProxy
) -> None:
    # kinto-http's methods take an empty id as "none given" (the client's default, or a
    # new UUID), as kinto-http does; only a model's empty id is an error.
    bad_ids = [*BAD_IDS, ""] if name.startswith(("model_", "collection_")) else BAD_IDS
    with place.client(proxy, timeout=10) as client:
        for bad in bad_ids:
            with pytest.raises(ValueError):
                ID_CALLS[name](client, bad)
    assert proxy.requests == 0, [f"{e.method} {e.path}" for e in proxy.events]


def test_invalid_ids_raise_before_anything_is_sent_async(
    place: Place, proxy: FaultProxy
) -> None:
    async def run() -> None:
        async with place.aclient(proxy, timeout=10) as aclient:
            for bad in BAD_IDS:
                with pytest.raises(ValueError):
                    await Item(id=bad, n=1, title="x").bind(aclient).asave()
                with pytest.raises(ValueError):
                    await aclient.get_record(id=bad)
                with pytest.raises(ValueError):
                    await aclient.create_record(data={"id": bad})

    asyncio.run(run())
    assert proxy.requests == 0


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_invalid_id_in_a_batch_sends_nothing(
    is_async: bool, place: Place, proxy: FaultProxy
) -> None:
    """The bad id raises inside the block: the whole batch is dropped, not half sent."""
    if is_async:

        async def run() -> None:
            async with place.aclient(proxy, timeout=10) as aclient, aclient.batch():
                for item in place.items(aclient, 5):
                    await item.asave()
                await Item(id="../x", n=1, title="x").bind(aclient).asave()

        with pytest.raises(ValueError):
            asyncio.run(run())
    else:
        client = place.client(proxy, timeout=10)
        with pytest.raises(ValueError), client.batch():
            for item in place.items(client, 5):
                item.save()
            Item(id="../x", n=1, title="x").bind(client).save()
        client.close()
    assert proxy.requests == 0
    assert place.server_records() == []
