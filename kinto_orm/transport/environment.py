"""What requests reads from the environment for each request, with the proxies read once
per server.

A ``requests.Session`` that trusts the environment (``trust_env``, the default) looks up,
for every request, the proxies of its URL (``HTTPS_PROXY``, ``NO_PROXY``...), the CA
bundle (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``) and, when no auth is given, the
``.netrc`` credentials. The proxy lookup walks all of ``os.environ`` twice: about 120 us
a request with 35 variables set, a sixth of a single GET's client CPU on a local Kinto
(measured at 8934fd7: 696 -> 577 us).

The session kinto-orm makes for itself does not trust the environment; :class:`Environment`
gives each request what requests would have read, with requests' own functions: the CA
bundle and ``.netrc`` as they are now, the proxies as they were when the first request
went to that origin (scheme, host and port), the way httpx reads them once when a client
is made. A session the user passes is left as it is, reading everything per request.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from requests.utils import get_environ_proxies, get_netrc_auth


class Environment:
    """The environment's settings for each origin, as keyword arguments of
    ``Session.request``."""

    def __init__(self) -> None:
        self._proxies: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def settings(self, url: str, with_auth: bool) -> dict[str, Any]:
        """``proxies``, ``verify`` (and ``auth`` from ``.netrc`` when the request has none)
        for ``url``, as requests' ``merge_environment_settings`` and ``prepare_request``
        would find them."""
        origin = _origin(url)
        proxies = self._proxies.get(origin)
        if proxies is None:
            proxies = get_environ_proxies(url)
            with self._lock:
                self._proxies[origin] = proxies
        found: dict[str, Any] = {
            "proxies": dict(proxies),  # a copy: requests may change the one it is given
            # None: the session's own ``verify`` (True unless the user changed it).
            "verify": os.environ.get("REQUESTS_CA_BUNDLE")
            or os.environ.get("CURL_CA_BUNDLE") or None,
        }
        if not with_auth:
            found["auth"] = get_netrc_auth(url)
        return found


def _origin(url: str) -> str:
    """``scheme://host:port`` of an absolute URL (what its proxies depend on)."""
    scheme, _, rest = url.partition("://")
    return scheme.lower() + "://" + rest.split("/", 1)[0].split("?", 1)[0].lower()
