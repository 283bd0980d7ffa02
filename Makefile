# Connect traffic distribution group provider. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
PY_DIRS := src local tests cfn_lint_rules
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt src/handler/requirements.txt | sha1sum | cut -c1-12)
export SAM_CLI_TELEMETRY := 0
# Tests and the demo never need real credentials or a real region; these keep boto3 from looking for them.
export TEMPLATE PARAMS UPDATE_PARAMS REGION
LOCAL_AWS := AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1

.PHONY: help install test unit e2e lint lint-template format demo local bench build deploy clean

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt src/handler/requirements.txt
	@echo "==> Building .venv from requirements-dev.txt: about a minute, from PyPI, only when the pins change"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar off -r requirements-dev.txt \
		| { grep -E '^(Collecting|Successfully installed)' || true; }; exit $${PIPESTATUS[0]}
	rm -f $(VENV)/.installed-* && touch $@
	@echo "==> .venv is ready"

install: $(STAMP) ## Create .venv with the pinned development dependencies

test: $(STAMP) ## Run unit and end-to-end tests (offline)
	$(LOCAL_AWS) $(BIN)/python -m pytest -p no:cacheprovider

unit: $(STAMP) ## Run the unit tests only (no sockets)
	$(LOCAL_AWS) $(BIN)/python -m pytest -p no:cacheprovider tests/unit

e2e: $(STAMP) ## Run the emulator, driver and end-to-end tests only
	$(LOCAL_AWS) $(BIN)/python -m pytest -p no:cacheprovider -m e2e

lint: $(STAMP) ## ruff, mypy, and cfn-lint with the provider's rules (cfn_lint_rules/)
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml examples/*.yaml --append-rules cfn_lint_rules

lint-template: $(STAMP) ## cfn-lint TEMPLATE=path/to/stack.yaml with the provider's rules
	@test -n "$(TEMPLATE)" || { echo "usage: make lint-template TEMPLATE=path/to/stack.yaml"; exit 2; }
	$(BIN)/cfn-lint $(TEMPLATE) --append-rules cfn_lint_rules

format: $(STAMP) ## Format the code with ruff
	$(BIN)/ruff format $(PY_DIRS)
	$(BIN)/ruff check --fix $(PY_DIRS)

demo: $(STAMP) ## Run the example stacks' whole life against the local emulator (VERBOSE=1: in full)
	@$(LOCAL_AWS) $(BIN)/python -m local.demo $(if $(VERBOSE),--verbose)

local: $(STAMP) ## Run TEMPLATE against the emulator: create, update with UPDATE_PARAMS, delete
	@test -n "$(TEMPLATE)" || { echo 'usage: make local TEMPLATE=path/to/stack.yaml [PARAMS="Key=Value ..."] [UPDATE_PARAMS="Key=Value ..."] [REGION=us-east-1]'; exit 2; }
	@$(LOCAL_AWS) $(BIN)/python -m local.run "$$TEMPLATE" --params "$$PARAMS" --update-params "$$UPDATE_PARAMS" --region "$$REGION" $(if $(VERBOSE),--verbose)

bench: $(STAMP) ## Measure latency, cold start and size; writes docs/benchmarks.md (several minutes)
	$(LOCAL_AWS) $(BIN)/python -m local.bench

$(SAM_VENV)/bin/sam: requirements-sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet -r requirements-sam.txt
	touch $@

build: $(SAM_VENV)/bin/sam ## sam build (needs Python 3.13 on PATH, or set PYENV_VERSION)
	$(SAM_VENV)/bin/sam validate --lint
	$(SAM_VENV)/bin/sam build

deploy: build ## sam deploy with samconfig.toml (needs AWS credentials)
	$(SAM_VENV)/bin/sam deploy

clean: ## Remove the virtualenvs and build output
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
