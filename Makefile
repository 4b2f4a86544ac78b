# Everything a fresh machine with Python 3.11 and make needs: `make demo`, `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install clean lock

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/epitrace demo

test: $(STAMP)
	$(BIN)/python -m pytest

# Regenerate the lock from the current environment after changing dependencies.
lock:
	$(BIN)/python -m pip freeze --exclude-editable --exclude epitrace > requirements.lock

clean:
	rm -rf $(VENV) demo epitrace.db
