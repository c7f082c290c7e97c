# Two entry points for a fresh machine with only Python 3.11 and pip:
#   make run   - set up .venv if missing, then simulate the default scenario
#   make test  - set up .venv (with test extras) if missing, then run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARGS ?=

.PHONY: run test setup clean-cache

$(BIN)/bulksim: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(BIN)/bulksim

setup: $(BIN)/bulksim

run: setup
	$(BIN)/bulksim run $(ARGS)

test: setup
	$(BIN)/python -m pytest $(ARGS)

clean-cache:
	rm -rf $${XDG_CACHE_HOME:-$$HOME/.cache}/bulksim
