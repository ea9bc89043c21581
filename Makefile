# laoke — the two commands a new machine needs: `make serve` and `make test`.
VENV   ?= .venv
PYTHON ?= python3
HOST   ?= 127.0.0.1
PORT   ?= 8000
BIN    := $(VENV)/bin

.PHONY: serve test install install-dev lint format i18n migration bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Run the product: install, migrate, seed the demo tenant when empty, serve on SQLite.
serve: install
	$(BIN)/laoke init
	$(BIN)/laoke demo --if-empty
	LAOKE_HOST=$(HOST) LAOKE_PORT=$(PORT) $(BIN)/laoke serve

## Run every test: lint, then the suite (PostgreSQL too when LAOKE_TEST_POSTGRES_URL is set).
test: install-dev
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/pytest -n 2 --dist loadgroup

lint: install-dev
	$(BIN)/ruff check src tests bench scripts

format: install-dev
	$(BIN)/ruff format src tests bench scripts
	$(BIN)/ruff check --fix src tests bench scripts

## Refresh the translation catalogs from the code and templates.
i18n: install-dev
	$(BIN)/python scripts/i18n.py

## New migration from model changes: make migration m="what changed"
migration: install-dev
	$(BIN)/alembic revision --autogenerate -m "$(m)"
	sed -i 's/astext_type=Text()/astext_type=sa.Text()/g' src/laoke/migrations/versions/*.py
	$(BIN)/ruff format src/laoke/migrations
	$(BIN)/ruff check --fix -q src/laoke/migrations

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
