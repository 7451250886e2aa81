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

.PHONY: run fake-google test test-embedded test-production lint format bench clean

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

## fake-google: a fake Google (OAuth + Calendar) on 127.0.0.1:8765 for trying the connect flow
fake-google: export DEBUG ?= true
fake-google: $(STAMP)
	$(BIN)/python manage.py run_fake_google $(if $(BUSY),--busy "$(BUSY)")

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
