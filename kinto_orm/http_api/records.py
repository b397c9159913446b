"""kinto-http operations on records, history, permissions and attachments: see
``base``."""

from __future__ import annotations

from typing import Any

from .. import _files
from .. import protocol as core
from ..capabilities import requires
from ..errors import Forbidden, KintoException, NotFound
from ..protocol import Op, Request
from .base import _CREATE_HINT, Data, OperationsBase


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
        hint = _CREATE_HINT.format(parent="collection", kind="collection record")
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

    @requires("history")
    def _op_get_history(self, /, *, bucket: str | None = None, **kwargs: Any) -> Op[list[Data]]:
        """The bucket's history entries (history plugin), filters as kwargs."""
        path = self.get_endpoint("history", bucket=bucket)
        return (yield from self._paginated(path, kwargs))

    @requires("history")
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

    @requires("permissions_endpoint")
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

    @requires("attachments")
    def _op_add_attachment(
        self,
        /,
        id: str,
        filepath: _files.Source,
        filename: str | None = None,
        bucket: str | None = None,
        collection: str | None = None,
        data: Data | None = None,
        permissions: Any = None,
        mimetype: str | None = None,
        *,
        force: bool = False,
    ) -> Op[Data]:
        """Upload ``filepath`` (a path, bytes, or a binary file object) as the attachment
        of record ``id``; returns the attachment metadata. A missing record is created
        with ``data`` and ``permissions`` by the same request: a rejected upload (400 for
        a disallowed extension or size) creates nothing.

        Unless ``force``, the record is read first; when its attachment already has this
        file's sha256 and size, the file is not sent again (changed ``data`` or
        ``permissions`` are patched). After a network error, the record is read to learn
        whether the upload landed (then it is a success)."""
        record = self.get_endpoint("record", id=id, bucket=bucket, collection=collection)
        upload = _files.prepare_upload(filepath, filename=filename, mimetype=mimetype)
        current = None if force else (yield from self._record_or_none(record))
        if current is not None and upload.matches(current["data"].get("attachment")):
            yield from self._patch_changes(record, current, data, permissions)
            return dict(current["data"]["attachment"])
        request = _files.upload_request(
            record + "/attachment", upload, data=data, permissions=permissions
        )
        try:
            response = yield request
        except KintoException as exc:
            if exc.response is not None:  # the server answered: a real refusal
                raise
            try:
                landed = yield from self._record_or_none(record)
            except KintoException:
                raise exc from exc.__cause__
            if landed is None or not upload.matches(landed["data"].get("attachment")):
                raise
            return dict(landed["data"]["attachment"])
        return dict(response.json())

    def _record_or_none(self, path: str) -> Op[Data | None]:
        """The record at ``path``, or None when it is missing (or hidden from us)."""
        try:
            response = yield Request("GET", path)
        except (NotFound, Forbidden):
            return None
        body = dict(response.json())
        return body if "data" in body else None  # dry mode answers {}

    def _patch_changes(
        self, path: str, current: Data, data: Data | None, permissions: Any
    ) -> Op[None]:
        """PATCH what ``data``/``permissions`` change in ``current``; nothing when nothing."""
        changes = _files.changed_fields(current.get("data") or {}, data)
        granted = _files.changed_permissions(current.get("permissions") or {}, permissions)
        if changes or granted:
            headers = core.if_match_headers(True, if_match=current["data"].get("last_modified"))
            yield Request("PATCH", path, json=core.envelope(changes, granted or None),
                          headers=headers)

    @requires("attachments")
    def _op_remove_attachment(
        self, /, id: str, bucket: str | None = None, collection: str | None = None
    ) -> Op[Any]:
        """Remove the attachment of record ``id`` (the record stays)."""
        path = self.get_endpoint("attachment", id=id, bucket=bucket, collection=collection)
        response = yield Request("DELETE", path)
        return response.json() if response.content else None
