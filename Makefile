# Two commands for a newcomer: `make demo` and `make test`. Each installs what it needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: demo test test-fast test-faults lint typecheck unit integration e2e browser broker-jars tools prometheus docs release-schemas refdata console-assets clean

# The virtualenv and the project with its dev tools (re-done when pyproject.toml changes).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Apache Kafka's jars from Maven Central into .cache/ (once).
broker-jars: $(STAMP)
	$(BIN)/cjsx broker provision

demo: $(STAMP) broker-jars prometheus
	$(BIN)/cjsx demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The fault proofs on three brokers take about 18 minutes here: they have a target of their
# own (`make test-faults`) so that `make test` stays well inside CI's time.
# The suite runs in TEST_WORKERS pytest-xdist processes, each with its own broker. A test file
# stays on one worker (its module fixtures are built once), and the files with slow proofs are
# handed out first (tests/conftest.py orders them) so the long ones run side by side.
TEST_WORKERS ?= 3
PARALLEL := -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder
test: $(STAMP) broker-jars tools lint typecheck
	$(BIN)/pytest -m "not faults" $(PARALLEL)

test-faults: $(STAMP) broker-jars
	$(BIN)/pytest -m faults

# Everything but the slow proofs (the crash run, the ACL matrix, the demo, ...): minutes, not a
# quarter of an hour. `make test` still runs them all.
test-fast: $(STAMP) broker-jars tools lint typecheck
	$(BIN)/pytest -m "not slow and not faults" $(PARALLEL)

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP) broker-jars
	$(BIN)/pytest tests/integration

e2e: $(STAMP) broker-jars
	$(BIN)/pytest tests/e2e

browser: $(STAMP) broker-jars tools
	$(BIN)/pytest tests/browser

release-schemas: $(STAMP)
	$(BIN)/cjsx schema release

clean:
	rm -rf $(VENV) .cache .mypy_cache .ruff_cache .pytest_cache .hypothesis
# From Debian's packages: prometheus (promtool checks the alert rules; a real server scrapes
# the worker in a test and in the demo), postgresql (the partner store is tested on a real
# server) and chromium (the console's browser tests drive it; Playwright never downloads a
# browser). `make demo` needs only prometheus.
tools: prometheus
	@command -v initdb >/dev/null || test -x /usr/lib/postgresql/15/bin/initdb || \
	  { $(SUDO) apt-get install -y -qq postgresql || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq postgresql; }; }
	@command -v chromium >/dev/null || { $(SUDO) apt-get install -y -qq chromium || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }; }

prometheus:
	@command -v promtool >/dev/null || { $(SUDO) apt-get install -y -qq prometheus || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq prometheus; }; }

# The CJS standing-data snapshot, regenerated from the pinned npm package (needs npm).
refdata: $(STAMP)
	$(BIN)/python -m tools.standing_data_snapshot

# The console's vendored front end (govuk-frontend, htmx) re-packed from npm (needs npm);
# the built files are committed, so the console itself never needs npm.
console-assets:
	cjsx/console/vendor.sh
