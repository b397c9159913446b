"""What every kinto-http operation uses (paths, pagination, create/update/patch/delete
with their headers), and the object operations the models are written with.

Each ``_op_<name>`` of this package takes exactly the parameters of kinto-http's
``Client.<name>`` and returns a generator that yields requests and returns what
kinto-http returns (see ``protocol.Op``). ``Client`` runs them with the sync transport,
``AsyncClient`` with the async one, and a batch queues their requests: the behaviour
lives here only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import protocol as core
from ..endpoints import endpoint
from ..errors import (
    Forbidden,
    NotFound,
    PreconditionFailed,
)
from ..patch_type import BasicPatch, PatchType
from ..protocol import Op, Request

Data = dict[str, Any]

#: kinto-http's message for a 403 on create_group/collection/record (users match on it).
_CREATE_HINT = (
    "Unauthorized. Please check that the {parent} exists and that you have the permission "
    "to create or write on this {kind}."
)


class OperationsBase:
    """The helpers every operation uses; needs ``bucket_name``, ``collection_name``,
    ``session`` and the caches."""

    bucket_name: str | None
    collection_name: str | None
    session: Any
    _server_info: Data | None
    _server_settings: Data | None
    _records_timestamp: dict[str, str]

    # ------------------------------------------------------------------ helpers

    def _cache_buster(self) -> int:
        """The ``_expected`` value of ``get_changeset(bust_cache=True)``: a random number
        (the client draws it, see ``Client._cache_buster``)."""
        raise NotImplementedError

    @property
    def server_url(self) -> str:
        """The server URL, with its prefix (``.../v1``)."""
        return str(self.session.server_url)

    def get_endpoint(
        self,
        name: str,
        *,
        bucket: str | None = None,
        group: str | None = None,
        collection: str | None = None,
        id: str | None = None,
    ) -> str:
        """The path of endpoint ``name`` with the client's default bucket/collection.

        >>> client.get_endpoint("record", id="r1", collection="todos", bucket="blog")
        '/buckets/blog/collections/todos/records/r1'
        """
        return endpoint(
            name,
            bucket=bucket or self.bucket_name or "default",
            collection=collection or self.collection_name,
            group=group,
            id=id,
        )

    def _paginated(
        self,
        path: str,
        filters: Mapping[str, Any] | None = None,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
    ) -> Op[list[Data]]:
        """Follow ``Next-Page`` and return every object, de-duplicated by id, in order.

        ``filters`` are kinto-http's kwargs: query parameters, plus ``pages`` (how many
        pages to read) and ``if_none_match``.
        """
        filters = dict(filters or {})
        pages: float | None = filters.pop("pages", None)
        if_none_match = filters.pop("if_none_match", None)
        if pages is None:
            pages = 1 if "_limit" in filters else float("inf")
        headers = dict(headers or {})
        if if_none_match is not None:
            headers["If-None-Match"] = core.quote_etag(if_none_match)
        request: Request | None = Request(
            method, path, params=core.encode_params(filters), headers=headers
        )
        objects: dict[Any, Data] = {}
        count = 0
        while request is not None and count < pages:
            response = yield request
            count += 1
            if count == 1 and method == "GET":
                etag = response.headers.get("ETag")
                if etag:
                    self._records_timestamp[path] = etag.strip('"')
            if response.status == 304 or response.content == b"{}":
                break  # nothing changed, or dry mode (kinto-http: an empty body ends)
            for obj in response.data():
                objects[obj.get("id", len(objects))] = obj
            request = core.next_page_request(response, self.server_url)
        return list(objects.values())

    def _create(
        self,
        path: str,
        data: Data | None,
        permissions: Any,
        safe: bool,
        if_not_exists: bool,
        hint: str | None = None,
        plain: bool = False,
    ) -> Op[Data]:
        request = Request(
            "PUT",
            path,
            headers=core.create_headers(safe or if_not_exists),
            json=core.envelope(data, permissions),
            plain=plain,
        )
        try:
            response = yield request
        except PreconditionFailed:
            if not if_not_exists:
                raise
            response = yield Request("GET", path)
        except Forbidden as exc:
            if hint is None:
                raise
            raise Forbidden(hint, exc, description=f"{exc.description} - {hint}") from exc
        return dict(response.json())

    def _update(
        self,
        path: str,
        data: Data | None,
        permissions: Any,
        safe: bool,
        if_match: Any,
    ) -> Op[Data]:
        headers = core.if_match_headers(safe, data, if_match)
        response = yield Request(
            "PUT", path, headers=headers, json=core.envelope(data, permissions)
        )
        return dict(response.json())

    def _patch(
        self,
        path: str,
        changes: Any,
        data: Data | None,
        permissions: Any,
        safe: bool,
        if_match: Any,
    ) -> Op[Data]:
        if changes is None:
            changes = BasicPatch(data=data, permissions=permissions)
        elif isinstance(changes, dict):
            changes = BasicPatch(data=changes)
        if not isinstance(changes, PatchType):
            raise TypeError(
                f"couldn't understand patch body {changes!r}: pass a dict, BasicPatch, "
                "MergePatch or JSONPatch."
            )
        response = yield Request(
            "PATCH",
            path,
            headers=core.if_match_headers(safe, if_match=if_match),
            json=changes.body,
            content_type=changes.content_type,
        )
        return dict(response.json())

    def _delete(
        self, path: str, safe: bool, if_match: Any, if_exists: bool, bucket: bool = False
    ) -> Op[Any]:
        request = Request("DELETE", path, headers=core.if_match_headers(safe, if_match=if_match))
        try:
            response = yield request
        except (NotFound, Forbidden) as exc:
            # Kinto answers 403 for a bucket that does not exist.
            missing = isinstance(exc, NotFound) or bucket
            if if_exists and missing:
                return None
            raise
        if response.content == b"{}":  # dry mode
            return {}
        return response.data()

    def _delete_all(
        self, path: str, safe: bool, if_match: Any, filters: Mapping[str, Any] | None = None
    ) -> Op[list[Data]]:
        """Plural DELETE (with ``filters``), following the pages; returns the tombstones."""
        headers = core.if_match_headers(safe, if_match=if_match)
        return (yield from self._paginated(path, filters, method="DELETE", headers=headers))

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Op[Data]:
        response = yield Request("GET", path, params=core.encode_params(params))
        return dict(response.json())

    @staticmethod
    def _original(
        original: Data | None, id: str | None, if_match: Any
    ) -> tuple[str | None, Any]:
        if original:
            id = id or original.get("id")
            if_match = if_match or original.get("last_modified")
        return id, if_match

    # ------------------------------------------------------------------ model operations

    # The model operations hand back the operation itself (no generator around it: one
    # frame less to resume per record written in bulk).

    def _op_object_get(self, /, path: str) -> Op[Data]:
        return self._get(path)

    def _op_object_create(
        self, /, path: str, data: Data, permissions: Any, safe: bool, if_not_exists: bool,
        plain: bool = False,
    ) -> Op[Data]:
        return self._create(path, data, permissions, safe, if_not_exists, plain=plain)

    def _op_object_post(self, /, plural_path: str, data: Data, permissions: Any) -> Op[Data]:
        """Create with POST on the plural endpoint: the server picks the id."""
        response = yield Request("POST", plural_path, json=core.envelope(data, permissions))
        return dict(response.json())

    def _op_object_save(
        self, /, path: str, data: Data, permissions: Any, safe: bool, last_modified: int | None,
        plain: bool = False,
    ) -> Op[Data]:
        headers = core.save_headers(safe, last_modified)
        body = core.envelope(data, permissions)
        response = yield Request("PUT", path, headers=headers, json=body, plain=plain)
        return dict(response.json())

    def _op_object_patch(
        self, /, path: str, changes: Any, safe: bool, last_modified: int | None
    ) -> Op[Data]:
        return self._patch(path, changes, None, None, safe, last_modified)

    def _op_object_delete(
        self, /, path: str, safe: bool, last_modified: int | None, if_exists: bool, bucket: bool
    ) -> Op[Any]:
        return self._delete(path, safe, last_modified, if_exists, bucket)

    # ------------------------------------------------------------------ server

    def _op_server_info(self, /) -> Op[Data]:
        if self._server_info is None:
            response = yield Request("GET", "/")
            self._server_info = dict(response.json())
        return self._server_info

    def _op_server_settings(self, /) -> Op[Data]:
        """The ``settings`` of ``GET /v1/`` (``batch_max_requests``...), read once per
        client by its first batch. Cached apart from :meth:`server_info`, as kinto-http
        does: code (and tests) written for it count one ``GET /v1/`` for each."""
        if self._server_settings is None:
            response = yield Request("GET", "/")
            body = response.json()
            settings = body.get("settings") if isinstance(body, dict) else None
            self._server_settings = dict(settings or {})
        return self._server_settings


__all__ = ["OperationsBase"]
