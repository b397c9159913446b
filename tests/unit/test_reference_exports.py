"""Every public type the API reference documents imports from ``kinto_orm`` itself."""

from __future__ import annotations

import re
from pathlib import Path

import kinto_orm

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference"


def documented_types() -> list[str]:
    names = set()
    for page in REFERENCE.glob("*.md"):
        for path in re.findall(r"^::: (kinto_orm[\w.]*)", page.read_text(), re.MULTILINE):
            last = path.rsplit(".", 1)[-1]
            if last[:1].isupper():  # a class, not a module
                names.add(last)
    return sorted(names)


def test_the_reference_documents_types() -> None:
    assert len(documented_types()) > 30


def test_every_documented_type_imports_from_kinto_orm() -> None:
    missing = [name for name in documented_types() if not hasattr(kinto_orm, name)]
    assert missing == [], f"documented but not importable from kinto_orm: {missing}"
    assert all(name in kinto_orm.__all__ for name in documented_types())
