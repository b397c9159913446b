"""A Kinto plugin for the tests: declares the ``signer`` capability, nothing else.

kinto-signer (remote-settings) cannot run here (it signs with an Autograph server), but
kinto-http's review methods only PATCH the collection's ``status``: this lets the tests
check those PATCHes on a server that says it has the review workflow.
"""

from typing import Any


def includeme(config: Any) -> None:
    config.add_api_capability(
        "signer", description="Test stand-in: declares the review workflow.", url="about:blank"
    )
