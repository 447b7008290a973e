# Everything a fresh machine needs comes from here: `make test`, `make dev`.
# Python deps are pinned in uv.lock, node deps in package-lock.json.

SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PROJECT_ENVIRONMENT := $(VENV)
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: deps test lint fmt dev clean bench bundles synth deploy record-histories screenshots

deps: $(VENV)/.synced node_modules/.installed

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-groups
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The browser the end-to-end page test drives (Debian's Chromium; Playwright's own download
# is not reachable from every machine).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "install Chromium at $(CHROMIUM) (or set CHROMIUM=...)"; exit 1; }
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -qq --no-install-recommends chromium

test: deps $(CHROMIUM)
	CHROMIUM=$(CHROMIUM) $(VENV)/bin/pytest -q

# The README's picture (docs/local-slack.png), taken by the browser test of a gated tool call
# on a fresh stack, so it shows the product as it is. Color emoji need Debian's Noto font.
EMOJI_FONT := /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
$(EMOJI_FONT):
	@command -v apt-get >/dev/null || { echo "install a color emoji font (Noto Color Emoji)"; exit 1; }
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -qq --no-install-recommends fonts-noto-color-emoji

screenshots: deps $(CHROMIUM) $(EMOJI_FONT)
	CHROMIUM=$(CHROMIUM) $(VENV)/bin/pytest -q tests/localdev/test_browser.py -k gated_tool_call --screenshots docs

# Record tests/replay/histories/ again: only for a change to the durable path made on purpose,
# shipped as a new version (README, "Runs in flight and replay tests").
record-histories: deps
	rm -f tests/replay/histories/*.json
	$(VENV)/bin/pytest -q tests/replay/recorder.py -o python_functions=record

lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

fmt: deps
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Lambda bundles for the three functions, from uv.lock, without Docker (see infra/build_bundles.py).
bundles: deps
	$(PY) -m infra.build_bundles

# The CloudFormation template in cdk.out, with cdk-nag: offline, no AWS account needed.
synth: bundles
	$(PY) -m infra.app $(addprefix -c ,$(CONTEXT))

# Needs AWS credentials; CONTEXT="llm_provider=bedrock bedrock_model=..." passes settings.
deploy: bundles
	npx --no-install cdk deploy --require-approval broadening $(addprefix -c ,$(CONTEXT))

# The whole stack on this machine: http://127.0.0.1:3000/ (ARGS="--port 3001" and so on).
dev: deps
	$(VENV)/bin/signoff dev $(ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) node_modules .pytest_cache .mypy_cache .ruff_cache build cdk.out

# Every figure in bench/results.json, then bench/RESULTS.md from it (offline; see bench/).
bench: deps
	$(PY) -m bench.results
	$(PY) -m bench.cold_starts
	$(PY) -m bench.agent_turns
	$(PY) -m bench.resume
	$(PY) -m bench.amplification
	$(PY) -m bench.parallel
	$(PY) -m bench.jobs
	$(PY) -m bench.operations
	$(PY) -m bench.click_to_resume
	$(PY) -m bench.routing
	$(PY) -m bench.batch
	$(PY) -m bench.mcp_calls
	$(PY) -m bench.bundles
	$(PY) -m bench.cost
	$(PY) -m bench.report
