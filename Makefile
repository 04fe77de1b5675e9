# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
EMULATOR_PORT ?= 8123
EMULATOR_URL := http://127.0.0.1:$(EMULATOR_PORT)
QBO_EMULATOR_PORT ?= 8125
QBO_EMULATOR_URL := http://127.0.0.1:$(QBO_EMULATOR_PORT)
MYOB_EMULATOR_PORT ?= 8127
MYOB_EMULATOR_URL := http://127.0.0.1:$(MYOB_EMULATOR_PORT)
# Local state: the embedded PostgreSQL's data, attachments, the file broker, beat's schedule.
VAR_DIR ?= var

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

# Web server, a Celery worker (with beat) and the Xero, QuickBooks Online and MYOB emulators (the
# sandbox ledgers), on the embedded PostgreSQL in $(VAR_DIR)/postgres (syncsvc/devdb.py; stopped
# with the rest) and the filesystem broker, unless DATABASE_URL / REDIS_URL say otherwise. Ctrl-C
# stops all. A second `make run` beside the first needs its own PORT, EMULATOR_PORT,
# QBO_EMULATOR_PORT, MYOB_EMULATOR_PORT and VAR_DIR.
run: install
	mkdir -p $(VAR_DIR)
	@DEBUG=1 LEDGERSYNC_VAR_DIR=$(abspath $(VAR_DIR)) XERO_EMULATOR_URL=$(EMULATOR_URL) \
	QBO_EMULATOR_URL=$(QBO_EMULATOR_URL) MYOB_EMULATOR_URL=$(MYOB_EMULATOR_URL) \
	PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://$(HOST):$(PORT)} \
	$(BIN)/python -m syncsvc.devdb --data $(VAR_DIR)/postgres -- bash -c 'set -e; \
		$(BIN)/python manage.py migrate --no-input; \
		$(BIN)/python manage.py seed_demo; \
		echo ""; \
		echo "  ledgersync is starting at http://$(HOST):$(PORT)/  (sign in with a login above)"; \
		echo "  Xero emulator at $(EMULATOR_URL) — sign in as admin, open Integrations, Connect"; \
		echo "  QuickBooks Online emulator at $(QBO_EMULATOR_URL) — sign in as initech, Connect"; \
		echo "  MYOB emulator at $(MYOB_EMULATOR_URL) — sign in as clearwater, Connect"; \
		echo ""; \
		trap "kill 0" EXIT; \
		$(BIN)/python manage.py run_xero_emulator --port $(EMULATOR_PORT) --tenant "Globex (Emulated)" & \
		$(BIN)/python manage.py run_qbo_emulator --port $(QBO_EMULATOR_PORT) --quiet \
			--company "Initech Inc. (QBO)" & \
		$(BIN)/python manage.py run_myob_emulator --port $(MYOB_EMULATOR_PORT) --quiet \
			--company "Clearwater Workshop Pty Ltd (MYOB)" & \
		$(BIN)/celery -A syncsvc worker -Q interactive,sync,bulk -B \
			--schedule $(abspath $(VAR_DIR))/celerybeat-schedule --loglevel=INFO --concurrency=2 & \
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
	rm -rf $(VENV) node_modules staticfiles $(VAR_DIR)
