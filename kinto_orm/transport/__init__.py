"""The transports (``SyncTransport`` on requests, ``AsyncTransport`` on httpx): send a
``Request``, wait, stream a download. Nothing else: the decisions are in ``protocol``."""

from .drivers import AsyncTransport, SyncTransport
from .settings import USER_AGENT, TransportSettings, split_credentials

__all__ = [
    "USER_AGENT", "AsyncTransport", "SyncTransport", "TransportSettings", "split_credentials",
]
