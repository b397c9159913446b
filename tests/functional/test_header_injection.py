"""A line break (or another control character) in a header value or a credential is
refused before anything is sent, by both clients, with an error that says where and never
shows the secret: ``InvalidHeader``, a ``KintoException`` and a ``ValueError`` (and
requests' ``InvalidHeader``, what kinto-http raises). The loopback recorder proves that
nothing reached the server: no request, not even a connection."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from kinto_orm import AsyncClient, BearerTokenAuth, Client, KintoException
from kinto_orm.errors import InvalidHeader

from .recorder import Recorder, serve, url_of

SECRET = "s3cr3t-t0ken"


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    yield from serve(Recorder())


def _refused(info: pytest.ExceptionInfo[InvalidHeader], recorder: Recorder) -> str:
    error = info.value
    assert isinstance(error, KintoException) and isinstance(error, ValueError)
    assert isinstance(error, requests.exceptions.InvalidHeader)
    assert SECRET not in str(error) and "nothing was sent" in str(error)
    assert recorder.seen == [] and recorder.connections == 0
    return str(error)


CREDENTIALS = {
    "injected bearer string": f"Bearer {SECRET}\r\nX-Injected: yes",
    "bearer string ending with a newline": f"Bearer {SECRET}\n",
    "token object ending with a newline": BearerTokenAuth(f"{SECRET}\n"),
    "token object with a bare CR": BearerTokenAuth(f"{SECRET}\rX: 1"),
    "password with a newline": ("alice", f"{SECRET}\n"),
    "user:password string with a NUL": f"alice:{SECRET}\x00",
}


@pytest.mark.parametrize("auth", CREDENTIALS.values(), ids=CREDENTIALS.keys())
@pytest.mark.parametrize("kind", [Client, AsyncClient])
def test_credentials_with_a_line_break_are_refused(
    recorder: Recorder, kind: type[Any], auth: Any
) -> None:
    with pytest.raises(InvalidHeader) as info:
        kind(url_of(recorder), auth=auth)
    message = _refused(info, recorder)
    assert "auth" in message or "Authorization" in message


@pytest.mark.parametrize("kind", [Client, AsyncClient])
def test_credentials_in_the_url_with_a_line_break_are_refused(
    recorder: Recorder, kind: type[Any]
) -> None:
    url = url_of(recorder).replace("http://", f"http://alice:{SECRET}%0A@")
    with pytest.raises(InvalidHeader) as info:
        kind(url)
    assert "password" in _refused(info, recorder)


@pytest.mark.parametrize("headers", [{"X-Team": "a\nb"}, {"X-Team": "a\r\nX-Injected: yes"},
                                     {"X-Team\n": "a"}, {"X-Team": "\x7f"}])
@pytest.mark.parametrize("kind", [Client, AsyncClient])
def test_default_headers_with_a_line_break_are_refused(
    recorder: Recorder, kind: type[Any], headers: dict[str, str]
) -> None:
    with pytest.raises(InvalidHeader) as info:
        kind(url_of(recorder), headers=headers)
    assert "X-Team" in _refused(info, recorder)


def test_request_headers_and_later_defaults_are_checked_sync(recorder: Recorder) -> None:
    with Client(url_of(recorder), auth=("alice", SECRET)) as client:
        with pytest.raises(InvalidHeader) as info:
            client.session.request("get", "/x", headers={"If-Match": '"1"\nX-Injected: yes'})
        _refused(info, recorder)
        client.session.headers["X-Team"] = "blue\n"  # the defaults, changed later
        with pytest.raises(InvalidHeader) as info:
            client.server_info()
        _refused(info, recorder)
        del client.session.headers["X-Team"]
        assert client.server_info() == {"data": {"id": "x"}}  # the recorder's answer
    assert len(recorder.seen) == 1 and "X-Injected" not in str(recorder.seen)


def test_request_headers_and_later_defaults_are_checked_async(recorder: Recorder) -> None:
    async def main() -> Any:
        async with AsyncClient(url_of(recorder), auth=("alice", SECRET)) as aclient:
            with pytest.raises(InvalidHeader) as info:
                await aclient.session.request("get", "/x", headers={"X-Id": "1\r\nX-Injected: 1"})
            _refused(info, recorder)
            aclient.session.headers["X-Team"] = "blue\n"
            with pytest.raises(InvalidHeader) as info:
                await aclient.server_info()
            _refused(info, recorder)
            del aclient.session.headers["X-Team"]
            return await aclient.server_info()

    assert asyncio.run(main()) == {"data": {"id": "x"}}
    assert len(recorder.seen) == 1 and "X-Injected" not in str(recorder.seen)


def test_a_clean_token_and_password_still_go_out(recorder: Recorder) -> None:
    """Spaces are fine inside a Basic password (it is sent encoded) and in a header."""
    with Client(url_of(recorder), auth=("alice", " pass word "),
                headers={"X-Team": "blue and red"}) as client:
        client.server_info()
    with Client(url_of(recorder), auth=f"Bearer {SECRET}") as client:
        client.server_info()
    first, second = (dict(headers) for _, _, headers, _ in recorder.seen)
    assert first["X-Team"] == "blue and red" and first["Authorization"].startswith("Basic ")
    assert second["Authorization"] == f"Bearer {SECRET}"
