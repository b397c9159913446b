"""Every ``auth=`` form against the real Kinto (which identity the server sees, checked
with plain ``requests``), credentials kept out of reprs, errors and DEBUG logs, and the
``kinto_orm.cli_utils`` helpers (compared with kinto-http's where they overlap).

BrowserOAuth has its own tests in ``tests/auth``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import kinto_http
import kinto_http.cli_utils
import pytest
import requests
import requests.auth

from kinto_orm import (
    AsyncClient,
    BearerTokenAuth,
    Client,
    Forbidden,
    KintoException,
    Unauthorized,
    cli_utils,
)
from kinto_orm.testing import new_credentials, unique_id

from .conftest import DEAD_URL, Raw


def server_user_id(url: str, auth: tuple[str, str]) -> str:
    """The user id Kinto gives these Basic credentials (asked with plain requests)."""
    body = requests.get(url + "/", auth=auth, timeout=10).json()
    return str(body["user"]["id"])


def basic_token(auth: tuple[str, str]) -> str:
    return base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()


@pytest.fixture
def creds() -> tuple[str, str]:
    """Fresh credentials; the password contains a colon (only the first one splits)."""
    user, password = new_credentials()
    return user, f"pa:{password}"


@pytest.fixture
def buckets(kinto_server: Any, creds: tuple[str, str]) -> Iterator[list[str]]:
    """Bucket ids to remove after the test."""
    made: list[str] = []
    yield made
    for bucket in made:
        requests.delete(f"{kinto_server.url}/buckets/{bucket}", auth=creds, timeout=10)


# ============================================================================ auth forms


SYNC_FORMS = {
    "tuple": lambda c: c,
    "list": lambda c: list(c),
    "user:pass string": lambda c: f"{c[0]}:{c[1]}",
    "requests HTTPBasicAuth": lambda c: requests.auth.HTTPBasicAuth(*c),
    "'Basic <token>' string": lambda c: f"Basic {basic_token(c)}",
    "BearerTokenAuth(type='Basic')": lambda c: BearerTokenAuth(basic_token(c), type="Basic"),
}


@pytest.mark.parametrize("form", list(SYNC_FORMS))
def test_sync_auth_forms_reach_the_server_as_the_same_user(
    kinto_server: Any, creds: tuple[str, str], buckets: list[str], form: str
) -> None:
    expected = server_user_id(kinto_server.url, creds)
    with Client(kinto_server.url, auth=SYNC_FORMS[form](creds)) as client:
        assert client.server_info()["user"]["id"] == expected
        bucket = unique_id("auth")
        buckets.append(bucket)
        client.create_bucket(id=bucket)
    body = Raw(kinto_server.url, creds).body(f"/buckets/{bucket}")
    assert body["permissions"]["write"] == [expected]


def test_credentials_in_the_url(
    kinto_server: Any, creds: tuple[str, str], buckets: list[str]
) -> None:
    expected = server_user_id(kinto_server.url, creds)
    user, password = creds
    url = kinto_server.url.replace("http://", f"http://{user}:{password.replace(':', '%3A')}@")
    with Client(url) as client:
        assert client.server_info()["user"]["id"] == expected
        assert password not in repr(client) and password not in client.server_url
        assert client.session.server_url == kinto_server.url


def test_accounts_plugin_login(kinto_server: Any) -> None:
    account, password = unique_id("acct"), "s3cr3t:pw"
    created = requests.put(
        f"{kinto_server.url}/accounts/{account}", json={"data": {"password": password}},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    with Client(kinto_server.url, auth=f"{account}:{password}") as client:
        assert client.server_info()["user"]["id"] == f"account:{account}"


ASYNC_FORMS = {
    "tuple": lambda c: c,
    "user:pass string": lambda c: f"{c[0]}:{c[1]}",
    "httpx.BasicAuth": lambda c: httpx.BasicAuth(*c),
    "'Basic <token>' string": lambda c: f"Basic {basic_token(c)}",
    "BearerTokenAuth(type='Basic')": lambda c: BearerTokenAuth(basic_token(c), type="Basic"),
}


def test_async_auth_forms_reach_the_server_as_the_same_user(
    kinto_server: Any, creds: tuple[str, str], buckets: list[str]
) -> None:
    expected = server_user_id(kinto_server.url, creds)

    async def main() -> dict[str, str]:
        seen = {}
        for name, form in ASYNC_FORMS.items():
            async with AsyncClient(kinto_server.url, auth=form(creds)) as client:
                seen[name] = (await client.server_info())["user"]["id"]
        bucket = unique_id("aauth")
        buckets.append(bucket)
        async with AsyncClient(kinto_server.url, auth=httpx.BasicAuth(*creds)) as client:
            await client.create_bucket(id=bucket)
        return seen

    assert asyncio.run(main()) == dict.fromkeys(ASYNC_FORMS, expected)
    body = Raw(kinto_server.url, creds).body(f"/buckets/{buckets[0]}")
    assert body["permissions"]["write"] == [expected]


def test_async_client_refuses_a_requests_auth(kinto_server: Any) -> None:
    with pytest.raises(TypeError, match="httpx"):
        AsyncClient(kinto_server.url, auth=requests.auth.HTTPBasicAuth("a", "b"))


@pytest.mark.parametrize(
    "auth", ["Bearer unknown-token", "Token unknown-token", BearerTokenAuth("unknown-token")]
)
def test_unknown_token_is_unauthorized(kinto_server: Any, auth: Any) -> None:
    with Client(kinto_server.url, auth=auth) as client:
        assert "user" not in client.server_info()  # the server does not know the token
        with pytest.raises(Unauthorized) as info:
            client.get_buckets()
        assert info.value.status_code == 401 and info.value.errno == 104
        with pytest.raises(Unauthorized):
            client.create_bucket(id=unique_id("never"))
    assert "unknown-token" not in str(info.value) and "unknown-token" not in repr(info.value)


def test_unknown_token_is_unauthorized_async(kinto_server: Any) -> None:
    async def main() -> Unauthorized:
        async with AsyncClient(kinto_server.url, auth="Bearer unknown-token") as client:
            with pytest.raises(Unauthorized) as info:
                await client.get_buckets()
            return info.value

    exc = asyncio.run(main())
    assert exc.status_code == 401 and "unknown-token" not in str(exc)


# ============================================================================ no leaks

SECRET = "Zq9-very-secret-Zq9"


def secret_forms(user: str) -> dict[str, Any]:
    return {
        "tuple": (user, SECRET),
        "string": f"{user}:{SECRET}",
        "bearer string": f"Bearer {SECRET}",
        "BearerTokenAuth": BearerTokenAuth(SECRET),
        "HTTPBasicAuth": requests.auth.HTTPBasicAuth(user, SECRET),
    }


def test_credentials_never_in_reprs_errors_or_debug_logs(
    kinto_server: Any, client: Client, bid: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: kinto_orm, urllib3, ...
    user = unique_id("leak")
    messages: list[str] = []
    for form in secret_forms(user).values():
        with Client(kinto_server.url, auth=form, bucket=bid, collection="c") as leaky:
            messages += [repr(leaky), str(leaky), repr(leaky.session)]
            messages.append(repr(leaky.clone(collection="other")))
            leaky.server_info()
            with pytest.raises(KintoException) as info:  # 401 or 403: not its bucket
                leaky.get_records()
            assert isinstance(info.value, (Unauthorized, Forbidden))
            messages += [str(info.value), repr(info.value), repr(info.value.request)]
            messages.append(str(info.value.details))
    with Client(DEAD_URL, auth=(user, SECRET), retry=1, retry_after=0) as dead, \
            pytest.raises(KintoException) as network:
        dead.get_buckets()
    messages += [str(network.value), repr(network.value), str(network.value.__cause__)]

    assert caplog.records, "requests are logged at DEBUG"
    assert any("retrying" in r.getMessage() for r in caplog.records)
    logged = [r.getMessage() for r in caplog.records] + [caplog.text]
    for text in messages + logged:
        assert SECRET not in text
        assert basic_token((user, SECRET)) not in text


def test_async_credentials_never_in_reprs_errors_or_debug_logs(
    kinto_server: Any, bid: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user = unique_id("leak")

    async def main() -> list[str]:
        texts = []
        for form in [(user, SECRET), f"Bearer {SECRET}", httpx.BasicAuth(user, SECRET)]:
            async with AsyncClient(kinto_server.url, auth=form, bucket=bid) as leaky:
                texts += [repr(leaky), repr(leaky.session)]
                with pytest.raises(KintoException) as info:
                    await leaky.get_collections()
                texts += [str(info.value), repr(info.value)]
        return texts

    texts = asyncio.run(main())
    assert caplog.records
    for text in [*texts, caplog.text]:
        assert SECRET not in text and basic_token((user, SECRET)) not in text


# ============================================================================ cli_utils


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("KINTO_SERVER_URL", raising=False)
    monkeypatch.delenv("KINTO_AUTH", raising=False)
    return monkeypatch


def test_parser_defaults(no_env: pytest.MonkeyPatch) -> None:
    parser = argparse.ArgumentParser()
    assert cli_utils.add_parser_options(parser) is parser
    args = parser.parse_args([])
    assert vars(args) == {
        "server": "http://localhost:8888/v1",
        "auth": None,
        "bucket": None,
        "collection": None,
        "retry": 0,
        "retry_after": None,
        "ignore_batch_4xx": False,
        "verbosity": None,
    }
    assert cli_utils.set_parser_server_options is cli_utils.add_parser_options
    # Without a parser, one is made with the keyword arguments.
    made = cli_utils.add_parser_options(description="Sync things", prog="sync")
    assert made.description == "Sync things" and made.prog == "sync"
    assert made.parse_args([]).retry == 0


def test_parser_custom_defaults_and_exclusions(no_env: pytest.MonkeyPatch) -> None:
    parser = cli_utils.set_parser_server_options(
        default_server="http://kinto.example/v1", default_auth="u:p", default_retry=2,
        default_retry_after=5, default_ignore_batch_4xx=True, default_bucket="blog",
        default_collection="posts",
    )
    args = parser.parse_args([])
    assert (args.server, args.auth, args.bucket, args.collection) == (
        "http://kinto.example/v1", "u:p", "blog", "posts"
    )
    assert (args.retry, args.retry_after, args.ignore_batch_4xx) == (2, 5, True)

    narrow = cli_utils.add_parser_options(include_bucket=False, include_collection=False)
    args = narrow.parse_args([])
    assert not hasattr(args, "bucket") and not hasattr(args, "collection")
    with pytest.raises(SystemExit):
        narrow.parse_args(["-b", "blog"])


def test_parser_options_short_and_long(no_env: pytest.MonkeyPatch) -> None:
    parser = cli_utils.add_parser_options()
    short = parser.parse_args(
        ["-s", "http://h/v1", "-a", "u:p", "-b", "b", "-c", "c", "--retry", "3",
         "--retry-after", "1", "--ignore-batch-4xx", "-v"]
    )
    long = parser.parse_args(
        ["--server", "http://h/v1", "--auth", "u:p", "--bucket", "b", "--collection", "c",
         "--retry", "3", "--retry-after", "1", "--ignore-batch-4xx", "--verbose"]
    )
    assert vars(short) == vars(long) == {
        "server": "http://h/v1", "auth": ("u", "p"), "bucket": "b", "collection": "c",
        "retry": 3, "retry_after": 1, "ignore_batch_4xx": True, "verbosity": logging.INFO,
    }
    for flags, level in [(["-q"], logging.CRITICAL), (["--quiet"], logging.CRITICAL),
                         (["-D"], logging.DEBUG), (["--debug"], logging.DEBUG),
                         (["-v"], logging.INFO)]:
        assert parser.parse_args(flags).verbosity == level


def test_environment_defaults(no_env: pytest.MonkeyPatch) -> None:
    no_env.setenv("KINTO_SERVER_URL", "http://from-env:8888/v1")
    no_env.setenv("KINTO_AUTH", "env-user:env-pass")
    args = cli_utils.add_parser_options().parse_args([])
    assert args.server == "http://from-env:8888/v1"
    assert args.auth in ("env-user:env-pass", ("env-user", "env-pass"))
    # The command line and explicit defaults win over the environment.
    args = cli_utils.add_parser_options().parse_args(["-s", "http://cli/v1", "-a", "c:d"])
    assert (args.server, args.auth) == ("http://cli/v1", ("c", "d"))
    args = cli_utils.add_parser_options(default_server="http://given/v1").parse_args([])
    assert args.server == "http://given/v1"


@pytest.mark.parametrize(
    "value",
    ["user:pass", "user:pa:ss", "Bearer tok", "Bearer tok:with:colons", "Token abc",
     "Basic dTpw", "user name:pass"],
)
def test_auth_option_parsing_matches_kinto_http(value: str) -> None:
    ours = cli_utils.add_parser_options(argparse.ArgumentParser()).parse_args(["-a", value])
    theirs = kinto_http.cli_utils.add_parser_options(argparse.ArgumentParser()).parse_args(
        ["-a", value]
    )
    if isinstance(theirs.auth, tuple):
        assert ours.auth == theirs.auth
    else:
        assert isinstance(ours.auth, BearerTokenAuth)
        assert (ours.auth.type, ours.auth.token) == (theirs.auth.type, theirs.auth.token)


def test_auth_option_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    parser = cli_utils.add_parser_options()
    assert parser.parse_args(["-a", "alice:s3:cr3t"]).auth == ("alice", "s3:cr3t")
    bearer = parser.parse_args(["--auth", "Bearer abc:def"]).auth
    assert isinstance(bearer, BearerTokenAuth)
    assert (bearer.type, bearer.token) == ("Bearer", "abc:def")
    asked: list[str] = []
    monkeypatch.setattr(
        cli_utils.getpass, "getpass", lambda prompt: asked.append(prompt) or "typed"
    )
    assert parser.parse_args(["-a", "alice"]).auth == ("alice", "typed")
    assert asked and "alice" in asked[0]


def test_create_client_from_args_works_against_the_server(
    kinto_server: Any, creds: tuple[str, str], buckets: list[str], no_env: pytest.MonkeyPatch
) -> None:
    bucket = unique_id("cli")
    buckets.append(bucket)
    args = cli_utils.add_parser_options().parse_args(
        ["-s", kinto_server.url, "-a", f"{creds[0]}:{creds[1]}", "-b", bucket, "-c", "posts",
         "--retry", "2", "--retry-after", "1", "--ignore-batch-4xx"]
    )
    client = cli_utils.create_client_from_args(args)
    assert isinstance(client, Client)
    assert (client.bucket_name, client.collection_name) == (bucket, "posts")
    assert client.session.server_url == kinto_server.url
    assert (client.session.retry, client.session.retry_after) == (2, 1)

    expected = server_user_id(kinto_server.url, creds)
    assert client.server_info()["user"]["id"] == expected
    client.create_bucket()
    client.create_collection()
    client.create_record(id="p1", data={"title": "from the CLI"})
    with client.batch() as batch:  # --ignore-batch-4xx: no exception for the bad one
        batch.create_record(id="p2", data={"title": "ok"})
        batch.create_record(id="p3", data={}, permissions={"nope": ["x"]})
    raw = Raw(kinto_server.url, creds)
    stored = raw.body(f"/buckets/{bucket}/collections/posts/records/p1")
    assert stored["data"]["title"] == "from the CLI"
    assert stored["permissions"]["write"] == [expected]
    assert raw.status(f"/buckets/{bucket}/collections/posts/records/p2") == 200
    assert raw.status(f"/buckets/{bucket}/collections/posts/records/p3") == 404
    client.close()


def test_create_client_from_environment(
    kinto_server: Any, creds: tuple[str, str], no_env: pytest.MonkeyPatch
) -> None:
    no_env.setenv("KINTO_SERVER_URL", kinto_server.url)
    no_env.setenv("KINTO_AUTH", f"{creds[0]}:{creds[1]}")
    args = cli_utils.add_parser_options().parse_args([])
    with cli_utils.create_client_from_args(args) as client:
        assert client.session.server_url == kinto_server.url
        assert client.server_info()["user"]["id"] == server_user_id(kinto_server.url, creds)
        assert creds[1] not in repr(client)

    no_env.setenv("KINTO_AUTH", f"Basic {basic_token(creds)}")
    args = cli_utils.add_parser_options().parse_args([])
    with cli_utils.create_client_from_args(args) as client:
        assert client.server_info()["user"]["id"] == server_user_id(kinto_server.url, creds)

    no_env.setenv("KINTO_AUTH", "Bearer unknown-token")
    args = cli_utils.add_parser_options().parse_args([])
    with cli_utils.create_client_from_args(args) as client, pytest.raises(Unauthorized):
        client.get_buckets()


def test_create_client_from_kinto_http_style_namespace(kinto_server: Any,
                                                       creds: tuple[str, str]) -> None:
    """A namespace built by hand, as some scripts do (no bucket/collection attributes)."""
    args = argparse.Namespace(
        server=kinto_server.url, auth=creds, retry=0, retry_after=None
    )
    with cli_utils.create_client_from_args(args) as client:
        assert client.bucket_name is None and client.collection_name is None
        assert client.server_info()["user"]["id"] == server_user_id(kinto_server.url, creds)


@pytest.fixture
def fresh_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger(unique_id("kinto-orm-test"))
    yield logger
    for handler in list(logger.handlers):
        logger.removeHandler(handler)


@pytest.mark.parametrize(
    ("flags", "level"),
    [([], logging.NOTSET), (["-v"], logging.INFO), (["-q"], logging.CRITICAL),
     (["-D"], logging.DEBUG)],
)
def test_setup_logger(
    fresh_logger: logging.Logger, flags: list[str], level: int, no_env: pytest.MonkeyPatch
) -> None:
    args = cli_utils.add_parser_options().parse_args(flags)
    cli_utils.setup_logger(fresh_logger, args)
    assert fresh_logger.level == level
    assert [type(h) for h in fresh_logger.handlers] == [logging.StreamHandler]


def test_setup_logger_debug_shows_requests_without_secrets(
    kinto_server: Any, creds: tuple[str, str], capsys: pytest.CaptureFixture[str],
    no_env: pytest.MonkeyPatch,
) -> None:
    logger = logging.getLogger("kinto_orm")
    old_level, old_handlers = logger.level, list(logger.handlers)
    args = cli_utils.add_parser_options().parse_args(
        ["-s", kinto_server.url, "-a", f"{creds[0]}:{creds[1]}", "-D"]
    )
    try:
        cli_utils.setup_logger(logger, args)
        with cli_utils.create_client_from_args(args) as client:
            client.get_buckets()
    finally:
        for handler in logger.handlers[len(old_handlers):]:
            logger.removeHandler(handler)
        logger.setLevel(old_level)
    err = capsys.readouterr().err
    assert "GET" in err and "/buckets" in err
    assert creds[1] not in err and basic_token(creds) not in err
