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
# The security scanners (checkov, parliament) have their own virtualenv and lock: checkov pins boto3
# exactly, which the dev environment must not inherit (requirements/scan.in says more).
SCAN_VENV := .venv-scan
SCAN_LOCK := requirements/scan.txt
SCAN_STAMP := $(SCAN_VENV)/.installed-$(shell cat $(SCAN_LOCK) | cksum | cut -d' ' -f1)
# What the scanners read: the templates and the API's OpenAPI document.
TEMPLATES := infra/cloudformation/intake.yaml infra/cloudformation/consumer.yaml
OPENAPI := infra/cloudformation/openapi.yaml

.PHONY: install lock up demo cycle test chromium lint package deploy destroy bench soak clean

install: $(STAMP)

# Installed again when the lock, pyproject.toml or the set of shipped packages changes.
$(STAMP): pyproject.toml $(LOCK) $(wildcard shared/intake/__init__.py scripts/intake_tools/__init__.py scripts/intake_cli/__init__.py)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q --require-hashes -r $(LOCK)
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-* && touch $@

$(SCAN_STAMP): $(SCAN_LOCK)
	test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install -q -U pip
	$(SCAN_VENV)/bin/python -m pip install -q --require-hashes -r $(SCAN_LOCK)
	rm -f $(SCAN_VENV)/.installed-* && touch $@

# requirements/layer-<arch>.txt: the Lambda layer's packages (requirements/layer.in) as wheels for the
# runtime (Python 3.12, manylinux2014, as scripts/intake_build/artifacts.py installs them);
# requirements/dev.txt: every extra, for Python 3.11 on linux x86_64, the layer's packages at the
# layer's versions; requirements/scan.txt: the scanner's virtualenv (requirements/scan.in). Versions
# already locked are kept while they fit: ARGS=--upgrade takes the newest.
UV_COMPILE = $(VENV)/bin/uv pip compile --quiet --generate-hashes --custom-compile-command 'make lock' $(ARGS)
lock: install ## regenerate the locks in requirements/ (uv; ARGS=--upgrade for the newest versions)
	$(UV_COMPILE) requirements/layer.in --python-version 3.12 --python-platform x86_64-manylinux_2_17 \
		--only-binary :all: -o requirements/layer-x86_64.txt
	$(UV_COMPILE) requirements/layer.in --python-version 3.12 --python-platform aarch64-manylinux_2_17 \
		--only-binary :all: -o requirements/layer-arm64.txt
	$(UV_COMPILE) pyproject.toml --extra dev --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		-c requirements/layer-x86_64.txt -o $(LOCK)
	$(UV_COMPILE) requirements/scan.in --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		-o $(SCAN_LOCK)

# make up ARGS="--param AllowedContentTypes=image/jpeg,image/heic": template parameters, as make deploy's.
up: install ## the local cloud in the foreground (Ctrl-C stops it)
	$(RUN) -m demo up $(ARGS)

# make cycle ARGS="--cycles 5 --json": `make up` started and stopped again and again, DescribeStacks read throughout
cycle: install ## start and stop `make up` 20 times under a DescribeStacks poller; exits 0 only if every cycle was clean
	$(RUN) -m demo.cycle $(ARGS)

demo: install ## start the local cloud, push a few uploads through it, print what happened, stop
	$(RUN) -m demo run $(ARGS)

test: install chromium
	$(PY) -m pytest -q

# The browser tests drive Debian's Chromium; without it (and without root to install it) they skip.
chromium:
	@test -x /usr/bin/chromium || { apt-get update -q && apt-get install -y -q chromium; } \
		|| echo "warning: could not install chromium (apt-get as root); the browser tests will be skipped"

# cfn-lint with the serverless rules, then checkov on the templates and on the OpenAPI document: every
# finding left is fixed or skipped in the template with a reason (Metadata checkov / cfn-lint). Then
# parliament on every IAM policy of the templates, rendered to plain JSON (scripts/policy_lint; its
# allowlist.json says why each finding left is right).
lint: install $(SCAN_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy shared/intake scripts tests
	for f in functions/*/handler.py; do $(VENV)/bin/mypy $$f || exit 1; done
	$(VENV)/bin/cfn-lint -a cfn_lint_serverless.rules -- $(TEMPLATES)
	$(SCAN_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation $(addprefix -f ,$(TEMPLATES))
	$(SCAN_VENV)/bin/checkov --quiet --compact --skip-download --framework openapi -f $(OPENAPI)
	PYTHONPATH=scripts $(SCAN_VENV)/bin/python -m policy_lint

package: install ## build/: one zip per function and the layer, from the layer lock (ARGS="--architecture arm64")
	$(RUN) -m intake_build package $(ARGS)

# make deploy ARGS="--param SenderEmail=me@example.com --param OpsEmail=ops@example.com --yes"
deploy: install ## build, upload and create/update the stack on AWS (change set preview)
	$(RUN) -m intake_build deploy $(ARGS)

destroy: install ## delete the stack (asks first): keeps the users' data, says what and how to remove it
	$(RUN) -m intake_build destroy $(ARGS)

bench: install ## thumbnails, cold starts, end to end: tables + bench/out/results.json and charts
	$(RUN) -m bench $(ARGS)

soak: install ## N uploads (default 2,000) under injected faults, then the exact ledger (ARGS="--uploads 10000")
	$(RUN) -m soak $(ARGS)

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache $(SCAN_VENV)
