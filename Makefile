# kinto-orm developer commands. Everything installs itself into .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

.PHONY: install test lint type unit functional demo cassettes bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check kinto_orm tests examples benchmarks

type: $(STAMP)
	$(VENV)/bin/mypy --strict kinto_orm

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

functional: $(STAMP)
	$(PY) -m pytest -q tests/functional

## lint + types + the whole test suite (unit, cassettes, functional against a real Kinto)
test: lint type
	$(PY) -m pytest -q -p no:cacheprovider tests

## run the example pipeline against an embedded local Kinto server
demo: $(STAMP)
	$(PY) examples/pipeline.py

## build the documentation site (warnings are errors) into site/
docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict -d site

## re-record the vcrpy cassettes from a live local Kinto server
cassettes: $(STAMP)
	KINTO_ORM_RECORD=1 $(PY) -m pytest -q -p no:cacheprovider tests/unit/test_cassettes.py

## benchmarks against local Kinto servers (options: .venv/bin/python benchmarks/run.py --help)
bench: $(STAMP)
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
