# adsgen — developer commands. `make test` and `make run` work on a fresh clone with no other step.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.deps-stamp

.PHONY: deps browser-deps test test-one lint check fuzz init-db run bench docs clean

deps: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian's Chromium and ChromeDriver for the dashboard's browser test (Playwright drives the
# system Chromium; no test tool downloads a browser). Nothing to do when they are there.
browser-deps:
	@test -x /usr/bin/chromium || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

# The suite runs on every core (pytest-xdist): each worker has its own temp folders, database
# schemas, Redis keys and NATS subjects (tests/conftest.py names them by process id).
TEST_JOBS ?= auto

test: deps
	$(BIN)/python -m pytest -n $(TEST_JOBS)

test-one: deps
	$(BIN)/python -m pytest $(FILE)

lint: deps
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

check: lint test

# The fuzz of tests/test_fuzz.py with a longer budget (`make test` runs 150 examples per test).
fuzz: deps
	ADSGEN_FUZZ_EXAMPLES=$${ADSGEN_FUZZ_EXAMPLES:-2000} $(BIN)/python -m pytest tests/test_fuzz.py

init-db: deps
	$(BIN)/adsgen init-db

# Silent, and the dependency check on stderr: stdout is adsgen's alone, so
# `make run ARGS=--json | jq .` works (progress bars are on stderr already).
run:
	@$(MAKE) --no-print-directory --silent deps >&2
	@$(BIN)/adsgen run-all $(ARGS)

bench: deps
	$(BIN)/python benchmarks/bench_simulate.py
	$(BIN)/python benchmarks/bench_scale.py
	$(BIN)/python benchmarks/bench_end_to_end.py
	$(BIN)/python benchmarks/bench_calendar.py
	$(BIN)/python benchmarks/bench_world.py
	$(BIN)/python benchmarks/realism.py
	$(BIN)/python benchmarks/measurement.py

docs: deps
	$(BIN)/adsgen schema --format markdown > docs/data-dictionary.md

clean:
	rm -rf $(VENV) ads.db build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis out data/
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
