# Two commands do all the set-up on a fresh machine with Python 3.11+, pip and make:
#   make demo   builds the demo database and runs Kaohe on it
#   make test   lint, type-check and the whole test suite (SQLite always, PostgreSQL when reachable)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck unit clean

# The virtual environment is rebuilt whenever pyproject.toml changes.
# editable_mode=compat puts the project root on sys.path, so new top-level packages need no reinstall.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/kaohe run

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest

test: lint typecheck unit

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache .hypothesis
