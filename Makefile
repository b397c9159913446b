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

## the test suite on every supported Python, memory backend (tox.ini: one virtualenv each with
## .[dev]); finds pyenv's interpreters without `pyenv global`. Options: PYTHONS=py310,py313,
## TOX_ARGS="tests/unit tests/functional" (pytest's arguments instead of all of tests/)
PYTHONS ?= py310,py311,py312,py313
PYENV_BINS := $(wildcard $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions/3.1[0-9].*/bin)

.PHONY: test-pythons
test-pythons: $(STAMP)
	$(if $(PYENV_BINS),PATH="$$(printf '%s:' $(PYENV_BINS))$$PATH") $(VENV)/bin/tox -e $(PYTHONS) $(if $(TOX_ARGS),-- $(TOX_ARGS))

## run the example pipeline against an embedded local Kinto server
demo: $(STAMP)
	$(PY) examples/pipeline.py

## build the documentation site (warnings are errors) into site/
docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict -d site

## re-record the vcrpy cassettes from a live local Kinto server
cassettes: $(STAMP)
	KINTO_ORM_RECORD=1 $(PY) -m pytest -q -p no:cacheprovider tests/unit/test_cassettes.py

## kinto-orm vs kinto-http, wall clock, on a memory and a PostgreSQL Kinto (5-8 min on 2
## quiet CPUs, 27 min at load average 9-14); writes docs/img/performance.png. Then dataframes
## against the typed stream at 100,000 and 300,000 records on both backends (the longest
## part: benchmarks/dataframes.py --help), and local replica queries against one round
## trip (benchmarks/replica.py --help).
## make bench BENCH_ARGS="--scale 0.1 --repeat 1"; all: .venv/bin/python benchmarks/run.py --help
bench: $(STAMP)
	$(PY) benchmarks/run.py $(BENCH_ARGS)
	$(PY) benchmarks/dataframes.py $(DATAFRAME_BENCH_ARGS)
	$(PY) benchmarks/replica.py

## issue 19's targets as client-CPU ratios, clients interleaved (1-3 min);
## exits with status 1 when one is missed
bench-quick: $(STAMP)
	$(PY) benchmarks/quick.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
