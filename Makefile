# Connect traffic distribution group provider. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_REGION = $(if $(REGION),--region $(REGION))
STACKSET_ZIP = .aws-sam/connect-tdg-provider-$(shell git rev-parse --short HEAD 2>/dev/null || echo dev).zip
PY_DIRS := src local tests cfn_lint_rules deploy docs/hooks.py
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt src/handler/requirements.txt | sha1sum | cut -c1-12)
export SAM_CLI_TELEMETRY := 0
# Tests and the demo never need real credentials or a real region; these keep boto3 from looking for them.
export TEMPLATE PARAMS UPDATE_PARAMS REGION USER_REPLICA_LAG
# make test and make e2e run on WORKERS pytest-xdist processes; most e2e time is spent waiting (emulated delays,
# backoff, the 2/s quota), so more workers than cores pays. worksteal keeps the long tests from queueing.
# 10: with the status, failover and agent e2e tests (mostly waiting on the 2/s quota), 8 workers took 90-95 s
# and 10 took 81 s on this 2-core machine.
WORKERS ?= 10
XDIST = -n $(WORKERS) --dist worksteal
LOCAL_AWS := AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
# The tests start a dozen pytest processes and hundreds of Lambda processes that import the same modules: they are
# compiled once into __pycache__ (git-ignored), even where the machine sets PYTHONDONTWRITEBYTECODE, before the
# pytest workers start (each would otherwise compile, and rewrite the tests' asserts, on its own). The Lambda
# processes (python -B) only read it. The benchmark's cold start imports a copy of src/handler without it, as
# Lambda does.
BYTECODE := PYTHONDONTWRITEBYTECODE=
COMPILED := $(VENV)/.compiled
PY_SOURCES = $(shell find $(PY_DIRS) -name '*.py' -not -path '*/__pycache__/*')

.PHONY: help install test unit e2e lint lint-template format docs mutate demo local bench status build deploy delete \
	publish stackset-template stackset failover clean

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt src/handler/requirements.txt
	@echo "==> Building .venv from requirements-dev.txt: about a minute, from PyPI, only when the pins change"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar off -r requirements-dev.txt \
		| { grep -E '^(Collecting|Successfully installed)' || true; }; exit $${PIPESTATUS[0]}
	rm -f $(VENV)/.installed-* && touch $@
	@echo "==> .venv is ready"

install: $(STAMP) ## Create .venv with the pinned development dependencies

$(COMPILED): $(STAMP) $(PY_SOURCES)
	$(BIN)/python -m compileall -q src/handler local
	$(LOCAL_AWS) $(BYTECODE) $(BIN)/python -m pytest -p no:cacheprovider --collect-only -q > /dev/null
	touch $@

test: $(COMPILED) ## Run unit and end-to-end tests (offline)
	$(LOCAL_AWS) $(BYTECODE) $(BIN)/python -m pytest -p no:cacheprovider $(XDIST)

unit: $(STAMP) ## Run the unit tests only (no sockets)
	$(LOCAL_AWS) $(BYTECODE) $(BIN)/python -m pytest -p no:cacheprovider tests/unit

e2e: $(COMPILED) ## Run the emulator, driver and end-to-end tests only
	$(LOCAL_AWS) $(BYTECODE) $(BIN)/python -m pytest -p no:cacheprovider $(XDIST) -m e2e

lint: $(STAMP) ## ruff, mypy, and cfn-lint with the provider's rules (cfn_lint_rules/)
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml deploy/stackset.json examples/*.yaml --append-rules cfn_lint_rules
	$(BIN)/python -m deploy.stackset --check

lint-template: $(STAMP) ## cfn-lint TEMPLATE=path/to/stack.yaml with the provider's rules
	@test -n "$(TEMPLATE)" || { echo "usage: make lint-template TEMPLATE=path/to/stack.yaml"; exit 2; }
	$(BIN)/cfn-lint $(TEMPLATE) --append-rules cfn_lint_rules

format: $(STAMP) ## Format the code with ruff
	$(BIN)/ruff format $(PY_DIRS)
	$(BIN)/ruff check --fix $(PY_DIRS)

docs: $(STAMP) ## Build the documentation site into site/ (mkdocs build --strict: a broken link fails)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# FILES="src/handler/a.py src/handler/b.py" -> mutmut's names handler.a.* handler.b.* (all of src/handler when empty).
MUTANTS = $(foreach file,$(FILES),'$(subst /,.,$(patsubst src/%.py,%,$(file))).*')

mutate: $(STAMP) ## Mutation testing of src/handler with the unit tests, from scratch (FILES="src/handler/x.py ...")
	rm -rf mutants
	@echo "==> mutmut run $(or $(MUTANTS),(all of src/handler)): progress in mutants.log"
	@SECONDS=0; $(LOCAL_AWS) $(BIN)/mutmut run $(MUTANTS) > mutants.log 2>&1 || { tail -c 3000 mutants.log; exit 1; }; \
		echo "==> mutmut took $${SECONDS}s; the results (docs/mutation.md says what each survivor is):"
	@$(BIN)/python -m tests.mutation.report $(FILES)

demo: $(STAMP) ## Run the example stacks' whole life against the local emulator (VERBOSE=1: in full)
	@$(LOCAL_AWS) $(BIN)/python -m local.cli.demo $(if $(VERBOSE),--verbose)

local: $(STAMP) ## Run TEMPLATE against the emulator: create, update with UPDATE_PARAMS, delete (USER_REPLICA_LAG=s)
	@test -n "$(TEMPLATE)" || { echo 'usage: make local TEMPLATE=path/to/stack.yaml [PARAMS="Key=Value ..."] [UPDATE_PARAMS="Key=Value ..."] [REGION=us-east-1] [USER_REPLICA_LAG=20]'; exit 2; }
	@$(LOCAL_AWS) $(BIN)/python -m local.cli.run "$$TEMPLATE" --params "$$PARAMS" --update-params "$$UPDATE_PARAMS" --region "$$REGION" --user-replica-lag "$${USER_REPLICA_LAG:-0}" $(if $(VERBOSE),--verbose)

bench: $(STAMP) ## Measure latency, cold start and size; writes docs/benchmarks.md (several minutes)
	$(LOCAL_AWS) $(BIN)/python -m local.bench

# Read-only, with the caller's AWS credentials (no LOCAL_AWS): make fails (status 2) whenever the command exits non-zero.
status: $(STAMP) ## Global Resiliency status of INSTANCE=arn:aws:connect:...:instance/ID [REGION=...] [FORMAT=json] [RATE=1.9]
	@test -n "$(INSTANCE)" || { echo "usage: make status INSTANCE=arn:aws:connect:REGION:ACCOUNT:instance/ID [REGION=region-to-read-first] [FORMAT=json] [RATE=requests-a-second]" >&2; exit 2; }
	@PYTHONPATH=src/handler $(BIN)/python -m operate status --instance "$(INSTANCE)" $(if $(REGION),--region "$(REGION)") \
		$(if $(FORMAT),--format "$(FORMAT)") $(if $(RATE),--rate "$(RATE)")

$(SAM): requirements-sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet -r requirements-sam.txt
	touch $@

build: $(SAM) ## sam validate --lint, sam build (needs Python 3.13 on PATH, or set PYENV_VERSION)
	$(SAM) validate --lint $(SAM_REGION)
	$(SAM) build

deploy: build ## sam deploy with samconfig.toml, in REGION if given, with PARAMS="Key=Value ..." (needs AWS credentials)
	$(SAM) deploy $(SAM_REGION) $(if $(PARAMS),--parameter-overrides $(PARAMS))

delete: $(SAM) ## sam delete the provider's stack in REGION if given (its log group is kept on purpose)
	$(SAM) delete $(SAM_REGION)

publish: ## sam package + sam publish to the Serverless Application Repository (PUBLISH_BUCKET=...)
	@test -n "$(PUBLISH_BUCKET)" || { echo "usage: make publish PUBLISH_BUCKET=bucket-that-serverlessrepo-can-read [REGION=...]"; exit 2; }
	$(MAKE) --no-print-directory build
	$(SAM) package --s3-bucket "$(PUBLISH_BUCKET)" --s3-prefix connect-tdg-provider \
		--output-template-file .aws-sam/packaged.yaml $(SAM_REGION)
	$(SAM) publish --template .aws-sam/packaged.yaml $(SAM_REGION)

stackset-template: $(STAMP) ## Write deploy/stackset.json: template.yaml without the SAM transform
	$(BIN)/python -m deploy.stackset

stackset: build stackset-template ## deploy/stackset.json and the code zip to upload for a StackSet
	rm -f $(STACKSET_ZIP)
	cd .aws-sam/build/Function && $(abspath $(BIN))/python -m zipfile -c $(abspath $(STACKSET_ZIP)) *
	@echo "==> code: $(STACKSET_ZIP) (CodeKey $(notdir $(STACKSET_ZIP))), template: deploy/stackset.json"

failover: $(STAMP) ## Move traffic into TO=<region> now: the manual trigger of its failover function [GROUPS=arn,...] [REASON=...]
	@test -n "$(TO)" || { echo 'usage: make failover TO=<region> [GROUPS=arn,arn] [REASON="..."] [DRY_RUN=1] (docs/failover.md)'; exit 2; }
	@$(BIN)/python -m deploy.failover --to "$(TO)" --groups "$(GROUPS)" $(if $(REASON),--reason "$(REASON)") $(if $(DRY_RUN),--dry-run)

clean: ## Remove the virtualenvs and build output
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache mutants mutants.log site
	find $(PY_DIRS) -name __pycache__ -prune -exec rm -rf {} +
