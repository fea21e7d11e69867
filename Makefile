# Two commands do everything: `make demo` and `make test`. Both build .venv from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_DEMO := $(VENV)/.installed-demo
STAMP_DEV := $(VENV)/.installed-dev

# The lowest aiobotocore botoware supports is the one the newest aioboto3 pins; .venv has the
# newest aiobotocore, this one the lowest (with aioboto3), for the async tests.
AIO_LOWEST := .venv-aio-lowest
AIO_LOWEST_PINS := aioboto3==15.5.0 aiobotocore==2.25.1
AIO_TESTS := tests/test_aio.py tests/test_async_docs.py tests/test_core_lifecycle.py tests/test_core_install.py

.PHONY: demo test lint types pytest pytest-aio-lowest docs bench clean

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
	$(MAKE) lint types docs pytest pytest-aio-lowest

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

$(AIO_LOWEST)/.installed: pyproject.toml
	$(PYTHON) -m venv $(AIO_LOWEST)
	$(AIO_LOWEST)/bin/python -m pip install --quiet --upgrade pip
	$(AIO_LOWEST)/bin/python -m pip install --quiet -e '.[dev]' $(AIO_LOWEST_PINS)
	touch $@

pytest-aio-lowest: $(AIO_LOWEST)/.installed
	$(AIO_LOWEST)/bin/python -m pytest -q -p no:cacheprovider -k "async or aio" $(AIO_TESTS)

bench: $(STAMP_DEV)
	$(BIN)/python benchmarks/overhead.py

clean:
	rm -rf $(VENV) $(AIO_LOWEST) build site .pytest_cache .mypy_cache .ruff_cache
