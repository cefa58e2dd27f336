# Deep Learning, Derived: build the book and test the package.
#   make book    execute every chapter and build the HTML book into _build/html
#   make test    lint and test the package `derived` (code/derived, tests/)
#   make pdf     the whole book as one PDF (needs LaTeX: make deps installs it)
#   make deps    the system packages: Chromium for the browser tests, TeX Live for make pdf
#   make problem-sets  write the students' problem sets (book/problems) from the teachers' (problems/)
# Both create the virtual environment .venv on first use and install the pinned
# dependencies (constraints.txt) into it; nothing is installed outside the repository.
# On a machine without an NVIDIA GPU add TORCH=cpu (e.g. make book TORCH=cpu) to install
# the CPU build of torch instead of the multi-GB CUDA build; CI does exactly that.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp
# BOOK_STRICT=0 shows every warning without failing (for drafting a chapter only).
BOOK_STRICT ?= 1
JB_FLAGS := $(if $(filter 1,$(BOOK_STRICT)),-W -n --keep-going,-n --keep-going)
PORT ?= 8000
# Chapters and tests import the package from this checkout, whatever .venv points at.
export PYTHONPATH := $(CURDIR)/code

.PHONY: help book pdf latex deps test test-all test-book lint typecheck serve bench clean clean-all env problem-sets

help:
	@echo "make book   build the HTML book into _build/html (first run installs into .venv)"
	@echo "make test   ruff + mypy + pytest (book tests too, once the book is built)"
	@echo "make test-all  make test, with every chapter re-run and scanned for accessibility (CI)"
	@echo "make pdf    build the whole book as _build/html/$(PDF_NAME) (needs LaTeX: make deps)"
	@echo "make deps   install the system packages (Chromium, TeX Live) with apt-get"
	@echo "make problem-sets  write the students' problem sets from the teachers' versions"
	@echo "make serve  serve _build/html on http://localhost:$(PORT)"
	@echo "make bench  run the quick CPU benchmark (python -m derived.bench --quick)"
	@echo "make clean  remove the built book (keeps .venv and node_modules)"

env: $(STAMP) $(NODE_STAMP)

# Which torch build: torch's default wheel from PyPI (CUDA on Linux, several GB), or with
# TORCH=cpu the CPU build from PyTorch's own index (0.75 GB installed; what CI installs). Both are
# torch==2.13.0; a CPU wheel already on the machine's disk satisfies either. The index is
# exported to every pip the targets run, the test suite's reader environments included.
TORCH ?= default
ifeq ($(filter $(TORCH),default cpu),)
$(error TORCH must be "default" or "cpu", not "$(TORCH)")
endif
ifeq ($(TORCH),cpu)
export PIP_EXTRA_INDEX_URL := https://download.pytorch.org/whl/cpu
endif

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test,book]"
	@touch $@

# MathJax is served from the built site (no CDN): it comes from the npm registry.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The execution cache is keyed on each chapter's text only. When the package (with the
# benchmark results it ships in code/derived/recorded), the pinned dependencies or the table
# of contents change, outputs may change too: drop the cache and re-read.
CODE_HASH = $(shell find code -type f \( -name '*.py' -o -name '*.json' \) | LC_ALL=C sort | xargs cat constraints.txt _toc.yml | sha256sum | cut -c1-16)

book: $(STAMP) $(NODE_STAMP)
	@if [ "$$(cat _build/.code-hash 2>/dev/null)" != "$(CODE_HASH)" ]; then \
	  echo "The package or its pins changed: re-executing every chapter."; \
	  rm -rf _build/.jupyter_cache _build/.doctrees _build/.doctrees-latex _build/jupyter_execute; fi
	$(BIN)/jupyter-book build . $(JB_FLAGS)
	@mkdir -p _build && echo "$(CODE_HASH)" > _build/.code-hash
	@echo
	@echo "The book is built. Open: file://$(CURDIR)/_build/html/index.html  (or run: make serve)"

# The PDF: Jupyter Book's LaTeX builder with XeLaTeX (Unicode text as it is), from the same
# execution cache as the HTML book. It lands beside the HTML book, which links to it.
PDF_NAME := deep-learning-derived.pdf
LATEX_PACKAGES := texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended \
  texlive-xetex latexmk tex-gyre fonts-freefont-otf poppler-utils

# System packages, installed in one place: Chromium (browser tests of the built book) and
# XeLaTeX from Debian's TeX Live (make pdf). Uses apt-get, with sudo unless run as root.
SYSTEM_PACKAGES := chromium fonts-dejavu-core $(LATEX_PACKAGES)

deps:
	@SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO="sudo"; \
	  echo "Installing from Debian's packages: $(SYSTEM_PACKAGES)"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null

latex:
	@command -v xelatex >/dev/null && command -v latexmk >/dev/null \
	  && command -v pdftotext >/dev/null \
	  || { echo "make pdf needs XeLaTeX, latexmk and pdftotext: run make deps first"; exit 1; }

# The LaTeX build keeps its own Sphinx doctrees (swapped in and out of _build/.doctrees),
# so that building the PDF does not make the next `make book` re-read every page.
pdf: $(STAMP) latex
	@set -e; rm -rf _build/.doctrees-html; mkdir -p _build; \
	  if [ -d _build/.doctrees ]; then mv _build/.doctrees _build/.doctrees-html; fi; \
	  if [ -d _build/.doctrees-latex ]; then mv _build/.doctrees-latex _build/.doctrees; fi; \
	  status=0; $(BIN)/jupyter-book build . --builder pdflatex $(JB_FLAGS) || status=$$?; \
	  if [ -d _build/.doctrees ]; then mv _build/.doctrees _build/.doctrees-latex; fi; \
	  if [ -d _build/.doctrees-html ]; then mv _build/.doctrees-html _build/.doctrees; fi; \
	  exit $$status
	@mkdir -p _build/html && cp _build/latex/$(PDF_NAME) _build/html/$(PDF_NAME)
	@echo
	@echo "The PDF is built: $(CURDIR)/_build/html/$(PDF_NAME)"

# The students' problem sets (book/problems/, built into the book) are written from the
# teachers' versions (problems/, with the solutions) by jupytext and nbgrader's markers;
# tests/test_problem_sets.py fails if they differ.
problem-sets: $(STAMP)
	$(BIN)/python tools/problem_sets.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The whole suite. Tests marked `book` check the built book and skip if it is not built,
# so run `make book` first to include them (.ci/run does).
# PYTEST_WORKERS: processes for pytest-xdist ("auto": one per core; 0: none, for debugging).
PYTEST_WORKERS ?= auto
test: lint typecheck
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS)

# `make test` re-runs notebooks in fresh kernels and scans pages with axe-core on one chapter
# of each part (tests/book_sample.py); `make test-all` does both on every chapter. CI runs it.
test-all: export DERIVED_TEST_ALL := 1
test-all: test

test-book: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m book

serve:
	@test -f _build/html/index.html || { echo "Build the book first: make book"; exit 1; }
	@echo "Serving on http://localhost:$(PORT)  (Ctrl-C to stop)"
	$(BIN)/python -m http.server --directory _build/html $(PORT)

bench: $(STAMP)
	$(BIN)/python -m derived.bench --quick

clean:
	rm -rf _build

clean-all: clean
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache .mypy_cache .hypothesis
