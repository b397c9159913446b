"""What the ``kinto-orm`` command says when something goes wrong: one line that names the
problem and what to do next (an unreachable server, a missing bucket, a port in use).
"""

from __future__ import annotations

import argparse
import re

import requests

from .. import KintoException
from ..protocol.failures import Redirected


class UsageError(Exception):
    """Bad input from the user: exit code 2."""


class CliError(Exception):
    """A failure explained in one line to the user: exit code 1."""


def _reason(exc: BaseException) -> str:
    """The root cause of a network error, e.g. ``Connection refused``."""
    text = str(exc)
    found = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    if found:
        return found.group(1).strip()
    if "timed out" in text.lower() or "timeout" in text.lower():
        return "timed out"
    cause = exc.__cause__
    return type(cause).__name__ if cause is not None else "no answer"


def explain(exc: BaseException, args: argparse.Namespace) -> str:
    """One line for a failed request, with a hint when the cause is a usual one."""
    if not isinstance(exc, KintoException):
        return str(exc)
    # A person reads this: the fuller description rather than kinto-http's terse text.
    text = exc.description
    server = getattr(args, "server", "")
    bucket = getattr(args, "bucket", None)
    status = exc.status_code
    if isinstance(exc, Redirected):
        use = (f"use --server {exc.server_url} (or KINTO_SERVER_URL)" if exc.server_url
               else "give the URL of its Kinto API (it usually ends with /v1) with --server")
        where = f" to {exc.location}" if exc.location else ""
        return (f"the server at {server} answers with a redirect ({status}{where}): {use}.")
    if status is None and exc.__cause__ is not None:
        return (f"cannot reach a Kinto server at {server} ({_reason(exc)}). Start a local one "
                "with `kinto-orm serve`, or give yours with --server URL or KINTO_SERVER_URL.")
    if status == 401:
        return (f"{text} - the server refused the credentials: check --auth or KINTO_AUTH "
                "(user:password, or 'Bearer TOKEN').")
    if status == 403 and bucket:
        return (f"{text} - bucket {bucket!r} does not exist, or these credentials may not use "
                "it (Kinto answers 403 for both). `kinto-orm tree` lists the buckets you can "
                "read; check -b, --auth/KINTO_AUTH, or ask the bucket's owner for access.")
    collection = getattr(args, "collection", None)
    if status == 404 and bucket and collection and f"/collections/{collection}/" in str(exc):
        return (f"collection {collection!r} does not exist in bucket {bucket!r} (404). "
                f"`kinto-orm tree -b {bucket}` lists its collections.")
    details = exc.details if isinstance(exc.details, dict) else {}
    if status == 404 and details.get("resource_name") and details.get("id"):
        kind, oid = details["resource_name"], details["id"]
        where = f" in bucket {bucket!r}" if bucket and kind != "bucket" else ""
        return (f"{kind} {oid!r} does not exist{where} (404). `kinto-orm tree"
                f"{' -b ' + bucket if bucket else ''}` shows what there is.")
    return text


def port_owner(port: int) -> str:
    """Who answers on ``127.0.0.1:port``: a Kinto (with its version), or another program."""
    url = f"http://127.0.0.1:{port}/v1/"
    try:
        info = requests.get(url, timeout=2).json()
    except (requests.RequestException, ValueError):
        return "another program"
    if isinstance(info, dict) and info.get("project_name"):
        return f"a running {info['project_name']} {info.get('project_version', '')} ({url})"
    return "another program"


def check_port_free(port: int) -> None:
    """Raise :class:`CliError` when ``port`` is taken: Kinto would not start, and its
    health check would be answered by whoever holds the port."""
    from ..testing import port_in_use

    if port_in_use(port):
        raise CliError(f"port {port} is already in use by {port_owner(port)}: stop it, or "
                       "choose another port with --port N.")


__all__ = ["CliError", "UsageError", "check_port_free", "explain"]
