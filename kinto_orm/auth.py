"""Authentication helpers.

``Client(auth=...)`` takes:

- a ``(user, password)`` tuple or a ``"user:password"`` string: HTTP Basic;
- a ``"Bearer xyz"`` / ``"Token xyz"`` string: that ``Authorization`` header;
- a :class:`BearerTokenAuth`;
- any ``requests.auth.AuthBase`` (sync) or ``httpx.Auth`` (async).

Credentials never appear in ``repr()``, logs or exceptions.
"""

from __future__ import annotations

import asyncio
import base64
import http.server
import json
import secrets
import threading
import time
import webbrowser
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any
from urllib.parse import unquote, urlencode

import httpx
import requests
import requests.auth

from . import protocol as core


class BearerTokenAuth(requests.auth.AuthBase, httpx.Auth):
    """Send ``Authorization: <type> <token>`` (works with both transports).

    >>> client = Client("https://kinto.example/v1", auth=BearerTokenAuth("s3cr3t"))
    """

    def __init__(self, token: str, type: str = "Bearer") -> None:
        self.token = token
        self.type = type or "Bearer"

    @property
    def header(self) -> str:
        return f"{self.type} {self.token}"

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = self.header
        return r

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self.header
        yield request

    def __repr__(self) -> str:
        return f"BearerTokenAuth(type={self.type!r}, token='***')"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, BearerTokenAuth)
            and (self.type, self.token) == (other.type, other.token)
        )

    __hash__ = None  # type: ignore[assignment]


#: kinto-http name.
TokenAuth = BearerTokenAuth


class BrowserOAuth(requests.auth.AuthBase, httpx.Auth):
    """Log in through the server's OpenID provider in a browser, then send its token.

    On the first request it reads the server's ``openid`` capability, starts a one-shot
    HTTP server on 127.0.0.1, opens the browser on ``/openid/{provider}/login?callback=...``
    and waits for Kinto to redirect there with the tokens; every request then carries
    ``Authorization: <header_type> <access_token>``.

    >>> client = Client("https://kinto.example/v1", auth=BrowserOAuth(provider="google"))

    ``opener`` (default :func:`webbrowser.open`) receives the login URL: tests and
    headless tools can inject their own. ``timeout`` bounds the wait for the login.
    """

    def __init__(
        self,
        provider: str | None = None,
        *,
        opener: Callable[[str], Any] | None = None,
        timeout: float = 300.0,
    ) -> None:
        self.provider = provider
        self.opener = opener or webbrowser.open
        self.timeout = timeout
        self.server_url = ""
        self.header_type: str | None = None
        self._token: str | None = None
        self._lock = threading.Lock()

    def set_server_url(self, server_url: str) -> None:
        self.server_url = server_url.rstrip("/")

    @property
    def logged_in(self) -> bool:
        return self._token is not None

    @property
    def header(self) -> str:
        return f"{self.header_type or 'Bearer'} {self._token}"

    def __repr__(self) -> str:
        return f"BrowserOAuth(provider={self.provider!r}, logged_in={self.logged_in})"

    # -------------------------------------------------------------- the login dance

    def choose_provider(self, server_info: dict[str, Any]) -> dict[str, Any]:
        """The provider entry of the server's ``openid`` capability to log in with."""
        capability = (server_info.get("capabilities") or {}).get("openid")
        providers = (capability or {}).get("providers") or []
        if not providers:
            raise ValueError(
                f"{self.server_url} has no OpenID provider (no 'openid' capability): "
                "use another kind of auth."
            )
        names = [p.get("name") for p in providers]
        if self.provider is None:
            if len(providers) > 1:
                raise ValueError(f"The server offers several OpenID providers {names}: "
                                 "pass BrowserOAuth(provider=...).")
            return dict(providers[0])
        for entry in providers:
            if entry.get("name") == self.provider:
                return dict(entry)
        raise ValueError(f"Unknown OpenID provider {self.provider!r}; the server has {names}.")

    def login(self, server_info: dict[str, Any] | None = None) -> None:
        """Run the browser login now (it runs by itself on the first request)."""
        with self._lock:
            if self._token is not None:
                return
            if server_info is None:
                server_info = requests.get(self.server_url + "/", timeout=30).json()
            self._dance(self.choose_provider(server_info))

    def _dance(self, provider: dict[str, Any]) -> None:
        received: dict[str, Any] = {}
        nonce = secrets.token_urlsafe(16)
        server = http.server.HTTPServer(("127.0.0.1", 0), _callback_handler(nonce, received))
        server.timeout = 0.2
        try:
            callback = f"http://127.0.0.1:{server.server_address[1]}/auth/{nonce}/"
            auth_path = provider.get("auth_path") or f"/openid/{provider.get('name')}/login"
            query = urlencode({"callback": callback, "scope": "openid email"})
            self.opener(f"{self.server_url}{auth_path}?{query}")
            deadline = time.monotonic() + self.timeout
            while "tokens" not in received and time.monotonic() < deadline:
                server.handle_request()
        finally:
            server.server_close()
        tokens = received.get("tokens")
        if not isinstance(tokens, dict) or "access_token" not in tokens:
            raise TimeoutError(
                f"No OpenID login arrived within {self.timeout:.0f} s: finish the login in "
                "the browser window, or raise BrowserOAuth(timeout=...)."
            )
        self.header_type = provider.get("header_type") or tokens.get("token_type") or "Bearer"
        self._token = str(tokens["access_token"])

    # -------------------------------------------------------------- requests / httpx hooks

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._token is None:
            self.login()
        r.headers["Authorization"] = self.header
        return r

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        if self._token is None:
            self.login()
        request.headers["Authorization"] = self.header
        yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if self._token is None:
            response = yield httpx.Request("GET", self.server_url + "/")
            await response.aread()
            provider = self.choose_provider(response.json())
            await asyncio.to_thread(self._dance, provider)
        request.headers["Authorization"] = self.header
        yield request


def _callback_handler(nonce: str, received: dict[str, Any]) -> type[Any]:
    prefix = f"/auth/{nonce}/"

    class Callback(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if not self.path.startswith(prefix):
                self.send_response(404)
                self.end_headers()
                return
            try:
                encoded = unquote(self.path[len(prefix):])
                received["tokens"] = json.loads(base64.urlsafe_b64decode(encoded + "===="))
            except ValueError:
                self.send_response(400)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html><body><h1>Logged in</h1>You can close this page.</body>")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Callback


#: Authorization schemes recognised in ``"<scheme> <token>"`` strings; for anything else
#: with a colon, ``"user name:password"`` is Basic auth, as in kinto-http.
AUTH_SCHEMES = frozenset({"bearer", "token", "basic", "jwt", "portier", "mac", "digest"})


def parse_auth(auth: Any) -> Any:
    """Normalise the ``auth`` argument: strings become a tuple or a :class:`BearerTokenAuth`.

    >>> parse_auth("alice:s3cr3t")
    ('alice', 's3cr3t')
    >>> parse_auth("Bearer abc")
    BearerTokenAuth(type='Bearer', token='***')
    """
    if auth is None or auth == "":
        return None
    if isinstance(auth, str):
        # Before the token is stripped: "Bearer tok\n" is a mistake to report.
        core.check_value(auth, "The auth string", ends=False)
        colon, space = auth.find(":"), auth.find(" ")
        scheme = auth[:space].lower() if space > 0 else ""
        if space > 0 and (colon == -1 or scheme in AUTH_SCHEMES):
            kind, token = auth.split(" ", 1)
            return BearerTokenAuth(token.strip(), type=kind)
        if colon > 0:
            user, password = auth.split(":", 1)
            return (user, password)
        raise ValueError(  # kinto-http's text
            "Unsupported `auth` parameter value. Must be a tuple() or string in the form of "
            "`user:pass` or `Bearer xyz` or `Basic xyz`"
        )
    if isinstance(auth, list) and len(auth) == 2:
        return tuple(auth)
    if isinstance(auth, tuple) and len(auth) != 2:
        raise ValueError("An auth tuple must be (user, password).")
    return auth


def check_credentials(auth: Any) -> None:
    """Refuse credentials that would break their ``Authorization`` header (a line break
    in a token, user or password): :class:`~kinto_orm.errors.InvalidHeader`, before
    anything is sent, saying where and never what the secret is."""
    auth = parse_auth(auth)
    if isinstance(auth, tuple):
        core.check_value(auth[0], "The auth user name", ends=False)
        core.check_value(auth[1], "The auth password", ends=False)
    elif isinstance(auth, BearerTokenAuth):
        core.check_value(auth.header, "The Authorization header of the auth token")


def to_requests_auth(auth: Any) -> Any:
    """The object handed to ``requests`` as ``auth=``."""
    auth = parse_auth(auth)
    if isinstance(auth, tuple):
        return requests.auth.HTTPBasicAuth(str(auth[0]), str(auth[1]))
    return auth


def to_httpx_auth(auth: Any) -> Any:
    """The object handed to ``httpx`` as ``auth=``."""
    auth = parse_auth(auth)
    if isinstance(auth, tuple):
        return httpx.BasicAuth(str(auth[0]), str(auth[1]))
    if auth is not None and not isinstance(auth, httpx.Auth) and not callable(auth):
        raise TypeError(f"AsyncClient cannot use {type(auth).__name__} as auth: pass a "
                        "(user, password) tuple, a token string or an httpx.Auth.")
    if isinstance(auth, requests.auth.AuthBase) and not isinstance(auth, httpx.Auth):
        raise TypeError(f"{type(auth).__name__} is a requests auth: AsyncClient needs an "
                        "httpx.Auth (or a tuple / token string).")
    return auth


def describe_auth(auth: Any) -> str:
    """A safe description of ``auth`` for reprs and logs: never the secret."""
    auth = parse_auth(auth)
    if auth is None:
        return "None"
    if isinstance(auth, tuple):
        return f"Basic({auth[0]!r}, '***')"
    if isinstance(auth, BearerTokenAuth):
        return repr(auth)
    return f"<{type(auth).__name__}>"


__all__ = [
    "BearerTokenAuth",
    "BrowserOAuth",
    "TokenAuth",
    "check_credentials",
    "describe_auth",
    "parse_auth",
    "to_httpx_auth",
    "to_requests_auth",
]
