"""``HttpApi``: the whole kinto-http method set, each method defined once from its
operation, for ``Client`` and ``AsyncClient`` to inherit."""

from __future__ import annotations

import os
from typing import Any

from .base import OperationsBase
from .buckets import BucketOperations
from .method import KintoMethod
from .records import RecordOperations


class HttpApi(BucketOperations, RecordOperations):
    """Every ``_op_*`` builder of the kinto-http method set, and the kinto-http methods
    made of them (``create_bucket``, ``get_records``...): blocking on a ``Client``,
    coroutines on an ``AsyncClient`` (see :class:`KintoMethod`). Methods whose sync and
    async forms differ by more than I/O (``get_paginated_records``,
    ``download_attachment``, ``get_endpoint``) are written in ``client.py``."""

    server_info = KintoMethod(OperationsBase._op_server_info)
    create_bucket = KintoMethod(BucketOperations._op_create_bucket)
    update_bucket = KintoMethod(BucketOperations._op_update_bucket)
    patch_bucket = KintoMethod(BucketOperations._op_patch_bucket)
    get_buckets = KintoMethod(BucketOperations._op_get_buckets)
    get_bucket = KintoMethod(BucketOperations._op_get_bucket)
    delete_bucket = KintoMethod(BucketOperations._op_delete_bucket)
    delete_buckets = KintoMethod(BucketOperations._op_delete_buckets)
    get_groups = KintoMethod(BucketOperations._op_get_groups)
    create_group = KintoMethod(BucketOperations._op_create_group)
    update_group = KintoMethod(BucketOperations._op_update_group)
    patch_group = KintoMethod(BucketOperations._op_patch_group)
    get_group = KintoMethod(BucketOperations._op_get_group)
    delete_group = KintoMethod(BucketOperations._op_delete_group)
    delete_groups = KintoMethod(BucketOperations._op_delete_groups)
    get_collections = KintoMethod(BucketOperations._op_get_collections)
    create_collection = KintoMethod(BucketOperations._op_create_collection)
    update_collection = KintoMethod(BucketOperations._op_update_collection)
    patch_collection = KintoMethod(BucketOperations._op_patch_collection)
    get_collection = KintoMethod(BucketOperations._op_get_collection)
    delete_collection = KintoMethod(BucketOperations._op_delete_collection)
    delete_collections = KintoMethod(BucketOperations._op_delete_collections)
    get_records_timestamp = KintoMethod(RecordOperations._op_get_records_timestamp)
    get_records = KintoMethod(RecordOperations._op_get_records)
    get_record = KintoMethod(RecordOperations._op_get_record)
    create_record = KintoMethod(RecordOperations._op_create_record)
    update_record = KintoMethod(RecordOperations._op_update_record)
    patch_record = KintoMethod(RecordOperations._op_patch_record)
    delete_record = KintoMethod(RecordOperations._op_delete_record)
    delete_records = KintoMethod(RecordOperations._op_delete_records)
    get_history = KintoMethod(RecordOperations._op_get_history)
    purge_history = KintoMethod(RecordOperations._op_purge_history)
    get_permissions = KintoMethod(RecordOperations._op_get_permissions)
    get_changeset = KintoMethod(BucketOperations._op_get_changeset)
    request_review = KintoMethod(BucketOperations._op_request_review)
    decline_changes = KintoMethod(BucketOperations._op_decline_changes)
    approve_changes = KintoMethod(BucketOperations._op_approve_changes)
    rollback_changes = KintoMethod(BucketOperations._op_rollback_changes)
    add_attachment = KintoMethod(RecordOperations._op_add_attachment)
    remove_attachment = KintoMethod(RecordOperations._op_remove_attachment)

    def download_attachment(
        self,
        record: dict[str, Any],
        filepath: str | os.PathLike[str] | None = None,
        save_metadata: bool = False,
        overwrite: bool = False,
        chunk_size: int = 8 * 1024,
    ) -> Any:
        """Download ``record``'s attachment (see ``SyncStreams``, ``AsyncStreams``)."""
        raise NotImplementedError


__all__ = ["HttpApi"]
