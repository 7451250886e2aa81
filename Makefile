# The two commands a fresh machine needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Runtime (requirements.txt) and tests/tooling (requirements-dev.txt), both hash-pinned:
# reinstall when either changes. Production installs requirements.txt alone.
REQUIREMENTS := requirements.txt requirements-dev.txt
STAMP := $(VENV)/.installed-$(shell cat $(REQUIREMENTS) | sha1sum | cut -c1-12)
# The production-shaped run of the suite: real Postgres and Redis on this machine.
TEST_DATABASE_URL ?= postgres://root@127.0.0.1:5432/receptionist
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# Every Daphne we start (run, and run-production behind the proxy): an HTTP request gets
# 60 s for the app's answer. How long a request may take to *arrive*, and how big its body
# may be, is enforced inside the app (HTTP_BODY_TIMEOUT_SECONDS, HTTP_MAX_BODY_BYTES).
DAPHNE_FLAGS := --http-timeout 60

# run-production: how many Daphne processes and outbox workers, and the first Daphne's port.
WEB ?= 2
WORKERS ?= 1
PORT ?= 8001
ENV_FILE ?= .env

.PHONY: run run-production fake-google fake-microsoft fake-calendly test test-embedded test-production lint format bench clean

$(STAMP): $(REQUIREMENTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes $(addprefix -r ,$(REQUIREMENTS))
	rm -f $(VENV)/.installed-* && touch $@

## run: migrate, seed the demo business, ensure an admin login, start the worker and Daphne on :8000
# Development: DEBUG (and with it the development secrets) must be asked for; unset is off.
run: export DEBUG ?= true
run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py ensure_admin
	$(BIN)/python manage.py show_urls_banner
	@# The outbox worker (SMS, calendar events) runs beside Daphne and stops with it.
	$(BIN)/python manage.py run_worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/daphne $(DAPHNE_FLAGS) -b 127.0.0.1 -p 8000 receptionist.asgi:application

## run-production: DEBUG off on Postgres + Redis: WEB Daphne processes on PORT, PORT+1, ...
## and WORKERS outbox workers, run by honcho from the Procfile (docs/deploy.md). Settings come
## from the environment or ENV_FILE (.env).
run-production: $(STAMP)
	@set -a; if [ -f "$(ENV_FILE)" ]; then . "$(abspath $(ENV_FILE))"; fi; set +a; \
	export DEBUG=false PATH="$(CURDIR)/$(BIN):$$PATH" DAPHNE_FLAGS="$(DAPHNE_FLAGS)"; \
	case "$$DATABASE_URL" in postgres*) ;; \
	  *) echo "run-production: set DATABASE_URL=postgres://... (docs/deploy.md)" >&2; exit 2;; esac; \
	case "$$REDIS_URL" in redis*) ;; \
	  *) echo "run-production: set REDIS_URL=redis://... (docs/deploy.md)" >&2; exit 2;; esac; \
	python manage.py check --deploy && \
	python manage.py migrate --noinput && \
	python manage.py collectstatic --noinput -v0 && \
	echo "Starting $(WEB) Daphne process(es) on 127.0.0.1:$(PORT)+ and $(WORKERS) worker(s)." && \
	exec honcho start -f Procfile -e /dev/null -c web=$(WEB),worker=$(WORKERS) -p $(PORT)

## fake-google: a fake Google (OAuth + Calendar) on 127.0.0.1:8765 for trying the connect flow
fake-google: export DEBUG ?= true
fake-google: $(STAMP)
	$(BIN)/python manage.py run_fake_google $(if $(BUSY),--busy "$(BUSY)")

## fake-microsoft: a fake Microsoft (sign-in + Graph calendar, https with its own CA) on
## 127.0.0.1:8766 for trying the Outlook connect flow
fake-microsoft: export DEBUG ?= true
fake-microsoft: $(STAMP)
	$(BIN)/python manage.py run_fake_microsoft $(if $(BUSY),--busy "$(BUSY)")

## fake-calendly: a fake Calendly (OAuth + API v2) on 127.0.0.1:8767 for trying the connect flow
fake-calendly: export DEBUG ?= true
fake-calendly: $(STAMP)
	$(BIN)/python manage.py run_fake_calendly $(if $(BOOKED),--booked "$(BOOKED)")

## test: lint, then the whole suite on SQLite and again on Postgres + Redis
test: lint test-embedded test-production

test-embedded: $(STAMP)
	bash .ci/ensure-chromium
	env -u DATABASE_URL -u REDIS_URL $(BIN)/pytest

test-production: $(STAMP)
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/pytest -m "not browser"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var db.sqlite3
