"""Event hooks, attachments and timeouts as users write them type-check in pyright strict
and ``mypy --strict`` (helpers of ``test_type_check``): each event name gives its callback
a precise event type, so a wrong field or an unknown event name is an error."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_type_check import MYPY_CONFIGS, flagged_lines, mypy, pyright, show

GOOD = '''
import io
from typing_extensions import assert_type
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


def write(folder: Path, code: str) -> list[str]:
    (folder / "user_events.py").write_text(code.lstrip("\n"), encoding="utf-8")
    return ["user_events.py"]


def test_typical_code_is_clean_in_pyright(tmp_path: Path) -> None:
    errors = pyright(tmp_path, write(tmp_path, GOOD))
    assert not errors, show(errors)


@pytest.mark.parametrize("config", ["mypy", "mypy+plugin"])
def test_typical_code_is_clean_in_mypy(tmp_path: Path, config: str) -> None:
    errors = mypy(tmp_path, write(tmp_path, GOOD), MYPY_CONFIGS[config])
    assert not errors, show(errors)


def test_wrong_field_and_unknown_event_are_flagged(tmp_path: Path) -> None:
    files = write(tmp_path, BAD)
    assert flagged_lines(pyright(tmp_path, files)) == {3, 4}
    assert flagged_lines(mypy(tmp_path, files, MYPY_CONFIGS["mypy"])) == {3, 4}
