# Every target installs what it needs into .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install up demo test chromium lint package deploy destroy bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

up: install ## the local cloud in the foreground (Ctrl-C stops it)
	PYTHONPATH=scripts $(PY) -m demo up

demo: install ## start the local cloud, push a few uploads through it, print what happened, stop
	PYTHONPATH=scripts $(PY) -m demo run

test: install chromium
	$(PY) -m pytest -q

# The browser tests drive Debian's Chromium; without it (and without root to install it) they skip.
chromium:
	@test -x /usr/bin/chromium || { apt-get update -q && apt-get install -y -q chromium; } \
		|| echo "warning: could not install chromium (apt-get as root); the browser tests will be skipped"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy shared/intake scripts tests
	for f in functions/*/handler.py; do $(VENV)/bin/mypy $$f || exit 1; done
	$(VENV)/bin/cfn-lint infra/cloudformation/*.yaml

package: install ## build/: one zip per function and the layer (ARGS="--architecture arm64")
	$(PY) -m intake_build package $(ARGS)

# make deploy ARGS="--param SenderEmail=me@example.com --param OpsEmail=ops@example.com --yes"
deploy: install ## build, upload and create/update the stack on AWS (change set preview)
	$(PY) -m intake_build deploy $(ARGS)

destroy: install ## empty the stack's buckets and delete the stack (asks first)
	$(PY) -m intake_build destroy $(ARGS)

bench: install ## thumbnails, cold starts, end to end: tables + bench/out/results.json and charts
	PYTHONPATH=scripts $(PY) -m bench $(ARGS)

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
