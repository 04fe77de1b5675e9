# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when the declared dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

install: $(VENV)/.installed node_modules/.package-lock.json

# Web server, a Celery worker and the Xero emulator (the sandbox ledger, on 127.0.0.1:8123), on
# SQLite and the filesystem broker unless DATABASE_URL / REDIS_URL say otherwise. Ctrl-C stops all.
run: install
	mkdir -p var
	DEBUG=1 $(BIN)/python manage.py migrate --no-input
	DEBUG=1 $(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  ledgersync is starting at http://$(HOST):$(PORT)/  (sign in with a login above)"
	@echo "  Xero emulator at http://127.0.0.1:8123 — sign in as admin, open Integrations, Connect"
	@echo ""
	DEBUG=1 bash -c 'trap "kill 0" EXIT; \
		$(BIN)/python manage.py run_xero_emulator --port 8123 & \
		$(BIN)/celery -A syncsvc worker -Q interactive,sync,bulk -B --schedule var/celerybeat-schedule --loglevel=INFO --concurrency=2 & \
		$(BIN)/python manage.py runserver $(HOST):$(PORT)'

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) node_modules staticfiles var db.sqlite3
