# `make run` and `make test` set everything up themselves on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check bench demo clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/imagine-bot run

# Two workers (the CI machine has 2 cores): most tests wait on local fakes, not the CPU.
# tests/browser drive Debian's chromium (/usr/bin/chromium) with Playwright (installed by the
# dev extra; never `playwright install`): without it they are skipped with the reason, and with
# CI set they fail instead (.ci/run installs it).
TEST_WORKERS ?= 2

test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/ruff check bot adapters tests bench
	$(BIN)/ruff format --check bot adapters tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/router_bench.py

demo: $(STAMP)
	$(BIN)/imagine-bot demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
