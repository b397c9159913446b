"""All kinto-http operations in one mixin, for the clients."""

from __future__ import annotations

from ._ops_buckets import BucketOperations
from ._ops_records import RecordOperations


class OperationsMixin(BucketOperations, RecordOperations):
    """Every ``_op_*`` builder of the kinto-http method set."""


__all__ = ["OperationsMixin"]
