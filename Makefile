# The two commands a new user needs: `make run` and `make test`. Both create .venv and
# install the project from pyproject.toml on first use (and again when it changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
E2E_STAMP := $(VENV)/.installed-e2e
HOST ?= 127.0.0.1
PORT ?= 8000
# Links in e-mails (activation, reset, objection) point to the server `make run` starts,
# unless SITE_BASE_URL is given: `make run PORT=38123` e-mails http://127.0.0.1:38123/…
# A server listening on every interface (0.0.0.0) is reached on this machine at 127.0.0.1.
LINK_HOST = $(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(HOST))
SITE_BASE_URL ?= http://$(LINK_HOST):$(PORT)
# The demo shortens the reassignment's objection period (production default: 24 hours).
REASSIGNMENT_WAITING_PERIOD_HOURS ?= 0.02

.PHONY: run test test-e2e lint flower bench bench-import backup restore clean-var

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(E2E_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,e2e]'
	touch $@

## run: the whole system on one machine (SQLite, file broker, web + worker + beat).
run: $(STAMP)
	$(BIN)/python manage.py migrate --no-input
	SITE_BASE_URL=$(SITE_BASE_URL) $(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  Accueil extranet        : http://$(HOST):$(PORT)/"
	@echo "  Formulaire d'assistance : http://$(HOST):$(PORT)/assistance/"
	@echo "  Réattributions          : http://$(HOST):$(PORT)/backoffice/reattributions/"
	@echo "  Délai d'opposition (démo) : $(REASSIGNMENT_WAITING_PERIOD_HOURS) h"
	@echo "  API (documentation)     : http://$(HOST):$(PORT)/api/docs"
	@echo "  Back-office des agents  : http://$(HOST):$(PORT)/backoffice/"
	@echo "  Code du second facteur  : $(BIN)/python manage.py demo_totp agent@demo.asp.fr"
	@echo "  Administration          : http://$(HOST):$(PORT)/admin/"
	@echo "  Courriels envoyés       : var/mail/ (liens vers $(SITE_BASE_URL))"
	@echo ""
	HOST=$(HOST) PORT=$(PORT) SITE_BASE_URL=$(SITE_BASE_URL) \
	  REASSIGNMENT_WAITING_PERIOD_HOURS=$(REASSIGNMENT_WAITING_PERIOD_HOURS) \
	  PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

## test: the whole test suite.
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## test-e2e: browser journeys in Debian's Chromium (apt-get install chromium).
test-e2e: $(E2E_STAMP)
	$(BIN)/python -m pytest tests/e2e -m e2e --liveserver 127.0.0.1 \
		--screenshot only-on-failure --output test-results $(PYTEST_ARGS)

## lint: ruff (checks and formatting), the import contract of the layers, and mypy.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

## flower: watch the workers (loopback only, basic auth from FLOWER_BASIC_AUTH=user:password).
flower: $(STAMP)
	@test -n "$$FLOWER_BASIC_AUTH" || (echo "Set FLOWER_BASIC_AUTH=user:password"; exit 1)
	$(BIN)/celery -A worker flower --address=127.0.0.1 --port=5555 --basic-auth="$$FLOWER_BASIC_AUTH"

## bench: seed N tickets (default 100000) into the configured database, then print median /
## p95 server time and query count per scenario. On PostgreSQL:
##   DATABASE_URL=postgres://… make bench N=1000000
N ?= 100000
BENCH_ARGS ?=
## bench: seed N tickets (default 100000) into the configured database, measure the pages
## in-process, then a bounded loopback load test (gunicorn + wrk on 127.0.0.1).
bench: $(STAMP)
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py bench --n $(N) $(BENCH_ARGS)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; } \
		|| { echo "wrk is needed for the load test: apt-get install wrk"; exit 1; }
	$(BIN)/python -m bench.load $(LOAD_ARGS)

## bench-import: generate a StockEtablissement file of IMPORT_ROWS rows (default 1,000,000) in
## INSEE's layout under var/bench/ (once), then time import_sirene on it twice (every row new,
## then every row unchanged) into the configured database: rows/s and the load average.
## It empties the registry. On PostgreSQL:
##   DATABASE_URL=postgres://… make bench-import
IMPORT_ROWS ?= 1000000
bench-import: $(STAMP)
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py bench_import --rows $(IMPORT_ROWS) $(BENCH_IMPORT_ARGS)

## backup: the configured database (PostgreSQL: pg_dump's custom format; SQLite: an online
## copy) and the documents' storage into var/backups/<date>/ (or BACKUP_DIR=…), with a
## manifest of checksums and figures.
backup: $(STAMP)
	$(BIN)/python manage.py backup $(if $(BACKUP_DIR),--output "$(BACKUP_DIR)")

## restore: BACKUP=var/backups/<date> into the configured database (created when missing)
## and storage; refuses a database with tables or a storage with files unless FORCE=1.
restore: $(STAMP)
	@test -n "$(BACKUP)" || { echo "Usage : make restore BACKUP=var/backups/<date> [FORCE=1]"; exit 1; }
	$(BIN)/python manage.py restore "$(BACKUP)" $(if $(FORCE),--force)

clean-var:
	rm -rf var/
