# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint format bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "simfer needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[all]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/simfer run workflows/dwd_galaxy.yaml --out runs/demo-$$(date -u +%Y%m%dT%H%M%SZ)

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -n 2 -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow -q

lint: $(STAMP)
	$(BIN)/ruff format --check simfer tests benchmarks scripts
	$(BIN)/ruff check simfer tests benchmarks scripts

format: $(STAMP)
	$(BIN)/ruff format simfer tests benchmarks scripts
	$(BIN)/ruff check --fix simfer tests benchmarks scripts

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_snr.py

clean:
	rm -rf $(VENV) runs .pytest_cache
