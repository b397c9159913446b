"""Run the Python examples of the documentation against a real Kinto server.

Every ```` ```python ```` block of a page under ``docs/`` runs, in page order, in one
namespace per page (like the cells of a notebook), against the ``kinto_server`` fixture
of :mod:`kinto_orm.testing`. The conventions the pages follow (``docs/contributing.md``):

- A page's first example says where the server is and who you are, in two lines of
  exactly this form at the start of a line::

      server_url = "http://localhost:8888/v1"
      auth = ("alice", "s3cr3t")

  The test replaces the value of every such top-level ``server_url = ...`` /
  ``auth = ...`` line with the test server's URL and a fresh identity of the page's
  own, so a reader can paste the examples against a local Kinto and the suite runs
  them unchanged.
- After a page, every bucket its identity can delete is deleted, so each page starts
  with no bucket of its own: pages may all use the ids ``blog``, ``todos``, ...
- The examples run in a temporary working folder (files they write go there).
- A block right after an HTML comment starting with ``<!-- skip`` is not run (for what
  cannot run here: a real browser login, ...). Keep those rare. Shell blocks
  (``sh``, ``console``, ...) are never run.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kinto_orm import Client, KintoException
from kinto_orm.testing import new_credentials

DOCS = Path(__file__).resolve().parents[2] / "docs"

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")
SKIP = re.compile(r"^\s*<!--\s*skip\b", re.IGNORECASE)
SERVER_LINE = re.compile(r"^server_url = .*$", re.MULTILINE)
AUTH_LINE = re.compile(r"^auth = .*$", re.MULTILINE)
RUNNABLE = {"python", "py", "python3"}


@dataclass
class Block:
    """One fenced code block of a page."""

    page: str
    line: int  # line number of the first line of code (1-based)
    info: str
    code: str
    skipped: bool

    @property
    def runnable(self) -> bool:
        return self.info.split()[0].lower() in RUNNABLE if self.info else False


def blocks_of(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page (at any indentation)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    previous = ""  # the last non-blank line before the current one
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if match is None:
            if lines[i].strip():
                previous = lines[i]
            i += 1
            continue
        indent, fence = match["indent"], match["fence"]
        body: list[str] = []
        start = i + 2
        i += 1
        while i < len(lines):
            stripped = lines[i].strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                break
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        blocks.append(Block(path.name, start, match["info"].strip(), "\n".join(body),
                            bool(SKIP.match(previous))))
        previous = lines[i] if i < len(lines) else ""
        i += 1
    return blocks


def pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md"))


def runnable_pages() -> list[Path]:
    return [p for p in pages() if any(b.runnable and not b.skipped for b in blocks_of(p))]


def prepare(code: str, server_url: str, auth: tuple[str, str]) -> str:
    """Point a block at the test server and the page's own identity."""
    code = SERVER_LINE.sub(f"server_url = {server_url!r}", code)
    return AUTH_LINE.sub(f"auth = {auth!r}", code)


def clean_up(server_url: str, auth: tuple[str, str]) -> None:
    """Delete the buckets the page's identity created."""
    with Client(server_url, auth=auth) as client:
        for bucket in client.get_buckets():
            try:
                client.delete_bucket(id=bucket["id"], if_exists=True, safe=False)
            except KintoException:
                pass  # not ours (readable only)


@pytest.mark.functional
@pytest.mark.parametrize("page", runnable_pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_page_examples(
    page: Path, kinto_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    server_url = kinto_server.url
    auth = new_credentials()
    namespace: dict[str, Any] = {"__name__": f"docs_{page.stem}"}
    try:
        for block in blocks_of(page):
            if not block.runnable or block.skipped:
                continue
            source = "\n" * (block.line - 1) + prepare(block.code, server_url, auth)
            exec(compile(source, str(page), "exec"), namespace)
    finally:
        clean_up(server_url, auth)


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_skip_markers_precede_python_blocks(page: Path) -> None:
    """A ``<!-- skip -->`` comment must sit right before a Python block (a misplaced one
    would silently do nothing)."""
    text = page.read_text(encoding="utf-8").splitlines()
    marked = [n for n, line in enumerate(text, 1) if SKIP.match(line)]
    skipped = {b.line - 1 for b in blocks_of(page) if b.skipped and b.runnable}
    for number in marked:
        after = next((n for n in range(number + 1, len(text) + 1) if text[n - 1].strip()), None)
        assert after in skipped, f"{page.name}:{number}: <!-- skip --> not before a python block"


def test_first_example_names_server_and_identity() -> None:
    """Each page with examples sets ``server_url`` and ``auth`` in its first block that
    talks to a server, so that a reader can run the page top to bottom."""
    for page in runnable_pages():
        code = "\n".join(b.code for b in blocks_of(page) if b.runnable and not b.skipped)
        if "server_url" in code:
            assert SERVER_LINE.search(code), f"{page.name}: no `server_url = ...` line"




def test_blocks_of_reads_fences_skips_and_line_numbers(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n"
        "\n"
        "```python\n"
        "a = 1\n"
        "```\n"
        "<!-- skip: needs a browser -->\n"
        "```python\n"
        "browser()\n"
        "```\n"
        "- a list item:\n"
        "\n"
        "    ```py\n"
        "    b = a + 1\n"
        "    ```\n"
        "````markdown\n"
        "```python\n"
        "not_code()\n"
        "```\n"
        "````\n"
        "```sh\n"
        "make test\n"
        "```\n",
        encoding="utf-8",
    )
    blocks = blocks_of(page)
    assert [(b.info, b.line, b.skipped, b.runnable) for b in blocks] == [
        ("python", 4, False, True),
        ("python", 8, True, True),
        ("py", 13, False, True),
        ("markdown", 16, False, False),
        ("sh", 21, False, False),
    ]
    assert blocks[2].code == "b = a + 1"


def test_prepare_points_examples_at_the_test_server() -> None:
    code = (
        'server_url = "http://localhost:8888/v1"\n'
        'auth = ("alice", "s3cr3t")\n'
        "client = Client(server_url, auth=auth)\n"
        '    auth = "indented lines are left alone"\n'
    )
    prepared = prepare(code, "http://127.0.0.1:1234/v1", ("u", "p"))
    assert prepared.splitlines() == [
        "server_url = 'http://127.0.0.1:1234/v1'",
        "auth = ('u', 'p')",
        "client = Client(server_url, auth=auth)",
        '    auth = "indented lines are left alone"',
    ]


def test_site_builds_without_warnings(tmp_path: Path) -> None:
    """``mkdocs build --strict``: broken links, pages missing from the nav and docstrings
    mkdocstrings cannot render fail the suite, not only the docs build."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    root = DOCS.parent
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "reference" / "client" / "index.html").is_file()
