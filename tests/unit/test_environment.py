"""The sync transport's own session (``transport/environment.py``) finds the proxies of
the environment without walking all of it for each request: what it merges must be what
a plain ``requests.Session`` merges, for every setting the environment and the session
can hold."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from kinto_orm.transport import environment
from kinto_orm.transport.environment import EnvironmentSession

VARIABLES = (*environment.PROXY_VARIABLES, "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
URLS = ("https://kinto.example/v1/buckets", "http://kinto.example:8888/v1/?x=1",
        "https://other.example/v1", "http://127.0.0.1:8888/v1",
        "https://xn--bcher-kva.example/v1")
ENVIRONMENTS: list[dict[str, str]] = [
    {},
    {"HTTPS_PROXY": "http://proxy.example:3128"},
    {"https_proxy": "http://lower.example:1", "HTTPS_PROXY": "http://upper.example:2"},
    {"HTTP_PROXY": "http://proxy.example:3128", "NO_PROXY": "kinto.example,127.0.0.1"},
    {"ALL_PROXY": "socks5://proxy.example:1080", "no_proxy": ".example"},
    {"HTTP_PROXY": "http://proxy.example:3128", "REQUEST_METHOD": "GET"},
    {"HTTPS_PROXY": "http://p.example:1", "NO_PROXY": "xn--bcher-kva.example"},
    {"NO_PROXY": "*", "HTTPS_PROXY": "http://p.example:1"},
    {"REQUESTS_CA_BUNDLE": "/etc/requests.pem", "CURL_CA_BUNDLE": "/etc/curl.pem"},
    {"CURL_CA_BUNDLE": "/etc/curl.pem"},
]


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(environment.sys, "platform", "linux")


def merged(session: requests.Session, url: str, **request: Any) -> dict[str, Any]:
    proxies = request.get("proxies")
    return session.merge_environment_settings(
        url, dict(proxies) if proxies is not None else {}, request.get("stream"),
        request.get("verify"), request.get("cert"),
    )


def test_the_settings_are_requests_own(monkeypatch: pytest.MonkeyPatch) -> None:
    ours, theirs = EnvironmentSession(), requests.Session()
    requests_made = [{}, {"verify": False}, {"verify": "/mine.pem", "cert": "/c.pem"},
                     {"proxies": {"no_proxy": "kinto.example"}},
                     {"proxies": {"https": "http://given.example:1"}}, {"stream": True}]
    for variables in ENVIRONMENTS:
        for name in VARIABLES:
            monkeypatch.delenv(name, raising=False)
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        for session_settings in ({}, {"verify": False, "proxies": {"http": "http://s:1"}}):
            for session in (ours, theirs):
                session.verify = session_settings.get("verify", True)
                session.proxies = session_settings.get("proxies", {})
            for url in URLS:
                for request in requests_made:
                    for _ in range(2):  # looked up, then found again
                        assert merged(ours, url, **request) == merged(theirs, url, **request), \
                            (variables, session_settings, url, request)


def test_a_variable_changed_later_applies_to_the_next_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    session, url = EnvironmentSession(), "https://kinto.example/v1"
    assert merged(session, url)["proxies"] == {}
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert merged(session, url)["proxies"]["https"] == "http://proxy.example:3128"
    monkeypatch.setenv("no_proxy", "kinto.example")
    assert merged(session, url)["proxies"] == {}
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ca.pem")
    assert merged(session, url)["verify"] == "/etc/ca.pem"


def test_trust_env_off_is_requests_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ca.pem")
    session = EnvironmentSession()
    session.trust_env = False
    assert merged(session, "https://kinto.example/v1") == {
        "proxies": {}, "stream": False, "verify": True, "cert": None,
    }


def test_lookups_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    session = EnvironmentSession()
    for port in range(600):
        monkeypatch.setenv("HTTPS_PROXY", f"http://proxy.example:{port}")
        proxies = merged(session, "https://kinto.example/v1")["proxies"]
        assert proxies["https"] == f"http://proxy.example:{port}"
    assert len(environment._found) <= 256
