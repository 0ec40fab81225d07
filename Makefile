# Every target installs what it needs into .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The dev environment, pinned with hashes (`make lock` writes it from pyproject.toml).
LOCK := requirements/dev.txt
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | cksum | cut -d' ' -f1)
# The dev tooling (localcloud, intake_build, demo, bench) is not installed: it runs from scripts/.
RUN := PYTHONPATH=scripts $(PY)

.PHONY: install lock up demo test chromium lint package deploy destroy bench clean

install: $(STAMP)

# Installed again when the lock, pyproject.toml or the set of shipped packages changes.
$(STAMP): pyproject.toml $(LOCK) $(wildcard shared/intake/__init__.py scripts/intake_tools/__init__.py scripts/intake_cli/__init__.py)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q --require-hashes -r $(LOCK)
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-* && touch $@

# requirements/layer-<arch>.txt: the Lambda layer's packages (requirements/layer.in) as wheels for the
# runtime (Python 3.12, manylinux2014, as scripts/intake_build/artifacts.py installs them);
# requirements/dev.txt: every extra, for Python 3.11 on linux x86_64, the layer's packages at the
# layer's versions. Versions already locked are kept while they fit: ARGS=--upgrade takes the newest.
UV_COMPILE = $(VENV)/bin/uv pip compile --quiet --generate-hashes --custom-compile-command 'make lock' $(ARGS)
lock: install ## regenerate the locks in requirements/ (uv; ARGS=--upgrade for the newest versions)
	$(UV_COMPILE) requirements/layer.in --python-version 3.12 --python-platform x86_64-manylinux_2_17 \
		--only-binary :all: -o requirements/layer-x86_64.txt
	$(UV_COMPILE) requirements/layer.in --python-version 3.12 --python-platform aarch64-manylinux_2_17 \
		--only-binary :all: -o requirements/layer-arm64.txt
	$(UV_COMPILE) pyproject.toml --extra dev --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		-c requirements/layer-x86_64.txt -o $(LOCK)

up: install ## the local cloud in the foreground (Ctrl-C stops it)
	$(RUN) -m demo up

demo: install ## start the local cloud, push a few uploads through it, print what happened, stop
	$(RUN) -m demo run

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

package: install ## build/: one zip per function and the layer, from the layer lock (ARGS="--architecture arm64")
	$(RUN) -m intake_build package $(ARGS)

# make deploy ARGS="--param SenderEmail=me@example.com --param OpsEmail=ops@example.com --yes"
deploy: install ## build, upload and create/update the stack on AWS (change set preview)
	$(RUN) -m intake_build deploy $(ARGS)

destroy: install ## empty the stack's buckets and delete the stack (asks first)
	$(RUN) -m intake_build destroy $(ARGS)

bench: install ## thumbnails, cold starts, end to end: tables + bench/out/results.json and charts
	$(RUN) -m bench $(ARGS)

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
