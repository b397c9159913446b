"""Command-line helpers, option for option the same as kinto-http's ``cli_utils``.

>>> parser = argparse.ArgumentParser()
>>> set_parser_server_options(parser)
>>> args = parser.parse_args()
>>> setup_logger(logging.getLogger(), args)
>>> client = create_client_from_args(args)

``KINTO_SERVER_URL`` and ``KINTO_AUTH`` in the environment give the defaults of
``--server`` and ``--auth``.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
from typing import Any

from .auth import BearerTokenAuth
from .client import Client

DEFAULT_SERVER = "http://localhost:8888/v1"


def get_auth(auth: str) -> tuple[str, ...]:
    """``"user:pass"`` -> ``("user", "pass")``; ``"user"`` asks for the password."""
    parts: tuple[str, ...] = tuple(auth.split(":", 1))
    if len(parts) < 2:
        password = getpass.getpass(f"Please enter a password for {parts[0]}: ")
        parts = (parts[0], password)
    return parts


def parse_auth_option(value: str) -> Any:
    """``--auth`` value: ``user:pass`` (Basic) or ``Bearer token`` (any header type)."""
    colon, space = value.find(":"), value.find(" ")
    if space > 0 and (colon == -1 or space < colon):
        kind, token = value.split(" ", 1)
        return BearerTokenAuth(token=token, type=kind)
    return get_auth(value)


class AuthAction(argparse.Action):
    """Parse ``--auth`` into credentials as soon as it is read."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, parse_auth_option(values) if values else None)


def add_parser_options(
    parser: argparse.ArgumentParser | None = None,
    default_server: str | None = None,
    default_auth: str | None = None,
    default_retry: int = 0,
    default_retry_after: int | None = None,
    default_ignore_batch_4xx: bool = False,
    default_bucket: str | None = None,
    default_collection: str | None = None,
    include_bucket: bool = True,
    include_collection: bool = True,
    **kwargs: Any,
) -> argparse.ArgumentParser:
    """Add the server options (``-s -a -b -c --retry --retry-after --ignore-batch-4xx
    -v -q -D``) to ``parser`` (a new one when None) and return it."""
    if parser is None:
        parser = argparse.ArgumentParser(**kwargs)
    server = default_server or os.environ.get("KINTO_SERVER_URL") or DEFAULT_SERVER
    auth_default = default_auth or os.environ.get("KINTO_AUTH")
    parser.add_argument(
        "-s", "--server", type=str, default=server,
        help=f"The location of the remote server, with prefix (default: {server}; "
        "env KINTO_SERVER_URL)",
    )
    parser.add_argument(
        "-a", "--auth", type=str, default=auth_default, action=AuthAction,
        help="BasicAuth credentials `user:password`, or an Authorization header "
        "`Bearer token` (env KINTO_AUTH)",
    )
    if include_bucket:
        parser.add_argument("-b", "--bucket", type=str, default=default_bucket,
                            help="Bucket name.")
    if include_collection:
        parser.add_argument("-c", "--collection", type=str, default=default_collection,
                            help="Collection name.")
    parser.add_argument("--retry", type=int, default=default_retry,
                        help="Number of retries when a request fails")
    parser.add_argument(
        "--retry-after", type=int, default=default_retry_after,
        help="Delay in seconds between retries when requests fail (default: from the server)",
    )
    parser.add_argument(
        "--ignore-batch-4xx", action="store_true", default=default_ignore_batch_4xx,
        dest="ignore_batch_4xx", help="Do not fail on 4xx errors in batch requests.",
    )
    parser.add_argument("-v", "--verbose", action="store_const", const=logging.INFO,
                        dest="verbosity", help="Show all messages.")
    parser.add_argument("-q", "--quiet", action="store_const", const=logging.CRITICAL,
                        dest="verbosity", help="Show only critical errors.")
    parser.add_argument("-D", "--debug", action="store_const", const=logging.DEBUG,
                        dest="verbosity", help="Show all messages, including debug messages.")
    return parser


#: The older kinto-http name of :func:`add_parser_options`.
set_parser_server_options = add_parser_options


def setup_logger(logger: logging.Logger, args: argparse.Namespace) -> None:
    """Send ``logger``'s records to stderr at the verbosity chosen by ``-v/-q/-D``
    (calling it again replaces the earlier set-up instead of adding to it)."""
    for handler in list(logger.handlers):
        if getattr(handler, "_kinto_orm", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler()
    handler._kinto_orm = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    if getattr(args, "verbosity", None):
        logger.setLevel(args.verbosity)


def create_client_from_args(args: argparse.Namespace) -> Client:
    """A :class:`~kinto_orm.Client` configured from parsed arguments."""
    auth = args.auth
    if isinstance(auth, str):
        auth = parse_auth_option(auth)
    return Client(
        args.server,
        auth=auth,
        bucket=getattr(args, "bucket", None),
        collection=getattr(args, "collection", None),
        retry=args.retry,
        retry_after=args.retry_after,
        ignore_batch_4xx=getattr(args, "ignore_batch_4xx", False),
    )


__all__ = [
    "AuthAction",
    "add_parser_options",
    "create_client_from_args",
    "get_auth",
    "parse_auth_option",
    "set_parser_server_options",
    "setup_logger",
]
