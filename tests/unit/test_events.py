"""The parts of event hooks and timeouts that need no server: parsing Kinto's ``Alert``
header, the callback registry, timeout validation and ``client.timeout()`` blocks."""

from __future__ import annotations

import json
import logging

import pytest

from kinto_orm import Client
from kinto_orm._timeouts import check_timeout, current_timeout
from kinto_orm.events import DeprecatedEvent, Hooks, RequestEvent
from kinto_orm.protocol import Headers, Request, Response


def response(**headers: str) -> Response:
    return Response(200, Headers(headers), b"{}", Request("GET", "/"))


def test_alert_header_parsed() -> None:
    header = json.dumps({"code": "hard-eol", "message": "gone", "url": "https://x/eol"})
    event = DeprecatedEvent.parse(header, response(Alert=header))
    assert (event.code, event.message, event.url, event.raw) == (
        "hard-eol", "gone", "https://x/eol", header
    )


@pytest.mark.parametrize("header", ["not json", "[1, 2]", '"text"'])
def test_alert_header_that_is_not_a_json_object_becomes_the_message(header: str) -> None:
    event = DeprecatedEvent.parse(header, response())
    assert (event.code, event.message, event.url) == ("soft-eol", header, None)


def test_hooks_registry() -> None:
    hooks = Hooks()
    seen: list[str] = []

    def callback(event: RequestEvent) -> None:
        seen.append(event.url)

    assert not hooks.wants("request")
    remove = hooks.add("request", callback)
    hooks.add("request", callback)  # twice: called twice, removed one at a time
    assert hooks.wants("request")
    event = RequestEvent(Request("GET", "/"), "http://h/v1/", 1)
    hooks.emit("request", event)
    remove()
    hooks.emit("request", event)
    hooks.remove("request", callback)
    hooks.remove("request", callback)  # harmless
    hooks.emit("request", event)
    assert seen == ["http://h/v1/"] * 3 and not hooks.wants("request")
    with pytest.raises(TypeError, match="callable"):
        hooks.add("request", "print")  # type: ignore[arg-type]


def test_a_raising_callback_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    hooks = Hooks()
    hooks.add("backoff", lambda event: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="kinto_orm"):
        hooks.emit("backoff", RequestEvent(Request("GET", "/"), "u", 1))
    assert "ZeroDivisionError" in caplog.text


@pytest.mark.parametrize(("value", "expected"), [
    (5, 5.0), (0.5, 0.5), (None, None), ((3, 30), (3.0, 30.0)), ((None, 2), (None, 2.0)),
])
def test_valid_timeouts(value: object, expected: object) -> None:
    assert check_timeout(value) == expected


def test_timeout_blocks_are_per_client() -> None:
    one = Client("http://127.0.0.1:9/v1", timeout=7)
    other = Client("http://127.0.0.1:9/v1")
    same_transport = one.clone(bucket="b")
    with one.timeout(1):
        assert one.session.current_timeout == 1.0
        assert same_transport.session.current_timeout == 1.0  # shares one's transport
        assert other.session.current_timeout == (10.0, 60.0)
        assert current_timeout(object(), 3.0) == 3.0
    assert one.session.current_timeout == 7.0
