"""What the sync transport's own session gives each request from the environment
(``transport/environment.py``): what requests would read now, without walking all of
``os.environ`` for every request."""

from __future__ import annotations

from pathlib import Path

import pytest

from kinto_orm.transport.environment import Environment

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*PROXY_VARIABLES, "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NETRC"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def test_proxies_follow_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    environment = Environment()
    url = "https://kinto.example/v1/buckets"
    assert environment.settings(url, with_auth=True)["proxies"] == {}
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    first = environment.settings(url, with_auth=True)
    assert first["proxies"]["https"] == "http://proxy.example:3128"
    again = environment.settings("https://KINTO.example/v1/other?x=1", with_auth=True)
    assert again["proxies"] == first["proxies"]
    again["proxies"]["https"] = "changed by requests"  # each request gets its own copy
    assert environment.settings(url, with_auth=True)["proxies"] == first["proxies"]
    monkeypatch.setenv("no_proxy", "kinto.example")
    assert environment.settings(url, with_auth=True)["proxies"] == {}
    assert environment.settings("https://other.example/v1", with_auth=True)["proxies"]
    monkeypatch.setenv("REQUEST_METHOD", "GET")  # CGI: urllib ignores HTTP_PROXY
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    assert "http" not in environment.settings("http://other.example/v1", True)["proxies"]


def test_proxies_of_many_environments_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    environment = Environment()
    for port in range(200):
        monkeypatch.setenv("HTTPS_PROXY", f"http://proxy.example:{port}")
        proxies = environment.settings("https://kinto.example/v1", True)["proxies"]
        assert proxies["https"] == f"http://proxy.example:{port}"
    assert len(environment._proxies) <= 64


def test_the_ca_bundle_is_read_for_every_request(monkeypatch: pytest.MonkeyPatch) -> None:
    environment = Environment()
    url = "https://kinto.example/v1"
    assert environment.settings(url, with_auth=True)["verify"] is None  # the session's
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/curl.pem")
    assert environment.settings(url, with_auth=True)["verify"] == "/etc/curl.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/requests.pem")
    assert environment.settings(url, with_auth=True)["verify"] == "/etc/requests.pem"


def test_netrc_only_without_auth_and_for_every_request(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine kinto.example login alice password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    environment = Environment()
    url = "https://kinto.example/v1"
    assert "auth" not in environment.settings(url, with_auth=True)
    assert environment.settings(url, with_auth=False)["auth"] == ("alice", "secret")
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    assert environment.settings(url, with_auth=False)["auth"] is None
