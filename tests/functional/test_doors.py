"""Every request goes through the public doors the ecosystem's tools hook, shown with those
tools themselves, on both clients: ``responses`` and ``requests-mock`` (which patch
requests' ``HTTPAdapter.send`` and ``Session.send``), respx (httpx's transports), vcrpy
(both), and OpenTelemetry's requests and httpx instrumentations (one span per request).

The workload is CRUD, pagination (the test server's ``paginate_by`` is 10), a batch and
a bulk create with ``concurrency=3``, against the real Kinto behind the counting relay
(``relay.requests``: the requests the server saw), so that what each tool recorded is
counted against what really went over the wire.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from kinto_orm import AsyncClient, Client

from .conftest import Note, Raw, seed
from .relay import Relay

responses = pytest.importorskip("responses")
requests_mock = pytest.importorskip("requests_mock")
respx = pytest.importorskip("respx")
vcr = pytest.importorskip("vcr")


@pytest.fixture
def seeded(raw: Raw, bid: str, cid: str) -> str:
    """25 notes in the test's collection (3 pages), written without the relay."""
    seed(raw, bid, cid, [{"id": f"n{i:02d}", "title": f"note {i}", "n": i} for i in range(25)])
    return cid


def workload(client: Client, cid: str, concurrency: int = 3) -> int:
    """CRUD, pages, a batch, a bulk create from 3 threads; returns the notes read back."""
    note = Note(id="crud", title="one").bind(client, collection=cid)
    note.create()
    note.title = "two"
    note.save()
    note.patch({"n": 2})
    note.refresh()
    note.delete()
    with client.batch() as batch:
        for i in range(5):
            Note(id=f"b{i}", title="batch", n=i).bind(client, collection=cid).save()
    assert len(batch.results()) == 5
    notes = [Note(id=f"k{i:02d}", title="bulk", n=i) for i in range(60)]  # 3 batches of 25
    result = client.records(Note, collection=cid).bulk_create(notes, concurrency=concurrency)
    assert not result.failed
    client.get_record(id="n03", collection=cid)
    return len(client.records(Note, collection=cid).all())  # 90 notes: 9 pages


async def aworkload(aclient: AsyncClient, cid: str) -> int:
    """:func:`workload` on the async client."""
    note = Note(id="crud", title="one").bind(aclient, collection=cid)
    await note.acreate()
    note.title = "two"
    await note.asave()
    await note.apatch({"n": 2})
    await note.arefresh()
    await note.adelete()
    async with aclient.batch() as batch:
        for i in range(5):
            await Note(id=f"b{i}", title="batch", n=i).bind(aclient, collection=cid).asave()
    assert len(batch.results()) == 5
    notes = [Note(id=f"k{i:02d}", title="bulk", n=i) for i in range(60)]
    result = await aclient.records(Note, collection=cid).abulk_create(notes, concurrency=3)
    assert not result.failed
    await aclient.get_record(id="n03", collection=cid)
    return len(await aclient.records(Note, collection=cid).aall())


def run_sync(relay: Relay, client: Client, bid: str, cid: str, concurrency: int = 3) -> int:
    with Client(relay.url, auth=client.session.auth, bucket=bid) as own:
        assert workload(own, cid, concurrency) == 90
    return len(relay.requests)


def run_async(relay: Relay, client: Client, bid: str, cid: str, concurrency: int = 3) -> int:
    async def main() -> None:
        async with AsyncClient(relay.url, auth=client.session.auth, bucket=bid) as aclient:
            assert await aworkload(aclient, cid) == 90

    asyncio.run(main())
    return len(relay.requests)


RUNS = {"sync": run_sync, "async": run_async}
#: CRUD 5 + batch 1 (+ the server_info it needs) + bulk 3 + get 1 + pages 9, at least.
AT_LEAST = 19


# ---------------------------------------------------------------------------- requests' mocks


@pytest.mark.parametrize("way", RUNS)
def test_responses_sees_every_request(
    relay: Relay, client: Client, bid: str, seeded: str, way: str
) -> None:
    """``responses`` passing every request on to the real server records each call
    (``add_passthru()`` does not record the calls it lets through: a passthrough
    response per method does)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
            mock.add(responses.PassthroughResponse(method, re.compile(re.escape(relay.url))))
        seen = RUNS[way](relay, client, bid, seeded)
        calls = [f"{call.request.method} {call.request.path_url}" for call in mock.calls]
    assert seen >= AT_LEAST and sorted(calls) == sorted(relay.requests)


@pytest.mark.parametrize("way", RUNS)
def test_requests_mock_sees_every_request(
    relay: Relay, client: Client, bid: str, seeded: str, way: str
) -> None:
    with requests_mock.Mocker(real_http=True) as mock:
        seen = RUNS[way](relay, client, bid, seeded)
        calls = [f"{call.method} {call.path}" for call in mock.request_history]
    assert seen >= AT_LEAST and len(calls) == seen
    assert sorted(c.upper() for c in calls) == sorted(
        r.split("?")[0].upper() for r in relay.requests)


# ---------------------------------------------------------------------------- httpx's


def test_respx_sees_every_request_of_the_async_client(
    relay: Relay, client: Client, bid: str, seeded: str
) -> None:
    # using="httpx": respx's default (httpcore) records a passed-through call twice, for
    # plain httpx too (its pool's and its connection's).
    with respx.mock(assert_all_called=False, using="httpx") as router:
        router.route(host="127.0.0.1").pass_through()
        seen = run_async(relay, client, bid, seeded)
        calls = [f"{call.request.method} {call.request.url.raw_path.decode()}"
                 for call in router.calls]
    assert seen >= AT_LEAST and sorted(calls) == sorted(relay.requests)


# ---------------------------------------------------------------------------- recorders


@pytest.mark.parametrize("way", RUNS)
def test_vcrpy_records_every_request(
    relay: Relay, client: Client, bid: str, seeded: str, way: str, tmp_path: Path
) -> None:
    """Both clients' requests in a cassette. The bulk write runs from one thread here:
    vcrpy's recorder loses requests sent from several threads at once, with plain
    requests too (12 POSTs from 3 threads: 7 recorded, measured with vcrpy 9.4)."""
    recorder = vcr.VCR(record_mode="all", filter_headers=["authorization"])
    with recorder.use_cassette(str(tmp_path / "doors.yaml")) as cassette:
        seen = RUNS[way](relay, client, bid, seeded, concurrency=1 if way == "sync" else 3)
        recorded = [f"{r.method} {r.path}" for r in cassette.requests]
    assert seen >= AT_LEAST and len(recorded) == seen
    assert sorted(recorded) == sorted(r.split("?")[0] for r in relay.requests)


# ---------------------------------------------------------------------------- tracing


@pytest.fixture
def spans() -> Iterator[Any]:
    """OpenTelemetry's requests and httpx instrumentations, exporting to memory."""
    sdk_trace = pytest.importorskip("opentelemetry.sdk.trace")
    export = pytest.importorskip("opentelemetry.sdk.trace.export")
    in_memory = pytest.importorskip("opentelemetry.sdk.trace.export.in_memory_span_exporter")
    instrument_requests = pytest.importorskip("opentelemetry.instrumentation.requests")
    instrument_httpx = pytest.importorskip("opentelemetry.instrumentation.httpx")
    exporter = in_memory.InMemorySpanExporter()
    provider = sdk_trace.TracerProvider()
    provider.add_span_processor(export.SimpleSpanProcessor(exporter))
    tracers = (instrument_requests.RequestsInstrumentor(),
               instrument_httpx.HTTPXClientInstrumentor())
    for tracer in tracers:
        tracer.instrument(tracer_provider=provider)
    try:
        yield exporter
    finally:
        for tracer in tracers:
            tracer.uninstrument()


@pytest.mark.parametrize("way", RUNS)
def test_opentelemetry_records_one_span_per_request(
    relay: Relay, client: Client, bid: str, seeded: str, way: str, spans: Any
) -> None:
    seen = RUNS[way](relay, client, bid, seeded)
    finished = spans.get_finished_spans()
    scopes = {span.instrumentation_scope.name for span in finished}
    assert seen >= AT_LEAST and len(finished) == seen
    # Traced production code stays on its own stack: no async call goes through requests.
    expected = "requests" if way == "sync" else "httpx"
    assert scopes == {f"opentelemetry.instrumentation.{expected}"}
    assert sorted(span.attributes.get("http.request.method") or span.attributes.get(
        "http.method") for span in finished) == sorted(r.split()[0] for r in relay.requests)


# ---------------------------------------------------------------------------- no server


def test_responses_mocks_the_async_client_without_a_server() -> None:
    """A suite written for kinto-http's AsyncClient (remote-settings' style): the mocked
    answers reach the async client; an unmocked URL is responses' ConnectionError, as a
    NetworkError that is also requests' ConnectionError."""
    url = "http://kinto.test/v1/buckets/main/collections/c/records"

    async def main() -> Any:
        async with AsyncClient("http://kinto.test/v1", bucket="main", collection="c") as aclient:
            records = await aclient.get_records()
            typed = await aclient.records(Note).aall()
            with pytest.raises(requests.exceptions.ConnectionError) as info:
                await aclient.get_record(id="missing")
            return records, typed, info.value

    with responses.RequestsMock() as mock:
        mock.add(responses.GET, url, json={"data": [{"id": "a", "title": "t"}]},
                 headers={"ETag": '"12"'})
        records, typed, error = asyncio.run(main())
        # the typed read too; the missing one raised after its second try (a read is
        # tried twice after a network error, as kinto-http's retry_timeout does)
        assert len(mock.calls) == 4
    assert records == [{"id": "a", "title": "t"}] and [n.id for n in typed] == ["a"]
    assert "Connection refused by Responses" in str(error)


def test_requests_mock_mocks_the_async_client_without_a_server() -> None:
    async def main() -> Any:
        async with AsyncClient("http://kinto.test/v1", auth=("alice", "pw")) as aclient:
            created = await aclient.create_bucket(id="b")
            return created, await aclient.server_info()

    with requests_mock.Mocker() as mock:
        mock.get("http://kinto.test/v1/", json={"project_name": "mocked"})
        mock.put("http://kinto.test/v1/buckets/b", json={"data": {"id": "b"}}, status_code=201)
        created, info = asyncio.run(main())
        sent = mock.request_history
    assert created["data"] == {"id": "b"} and info == {"project_name": "mocked"}
    assert [r.method for r in sent] == ["PUT", "GET"]
    assert sent[0].headers["Authorization"].startswith("Basic ")
    assert sent[0].headers["If-None-Match"] == "*"
