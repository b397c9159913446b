"""What a pull or a push did: :class:`SyncReport`, and the :class:`Conflict` values in it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from ..models.base import KintoObject

T = TypeVar("T", bound=KintoObject)

#: How conflicts are settled (kinto.js's strategies): ``"manual"`` reports them and changes
#: nothing, ``"server_wins"`` keeps the server's version, ``"client_wins"`` sends the local
#: one over it, ``"pull_only"`` takes the server's version and never pushes.
Strategy = Literal["manual", "server_wins", "client_wins", "pull_only"]
STRATEGIES: tuple[str, ...] = ("manual", "server_wins", "client_wins", "pull_only")


@dataclass
class Conflict(Generic[T]):
    """A record changed both locally and on the server since the last sync.

    ``local`` is the local version (None: deleted locally), ``remote`` the server's (None:
    deleted on the server). Settle it with ``replica.resolve(conflict, obj)``.
    """

    id: str
    local: T | None
    remote: T | None


@dataclass
class SyncReport(Generic[T]):
    """What a ``pull()``, ``push()`` or ``synchronize()`` did.

    ``created``, ``updated``, ``deleted``: ids changed locally by the pull; ``published``:
    ids the push wrote on the server; ``conflicts``: the ones left for you (``"manual"``);
    ``resolved``: conflicts a strategy settled; ``errors``: ``(id, error)`` of the writes
    the server refused for another reason. ``ok`` is True without conflicts and errors.
    """

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    conflicts: list[Conflict[T]] = field(default_factory=list)
    resolved: list[Conflict[T]] = field(default_factory=list)
    errors: list[tuple[str, Exception]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no conflict is left and no write failed."""
        return not self.conflicts and not self.errors

    def __repr__(self) -> str:
        counts = ", ".join(
            f"{name}={len(getattr(self, name))}"
            for name in ("created", "updated", "deleted", "published", "conflicts", "errors")
        )
        return f"<SyncReport {counts} ok={self.ok}>"


__all__ = ["STRATEGIES", "Conflict", "Strategy", "SyncReport"]
