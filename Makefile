# `make check` is the whole check CI runs (.ci/run): install everything, ruff, mypy, tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install check lint typecheck test demo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

test:
	$(BIN)/pytest -q

check: install lint typecheck test

demo: $(BIN)/python
	$(BIN)/python -m pip install --quiet .
	$(BIN)/trailguard scan examples/
