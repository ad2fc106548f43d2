# The two commands a new user needs: `make run` and `make test`. Each sets up what it needs.
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: run test lint unit integration bench bootstrap clean

bootstrap:
	@bash scripts/bootstrap.sh

run: bootstrap
	$(PY) -m devstack.embedded

test: bootstrap lint
	$(PY) -m pytest

lint: bootstrap
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

unit: bootstrap
	$(PY) -m pytest tests/controlplane tests/dataplane

integration: bootstrap
	$(PY) -m pytest tests/integration

bench: bootstrap
	$(VENV)/bin/pip install -q -r requirements/bench.txt
	$(PY) -m bench $(BENCH)

clean:
	rm -rf var/ .pytest_cache .mypy_cache .ruff_cache
