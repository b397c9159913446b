"""A ``requests.Session`` that finds the environment's proxies without walking all of it
for each request.

A session that trusts the environment (``trust_env``, the default) looks up, for every
request, the proxies of its URL in ``Session.merge_environment_settings``: urllib's
``getproxies()`` then ``proxy_bypass()`` walk all of ``os.environ`` (about 120 us a
request with 35 variables set, a sixth of a single GET's client CPU on a local Kinto;
measured at 8934fd7: 696 -> 577 us).

On Linux and the other platforms where urllib reads proxies from the environment only,
the proxies of an ``http``/``https`` URL depend on nine variables (``http_proxy``,
``https_proxy``, ``all_proxy``, ``no_proxy`` in both cases, and CGI's
``REQUEST_METHOD``): :class:`EnvironmentSession` looks them up with requests' own
``get_environ_proxies()`` once per origin and values of those variables, and does the
rest of ``merge_environment_settings`` as requests does. A variable spelt in mixed case
(``Https_Proxy``) is seen when one of the nine changes too. With ``trust_env`` off, and
on macOS and Windows (system proxy settings), requests' own method runs.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import Any

import requests
from requests.sessions import merge_setting
from requests.utils import get_environ_proxies

#: The variables the proxies of an http(s) URL depend on (urllib's ``getproxies()`` and
#: ``proxy_bypass()``, as requests calls them).
PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                   "ALL_PROXY", "no_proxy", "NO_PROXY", "REQUEST_METHOD")
#: Platforms where urllib also reads the system's proxy settings.
SYSTEM_PROXIES = ("darwin", "win32")

_Key = tuple[str, Any, tuple[str | None, ...]]
_found: dict[_Key, dict[str, str]] = {}
_lock = threading.Lock()


def environ_proxies(url: str, no_proxy: Any = None) -> dict[str, str]:
    """``requests.utils.get_environ_proxies(url, no_proxy)``, looked up again only when
    the origin of ``url`` or one of :data:`PROXY_VARIABLES` is new (a copy: requests may
    change it)."""
    environ = os.environ
    key = (_origin(url), no_proxy, tuple([environ.get(name) for name in PROXY_VARIABLES]))
    found = _found.get(key)
    if found is None:
        found = get_environ_proxies(url, no_proxy=no_proxy)
        with _lock:
            if len(_found) >= 256:  # variables that keep changing: start over
                _found.clear()
            _found[key] = found
    return dict(found)


class EnvironmentSession(requests.Session):
    """``requests.Session``, with :func:`environ_proxies` in
    ``merge_environment_settings``; everything else is requests' own."""

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        if not self.trust_env or sys.platform in SYSTEM_PROXIES:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        # As requests does it, the proxy lookup aside.
        if proxies is not None:
            no_proxy = proxies.get("no_proxy")
            for key, value in environ_proxies(url, no_proxy).items():
                proxies.setdefault(key, value)
        if verify is True or verify is None:
            verify = (os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
                      or verify)
        merge: Callable[[Any, Any], Any] = merge_setting
        return {
            "proxies": merge(proxies, self.proxies),
            "stream": merge(stream, self.stream),
            "verify": merge(verify, self.verify),
            "cert": merge(cert, self.cert),
        }


def _origin(url: str) -> str:
    """``scheme://host:port`` of an absolute URL (what its proxies depend on)."""
    scheme, _, rest = url.partition("://")
    return scheme.lower() + "://" + rest.split("/", 1)[0].split("?", 1)[0].lower()
