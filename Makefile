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

# Three test processes (pytest-xdist), each with its own test database, Redis database and warm workers; tests
# that share a module-scoped fixture stay in one process, and so do the tests that start their own workers
# (tests/conftest.py). On 2 cores, three keep both busy while one waits on its workers (10:12 vs 10:45 with two).
# test-fast waits on no worker: two processes. TEST_PROCESSES=0 runs in this process.
TEST_PROCESSES ?= 3
FAST_PROCESSES ?= 2

test: install
	$(PY) -m pytest -n $(TEST_PROCESSES) --dist loadgroup $(PYTEST_ARGS)

# The check before a commit: no real worker, no browser, nothing marked slow (README, Tests).
test-fast: install
	$(PY) -m pytest -n $(FAST_PROCESSES) --dist loadgroup -m "not browser and not worker and not slow" $(PYTEST_ARGS)

admin: install
	$(PY) manage.py createsuperuser

clean:
	rm -rf $(VENV) test-artifacts
