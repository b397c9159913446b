"""The sync transport's connections (requests' pool, sized by ``KEEP_ALIVE``): kept
alive and reused from several threads, never reused once the server closed them, with
requests' (connect, read) timeouts and exceptions, every framing, TLS with requests'
verification and client certificate.

Against the real Kinto server through a TCP relay that counts connections and can hold
answers or hang up (``relay.py``); framings Kinto never sends, TLS and a server that
trickles its answer against the loopback recorder or a socket.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from kinto_orm import Client
from kinto_orm.errors import NetworkError
from kinto_orm.transport.drivers import KEEP_ALIVE

from .conftest import Note
from .recorder import Recorder, serve, tls_recorder_and_ca, url_of
from .relay import Relay

# ---------------------------------------------------------------------------- keep-alive


def test_connections_are_reused_from_several_threads_within_the_pool_size(
    relay: Relay, client: Client, bid: str, cid: str, notes: list[str]
) -> None:
    with Client(relay.url, auth=client.session.auth, bucket=bid) as own:
        query = own.records(Note, collection=cid)
        seen = [query.get(rid).id for rid in notes[:10]]  # one after the other
        after_sequence = relay.connections
        relay.hold_after(0)  # every request of the burst waits: one connection each
        with ThreadPoolExecutor(25) as pool:
            burst = [pool.submit(query.get, rid) for rid in notes]
            deadline = time.monotonic() + 10
            while relay.connections < 25 and time.monotonic() < deadline:
                time.sleep(0.02)
            relay.release()
            seen += [future.result().id for future in burst]
        after_burst = relay.connections
        time.sleep(0.2)  # the relay sees the connections the pool closed
        kept = relay.live
        with ThreadPoolExecutor(8) as pool:  # 8 threads, 200 requests, 20 idle connections
            seen += [n.id for n in pool.map(query.get, notes * 8)]
    assert seen == notes[:10] + notes + notes * 8
    assert after_sequence == 1 and after_burst == 25
    assert kept == KEEP_ALIVE  # 20 kept alive, the other 5 closed
    assert relay.connections == 25  # the last 200 requests reused the 20


def test_a_connection_the_server_closed_is_not_reused(
    relay: Relay, client: Client, bid: str, cid: str, notes: list[str]
) -> None:
    with Client(relay.url, auth=client.session.auth, bucket=bid) as own:
        query = own.records(Note, collection=cid)
        first = query.get(notes[0]).id
        relay.hang_up()
        time.sleep(0.2)
        second = query.get(notes[1]).id  # retry=0: no error, a new connection
    assert (first, second) == (notes[0], notes[1]) and relay.connections == 2


@pytest.mark.parametrize("retry", [0, 1])
def test_a_hang_up_on_a_reused_connection_before_any_answer(
    relay: Relay, client: Client, bid: str, cid: str, notes: list[str], retry: int
) -> None:
    """The server closed just as the client reused the connection: requests' error
    (nothing was answered, its adapter does not retry), retried by the transport's own
    policy when allowed."""
    with Client(relay.url, auth=client.session.auth, bucket=bid, retry=retry,
                retry_after=0) as own:
        query = own.records(Note, collection=cid)
        query.get(notes[0])
        relay.drop_next_request = True
        try:
            outcome: Any = query.get(notes[1]).id
        except NetworkError as exc:
            outcome = (type(exc.__cause__), str(exc))
    if retry:
        assert outcome == notes[1]
    else:
        assert outcome[0] is requests.exceptions.ConnectionError
        assert "Remote end closed connection without response" in outcome[1]


# ---------------------------------------------------------------------------- timeouts


@pytest.mark.parametrize("let_through", [0, 1000], ids=["nothing", "headers"])
def test_a_read_timeout_is_requests_own(
    relay: Relay, client: Client, bid: str, cid: str, notes: list[str], let_through: int
) -> None:
    """Silence before the answer's headers is a ReadTimeout; in its body, requests
    reports a ConnectionError (``Response.content``'s mapping)."""
    with Client(relay.url, auth=client.session.auth, bucket=bid) as own:
        path, params = f"/buckets/{bid}/collections/{cid}/records", {"_limit": "25"}
        own.session.request("get", path, params=params)
        relay.hold_after(let_through)  # ~2.2 KB of answer: its headers, some body
        with pytest.raises(NetworkError) as info, own.timeout((5, 0.3)):
            own.session.request("get", path, params=params)
        relay.release()
        query = own.records(Note, collection=cid)
        assert query.get(notes[3]).n == 3  # the broken connection was not kept
    expected = requests.exceptions.ReadTimeout if not let_through \
        else requests.exceptions.ConnectionError
    assert type(info.value.__cause__) is expected


def test_a_connect_timeout_is_requests_own() -> None:
    """A server whose queue of connections is full: the connection is never made."""
    with socket.socket() as full:
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        address = full.getsockname()
        waiting = []
        for _ in range(4):  # fill the accept queue; the kernel drops later handshakes
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(address)
            waiting.append(sock)
        time.sleep(0.1)
        url = f"http://127.0.0.1:{address[1]}/v1"
        with Client(url, timeout=(0.3, 5)) as own:
            started = time.monotonic()
            with pytest.raises(NetworkError) as info:
                own.server_info()
            elapsed = time.monotonic() - started
        for sock in waiting:
            sock.close()
    assert type(info.value.__cause__) is requests.exceptions.ConnectTimeout and elapsed < 3


def test_the_read_timeout_is_the_longest_silence() -> None:
    """An answer trickled in five parts 0.2 s apart is read within a read timeout of
    0.5 s (requests' meaning: the silence between bytes, not the whole answer)."""
    body = b'{"data": {"id": "slow"}}'
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " \
        + str(len(body)).encode() + b"\r\n\r\n" + body
    with socket.create_server(("127.0.0.1", 0)) as listener:
        def trickle() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                for i in range(5):
                    time.sleep(0.2)
                    connection.sendall(answer[i * len(answer) // 5:(i + 1) * len(answer) // 5])
                time.sleep(0.2)

        thread = threading.Thread(target=trickle, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
        with Client(url) as own, own.timeout((5, 0.5)):
            started = time.monotonic()
            answered, _ = own.session.request("get", "/slow")
            elapsed = time.monotonic() - started
        thread.join(5)
    assert answered == {"data": {"id": "slow"}} and elapsed > 0.9


# ---------------------------------------------------------------------------- framings


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    yield from serve(Recorder())


@pytest.mark.parametrize("framing, connections", [
    ("chunked", 1), ("until-close", 3), ("connection-close", 3),
])
def test_answers_of_every_framing(
    recorder: Recorder, framing: str, connections: int
) -> None:
    big = {"data": [{"id": f"r{i}", "text": "x" * 100} for i in range(100)]}  # 11 KB
    recorder.answer = {"body": json.dumps(big).encode(), "gzip": framing == "chunked"}
    recorder.answer["connection-close" if framing == "connection-close" else "framing"] = framing
    with Client(url_of(recorder)) as own:
        answers = [own.session.request("get", f"/r{i}")[0] for i in range(3)]
    assert answers == [big] * 3 and recorder.connections == connections


def test_head_and_not_modified_answers_have_no_body(recorder: Recorder) -> None:
    with Client(url_of(recorder)) as own:
        recorder.answer = {"body": b'{"data": "a body HEAD does not get"}'}
        head, headers = own.session.request("head", "/h")
        recorder.answer = {"status": 304, "body": b"", "framing": "none"}
        unchanged = own.session.request("get", "/unchanged")
        recorder.answer = {}
        after = own.session.request("get", "/after")
    assert head is None and headers["content-length"] == "36"
    assert unchanged[0] is None and unchanged[1]["content-type"] == "application/json"
    assert after[0] == {"data": {"id": "x"}}  # the answers stayed apart, on one connection
    assert recorder.connections == 1


@pytest.mark.parametrize("answer", [
    {"truncate": True}, {"truncate": True, "framing": "chunked", "body": b"x" * 3000},
    {"truncate": True, "body": b"x" * 3_000_000},  # large: written in place as it comes
], ids=["length", "chunked", "large"])
def test_an_answer_cut_short_is_requests_own_error(
    recorder: Recorder, answer: dict[str, Any]
) -> None:
    with Client(url_of(recorder)) as own:
        own.session.request("get", "/fine")  # a connection to reuse
        recorder.answer = dict(answer)
        with pytest.raises(NetworkError) as info:
            own.session.request("get", "/cut")
    assert type(info.value.__cause__) is requests.exceptions.ChunkedEncodingError


# ---------------------------------------------------------------------------- TLS


@pytest.fixture
def tls(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Recorder, str]]:
    """The recorder behind TLS and its CA's file; the environment names no CA bundle."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    server, ca_file = tls_recorder_and_ca(tmp_path)
    for recorder in serve(server):
        yield recorder, ca_file


def test_tls_verified_with_a_ca_file_of_the_session(tls: tuple[Recorder, str]) -> None:
    recorder, ca_file = tls
    with Client(url_of(recorder, "https", "localhost")) as own:
        own.session.session.verify = ca_file
        answers = [own.session.request("get", f"/r{i}")[0] for i in range(3)]
    assert answers == [{"data": {"id": "x"}}] * 3 and recorder.connections == 1


def test_tls_without_verification_warns_as_urllib3_does(tls: tuple[Recorder, str]) -> None:
    recorder, _ = tls
    with Client(url_of(recorder, "https", "localhost")) as own, \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        own.session.session.verify = False
        answers = [own.session.request("get", f"/r{i}")[0] for i in range(2)]
    assert answers == [{"data": {"id": "x"}}] * 2
    assert [w.category.__name__ for w in caught] == ["InsecureRequestWarning"] * 2


def test_tls_with_a_client_certificate(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that asks for a client certificate: the session's ``cert`` is sent;
    without it the handshake fails."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    ca.configure_trust(context)
    context.verify_mode = ssl.CERT_REQUIRED
    ca_file, client_pem = tmp_path / "ca.pem", tmp_path / "client.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    ca.issue_cert("client@example.com").private_key_and_cert_chain_pem.write_to_path(
        str(client_pem))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
    server = Recorder()
    server.socket = context.wrap_socket(server.socket, server_side=True)
    for recorder in serve(server):
        url = url_of(recorder, "https", "localhost")
        with Client(url) as own, pytest.raises(NetworkError) as info:
            own.server_info()
        refused = recorder.connections
        with Client(url) as own:
            own.session.session.cert = str(client_pem)
            answers = [own.session.request("get", f"/r{i}")[0] for i in range(2)]
        assert answers == [{"data": {"id": "x"}}] * 2
        assert recorder.connections == refused + 1
    cause = type(info.value.__cause__)
    assert cause in (requests.exceptions.SSLError, requests.exceptions.ConnectionError)
