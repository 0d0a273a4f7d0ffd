# The README's two commands: `make demo` (set up, run the live engine demo) and `make test`
# (set up, run the whole suite: ruff, mypy strict, pytest). Only Python >= 3.11 is needed.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN = $(VENV)/bin
OUT ?= out/simulation

.PHONY: setup demo simulate test lint bench clean peers

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || (echo "Python >= 3.11 is required" && exit 1)
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

demo: setup
	$(BIN)/a2p demo

simulate: setup
	$(BIN)/a2p scenarios
	$(BIN)/a2p simulate outage-drift --seeds 3 --out $(OUT)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint peers
	$(BIN)/pytest

# Node peers for the SMPP tests (node-smpp); installed only when the lock file changed.
peers: tests/peers/node_modules/.package-lock.json

tests/peers/node_modules/.package-lock.json: tests/peers/package-lock.json
	npm ci --prefix tests/peers --silent --no-audit --no-fund

bench: setup peers
	$(BIN)/python -m benchmarks.routing_quality
	$(BIN)/python -m benchmarks.router_speed
	$(BIN)/python -m benchmarks.pipeline
	$(BIN)/python -m benchmarks.api
	$(BIN)/python -m benchmarks.channels
	$(BIN)/python -m benchmarks.demo_recovery --jobs 2

clean:
	rm -rf $(VENV) out .mypy_cache .pytest_cache .ruff_cache
