# Two commands for a fresh machine:  make demo  (run it)  and  make test  (test it).
# make demo PORT=8010  serves the demo on another port (default 8000).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
PORT ?= 8000

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

.PHONY: install demo test lint
install: $(BIN)/.installed

demo: $(BIN)/.installed
	$(BIN)/complaint-monitor demo --port $(PORT)

test: $(BIN)/.installed
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy monitor responders
	$(BIN)/lint-imports
