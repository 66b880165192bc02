# Two commands for a newcomer: `make demo` and `make test`. Each installs what it needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit integration e2e broker-jars clean docs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

broker-jars: $(STAMP)
	$(BIN)/cjsx broker provision

demo: $(STAMP) broker-jars
	$(BIN)/cjsx demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) broker-jars lint typecheck
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .cache .mypy_cache .ruff_cache .pytest_cache
