# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv themselves.
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test test-long check lint fmt types bench bench-engine bench-llm bench-scenario clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --extra dev --python $(PYTHON)
	@touch $@

demo: $(VENV)/.synced
	$(VENV)/bin/aimanager demo

# The whole check: lint, format, import contracts, types, then the suite — all but the tests marked
# `long` (a minute or more each: a simulated day, chaos, multi-process runs, and the heavy modules listed
# in tests/conftest.py), which `make test-long` runs and CI runs after this.
test: lint types
	$(VENV)/bin/pytest -q -m "not long"

test-long: $(VENV)/.synced
	$(VENV)/bin/pytest -q -m long

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

fmt: $(VENV)/.synced
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

types: $(VENV)/.synced
	$(VENV)/bin/mypy

check: test

bench: bench-engine bench-llm bench-scenario

bench-engine: $(VENV)/.synced
	$(VENV)/bin/aimanager bench engine --dialect sqlite --dialect postgresql

bench-llm: $(VENV)/.synced
	$(VENV)/bin/aimanager bench llm

bench-scenario: $(VENV)/.synced
	$(VENV)/bin/aimanager bench scenario --time-scale 0.5 --baseline-partners 1 --concurrency 160

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache aimanager.db*
