"""Server capabilities: refuse a plugin feature the server lacks, before sending anything.

The capabilities come from ``GET /v1/`` (read once per client, then cached), so calling
``get_history()`` on a server without the history plugin raises :class:`MissingCapability`
instead of an obscure 404, and a write to a missing plugin is never sent.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from .batch import continue_op
from .errors import KintoException
from .protocol import Done, Op, start

P = ParamSpec("P")
T = TypeVar("T")

#: Capability name (as in ``GET /v1/``) -> what the server needs for it.
PLUGINS: dict[str, str] = {
    "history": "the history plugin (kinto.plugins.history in kinto.includes)",
    "attachments": "the kinto-attachment plugin (kinto_attachment in kinto.includes)",
    "permissions_endpoint": (
        "the permissions endpoint (kinto.experimental_permissions_endpoint = true)"
    ),
    "signer": "the review workflow of kinto-signer / remote-settings (capability 'signer')",
}


class MissingCapability(KintoException):
    """A plugin feature was called on a server without that plugin; nothing was sent.

    ``.capability`` is the capability name Kinto lists in ``GET /v1/`` (``"history"``,
    ``"attachments"``, ``"permissions_endpoint"``, ``"signer"``). Takes the arguments of
    :class:`KintoException`, plus ``capability=``.
    """

    def __init__(
        self, message: str | None = None, exception: BaseException | None = None, *,
        capability: str = "", **kwargs: Any,
    ) -> None:
        super().__init__(message, exception, **kwargs)
        self.capability = capability

    @classmethod
    def of(cls, capability: str, feature: str, server_url: str = "") -> MissingCapability:
        """The error for ``feature`` (e.g. ``"get_history()"``) on ``server_url``."""
        needs = PLUGINS.get(capability, f"the {capability!r} capability")
        where = f"the server {server_url}" if server_url else "the server"
        return cls(
            f"{feature} needs {needs}, and {where} does not list the {capability!r} "
            "capability in GET /v1/. Enable that plugin on the server.",
            capability=capability,
        )


def require(client: Any, capability: str, feature: str) -> Op[None]:
    """Raise :class:`MissingCapability` unless the server has ``capability`` (one cached
    ``GET /v1/`` per client; no check in ``dry_mode``)."""
    if getattr(client.session, "dry_mode", False):
        return  # nothing is sent in dry mode (kinto-http's): nothing to refuse either
    info = yield from client._op_server_info()
    if capability not in (info.get("capabilities") or {}):
        raise MissingCapability.of(capability, feature, client.server_url)


def requires(capability: str) -> Callable[[Callable[P, Op[T]]], Callable[P, Op[T]]]:
    """Decorate an operation builder (``def _op_x(self, ...)``) of a client: the operation
    first checks that the server has ``capability``."""

    def decorate(builder: Callable[P, Op[T]]) -> Callable[P, Op[T]]:
        feature = builder.__name__.removeprefix("_op_") + "()"

        @functools.wraps(builder)
        def checked(*args: P.args, **kwargs: P.kwargs) -> Op[T]:
            op = builder(*args, **kwargs)
            # Run the operation up to its first request first: bad arguments (invalid
            # ids...) still raise before anything is sent, even GET /v1/.
            step = start(op)
            if isinstance(step, Done):
                result: T = step.value
                return result
            try:
                yield from require(args[0], capability, feature)
            except BaseException:
                op.close()
                raise
            value: T = yield from continue_op(op, step)
            return value

        return checked

    return decorate


__all__ = ["PLUGINS", "MissingCapability", "require", "requires"]
