# The two commands of the README: `make demo` and `make test`.
# Everything installs into .venv from PyPI; nothing is expected on the machine
# beyond python3 (3.11+) and, for the PostgreSQL half of the suite, a server.

PYTHON ?= python3
VENV ?= .venv
# `make demo PORT=8080` when 5000 is taken (macOS AirPlay holds it, for one).
PORT ?= 5000
HOST ?= 127.0.0.1
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench bench-quick screenshots translations clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/daiban demo --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m bench

bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick

screenshots: $(STAMP)
	DAIBAN_SCREENSHOTS_DIR=docs/screenshots $(BIN)/python -m pytest -q tests/browser

translations: $(STAMP)
	$(BIN)/python -m web.support.i18n extract
	$(BIN)/python -m web.support.i18n compile

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache *.egg-info
