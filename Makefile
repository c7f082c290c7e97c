# Entry points for a fresh machine with only Python 3 and pip:
#   make run   - install bulksim and what running needs into .venv, then simulate the default scenario
#   make test  - install the test extras too (pytest, pandas, polars, duckdb, dask, asv) and, with
#                apt-get when missing, chromium and npm for the browser tests; run the suite
#   make site  - build the asv performance-history website into .asv/html (renders offline)
# bulksim is installed editable, so .venv/bin/bulksim always runs the checkout's engine/;
# the install is redone only when pyproject.toml (the dependencies) changes. setuptools
# prints a notice box for every editable install ("Editable installation. Please be careful
# with folders ... with the same name as your package"): PIP_QUIET_EDITABLE filters that one
# notice, nothing else.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARGS ?=
SOURCES := pyproject.toml
PIP_QUIET_EDITABLE := PYTHONWARNINGS='ignore:Editable installation'

.PHONY: run test setup site clean-cache test-deps

# Each long step prints a start line, then a line every 20 s while it runs
# (tools/with_progress.sh): pip --quiet is otherwise silent for minutes.
PROGRESS := bash tools/with_progress.sh

$(BIN)/python:
	@echo "make: creating $(VENV)"
	@$(PYTHON) -m venv $(VENV)
	@$(PROGRESS) "upgrading pip" $(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip

$(VENV)/.installed-run: $(SOURCES) | $(BIN)/python
	@echo "make: installing bulksim and numba, numpy, pyarrow into $(VENV) (about 1 minute the first time)"
	@$(PIP_QUIET_EDITABLE) $(PROGRESS) "installing numba, numpy, pyarrow" $(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	@touch $@

$(VENV)/.installed-test: $(SOURCES) | $(BIN)/python
	@echo "make: installing bulksim with its test extras into $(VENV) (about 900 MB, 2-4 minutes the first time)"
	@$(PIP_QUIET_EDITABLE) $(PROGRESS) "installing the test extras" $(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@ $(VENV)/.installed-run

setup: $(VENV)/.installed-test

run: $(VENV)/.installed-run
	$(BIN)/bulksim run $(ARGS)

test-deps:
	@bash tools/install_test_deps.sh

# The suite runs on every core (pytest-xdist; a test file stays on one worker, so its
# fixtures are built once): about 5 minutes on 2 cores. TEST_JOBS=0 runs it in one process.
TEST_JOBS ?= auto
test: $(VENV)/.installed-test test-deps
	$(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadfile $(ARGS)

site: $(VENV)/.installed-test
	$(BIN)/python tools/build_site.py $(ARGS)

clean-cache:
	rm -rf $${XDG_CACHE_HOME:-$$HOME/.cache}/bulksim
