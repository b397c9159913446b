"""Server capabilities: say which plugin a feature needs when the server lacks it.

The capabilities come from ``GET /v1/`` (read once per client, then cached). The
kinto-http methods (``get_history()``, ``purge_history()``, attachments...) send their
request as kinto-http does and only a 404 makes them look (:func:`requires`): it then
becomes a :class:`MissingCapability` instead of an obscure 404. The object API
(``Query.at()``, history queries) checks first (:func:`require`) and sends nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from .batch import continue_op
from .errors import KintoException, NotFound
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
    """A plugin feature was called on a server without that plugin.

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
    """Decorate an operation builder (``def _op_x(self, ...)``) of a kinto-http method:
    the request is sent as kinto-http sends it, and the server's answer decides. Only
    when the server answers 404 and its ``GET /v1/`` (read then, once per client) lacks
    ``capability`` does the 404 become a :class:`MissingCapability` (which keeps the
    404's ``request`` and ``response``)."""

    def decorate(builder: Callable[P, Op[T]]) -> Callable[P, Op[T]]:
        feature = builder.__name__.removeprefix("_op_") + "()"

        @functools.wraps(builder)
        def checked(*args: P.args, **kwargs: P.kwargs) -> Op[T]:
            op = builder(*args, **kwargs)
            step = start(op)
            if isinstance(step, Done):
                result: T = step.value
                return result
            try:
                value: T = yield from continue_op(op, step)
            except NotFound as exc:
                yield from _explain_404(args[0], capability, feature, exc)
                raise
            return value

        return checked

    return decorate


def _explain_404(client: Any, capability: str, feature: str, exc: NotFound) -> Op[None]:
    """Raise :class:`MissingCapability` from ``exc`` when the server lacks ``capability``."""
    try:
        info = yield from client._op_server_info()
    except KintoException:
        return  # the 404 says more than a failed GET /v1/
    if capability not in (info.get("capabilities") or {}):
        missing = MissingCapability.of(capability, feature, client.server_url)
        raise MissingCapability(
            str(missing), exc, capability=capability, description=missing.description
        ) from exc


__all__ = ["PLUGINS", "MissingCapability", "require", "requires"]
