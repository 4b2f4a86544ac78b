# Everything a fresh machine with Python 3.11 and make needs: `make demo`, `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-all test-slow test-pg install clean lock

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/epitrace demo

# One test process per core (pytest-xdist); a module's tests stay in one process so its shared world is built once.
PYTEST := $(BIN)/python -m pytest -n auto --dist loadscope

# The quick default suite on SQLite: property tests with a quarter of their examples (all under CI=true), and
# without the tests marked slow (Chromium, Spark, R, the demo pipeline, schemathesis, fuzzing, processes).
test: $(STAMP)
	$(PYTEST)

test-slow: $(STAMP)
	EPITRACE_TEST_THOROUGH=1 $(PYTEST) -m slow

test-all: $(STAMP)
	EPITRACE_TEST_THOROUGH=1 $(PYTEST) -m ''

# Every test on PostgreSQL: a throw-away server from Debian's binaries (apt-get install postgresql), or
# the server at EPITRACE_TEST_DATABASE_URL (a maintenance database the tests may create databases on).
test-pg: $(STAMP)
	EPITRACE_TEST_BACKEND=postgresql EPITRACE_TEST_THOROUGH=1 $(PYTEST) -m ''

# Regenerate the lock from the current environment after changing dependencies.
lock:
	$(BIN)/python -m pip freeze --exclude-editable --exclude epitrace > requirements.lock

clean:
	rm -rf $(VENV) demo epitrace.db
