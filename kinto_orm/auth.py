"""Authentication helpers.

``Client(auth=...)`` takes:

- a ``(user, password)`` tuple or a ``"user:password"`` string: HTTP Basic;
- a ``"Bearer xyz"`` / ``"Token xyz"`` string: that ``Authorization`` header;
- a :class:`BearerTokenAuth`;
- any ``requests.auth.AuthBase`` (sync) or ``httpx.Auth`` (async).

Credentials never appear in ``repr()``, logs or exceptions.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import httpx
import requests
import requests.auth


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
        colon, space = auth.find(":"), auth.find(" ")
        if space > 0 and (colon == -1 or space < colon):
            kind, token = auth.split(" ", 1)
            return BearerTokenAuth(token.strip(), type=kind)
        if colon > 0:
            user, password = auth.split(":", 1)
            return (user, password)
        raise ValueError(
            "Unsupported auth string: use 'user:password' for Basic auth or "
            "'Bearer <token>' for a token."
        )
    if isinstance(auth, list) and len(auth) == 2:
        return tuple(auth)
    if isinstance(auth, tuple) and len(auth) != 2:
        raise ValueError("An auth tuple must be (user, password).")
    return auth


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
    "TokenAuth",
    "describe_auth",
    "parse_auth",
    "to_httpx_auth",
    "to_requests_auth",
]
