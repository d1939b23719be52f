# The degrees-of-freedom book. Two commands do everything:
#   make book   create .venv, install, fetch offline data, execute every chapter, build the HTML
#   make test   unit tests + nbval regression tests of the chapters (what CI runs)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FMNIST_DIR := /usr/share/datasets/fashion-mnist

.PHONY: book test venv data notebooks html refs check clean benchmark benchmark-curvature isa-numerics gpu-check help chromium browser-check lint

help:
	@echo "make book       build the whole book (installs, fetches data, runs every chapter)"
	@echo "make test       run the unit and notebook regression tests"
	@echo "make notebooks  execute every chapter at its default parameters"
	@echo "make chapter NB=01_baselines PRESET=cpu-large   execute one chapter with a preset"
	@echo "make refs       re-execute the nbval references (tests/notebooks) at the ci preset"
	@echo "make benchmark  measure the speed and memory ratios of benchmarks/ (writes them to the status page)"
	@echo "make benchmark-curvature  the cost of chapter 07's curvature computations at Conv-2 size (~18 min)"
	@echo "make isa-numerics  one seed's runs on every XLA CPU target this CPU has: where same seed, same numbers holds (~5 min)"
	@echo "make gpu-check  on a GPU machine (< 10 min): CUDA jax, engine tests, step and vmap timings (DRY=1: on a CPU)"
	@echo "make html       build the HTML from the executed notebooks (executes nothing)"
	@echo "make browser-check  build the HTML, load every page in headless Chromium, fail on raw TeX,"
	@echo "                missing images, console errors or broken links; screenshots in _build/screenshots/"
	@echo "make lint       lint the chapters' markdown (display maths, \\cite, unbalanced \$$; also part of make test)"

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

# Real Fashion-MNIST ships as a Debian package; everything else comes through TFDS (online).
data:
	@if [ -f $(FMNIST_DIR)/train-images-idx3-ubyte.gz ] || [ -n "$$DOF_DATA_DIR" ]; then \
	  echo "Fashion-MNIST found"; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  (apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || \
	   (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist)) && echo "installed dataset-fashion-mnist"; \
	else \
	  echo "Fashion-MNIST missing: run 'sudo apt-get install dataset-fashion-mnist' or set DOF_DATA_DIR"; exit 1; \
	fi

notebooks: venv data
	$(PY) -m dof_helpers.runner all

chapter: venv data
	$(PY) -m dof_helpers.runner run $(NB) $(if $(PRESET),--preset $(PRESET),)

html: venv
	$(PY) -m dof_helpers.runner check
	mkdir -p book/_generated
	$(PY) -m dof_helpers.runner status > book/_generated/status_table.md
	$(PY) -m dof_helpers.notation > book/_generated/glossary.md
	$(PY) -m dof_helpers.chapters.coverage > book/_generated/coverage.md
	$(VENV)/bin/jupyter-book build . --warningiserror --keep-going
	@echo "open _build/html/index.html"

book: notebooks html

refs: venv data
	$(PY) -m dof_helpers.runner refs $(NB)

# Two pytest calls, each over 2 worker processes (pytest-xdist):
# - the unit tests with XLA's backend (LLVM) optimisation off: they are dominated by compiling
#   tiny programs, which this makes about 3x cheaper; the programs' semantics do not change;
# - the nbval regression tests at XLA's defaults (their references were executed so), one
#   notebook per worker (--dist loadfile: a notebook's cells run in order in one kernel; the
#   latest chapters, the longest, first: tests/conftest.py), with
#   live runs in an empty temporary folder (DOF_RUNS_DIR), so they train what a clean clone trains.
test: venv data
	XLA_FLAGS="--xla_backend_optimization_level=0 $$XLA_FLAGS" \
	  $(PY) -m pytest -q tests --ignore=tests/notebooks -n 2 --dist loadfile -p no:cacheprovider
	runs=$$(mktemp -d) && DOF_RUNS_DIR=$$runs $(PY) -m pytest -q tests/notebooks --nbval-lax --nbval-current-env \
	  -n 2 --dist loadfile --no-loadscope-reorder -p no:cacheprovider; rc=$$?; rm -rf $$runs; exit $$rc

lint: venv
	$(PY) tests/markdown_lint.py

# Headless Chromium for the browser check (Debian package; installed when run as root).
chromium:
	@if command -v chromium >/dev/null; then \
	  echo "chromium found"; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  (apt-get install -y -qq chromium >/dev/null 2>&1 || \
	   (apt-get update -qq && apt-get install -y -qq chromium)) && echo "installed chromium"; \
	else \
	  echo "chromium missing: run 'sudo apt-get install chromium'"; exit 1; \
	fi

# The book as a reader sees it: build without executing, serve on 127.0.0.1, load every page.
browser-check: html chromium
	$(PY) tools/browser_check.py --html _build/html --out _build/screenshots

benchmark: venv
	$(PY) benchmarks/conv_step.py --conv3 --out book/_generated/conv_step.txt
	$(PY) benchmarks/subspace_step.py --out book/_generated/benchmark.txt
	$(PY) benchmarks/sweep_throughput.py --out book/_generated/sweep_throughput.txt
	$(PY) benchmarks/linearised_step.py --out book/_generated/linearised_step.txt

# ~18 min on 2 quiet cores: the exact Gauss-Newton matrix of Conv-2 and its eigh (chapter 07's costs)
isa-numerics: venv data
	$(PY) benchmarks/isa_numerics.py --out book/_generated/isa_numerics.txt

benchmark-curvature: venv
	OPENBLAS_NUM_THREADS=1 $(PY) benchmarks/curvature_cost.py --predict --out book/_generated/curvature_cost.txt

gpu-check: venv
	bash benchmarks/gpu_check.sh --python $(PY) $(if $(DRY),--dry-run,)

clean:
	rm -rf _build
