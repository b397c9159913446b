"""The examples run as a user runs them: each starts its own embedded Kinto, on the
session's backend (``--kinto-backend``: their ``KintoServer()`` reads ``KINTO_ORM_BACKEND``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("pipeline.py", ["imported 8 tasks in one batch", "3 urgent open tasks", "merged:"]),
        ("async_pipeline.py", ["created 500 readings", "20 readings below zero",
                               "sum of the good readings: 12475.0"]),
        ("dataframes.py", ["saved 62 readings", "frame: 62 rows", "category",
                           "north 1.0, south 8.0", "saved back 62 rows",
                           "late rows: 1 saved; refused: east-02 (ValidationError)",
                           "north-01 is now -3.25 C", "wrote 20 rainy readings"]),
        ("conflicts.py", ["conflict: the server has", "final: title='Kinto 26 is out'",
                          "a blind save of an existing record is refused"]),
        ("offline_replica.py", ["first pull: 200 inspections", "todo left: 197",
                                "conflict on site-0: 'checked' / 'call the owner'",
                                "synchronized: 3 sent, ok=True",
                                "site-0 on the server: 'call the owner; checked'",
                                "local records: 199"]),
    ],
)
def test_example_runs(script: str, expected: list[str], kinto_backend: str) -> None:
    env = {**os.environ, "KINTO_ORM_BACKEND": kinto_backend}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script)], capture_output=True, text=True, timeout=180,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    for text in expected:
        assert text in done.stdout
