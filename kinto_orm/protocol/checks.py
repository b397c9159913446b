"""What may go into a header, decided once for both transports: a value with a line
break would end its header on the wire and start another one (header injection), so
it is refused before anything is sent, with the place of the bad character and never
the value itself (it may be a secret)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import InvalidHeader

#: Control characters (all but tab): requests refuses CR and LF, h11 (httpx) NUL, CR,
#: LF, form feed and vertical tab; none of them belongs in a header.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
#: A header name is an RFC 9110 token.
_TOKEN = re.compile(r"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
_NAMES = {"\r": "carriage return (\\r)", "\n": "line feed (\\n)", "\x00": "NUL (\\x00)"}


def check_value(value: Any, what: str, *, ends: bool = True) -> None:
    """Raise :class:`InvalidHeader` when ``value`` (a ``str``; other types are the HTTP
    library's to judge) has a control character, or white space at either end when
    ``ends`` (a Basic password may end with a space: it is sent encoded).

    >>> check_value("Bearer tok\\n", "the auth token")
    Traceback (most recent call last):
    ...
    kinto_orm.protocol.errors.InvalidHeader: the auth token has a line feed (\\n) at ...
    """
    if not isinstance(value, str):
        return
    found = _CONTROL.search(value)
    if found is not None:
        char = found.group()
        name = _NAMES.get(char, f"control character {char!r}")
        raise InvalidHeader(
            f"{what} has a {name} at position {found.start()}: it would end the header on "
            "the wire and start another one, so nothing was sent. Remove it (a value read "
            "from a file or an environment variable often ends with a newline: .strip() it)."
        )
    if ends and value != value.strip(" \t"):
        raise InvalidHeader(
            f"{what} starts or ends with white space, which HTTP libraries refuse: nothing "
            "was sent. .strip() it."
        )


def check_headers(headers: Mapping[Any, Any]) -> None:
    """Raise :class:`InvalidHeader` for a header whose name is not an HTTP token or
    whose value :func:`check_value` refuses (see there)."""
    for name, value in headers.items():
        if isinstance(name, str) and not _TOKEN.fullmatch(name):
            raise InvalidHeader(
                f"The header name {name!r} is not a valid HTTP header name (letters, digits "
                "and !#$%&'*+-.^_`|~ only): nothing was sent."
            )
        check_value(value, f"The value of the header {name!r}")
