"""Local replicas: a Kinto collection kept in a SQLite file, synced incrementally both ways
(``client.records(Todo).replica("todos.sqlite")``; see ``docs/replicas.md``)."""

from .local import LocalQuery
from .replica import Replica
from .report import Conflict, Strategy, SyncReport

__all__ = ["Conflict", "LocalQuery", "Replica", "Strategy", "SyncReport"]
