"""The kinto-http method set, written once as operations (see ``_protocol.Op``).

Each ``_op_<name>`` takes exactly the parameters of kinto-http's ``Client.<name>`` and
returns a generator that yields requests and returns what kinto-http returns. ``Client``
runs them with the sync transport, ``AsyncClient`` with the async one, and a batch
queues their requests: the behaviour lives here only.
"""

from __future__ import annotations

import inspect
import random
from collections import defaultdict
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from . import _files
from . import _protocol as core
from ._protocol import Op, Request
from .endpoints import endpoint
from .errors import (
    BucketNotFound,
    CollectionNotFound,
    Forbidden,
    NotFound,
    PreconditionFailed,
    Unauthorized,
)
from .patch_type import BasicPatch, PatchType

if TYPE_CHECKING:
    from .client import AsyncClient, Client

T = TypeVar("T")
P = ParamSpec("P")
Data = dict[str, Any]

_CREATE_HINT = (
    "Check that the {parent} exists and that you are allowed to create or write this {kind}."
)


class OperationsMixin:
    """kinto-http operations; needs ``bucket_name``, ``collection_name`` and caches."""

    bucket_name: str | None
    collection_name: str | None
    session: Any
    _server_info: Data | None
    _records_timestamp: dict[str, str]

    # ------------------------------------------------------------------ helpers

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
            if response.status == 304:
                break
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
    ) -> Op[Data]:
        request = Request(
            "PUT",
            path,
            headers=core.create_headers(safe or if_not_exists),
            json=core.envelope(data, permissions),
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
            raise Forbidden(f"{exc} - {hint}", exc) from exc
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
        return response.data()

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

    def _op_object_get(self, /, path: str) -> Op[Data]:
        return (yield from self._get(path))

    def _op_object_create(
        self, /, path: str, data: Data, permissions: Any, safe: bool, if_not_exists: bool
    ) -> Op[Data]:
        return (yield from self._create(path, data, permissions, safe, if_not_exists))

    def _op_object_post(self, /, plural_path: str, data: Data, permissions: Any) -> Op[Data]:
        """Create with POST on the plural endpoint: the server picks the id."""
        response = yield Request("POST", plural_path, json=core.envelope(data, permissions))
        return dict(response.json())

    def _op_object_save(
        self, /, path: str, data: Data, permissions: Any, safe: bool, last_modified: int | None
    ) -> Op[Data]:
        headers = core.save_headers(safe, last_modified)
        body = core.envelope(data, permissions)
        response = yield Request("PUT", path, headers=headers, json=body)
        return dict(response.json())

    def _op_object_patch(
        self, /, path: str, changes: Any, safe: bool, last_modified: int | None
    ) -> Op[Data]:
        return (yield from self._patch(path, changes, None, None, safe, last_modified))

    def _op_object_delete(
        self, /, path: str, safe: bool, last_modified: int | None, if_exists: bool, bucket: bool
    ) -> Op[Any]:
        return (yield from self._delete(path, safe, last_modified, if_exists, bucket))

    # ------------------------------------------------------------------ server

    def _op_server_info(self, /) -> Op[Data]:
        if self._server_info is None:
            response = yield Request("GET", "/")
            self._server_info = dict(response.json())
        return self._server_info

    # ------------------------------------------------------------------ buckets

    def _op_create_bucket(
        self, /,
        *,
        id: str | None = None,
        data: Data | None = None,
        permissions: Any = None,
        safe: bool = True,
        if_not_exists: bool = False,
    ) -> Op[Data]:
        """Create a bucket (``If-None-Match: *`` when safe); with ``if_not_exists`` an
        existing bucket is returned instead of raising."""
        id = id or (data or {}).get("id")
        path = self.get_endpoint("bucket", bucket=id)
        return (yield from self._create(path, data, permissions, safe, if_not_exists))

    def _op_update_bucket(
        self, /,
        *,
        id: str | None = None,
        data: Data | None = None,
        permissions: Any = None,
        safe: bool = True,
        if_match: Any = None,
    ) -> Op[Data]:
        """Replace a bucket (PUT); ``If-Match`` from ``if_match`` or ``data['last_modified']``."""
        id = id or (data or {}).get("id")
        path = self.get_endpoint("bucket", bucket=id)
        return (yield from self._update(path, data, permissions, safe, if_match))

    def _op_patch_bucket(
        self, /,
        *,
        id: str | None = None,
        changes: Any = None,
        data: Data | None = None,
        original: Data | None = None,
        permissions: Any = None,
        safe: bool = True,
        if_match: Any = None,
    ) -> Op[Data]:
        """Patch a bucket with a dict, ``BasicPatch``, ``MergePatch`` or ``JSONPatch``."""
        id, if_match = self._original(original or data, id, if_match)
        path = self.get_endpoint("bucket", bucket=id)
        return (yield from self._patch(path, changes, data, permissions, safe, if_match))

    def _op_get_buckets(self, /, **kwargs: Any) -> Op[list[Data]]:
        """Every bucket you can read (all pages; ``_limit``/``pages``/filters accepted)."""
        return (yield from self._paginated(self.get_endpoint("buckets"), kwargs))

    def _op_get_bucket(self, /, *, id: str | None = None, **kwargs: Any) -> Op[Data]:
        """Fetch a bucket. Raises ``BucketNotFound`` when it is missing or unreadable
        (Kinto cannot tell those apart), ``Unauthorized`` when not authenticated."""
        path = self.get_endpoint("bucket", bucket=id)
        try:
            return (yield from self._get(path, kwargs))
        except Unauthorized as exc:
            raise Unauthorized(
                f"{exc} - authenticate, or make sure the bucket can be read anonymously.", exc
            ) from exc
        except (Forbidden, NotFound) as exc:
            name = id or self.bucket_name or "default"
            raise BucketNotFound(
                f"Bucket {name!r} does not exist or you are not allowed to read it ({exc}).",
                exc,
            ) from exc

    def _op_delete_bucket(
        self, /,
        *,
        id: str | None = None,
        safe: bool = True,
        if_match: Any = None,
        if_exists: bool = False,
    ) -> Op[Any]:
        """Delete a bucket and everything in it."""
        path = self.get_endpoint("bucket", bucket=id)
        return (yield from self._delete(path, safe, if_match, if_exists, bucket=True))

    def _op_delete_buckets(self, /, *, safe: bool = True, if_match: Any = None) -> Op[Any]:
        """Delete every bucket you can write; returns the tombstones."""
        headers = core.if_match_headers(safe, if_match=if_match)
        path = self.get_endpoint("buckets")
        return (yield from self._paginated(path, method="DELETE", headers=headers))

    # ------------------------------------------------------------------ groups

    def _op_get_groups(self, /, *, bucket: str | None = None, **kwargs: Any) -> Op[list[Data]]:
        """Every group of the bucket."""
        return (yield from self._paginated(self.get_endpoint("groups", bucket=bucket), kwargs))

    def _op_create_group(
        self, /,
        *,
        id: str | None = None,
        bucket: str | None = None,
        data: Data | None = None,
        permissions: Any = None,
        safe: bool = True,
        if_not_exists: bool = False,
    ) -> Op[Data]:
        """Create a group (``data={"members": [...]}``)."""
        id = id or (data or {}).get("id")
        if id is None:
            raise KeyError("Please provide a group id")
        path = self.get_endpoint("group", bucket=bucket, group=id)
        hint = _CREATE_HINT.format(parent="bucket", kind="group")
        return (yield from self._create(path, data, permissions, safe, if_not_exists, hint))

    def _op_update_group(
        self, /,
        *,
        id: str | None = None,
        bucket: str | None = None,
        data: Data | None = None,
        permissions: Any = None,
        safe: bool = True,
        if_match: Any = None,
    ) -> Op[Data]:
        """Replace a group (PUT)."""
        id = id or (data or {}).get("id")
        if id is None:
            raise KeyError("Please provide a group id")
        path = self.get_endpoint("group", bucket=bucket, group=id)
        return (yield from self._update(path, data, permissions, safe, if_match))

    def _op_patch_group(
        self, /,
        *,
        id: str | None = None,
        bucket: str | None = None,
        changes: Any = None,
        data: Data | None = None,
        original: Data | None = None,
        permissions: Any = None,
        safe: bool = True,
        if_match: Any = None,
    ) -> Op[Data]:
        """Patch a group."""
        id, if_match = self._original(original or data, id, if_match)
        if id is None:
            raise KeyError("Please provide a group id")
        path = self.get_endpoint("group", bucket=bucket, group=id)
        return (yield from self._patch(path, changes, data, permissions, safe, if_match))

    def _op_get_group(self, /, *, id: str, bucket: str | None = None) -> Op[Data]:
        """Fetch a group."""
        return (yield from self._get(self.get_endpoint("group", bucket=bucket, group=id)))

    def _op_delete_group(
        self, /,
        *,
        id: str,
        bucket: str | None = None,
        safe: bool = True,
        if_match: Any = None,
        if_exists: bool = False,
    ) -> Op[Any]:
        """Delete a group."""
        path = self.get_endpoint("group", bucket=bucket, group=id)
        return (yield from self._delete(path, safe, if_match, if_exists))

    def _op_delete_groups(
        self, /, *, bucket: str | None = None, safe: bool = True, if_match: Any = None
    ) -> Op[Any]:
        """Delete every group of the bucket."""
        headers = core.if_match_headers(safe, if_match=if_match)
        path = self.get_endpoint("groups", bucket=bucket)
        return (yield from self._paginated(path, method="DELETE", headers=headers))

    # ------------------------------------------------------------------ collections

    def _op_get_collections(
        self, /, *, bucket: str | None = None, **kwargs: Any
    ) -> Op[list[Data]]:
        """Every collection of the bucket."""
        path = self.get_endpoint("collections", bucket=bucket)
        return (yield from self._paginated(path, kwargs))

    def _op_create_collection(
        self, /,
        *,
        id: str | None = None,
        bucket: str | None = None,
        data: Data | None = None,
        permissions: Any = None,
        safe: bool = True,
        if_not_exists: bool = False,
    ) -> Op[Data]:
        """Create a collection."""
        id = id or (data or {}).get("id")
        path = self.get_endpoint("collection", bucket=bucket, collection=id)
        hint = _CREATE_HINT.format(parent="bucket", kind="collection")
        return (yield from self._create(path, data, permissions, safe, if_not_exists, hint))

    def _op_update_collection(
        self, /,
        *,
        id: str | None = None,
        bucket: str | None = None,
        data: Data | None = None,
        permissions: Any = None,
        safe: bool = True,
        if_match: Any = None,
    ) -> Op[Data]:
        """Replace a collection (PUT)."""
        id = id or (data or {}).get("id")
        path = self.get_endpoint("collection", bucket=bucket, collection=id)
        return (yield from self._update(path, data, permissions, safe, if_match))

    def _op_patch_collection(
        self, /,
        *,
        id: str | None = None,
        bucket: str | None = None,
        changes: Any = None,
        data: Data | None = None,
        original: Data | None = None,
        permissions: Any = None,
        safe: bool = True,
        if_match: Any = None,
    ) -> Op[Data]:
        """Patch a collection."""
        id, if_match = self._original(original or data, id, if_match)
        path = self.get_endpoint("collection", bucket=bucket, collection=id)
        return (yield from self._patch(path, changes, data, permissions, safe, if_match))

    def _op_get_collection(
        self, /, *, id: str | None = None, bucket: str | None = None, **kwargs: Any
    ) -> Op[Data]:
        """Fetch a collection; ``CollectionNotFound`` when it does not exist."""
        path = self.get_endpoint("collection", bucket=bucket, collection=id)
        try:
            return (yield from self._get(path, kwargs))
        except NotFound as exc:
            raise CollectionNotFound(str(exc), exc) from exc

    def _op_delete_collection(
        self, /,
        *,
        id: str | None = None,
        bucket: str | None = None,
        safe: bool = True,
        if_match: Any = None,
        if_exists: bool = False,
    ) -> Op[Any]:
        """Delete a collection and its records."""
        path = self.get_endpoint("collection", bucket=bucket, collection=id)
        return (yield from self._delete(path, safe, if_match, if_exists))

    def _op_delete_collections(
        self, /, *, bucket: str | None = None, safe: bool = True, if_match: Any = None
    ) -> Op[Any]:
        """Delete every collection of the bucket."""
        headers = core.if_match_headers(safe, if_match=if_match)
        path = self.get_endpoint("collections", bucket=bucket)
        return (yield from self._paginated(path, method="DELETE", headers=headers))

    # ------------------------------------------------------------------ records

    def _op_get_records_timestamp(
        self, /, *, collection: str | None = None, bucket: str | None = None
    ) -> Op[str]:
        """The collection's records timestamp (its list ETag) as a string, cached."""
        path = self.get_endpoint("records", bucket=bucket, collection=collection)
        if path not in self._records_timestamp:
            response = yield Request("HEAD", path)
            self._records_timestamp[path] = response.headers.get("ETag", "").strip('"')
        return self._records_timestamp[path]

    def _op_get_records(
        self, /, *, collection: str | None = None, bucket: str | None = None, **kwargs: Any
    ) -> Op[list[Data]]:
        """Every record (all pages unless ``_limit``/``pages``), filters as kwargs:
        ``get_records(status="done", _sort="-last_modified")``."""
        path = self.get_endpoint("records", bucket=bucket, collection=collection)
        return (yield from self._paginated(path, kwargs))

    def _op_get_record(
        self, /,
        *,
        id: str,
        collection: str | None = None,
        bucket: str | None = None,
        **kwargs: Any,
    ) -> Op[Data]:
        """Fetch one record (``{"data": ..., "permissions": ...}``)."""
        path = self.get_endpoint("record", id=id, bucket=bucket, collection=collection)
        return (yield from self._get(path, kwargs))

    def _op_create_record(
        self, /,
        *,
        id: str | None = None,
        bucket: str | None = None,
        collection: str | None = None,
        data: Data | None = None,
        permissions: Any = None,
        safe: bool = True,
        if_not_exists: bool = False,
    ) -> Op[Data]:
        """Create a record; without an id a UUID4 is chosen here (so a retry cannot
        create it twice)."""
        id = id or (data or {}).get("id") or core.new_record_id()
        path = self.get_endpoint("record", id=id, bucket=bucket, collection=collection)
        hint = _CREATE_HINT.format(parent="collection", kind="record")
        return (yield from self._create(path, data, permissions, safe, if_not_exists, hint))

    def _op_update_record(
        self, /,
        *,
        id: str | None = None,
        collection: str | None = None,
        bucket: str | None = None,
        data: Data | None = None,
        permissions: Any = None,
        safe: bool = True,
        if_match: Any = None,
    ) -> Op[Data]:
        """Replace (or create) a record with PUT."""
        id = id or (data or {}).get("id")
        if id is None:
            raise KeyError("Unable to update a record, need an id.")
        path = self.get_endpoint("record", id=id, bucket=bucket, collection=collection)
        return (yield from self._update(path, data, permissions, safe, if_match))

    def _op_patch_record(
        self, /,
        *,
        id: str | None = None,
        collection: str | None = None,
        bucket: str | None = None,
        changes: Any = None,
        data: Data | None = None,
        original: Data | None = None,
        permissions: Any = None,
        safe: bool = True,
        if_match: Any = None,
    ) -> Op[Data]:
        """Patch a record."""
        id, if_match = self._original(original or data, id, if_match)
        if id is None:
            raise KeyError("Unable to patch record, need an id.")
        path = self.get_endpoint("record", id=id, bucket=bucket, collection=collection)
        return (yield from self._patch(path, changes, data, permissions, safe, if_match))

    def _op_delete_record(
        self, /,
        *,
        id: str,
        collection: str | None = None,
        bucket: str | None = None,
        safe: bool = True,
        if_match: Any = None,
        if_exists: bool = False,
    ) -> Op[Any]:
        """Delete a record; returns its tombstone."""
        path = self.get_endpoint("record", id=id, bucket=bucket, collection=collection)
        return (yield from self._delete(path, safe, if_match, if_exists))

    def _op_delete_records(
        self, /,
        *,
        collection: str | None = None,
        bucket: str | None = None,
        safe: bool = True,
        if_match: Any = None,
        **filters: Any,
    ) -> Op[Any]:
        """Delete the records matching ``filters`` (all of them without filters)."""
        headers = core.if_match_headers(safe, if_match=if_match)
        path = self.get_endpoint("records", bucket=bucket, collection=collection)
        return (yield from self._paginated(path, filters, method="DELETE", headers=headers))

    # ------------------------------------------------------------------ history & permissions

    def _op_get_history(self, /, *, bucket: str | None = None, **kwargs: Any) -> Op[list[Data]]:
        """The bucket's history entries (history plugin), filters as kwargs."""
        path = self.get_endpoint("history", bucket=bucket)
        return (yield from self._paginated(path, kwargs))

    def _op_purge_history(
        self, /,
        *,
        bucket: str | None = None,
        safe: bool = True,
        if_match: Any = None,
        **kwargs: Any,
    ) -> Op[Any]:
        """Delete the bucket's history entries (matching ``kwargs`` filters)."""
        headers = core.if_match_headers(safe, if_match=if_match)
        path = self.get_endpoint("history", bucket=bucket)
        return (yield from self._paginated(path, kwargs, method="DELETE", headers=headers))

    def _op_get_permissions(
        self, /, exclude_resource_names: list[str] | None = None, **kwargs: Any
    ) -> Op[list[Data]]:
        """Everything you have permissions on (permissions endpoint), sorted by id."""
        filters = dict(kwargs.pop("params", None) or {}, **kwargs)
        filters.setdefault("_sort", "id")
        if exclude_resource_names:
            filters["exclude_resource_name"] = list(exclude_resource_names)
        return (yield from self._paginated(self.get_endpoint("permissions"), filters))

    # ------------------------------------------------------------------ attachments

    def _op_add_attachment(
        self,
        /,
        id: str,
        filepath: Any,
        filename: str | None = None,
        bucket: str | None = None,
        collection: str | None = None,
        data: Data | None = None,
        permissions: Any = None,
        mimetype: str | None = None,
    ) -> Op[Data]:
        """Upload ``filepath`` (a path or a binary file object) as the attachment of
        record ``id`` (created if needed, with ``data``); returns the attachment metadata."""
        path = self.get_endpoint("attachment", id=id, bucket=bucket, collection=collection)
        request = _files.upload_request(
            path, filepath, filename=filename, mimetype=mimetype, data=data,
            permissions=permissions,
        )
        response = yield request
        return dict(response.json())

    def _op_remove_attachment(
        self, /, id: str, bucket: str | None = None, collection: str | None = None
    ) -> Op[Any]:
        """Remove the attachment of record ``id`` (the record stays)."""
        path = self.get_endpoint("attachment", id=id, bucket=bucket, collection=collection)
        response = yield Request("DELETE", path)
        return response.json() if response.content else None

    # ------------------------------------------------------------------ remote-settings

    def _op_get_changeset(
        self, /,
        bucket: str | None = None,
        collection: str | None = None,
        bust_cache: bool = False,
        **kwargs: Any,
    ) -> Op[Data]:
        """The collection's changeset (remote-settings plugin)."""
        expected = random.randint(999999000000, 999999999999) if bust_cache else 0
        kwargs.setdefault("_expected", expected)
        path = self.get_endpoint("changeset", bucket=bucket, collection=collection)
        return (yield from self._get(path, kwargs))

    def _review(self, status: str, comment: tuple[str, str] | None, kwargs: Any) -> Op[Data]:
        id, bucket = kwargs.pop("id", None), kwargs.pop("bucket", None)
        data = {**kwargs.pop("data", {}), "status": status}
        if comment is not None:
            data[comment[0]] = comment[1]
        return (yield from self._op_patch_collection(id=id, bucket=bucket, data=data, **kwargs))

    def _op_request_review(
        self, /, message: str, id: str | None = None, bucket: str | None = None, **kwargs: Any
    ) -> Op[Data]:
        """Set the collection ``status`` to ``to-review`` with an editor comment."""
        kwargs.update(id=id, bucket=bucket)
        return (yield from self._review("to-review", ("last_editor_comment", message), kwargs))

    def _op_decline_changes(
        self, /, message: str, id: str | None = None, bucket: str | None = None, **kwargs: Any
    ) -> Op[Data]:
        """Set the collection ``status`` to ``work-in-progress`` with a reviewer comment."""
        kwargs.update(id=id, bucket=bucket)
        comment = ("last_reviewer_comment", message)
        return (yield from self._review("work-in-progress", comment, kwargs))

    def _op_approve_changes(
        self, /, id: str | None = None, bucket: str | None = None, **kwargs: Any
    ) -> Op[Data]:
        """Set the collection ``status`` to ``to-sign``."""
        kwargs.update(id=id, bucket=bucket)
        return (yield from self._review("to-sign", None, kwargs))

    def _op_rollback_changes(
        self, /, message: str, id: str | None = None, bucket: str | None = None, **kwargs: Any
    ) -> Op[Data]:
        """Set the collection ``status`` to ``to-rollback`` with an editor comment."""
        kwargs.update(id=id, bucket=bucket)
        return (yield from self._review("to-rollback", ("last_editor_comment", message), kwargs))


class KintoMethod(Generic[P, T]):
    """A kinto-http method, defined once from its ``_op_*`` builder.

    On a :class:`~kinto_orm.Client` it is a blocking method; on an
    :class:`~kinto_orm.AsyncClient` a coroutine function with the same parameters.
    """

    def __init__(self, builder: Callable[Concatenate[Any, P], Op[T]]) -> None:
        self.builder = builder
        self.name = builder.__name__.removeprefix("_op_")
        self.__doc__ = builder.__doc__
        params = list(inspect.signature(builder).parameters.values())[1:]
        self.__signature__ = inspect.Signature(params)

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> KintoMethod[P, T]: ...
    @overload
    def __get__(
        self, obj: AsyncClient, owner: type
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...
    @overload
    def __get__(self, obj: Client, owner: type) -> Callable[P, T]: ...
    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return self
        builder = self.builder
        method: Any
        if obj._is_async:

            async def method(*args: Any, **kwargs: Any) -> Any:
                return await obj._arun(builder(obj, *args, **kwargs), placeholder=_placeholder())

        else:

            def method(*args: Any, **kwargs: Any) -> Any:
                return obj._run(builder(obj, *args, **kwargs), placeholder=_placeholder())

        method.__name__ = method.__qualname__ = self.name
        method.__doc__ = self.__doc__
        method.__signature__ = self.__signature__
        return method


def _placeholder() -> Any:
    """What a queued kinto-http call returns inside a batch (as kinto-http does)."""
    return defaultdict(dict)


__all__ = ["KintoMethod", "OperationsMixin"]
