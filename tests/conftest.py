"""Shared test set-up. The fixtures ``kinto_server`` and ``kinto_client`` come from the
``kinto_orm.testing`` pytest plugin (a real Kinto, memory backend, loopback port)."""

pytest_plugins: list[str] = []
