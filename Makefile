# Ops Portal. `make run` starts a working portal; `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/opsportal
PYTEST_ARGS ?=

.PHONY: run test install install-dev services lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	./scripts/run.sh

services:
	./scripts/ensure_services.sh

test: install-dev services
	DATABASE_URL=$(TEST_DATABASE_URL) ./scripts/pytest.sh $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install-dev services
	@echo "see bench/README.md; e.g. $(BIN)/python bench/probe_sweep.py"

clean:
	rm -rf $(VENV) data/staticfiles .pytest_cache
