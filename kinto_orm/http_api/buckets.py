"""kinto-http operations on buckets, groups and collections (remote-settings review
helpers included): see ``base``."""

from __future__ import annotations

from typing import Any

from ..errors import BucketNotFound, CollectionNotFound, Forbidden, NotFound, Unauthorized
from ..protocol import Op
from .base import _CREATE_HINT, Data, OperationsBase


class BucketOperations(OperationsBase):
    """Buckets, groups, collections."""

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
            hint = (
                "Unauthorized. Please authenticate or make sure the bucket can be read "
                "anonymously."
            )
            raise Unauthorized(hint, exc, description=f"{exc.description} - {hint}") from exc
        except (Forbidden, NotFound) as exc:
            # kinto-http's message is the bucket id alone; the explanation is kept too.
            name = id or self.bucket_name or "default"
            description = (
                f"Bucket {name!r} does not exist or you are not allowed to read it "
                f"({exc.description})."
            )
            raise BucketNotFound(name, exc, description=description) from exc

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
        return (yield from self._delete_all(self.get_endpoint("buckets"), safe, if_match))

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
        path = self.get_endpoint("groups", bucket=bucket)
        return (yield from self._delete_all(path, safe, if_match))

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
            name = id or self.collection_name or ""
            raise CollectionNotFound(name, exc, description=exc.description) from exc

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
        path = self.get_endpoint("collections", bucket=bucket)
        return (yield from self._delete_all(path, safe, if_match))

    # ------------------------------------------------------------------ remote-settings

    def _op_get_changeset(
        self, /,
        bucket: str | None = None,
        collection: str | None = None,
        bust_cache: bool = False,
        **kwargs: Any,
    ) -> Op[Data]:
        """The collection's changeset (remote-settings plugin)."""
        kwargs.setdefault("_expected", self._cache_buster() if bust_cache else 0)
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
