"""How the async client tells a mock of requests (send through requests, where the mock
answers) from requests' own code or a tracing wrapper of it (stay on httpx)."""

from __future__ import annotations

import functools
from typing import Any
from unittest import mock

import pytest
import requests
from requests.adapters import HTTPAdapter

from kinto_orm.transport.mocks import requests_mocked


def test_requests_own_code_is_not_a_mock() -> None:
    assert requests_mocked() is False


@pytest.mark.parametrize("owner, name", [
    (requests.Session, "send"), (requests.Session, "request"),
    (requests.Session, "get_adapter"), (HTTPAdapter, "send"),
])
def test_a_replaced_entry_point_is_a_mock(
    monkeypatch: pytest.MonkeyPatch, owner: type[Any], name: str
) -> None:
    def fake(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("not called here")

    monkeypatch.setattr(owner, name, fake)
    assert requests_mocked() is True
    monkeypatch.undo()
    assert requests_mocked() is False


def test_a_tracing_wrapper_is_not_a_mock(monkeypatch: pytest.MonkeyPatch) -> None:
    original = requests.Session.send

    @functools.wraps(original)
    def traced(self: requests.Session, request: Any, **kwargs: Any) -> Any:
        return original(self, request, **kwargs)

    @functools.wraps(traced)
    def traced_twice(self: requests.Session, request: Any, **kwargs: Any) -> Any:
        return traced(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", traced_twice)
    assert requests_mocked() is False


def test_unittest_mock_is_a_mock() -> None:
    with mock.patch.object(HTTPAdapter, "send"):
        assert requests_mocked() is True
    assert requests_mocked() is False
