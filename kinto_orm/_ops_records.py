"""kinto-http operations on records, history, permissions and attachments: see
``_operations``."""

from __future__ import annotations

from typing import Any

from . import _files
from . import _protocol as core
from ._operations import _CREATE_HINT, Data, OperationsBase
from ._protocol import Op, Request


class RecordOperations(OperationsBase):
    """Records and what hangs on them."""

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
        path = self.get_endpoint("records", bucket=bucket, collection=collection)
        return (yield from self._delete_all(path, safe, if_match, filters))

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
        path = self.get_endpoint("history", bucket=bucket)
        return (yield from self._delete_all(path, safe, if_match, kwargs))

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
