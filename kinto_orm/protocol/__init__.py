"""Sans-I/O core of the Kinto protocol, shared by the sync and async transports.

Nothing here touches the network: it builds :class:`Request` values, reads
:class:`Response` values into data or typed exceptions, and takes the decisions
(retry or not, how long to wait, which page comes next). The transports only move bytes.

Operations are written once as generators that ``yield`` a :class:`Request` and receive
the :class:`Response` (or get the error thrown in); :func:`drive_sync` and the async
twin in ``transport`` run them. See :data:`Op`. The modules, bottom up: ``encoding``,
``messages``, ``errors``, ``headers``, ``checks``, ``failures``, ``retry``, ``pagination``,
``framing``, ``ops``; this package re-exports their names.
"""

from .checks import check_headers, check_value
from .encoding import (
    dumps,
    dumps_plain,
    json_default,
    loads,
    new_record_id,
)
from .failures import (
    error_from_response,
    kinto_http_message,
    network_error,
    recovered_write,
    redirect_error,
)
from .framing import (
    Unencodable,
    batch_request,
    batch_responses,
    batch_subrequest,
    batchable,
    chunks,
    last_conflict,
)
from .headers import (
    create_headers,
    encode_params,
    envelope,
    etag_value,
    if_match_headers,
    is_idempotent,
    quote_etag,
    save_headers,
)
from .messages import (
    IDEMPOTENT_METHODS,
    JSON,
    PRECONDITION_HEADERS,
    Headers,
    KintoError,
    KintoException,
    Op,
    Request,
    Response,
)
from .ops import (
    Done,
    drive_sync,
    request_op,
    resume,
    start,
    stream_sync,
)
from .pagination import (
    iter_pages_sync,
    next_page_request,
    origin,
)
from .retry import (
    CONFLICT_ERRNO,
    RetryPolicy,
    RetryTracker,
    backoff_seconds,
    is_transient_conflict,
)

__all__ = [
    "CONFLICT_ERRNO",
    "IDEMPOTENT_METHODS",
    "JSON",
    "PRECONDITION_HEADERS",
    "Done",
    "Headers",
    "KintoError",
    "KintoException",
    "Op",
    "Request",
    "Response",
    "RetryPolicy",
    "RetryTracker",
    "Unencodable",
    "backoff_seconds",
    "batch_request",
    "batch_responses",
    "batch_subrequest",
    "batchable",
    "check_headers",
    "check_value",
    "chunks",
    "create_headers",
    "drive_sync",
    "dumps",
    "dumps_plain",
    "encode_params",
    "envelope",
    "error_from_response",
    "etag_value",
    "if_match_headers",
    "is_idempotent",
    "is_transient_conflict",
    "iter_pages_sync",
    "json_default",
    "kinto_http_message",
    "last_conflict",
    "loads",
    "network_error",
    "new_record_id",
    "next_page_request",
    "origin",
    "quote_etag",
    "recovered_write",
    "redirect_error",
    "request_op",
    "resume",
    "save_headers",
    "start",
    "stream_sync",
]
