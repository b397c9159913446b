"""The I/O methods of every model (``create``, ``save``, ``patch``, ``delete``, ``refresh``,
``grant``, ``revoke``) and their async twins: each one line over an operation of
``KintoObject``, run by the sync or the async client."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from typing_extensions import Self

if TYPE_CHECKING:
    from .._client_like import ClientLike
    from ..protocol import Op


class ObjectAPI:
    """A mixin of :class:`KintoObject`: the methods users call to read and write it."""

    if TYPE_CHECKING:  # written in KintoObject (base.py)

        @property
        def path(self) -> str: ...

        def _after_write(self, client: ClientLike, body: dict[str, Any]) -> None: ...

        def _sync(
            self, client: ClientLike | None, name: str,
            make: Callable[[ClientLike], Op[Self]], queue: bool = True,
        ) -> Self: ...

        async def _async(
            self, client: ClientLike | None, name: str,
            make: Callable[[ClientLike], Op[Self]], queue: bool = True,
        ) -> Self: ...

        def _op_create(
            self, client: ClientLike, if_not_exists: bool, safe: bool, server_id: bool = False
        ) -> Op[Self]: ...

        def _op_save(self, client: ClientLike, safe: bool) -> Op[Self]: ...

        def _op_patch(self, client: ClientLike, changes: Any, safe: bool) -> Op[Self]: ...

        def _op_delete(self, client: ClientLike, if_exists: bool, safe: bool) -> Op[Self]: ...

        def _op_refresh(self, client: ClientLike) -> Op[Self]: ...

    # ------------------------------------------------------------------ sync API

    def create(
        self, if_not_exists: bool = False, safe: bool = True, *,
        server_id: bool = False, client: ClientLike | None = None,
    ) -> Self:
        """Create this object on the server (PUT with ``If-None-Match: *``). With
        ``if_not_exists`` an existing object is fetched into this instance instead of
        raising ``PreconditionFailed``. With ``server_id=True`` the object is POSTed
        without its id and takes the one the server's id generator chose."""
        return self._sync(
            client, "create", lambda c: self._op_create(c, if_not_exists, safe, server_id)
        )

    def save(self, safe: bool = True, *, client: ClientLike | None = None) -> Self:
        """Create or replace this object (PUT). When safe: ``If-Match`` with the known
        ``last_modified``, else ``If-None-Match: *``; a conflict raises
        ``PreconditionFailed`` with ``.existing`` = the server's copy."""
        return self._sync(client, "save", lambda c: self._op_save(c, safe))

    def patch(
        self, changes: Any = None, safe: bool = True, *, client: ClientLike | None = None
    ) -> Self:
        """Send a PATCH: ``changes`` is a dict, ``BasicPatch``, ``MergePatch`` or
        ``JSONPatch``; with None only the fields changed since loading are sent."""
        return self._sync(client, "patch", lambda c: self._op_patch(c, changes, safe))

    def delete(
        self, if_exists: bool = False, safe: bool = True, *, client: ClientLike | None = None
    ) -> Self:
        """Delete this object (``If-Match`` when safe and known); ``if_exists`` ignores
        an already missing object."""
        return self._sync(client, "delete", lambda c: self._op_delete(c, if_exists, safe))

    def refresh(self, *, client: ClientLike | None = None) -> Self:
        """Reload data, permissions and ``last_modified`` from the server."""
        return self._sync(client, "refresh", self._op_refresh, queue=False)

    # ------------------------------------------------------------------ async API

    async def acreate(
        self, if_not_exists: bool = False, safe: bool = True, *,
        server_id: bool = False, client: ClientLike | None = None,
    ) -> Self:
        """Async :meth:`create`."""
        return await self._async(
            client, "acreate", lambda c: self._op_create(c, if_not_exists, safe, server_id)
        )

    async def asave(self, safe: bool = True, *, client: ClientLike | None = None) -> Self:
        """Async :meth:`save`."""
        return await self._async(client, "asave", lambda c: self._op_save(c, safe))

    async def apatch(
        self, changes: Any = None, safe: bool = True, *, client: ClientLike | None = None
    ) -> Self:
        """Async :meth:`patch`."""
        return await self._async(client, "apatch", lambda c: self._op_patch(c, changes, safe))

    async def adelete(
        self, if_exists: bool = False, safe: bool = True, *, client: ClientLike | None = None
    ) -> Self:
        """Async :meth:`delete`."""
        return await self._async(
            client, "adelete", lambda c: self._op_delete(c, if_exists, safe)
        )

    async def arefresh(self, *, client: ClientLike | None = None) -> Self:
        """Async :meth:`refresh`."""
        return await self._async(client, "arefresh", self._op_refresh, queue=False)

    # ------------------------------------------------------------------ permissions

    def grant(self, permission: str, *principals: str, client: ClientLike | None = None) -> Self:
        """Give ``principals`` the ``permission`` (JSON Patch ``add``: a concurrent
        change to the permissions is kept). ``todo.grant("read", "account:bob")``"""
        from ..grants import grant_op

        return self._sync(client, "grant", lambda c: grant_op(c, self, permission, principals))

    def revoke(self, permission: str, *principals: str, client: ClientLike | None = None) -> Self:
        """Take ``permission`` away from ``principals`` (JSON Patch ``remove``;
        principals that do not hold it are ignored)."""
        from ..grants import revoke_op

        return self._sync(client, "revoke", lambda c: revoke_op(c, self, permission, principals))

    async def agrant(
        self, permission: str, *principals: str, client: ClientLike | None = None
    ) -> Self:
        """Async :meth:`grant`."""
        from ..grants import grant_op

        return await self._async(
            client, "agrant", lambda c: grant_op(c, self, permission, principals))

    async def arevoke(
        self, permission: str, *principals: str, client: ClientLike | None = None
    ) -> Self:
        """Async :meth:`revoke`."""
        from ..grants import revoke_op

        return await self._async(
            client, "arevoke", lambda c: revoke_op(c, self, permission, principals))


__all__ = ["ObjectAPI"]
