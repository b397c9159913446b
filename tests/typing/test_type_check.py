"""Type-check code a user writes, in the checkers users run, from outside the repository.

The corpus (the README's examples, every example of ``docs/``, ``examples/`` and
``corpus/user_code.py`` with its ``assert_type`` calls) must have no error in pyright
strict (basedpyright, the engine of VS Code's Pylance) nor in ``mypy --strict``, without
and with Pydantic's mypy plugin. ``mistakes/mistakes.py`` must be flagged by each of them
on every line marked ``# expect-error``, and on no other line.

The files are copied into a temporary folder first, so that the checkers find
``kinto_orm`` the way a user's project does: through the installed package.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tests" / "docs"))
from test_docs import blocks_of, runnable_pages  # noqa: E402

PYRIGHT_CONFIG = {"typeCheckingMode": "strict", "pythonVersion": "3.10",
                  # docs pages are cells run in one namespace: a later cell may import again
                  "reportDuplicateImport": False}
MYPY_CONFIGS = {
    "mypy": "[mypy]\nstrict = True\n",
    "mypy+plugin": "[mypy]\nstrict = True\nplugins = pydantic.mypy\n",
    # the plugin's recommended settings: typed constructors, no unknown keywords
    "mypy+plugin(init_typed)": (
        "[mypy]\nstrict = True\nplugins = pydantic.mypy\n"
        "[pydantic-mypy]\ninit_typed = True\ninit_forbid_extra = True\n"
    ),
}
EXPECT = re.compile(r"#\s*expect-error:")


def page_module(page: Path) -> str:
    code = [b.code for b in blocks_of(page) if b.runnable and not b.skipped]
    return "\n\n".join(code) + "\n"


def write_corpus(folder: Path) -> list[str]:
    folder.mkdir()
    names = []
    readme = page_module(ROOT / "README.md")
    (folder / "readme_examples.py").write_text(readme, encoding="utf-8")
    names.append("readme_examples.py")
    for page in runnable_pages():
        name = f"docs_{page.stem}.py"
        (folder / name).write_text(page_module(page), encoding="utf-8")
        names.append(name)
    for example in sorted((ROOT / "examples").glob("*.py")):
        shutil.copy(example, folder / f"example_{example.name}")
        names.append(f"example_{example.name}")
    shutil.copy(HERE / "corpus" / "user_code.py", folder / "user_code.py")
    names.append("user_code.py")
    return names


def pyright(folder: Path, files: list[str]) -> list[tuple[str, int, str]]:
    """``(file, line, message)`` of each error basedpyright reports."""
    binary = Path(sys.executable).with_name("basedpyright")
    (folder / "pyrightconfig.json").write_text(json.dumps(PYRIGHT_CONFIG))
    run = subprocess.run(
        [str(binary), "--outputjson", "--pythonpath", sys.executable, *files],
        cwd=folder, capture_output=True, text=True, timeout=300,
    )
    report = json.loads(run.stdout)
    return [
        (Path(d["file"]).name, d["range"]["start"]["line"] + 1, d["message"])
        for d in report["generalDiagnostics"] if d["severity"] == "error"
    ]


def mypy(folder: Path, files: list[str], config: str) -> list[tuple[str, int, str]]:
    """``(file, line, message)`` of each error mypy reports with ``config``."""
    ini = folder / "mypy.ini"
    ini.write_text(config)
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ini), "--no-error-summary",
         "--cache-dir", str(folder.parent / ".mypy_cache"), *files],
        cwd=folder, capture_output=True, text=True, timeout=300,
    )
    errors = []
    for line in run.stdout.splitlines():
        match = re.match(r"^(.+?):(\d+): error: (.*)$", line)
        if match:
            errors.append((Path(match[1]).name, int(match[2]), match[3]))
    assert errors or run.returncode == 0, run.stdout + run.stderr
    return errors


def show(errors: list[tuple[str, int, str]]) -> str:
    return "\n".join(f"{name}:{line}: {message}" for name, line, message in errors)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("typing") / "corpus"
    return folder, write_corpus(folder)


def test_corpus_is_clean_in_pyright_strict(corpus: tuple[Path, list[str]]) -> None:
    folder, files = corpus
    errors = pyright(folder, files)
    assert not errors, show(errors)


@pytest.mark.parametrize("config", list(MYPY_CONFIGS))
def test_corpus_is_clean_in_mypy_strict(corpus: tuple[Path, list[str]], config: str) -> None:
    folder, files = corpus
    errors = mypy(folder, files, MYPY_CONFIGS[config])
    assert not errors, show(errors)


@pytest.fixture(scope="module")
def mistakes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[int]]:
    folder = tmp_path_factory.mktemp("mistakes")
    source = HERE / "mistakes" / "mistakes.py"
    shutil.copy(source, folder / "mistakes.py")
    lines = source.read_text(encoding="utf-8").splitlines()
    expected = {number for number, line in enumerate(lines, 1) if EXPECT.search(line)}
    assert len(expected) >= 8
    return folder, expected


def flagged_lines(errors: list[tuple[str, int, str]]) -> set[int]:
    return {line for _, line, _ in errors}


def test_mistakes_are_flagged_by_pyright(mistakes: tuple[Path, set[int]]) -> None:
    folder, expected = mistakes
    errors = pyright(folder, ["mistakes.py"])
    assert flagged_lines(errors) == expected, show(errors)


@pytest.mark.parametrize("config", ["mypy", "mypy+plugin(init_typed)"])
def test_mistakes_are_flagged_by_mypy(mistakes: tuple[Path, set[int]], config: str) -> None:
    folder, expected = mistakes
    errors = mypy(folder, ["mistakes.py"], MYPY_CONFIGS[config])
    assert flagged_lines(errors) == expected, show(errors)
