# Two commands on a fresh machine: `make run` (the app) and `make test` (the whole test suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test test-fast install admin clean

$(VENV)/.installed: requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements-test.txt
	touch $@

install: $(VENV)/.installed

# Web server on http://127.0.0.1:8000 (MENAGERIE_BIND=HOST:PORT for another), one `train` worker, one `predict`
# worker; once the site answers, the address and the admin's password, framed (Procfile: ready). Ctrl-C stops them all.
run: install
	$(PY) manage.py migrate
	$(PY) manage.py createadmin
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho start -f Procfile

# Two test processes (pytest-xdist), each with its own test database, Redis database and warm workers; tests that
# share a module-scoped fixture stay in one process (tests/conftest.py). TEST_PROCESSES=0 runs in this process.
TEST_PROCESSES ?= 2
XDIST := -n $(TEST_PROCESSES) --dist loadgroup

test: install
	$(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

# The check before a commit: no real worker, no browser, nothing marked slow (README, Tests).
test-fast: install
	$(PY) -m pytest $(XDIST) -m "not browser and not worker and not slow" $(PYTEST_ARGS)

admin: install
	$(PY) manage.py createsuperuser

clean:
	rm -rf $(VENV) test-artifacts
