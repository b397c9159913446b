"""The kinto-http method set, in one place: ``HttpApi`` (every method of kinto-http's
``Client``, written once as an operation), ``KintoMethod`` and the awaitable values the
``AsyncClient`` returns. ``client.py`` wires it to a transport."""

from .awaitables import EndpointPath, PageStream
from .base import Data, OperationsBase
from .method import AsyncOwner, KintoMethod, SyncOwner
from .methods import HttpApi
from .streams import AsyncStreams, SyncStreams

__all__ = [
    "AsyncOwner", "AsyncStreams", "Data", "EndpointPath", "HttpApi", "KintoMethod",
    "OperationsBase", "PageStream", "SyncOwner", "SyncStreams",
]
