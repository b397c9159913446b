"""BrowserOAuth against a real Kinto with its OpenID plugin, and a fake identity provider.

The fake provider is a small loopback server speaking just enough OpenID Connect for
Kinto (discovery, authorize, token, userinfo). The "browser" is an injected opener that
follows the redirects with requests, in a thread, as a browser would.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from kinto_orm import AsyncClient, BrowserOAuth, Client
from kinto_orm.testing import KintoServer, free_port

ACCESS_TOKEN = "tok-" + "a1b2c3"
USER = "alice@example.com"


class FakeIdentityProvider:
    """OpenID Connect endpoints: enough for Kinto's openid plugin."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.userinfo_calls = 0
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _json(self, body: Any, status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                if parts.path == "/.well-known/openid-configuration":
                    self._json({
                        "issuer": provider.url,
                        "authorization_endpoint": provider.url + "/authorize",
                        "token_endpoint": provider.url + "/token",
                        "userinfo_endpoint": provider.url + "/userinfo",
                        "jwks_uri": provider.url + "/jwks",
                    })
                elif parts.path == "/authorize":
                    target = query["redirect_uri"][0] + "?" + urlencode(
                        {"code": "the-code", "state": query["state"][0]}
                    )
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.end_headers()
                elif parts.path == "/userinfo":
                    provider.userinfo_calls += 1
                    if self.headers.get("Authorization") == f"Bearer {ACCESS_TOKEN}":
                        self._json({"sub": USER, "email": USER})
                    else:
                        self._json({"error": "invalid token"}, 401)
                else:
                    self._json({"error": "not found"}, 404)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                if self.path == "/token" and form.get("code") == ["the-code"]:
                    self._json({"access_token": ACCESS_TOKEN, "token_type": "Bearer",
                                "id_token": "x", "expires_in": 3600})
                else:
                    self._json({"error": "invalid_grant"}, 400)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def openid_server() -> Iterator[tuple[KintoServer, FakeIdentityProvider]]:
    idp = FakeIdentityProvider()
    settings = {
        "multiauth.policies": "fakeid basicauth",
        "multiauth.policy.fakeid.use": "kinto.plugins.openid.OpenIDConnectPolicy",
        "multiauth.policy.fakeid.issuer": idp.url,
        "multiauth.policy.fakeid.client_id": "kinto-orm-tests",
        "multiauth.policy.fakeid.client_secret": "not-a-secret",
        "multiauth.policy.basicauth.use": "kinto.core.authentication.BasicAuthAuthenticationPolicy",
    }
    server = KintoServer(history=False, attachments=False, settings=settings,
                         includes=["kinto.plugins.openid"])
    with server:
        yield server, idp
    idp.close()


def browser(seen: list[str]) -> Any:
    """An opener that behaves like a browser: follows every redirect, in the background."""

    def open_url(url: str) -> bool:
        seen.append(url)
        threading.Thread(
            target=lambda: requests.get(url, timeout=10, allow_redirects=True), daemon=True
        ).start()
        return True

    return open_url


def test_login_flow_then_bearer_requests(openid_server: Any) -> None:
    server, _ = openid_server
    seen: list[str] = []
    auth = BrowserOAuth(opener=browser(seen), timeout=20)
    client = Client(server.url, auth=auth)
    info = client.server_info()
    assert info["user"]["id"] == f"fakeid:{USER}"
    assert auth.logged_in and auth.header == f"Bearer {ACCESS_TOKEN}"
    login_url = urlsplit(seen[0])
    assert login_url.path.endswith("/openid/fakeid/login")
    callback = parse_qs(login_url.query)["callback"][0]
    assert callback.startswith("http://127.0.0.1:")
    # The token is used from then on, without a new login.
    client.create_bucket(id="oauth-bucket")
    assert len(seen) == 1
    assert ACCESS_TOKEN not in repr(auth) and ACCESS_TOKEN not in repr(client)


def test_login_flow_with_the_async_client(openid_server: Any) -> None:
    server, _ = openid_server
    seen: list[str] = []

    async def main() -> dict[str, Any]:
        async with AsyncClient(server.url, auth=BrowserOAuth("fakeid", opener=browser(seen),
                                                             timeout=20)) as client:
            return await client.server_info()

    info = asyncio.run(main())
    assert info["user"]["id"] == f"fakeid:{USER}"
    assert len(seen) == 1


def test_login_that_never_comes_times_out_clearly(openid_server: Any) -> None:
    server, _ = openid_server
    auth = BrowserOAuth(opener=lambda url: True, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="No OpenID login arrived within"):
        Client(server.url, auth=auth).server_info()
    assert time.monotonic() - started < 5
    assert not auth.logged_in


def test_unknown_provider_is_named(openid_server: Any) -> None:
    server, _ = openid_server
    auth = BrowserOAuth("nope", opener=lambda url: True, timeout=1)
    with pytest.raises(ValueError, match=r"Unknown OpenID provider 'nope'.*fakeid"):
        Client(server.url, auth=auth).server_info()


def test_server_without_openid_says_so(kinto_server: Any) -> None:
    auth = BrowserOAuth(opener=lambda url: True, timeout=1)
    with pytest.raises(ValueError, match="no OpenID provider"):
        Client(kinto_server.url, auth=auth).server_info()
