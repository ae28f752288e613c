# Two commands on a fresh machine:  `make fit` (the default ALP fit) and `make test`.
# Both create the virtual environment .venv/ with Python 3.12 when it is missing or stale.
CORES ?= 2
CONFIG ?= config/config.yaml
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: fit test lint format env clean-env publish
.DEFAULT_GOAL := fit

# Rebuilt when the pins or the package metadata change.
$(STAMP): pyproject.toml requirements.lock
	@PY=$$(bash .ci/find-python); \
	  echo "creating $(VENV) with $$PY"; \
	  "$$PY" -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade "pip<27"
	$(BIN)/python -m pip install -qq -c requirements.lock -e ".[test]"
	@touch $(STAMP)

env: $(STAMP)

fit: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --configfile $(CONFIG)
	$(BIN)/snakemake --cores $(CORES) --configfile $(CONFIG) --report results/report.html

test: $(STAMP)
	$(BIN)/python -m pytest

PYTHON_SOURCES := src tests workflow/scripts benchmarks

lint: $(STAMP)
	$(BIN)/ruff check $(PYTHON_SOURCES)
	$(BIN)/ruff format --check $(PYTHON_SOURCES)
	$(BIN)/snakemake --lint --cores 1
	$(BIN)/snakefmt --check Snakefile workflow/rules

format: $(STAMP)
	$(BIN)/ruff format $(PYTHON_SOURCES)
	$(BIN)/snakefmt Snakefile workflow/rules

publish: $(STAMP)
	$(BIN)/globalfit publish results/run_summary.json --out docs/default_run.json --readme README.md

clean-env:
	rm -rf $(VENV)
