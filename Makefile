# Entry points for a fresh machine with only Python 3 and pip:
#   make run   - install bulksim and what running needs into .venv, then simulate the default scenario
#   make test  - install the test extras too (pytest, pandas, polars, duckdb, dask, asv), run the suite
#   make site  - build the asv performance-history website into .asv/html (renders offline)
# bulksim is installed as a regular (non-editable) package and reinstalled whenever a
# file under engine/ or pyproject.toml changes, so what runs is always the checkout.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARGS ?=
SOURCES := pyproject.toml README.md $(shell find engine -name '*.py' 2>/dev/null)

.PHONY: run test setup site clean-cache

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip

$(VENV)/.installed-run: $(SOURCES) | $(BIN)/python
	@echo "make: installing bulksim and numba, numpy, pyarrow into $(VENV)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check .
	touch $@

$(VENV)/.installed-test: $(SOURCES) | $(BIN)/python
	@echo "make: installing bulksim with its test extras into $(VENV) (about 900 MB the first time)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check '.[test]'
	touch $@ $(VENV)/.installed-run

setup: $(VENV)/.installed-test

run: $(VENV)/.installed-run
	$(BIN)/bulksim run $(ARGS)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(ARGS)

site: $(VENV)/.installed-test
	$(BIN)/python tools/build_site.py $(ARGS)

clean-cache:
	rm -rf $${XDG_CACHE_HOME:-$$HOME/.cache}/bulksim
