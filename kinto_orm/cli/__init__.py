"""The ``kinto-orm`` command line (entry point ``kinto_orm.cli:main``), a user of the
public API like any other: ``main`` holds the commands, the other modules what they use."""

from .main import COMMANDS, main

__all__ = ["COMMANDS", "main"]
