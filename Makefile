# Two commands do everything: `make demo` and `make test`. Both build .venv from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_DEMO := $(VENV)/.installed-demo
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: demo test lint types pytest docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_DEMO): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo,otel]'
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,demo,otel,bench]'
	touch $@ $(STAMP_DEMO)

demo: $(STAMP_DEMO)
	$(BIN)/botoware demo

test: $(STAMP_DEV)
	$(MAKE) lint types docs pytest

lint: $(STAMP_DEV)
	$(BIN)/ruff check --no-cache botoware tests examples benchmarks
	$(BIN)/ruff format --no-cache --check botoware tests examples benchmarks

types: $(STAMP_DEV)
	$(BIN)/mypy --strict botoware

docs: $(STAMP_DEV)
	$(BIN)/mkdocs build --strict --quiet --site-dir build/site

# One worker per CPU (pytest-xdist); a file's tests stay in one worker, so module-scoped
# fixtures (a demo run, a Prometheus server) run once. PYTEST_WORKERS=0 runs in this process.
PYTEST_WORKERS ?= auto
pytest: $(STAMP_DEV)
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile

bench: $(STAMP_DEV)
	$(BIN)/python benchmarks/overhead.py

clean:
	rm -rf $(VENV) build site .pytest_cache .mypy_cache .ruff_cache
