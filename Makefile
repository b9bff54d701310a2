# `make check` is the whole check CI runs (.ci/run): install everything, ruff, mypy, tests
# (tests/test_terraform.py among them: terraform fmt/validate/test, checkov, and the example
# applied to moto; it needs terraform and the AWS provider mirror, see docs/deploy.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Tools with pinned dependencies of their own live in a venv apart from the project's.
TOOLS_VENV ?= .venv-tools
CHECKOV_VERSION ?= 3.3.30
CHECKOV_STAMP := $(TOOLS_VENV)/.checkov-$(CHECKOV_VERSION)
LAMBDA_ZIP ?= dist/trailguard-lambda.zip

.PHONY: install check lint typecheck test demo checkov lambda-zip bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(CHECKOV_STAMP):
	$(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TOOLS_VENV)/bin/python -m pip install --quiet 'checkov==$(CHECKOV_VERSION)'
	touch $@

install: $(BIN)/python $(CHECKOV_STAMP)
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

checkov: $(CHECKOV_STAMP)
	$(TOOLS_VENV)/bin/checkov -d terraform/ --framework terraform --skip-download --compact --quiet

# The performance suite (issue 6; not part of `check`): every figure beside its target, written
# to bench/results.json and docs/performance.md. A few minutes; run it on an idle machine.
bench: $(BIN)/python
	$(BIN)/python bench/run.py

lambda-zip: $(BIN)/python
	$(BIN)/python tools/build_lambda_zip.py --output $(LAMBDA_ZIP)

demo: $(BIN)/python
	$(BIN)/python -m pip install --quiet .
	$(BIN)/trailguard scan examples/
