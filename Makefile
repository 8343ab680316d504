# Imprimatur: `make run` serves the demo clinic, `make test` runs the checks and the suite.
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python

# The newest interpreter of 3.12 or later that actually runs (pyenv shims may exist but fail).
PYTHON_CANDIDATES = python3.14 python3.13 python3.12 python3 \
	$(shell ls -d $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3 /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9] 2>/dev/null | sort -rV)
find_python = $(firstword $(foreach p,$(PYTHON_CANDIDATES),$(shell $(p) -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && echo $(p))))

.PHONY: run test worker lint messages clean

$(PY):
	@py="$(call find_python)"; \
	if [ -z "$$py" ]; then echo "No Python 3.12 or newer found (tried: $(PYTHON_CANDIDATES)). Install one, e.g. 'pyenv install 3.13'." >&2; exit 1; fi; \
	echo "Using $$py ($$($$py --version))"; \
	$$py -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# What the application needs to run.
$(VENV)/.installed: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# And the tools the tests and checks use.
$(VENV)/.dev-installed: requirements-dev.txt requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo
	@echo "Starting the background worker and the web server on http://127.0.0.1:$(PORT)/"
	$(PY) manage.py worker & worker=$$!; \
	trap "kill $$worker 2>/dev/null" EXIT INT TERM; \
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

worker: $(VENV)/.installed
	$(PY) manage.py worker

test: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

messages: $(VENV)/.dev-installed
	$(PY) manage.py makemessages -l zh_Hans --ignore=.venv --no-obsolete
	$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) db.sqlite3
