"""What requests reads from the environment for each request, without walking all of it.

A ``requests.Session`` that trusts the environment (``trust_env``, the default) looks up,
for every request, the proxies of its URL (``HTTPS_PROXY``, ``NO_PROXY``...), the CA
bundle (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``) and, when no auth is given, the
``.netrc`` credentials. Its proxy lookup walks all of ``os.environ`` twice (urllib's
``getproxies()``, then again for ``NO_PROXY``): about 120 us a request with 35 variables
set, a sixth of a single GET's client CPU on a local Kinto (measured at 8934fd7: 696 ->
577 us).

The session kinto-orm makes for itself does not trust the environment; :class:`Environment`
gives each request what requests would have read, with requests' own functions. The
proxies of an ``http``/``https`` URL depend on nine variables only (``http_proxy``,
``https_proxy``, ``all_proxy``, ``no_proxy`` in both cases, and CGI's
``REQUEST_METHOD``): they are looked up again whenever one of those changed, for the
same origin (scheme, host and port). A session the user passes is left as it is.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from requests.utils import get_environ_proxies, get_netrc_auth

#: The variables the proxies of an http(s) URL depend on (urllib's ``getproxies()`` and
#: ``proxy_bypass()``, as requests calls them; a mixed-case ``Https_Proxy`` is only
#: noticed with the others).
PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                   "ALL_PROXY", "no_proxy", "NO_PROXY", "REQUEST_METHOD")


class Environment:
    """The environment's settings for each request, as keyword arguments of
    ``Session.request``."""

    def __init__(self) -> None:
        self._proxies: dict[tuple[str, tuple[str | None, ...]], dict[str, str]] = {}
        self._lock = threading.Lock()

    def settings(self, url: str, with_auth: bool) -> dict[str, Any]:
        """``proxies``, ``verify`` (and ``auth`` from ``.netrc`` when the request has none)
        for ``url``, as requests' ``merge_environment_settings`` and ``prepare_request``
        would find them now."""
        environ = os.environ
        key = (_origin(url), tuple([environ.get(name) for name in PROXY_VARIABLES]))
        proxies = self._proxies.get(key)
        if proxies is None:
            proxies = get_environ_proxies(url)
            with self._lock:
                if len(self._proxies) >= 64:  # variables that keep changing: start over
                    self._proxies.clear()
                self._proxies[key] = proxies
        found: dict[str, Any] = {
            "proxies": dict(proxies),  # a copy: requests may change the one it is given
            # None: the session's own ``verify`` (True unless the user changed it).
            "verify": environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE")
            or None,
        }
        if not with_auth:
            found["auth"] = get_netrc_auth(url)
        return found


def _origin(url: str) -> str:
    """``scheme://host:port`` of an absolute URL (what its proxies depend on)."""
    scheme, _, rest = url.partition("://")
    return scheme.lower() + "://" + rest.split("/", 1)[0].split("?", 1)[0].lower()
