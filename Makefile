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
# JupyterLab refuses to run as root unless told to; only then do we tell it.
ROOT_FLAG   := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup data lab test unit notebooks audit benchmarks clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Re-install only when the package description changed (the stamp is newer than pyproject.toml).
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

setup: $(STAMP) data

# Idempotent: verifies what is in data/ and fetches only what is missing (mirror, then download).
data: $(STAMP)
	$(PY) -m coursekit.data prepare

lab: setup
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --ip=127.0.0.1 --port=$(LAB_PORT) $(ROOT_FLAG) $(LAB_ARGS)

# Unit tests and nbval over every notebook, in the small CI profile unless told otherwise.
test: setup
	COURSEKIT_PROFILE=$${COURSEKIT_PROFILE:-$(TEST_PROFILE)} $(PY) -m pytest

unit: setup
	$(PY) -m pytest tests

# Re-execute every notebook in place (outputs come from code, never from hand edits):
# the lectures and the instructor solutions.
NB ?= notebooks/*.ipynb solutions/*.ipynb
notebooks: setup
	COURSEKIT_PROFILE=$(NOTEBOOK_PROFILE) $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=-1 --ExecutePreprocessor.kernel_name=python3 $(NB)

audit:
	$(PY) ../shared/tools/nb_audit.py

benchmarks: setup
	for script in benchmarks/*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache
