# The two commands of the README. Both install what they need first (scripts/install.sh).
.PHONY: install talk test test-quick test-durations lint format serve lock

# Everything runs in the project's own environment, .venv/, which install.sh makes on any machine
# (a pyenv or conda Python included): `source .venv/bin/activate` to call `w2w` yourself.
BIN = .venv/bin/
PYTHON_RUN = .venv/bin/python

install:
	bash scripts/install.sh

talk: install
	$(BIN)w2w build-talk

# Three pytest-xdist workers on the 2-core machine, each test file on one worker (its module fixtures
# built once), handed out longest first by tests/conftest.py from tests/durations.json (which also
# gives each worker one compute thread). Three, not two: a third of the suite's time is spent waiting
# (servers' timeouts, heartbeats, a browser's frames), and two workers kept the cores 72 % busy; on
# the quiet machine -n 2 took 245 s and -n 3 224 s for the same 568 tests.
TEST_WORKERS ?= 3
PYTEST = $(PYTHON_RUN) -m pytest -q -n $(TEST_WORKERS) --dist loadfile
test: install
	$(PYTEST)

# The inner loop: the tests marked quick (no model, no browser, no full build, no server; every test
# file says its tier, tests/tiers.py), under a minute on 2 cores. No install step (its pip runs cost
# time even when nothing is missing): run `make install` or `make test` once first.
test-quick:
	$(PYTEST) -m quick

# The whole suite, writing tests/durations.json (each unit's worker-seconds) when every test passes:
# run it on a quiet machine after adding a test file or changing a slow one, and commit the file.
test-durations: install
	$(PYTEST) --write-durations tests/durations.json

# ruff (configured in pyproject.toml): the lint rules, and the formatting checked, not applied.
# ESLint (eslint.config.js) on the project's JavaScript, the version package-lock.json pins, from
# node_modules (`npm ci`, which scripts/install.sh runs): --no-install, never a download by npx.
lint:
	$(PYTHON_RUN) -m ruff check .
	$(PYTHON_RUN) -m ruff format --check .
	@test -x node_modules/.bin/eslint || { echo "make lint: ESLint is not installed: run make install (npm ci)" >&2; exit 1; }
	npx --no-install eslint .

format:
	$(PYTHON_RUN) -m ruff format .
	$(PYTHON_RUN) -m ruff check --fix .

serve: install
	$(BIN)w2w serve

# Re-resolve every dependency to its newest allowed version and write requirements.lock (pip-tools).
# pip, not uv: the project machines provide torch's CPU wheel locally, which uv does not look at.
lock:
	$(PYTHON_RUN) -m pip install -q pip-tools
	$(PYTHON_RUN) -m piptools compile --upgrade --extra test --strip-extras --no-emit-index-url \
		--no-emit-find-links --no-header --annotation-style=line --output-file requirements.lock pyproject.toml requirements.in
	sed -i 's/^torch==\([0-9.]*\)+cpu /torch==\1     /' requirements.lock  # the version, whichever build
