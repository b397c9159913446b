"""OpenID login in a browser, at kinto-http's module path
(``from kinto_orm.login import BrowserOAuth``); defined in :mod:`kinto_orm.auth`."""

from __future__ import annotations

from .auth import BrowserOAuth

__all__ = ["BrowserOAuth"]
