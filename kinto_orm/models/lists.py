"""Queries over the lists of a bucket, a collection or the server, as models and clients
reach them (``bucket.collections()``, ``client.buckets()``...)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ..endpoints import endpoint
from ..pages import Source
from ..query import Query
from .base import KintoObject
from .state import Binding

if TYPE_CHECKING:
    from .._client_like import ClientLike

M = TypeVar("M", bound=KintoObject)


def list_query(
    client: ClientLike, model: type[M], name: str, bucket: str | None = None,
    collection: str | None = None,
) -> Query[M]:
    """A query over the list endpoint ``name`` (``"records"``, ``"groups"``...) of ``model``."""
    return sources_query(client, [(model, name)], bucket, collection)


def sources_query(
    client: ClientLike, kinds: Sequence[tuple[type[KintoObject], str]], bucket: str | None,
    collection: str | None = None,
) -> Query[Any]:
    """A query over several lists at once (a bucket's collections and groups)."""
    binding = Binding(client, bucket, collection)
    return Query(client, [
        Source(model, endpoint(name, bucket=bucket, collection=collection), binding)
        for model, name in kinds
    ])


__all__ = ["list_query", "sources_query"]
