# kinto-orm developer commands. Everything installs itself into .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

.PHONY: install test test-postgresql lint type unit functional demo cassettes bench bench-quick docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

install: $(STAMP)

## ruff, and the one-way layers of kinto_orm (import-linter contracts in pyproject.toml)
lint: $(STAMP)
	$(VENV)/bin/ruff check kinto_orm tests examples benchmarks
	$(VENV)/bin/lint-imports --no-cache

type: $(STAMP)
	$(VENV)/bin/mypy --strict kinto_orm

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

functional: $(STAMP)
	$(PY) -m pytest -q tests/functional

## lint + types + the whole test suite (unit, cassettes, functional against a real Kinto),
## then the functional, docs and examples suites again on PostgreSQL when it is available
test: lint type
	$(PY) -m pytest -q -p no:cacheprovider tests
	@$(MAKE) --no-print-directory test-postgresql

## the functional, docs and examples suites on a PostgreSQL-backed Kinto (skipped, saying
## why, when PostgreSQL is not installed)
test-postgresql: $(STAMP)
	@reason=$$($(PY) -c 'from kinto_orm._postgres import postgresql_missing as m; print(m() or "")'); \
	if [ -n "$$reason" ]; then \
		echo "*** SKIPPED the PostgreSQL run of the functional, docs and examples suites: $$reason"; \
	else \
		echo "*** The functional, docs and examples suites on PostgreSQL:"; \
		$(PY) -m pytest -q -p no:cacheprovider --kinto-backend postgresql \
			tests/functional tests/docs tests/examples -k 'not site_builds'; \
	fi

## run the example pipeline against an embedded local Kinto server
demo: $(STAMP)
	$(PY) examples/pipeline.py

## build the documentation site (warnings are errors) into site/
docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict -d site

## re-record the vcrpy cassettes from a live local Kinto server
cassettes: $(STAMP)
	KINTO_ORM_RECORD=1 $(PY) -m pytest -q -p no:cacheprovider tests/unit/test_cassettes.py

## benchmarks against local Kinto servers (options: .venv/bin/python benchmarks/run.py --help,
## benchmarks/dataframes.py --help)
bench: $(STAMP)
	$(PY) benchmarks/run.py
	$(PY) benchmarks/dataframes.py

## the performance targets as client-CPU ratios, clients interleaved (under 2 minutes)
bench-quick: $(STAMP)
	$(PY) benchmarks/quick.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
