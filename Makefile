# Two commands on a fresh machine with only Python: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: run test lint types unit bench screenshots lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.base: requirements/base.txt $(BIN)/python
	$(PIP) install --require-hashes -r requirements/base.txt
	touch $@

$(VENV)/.dev: requirements/dev.txt $(VENV)/.base
	$(PIP) install --require-hashes -r requirements/dev.txt
	touch $@

providers.toml:
	cp providers.example.toml providers.toml

run: $(VENV)/.base providers.toml  ## install, then run the bot (settings from .env)
	$(BIN)/python -m bot

test: $(VENV)/.dev lint types unit  ## install, then lint, type-check and test

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(VENV)/.dev
	$(BIN)/mypy

unit: $(VENV)/.dev
	$(BIN)/pytest

bench: $(VENV)/.dev
	$(BIN)/python -m bench

screenshots: $(VENV)/.dev  ## record what members see and draw docs/screenshots/*.png (needs chromium)
	$(BIN)/python -m tools.screenshots

lock:  ## re-pin requirements/*.txt from pyproject.toml (needs pip-tools)
	pip-compile -q --strip-extras --generate-hashes --no-emit-index-url --no-emit-find-links -o requirements/base.txt pyproject.toml
	pip-compile -q --strip-extras --generate-hashes --no-emit-index-url --no-emit-find-links --extra dev -o requirements/dev.txt pyproject.toml

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
