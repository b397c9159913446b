"""What users write with ``client.on``, attachments and timeouts type-checks under
``mypy --strict``: each event name gives its callback a precise event type, so a wrong
field or an unknown event name is a type error."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

api = pytest.importorskip("mypy.api")

GOOD = '''
import io
from typing import assert_type
from collections.abc import Callable
from kinto_orm import AsyncClient, Client, Record
from kinto_orm.events import DeprecatedEvent, ResponseEvent, RetryEvent

client = Client("http://localhost:8888/v1", timeout=(3, 30))

def on_retry(event: RetryEvent) -> None:
    print(event.attempt, event.wait, event.reason, event.request.method)

remove = client.on("retry", on_retry)
assert_type(remove, Callable[[], None])
client.on("response", lambda e: print(e.elapsed, e.status, e.url))
client.on("backoff", lambda e: print(e.seconds + 1))
client.on("deprecated", lambda e: print(e.code, e.message, e.url))
client.on("request", lambda e: print(e.attempt, e.url))
client.off("retry", on_retry)
with client.timeout(5):
    pass
with client.timeout((2, None)):
    pass
quick = client.clone(timeout=2)

class Report(Record):
    title: str

report = Report(id="r", title="x").bind(client)
assert_type(report.attach(b"%PDF", filename="a.pdf"), Report)
assert_type(report.attach(io.BytesIO(b"x"), mimetype="application/pdf", force=True), Report)
meta = client.add_attachment("r", b"x", "a.txt", collection="c")

async def main(aclient: AsyncClient) -> None:
    async def ship(event: ResponseEvent) -> None: ...
    aclient.on("response", ship)
    assert_type(await report.aattach(b"x", filename="x.txt"), Report)

def deprecated(event: DeprecatedEvent) -> str:
    return event.raw
'''

BAD = '''
from kinto_orm import Client
client = Client("http://localhost:8888/v1")
client.on("retry", lambda e: print(e.elapsed))
client.on("sent", lambda e: None)
'''


def check(tmp_path: Path, code: str) -> tuple[str, int]:
    path = tmp_path / "user_code.py"
    path.write_text(textwrap.dedent(code))
    stdout, stderr, status = api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(path)]
    )
    return stdout + stderr, status


def test_typical_user_code_type_checks(tmp_path: Path) -> None:
    output, status = check(tmp_path, GOOD)
    assert status == 0, output


def test_wrong_field_and_unknown_event_are_type_errors(tmp_path: Path) -> None:
    output, status = check(tmp_path, BAD)
    assert status == 1
    assert 'user_code.py:4: error: No overload variant of "on"' in output
    assert 'user_code.py:5: error: No overload variant of "on"' in output
