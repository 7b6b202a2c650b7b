# The two commands of the README:  make lab   and   make test
# Everything else here is what they stand on.

PYTHON      ?= python3
VENV        ?= .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.coursekit-installed
# The profile notebooks are committed with (what a student sees on GitHub) and tested with.
NOTEBOOK_PROFILE ?= cpu
TEST_PROFILE     ?= ci
LAB_ARGS    ?=
LAB_PORT    ?= 8888
# The folder JupyterLab opens: the lectures; a teacher can open the project root (LAB_DIR=.) to see solutions/ too.
LAB_DIR     ?= notebooks
# JupyterLab refuses to run as root unless told to; only then do we tell it.
ROOT_FLAG   := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup data git-drivers lab lint test unit notebooks audit benchmarks slides site browser-test clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Re-install only when the package description changed (the stamp is newer than pyproject.toml).
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

setup: $(STAMP) data git-drivers

# nbdime's git drivers, for this clone only (never --global): `git diff` shows a notebook's changed
# cells and `git merge` merges cell by cell; .gitattributes routes *.ipynb to them. These are the keys
# `git-nbdiffdriver config --enable` and `git-nbmergedriver config --enable` write, but with the
# venv's absolute path: nbdime writes the bare command name, and git then fails outside an activated
# venv. Idempotent (git config overwrites); skipped unless this folder is a clone's top (.git here).
NBDIME_BIN := $(abspath $(VENV))/bin
git-drivers: $(STAMP)
	@if [ -e .git ] && git rev-parse --git-dir >/dev/null 2>&1; then \
		git config diff.jupyternotebook.command "'$(NBDIME_BIN)/git-nbdiffdriver' diff" && \
		git config merge.jupyternotebook.driver "'$(NBDIME_BIN)/git-nbmergedriver' merge %O %A %B %L %P" && \
		git config merge.jupyternotebook.name "jupyter notebook merge driver" && \
		echo "nbdime git diff/merge drivers enabled for this clone"; \
	else \
		echo "not a git clone: nbdime git drivers not configured"; \
	fi

# Idempotent: verifies what is in data/ and fetches only what is missing (mirror, then download).
data: $(STAMP)
	$(PY) -m coursekit.data prepare

lab: setup
	$(VENV)/bin/jupyter lab --notebook-dir=$(LAB_DIR) --ip=127.0.0.1 --port=$(LAB_PORT) $(ROOT_FLAG) $(LAB_ARGS)

# ruff over the package, tests, benchmarks, the build tools and the notebooks' code cells (settings in pyproject.toml):
# lint, then check the formatting (`ruff format $(LINT_PATHS)` fixes what the check reports).
LINT_PATHS := coursekit tests benchmarks conftest.py notebooks solutions tools site browser_tests
lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)

# Lint first (a finding stops here, before any test runs), then unit tests and nbval over every
# notebook, in the small CI profile unless told otherwise, then the course in a browser.
test: lint setup
	COURSEKIT_PROFILE=$${COURSEKIT_PROFILE:-$(TEST_PROFILE)} $(PY) -m pytest
	$(MAKE) browser-test

unit: setup
	$(PY) -m pytest tests

# Re-execute every notebook in place (outputs come from code, never from hand edits):
# the lectures and the instructor solutions.
NB ?= notebooks/*.ipynb solutions/*.ipynb
notebooks: setup
	COURSEKIT_PROFILE=$(NOTEBOOK_PROFILE) $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=-1 --ExecutePreprocessor.kernel_name=python3 $(NB)

# Offline reveal.js decks from the committed outputs, one per notebook, into build/slides/
# (make slides NB=notebooks/02_2d_convolution.ipynb builds one). reveal.js comes from npm (package-lock.json).
SLIDES_NB := $(if $(filter command line,$(origin NB)),$(NB),notebooks/*.ipynb)
slides: $(STAMP)
	$(PY) tools/build_slides.py $(SLIDES_NB)

# The executed course as a static website (Sphinx + myst-nb, committed outputs) into build/site/.
site: $(STAMP)
	$(PY) tools/build_site.py

# Playwright driving Debian's chromium: JupyterLab's explorers, RISE, the decks and the site, offline.
# Screenshots of failures go to build/browser-failures/.
browser-test: slides site
	$(PY) -m pytest browser_tests

audit:
	$(PY) ../shared/tools/nb_audit.py

benchmarks: setup
	for script in benchmarks/*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
