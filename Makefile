# Two commands on a fresh machine with Python 3.11: `make demo` and `make test`.
# Both create (or reuse) .venv and install what they need; the stamp file is redone when
# pyproject.toml changes.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export TF_CPP_MIN_LOG_LEVEL ?= 2

DOCS_STAMP := $(VENV)/.docs-stamp
export NO_MKDOCS_2_WARNING ?= 1
export DISABLE_MKDOCS_2_WARNING ?= true

.PHONY: demo test lint docs bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "tensorflow-cpu==2.21.*" -e ".[test]"
	# Keras 2 beside Keras 3, for tfc-lint's oracle tests: tf-keras declares the full tensorflow
	# package, which tensorflow-cpu already provides, hence --no-deps.
	$(BIN)/python -m pip install --quiet --no-deps "tf-keras==2.21.*"
	touch $(STAMP)

demo: $(STAMP)
	@echo "### 1. the trap, and DynamicOptimizer"
	$(BIN)/python examples/seed_trap.py
	@echo "### 2. the seed's x/y alternation: one train op, a graph that never grows"
	$(BIN)/python examples/alternating_freeze.py
	@echo "### 3. Keras 3: the same trap, and tfcollections.keras.DynamicOptimizer"
	$(BIN)/python examples/keras_freeze.py
	@echo "### 4. Keras 2 (tf_keras): the trap at compile(), and the same DynamicOptimizer"
	$(BIN)/python examples/keras2_freeze.py
	@echo "### 5. tfc-lint finds the trap in the examples before anything runs"
	$(BIN)/tfc-lint --no-cache --exit-zero examples
	@echo "### 6. tfcollections shows what the trap's graph really holds"
	$(BIN)/tfcollections dump examples/trap_graph.py --members
	$(BIN)/tfcollections audit examples/trap_graph.py || echo "(audit exit code $$?: a problem found)"
	@echo "### 7. on a cluster: 1 parameter server and 2 workers, a freeze schedule from the chief"
	$(BIN)/python examples/cluster_tf1.py --sync

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	$(BIN)/mkdocs build --strict --quiet

test: lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/dynamic_graph.py
