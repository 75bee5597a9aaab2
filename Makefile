PY ?= .venv/bin/python
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: setup test smoke bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	# torch first and pinned: an open range would make pip fetch a multi-GB CUDA build.
	$(VENV)/bin/pip install --quiet "torch==2.13.0"
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $(STAMP)

test: setup
	$(PY) -m pytest -q -n 2 tests

smoke: setup
	$(PY) -m trident smoke

clean:
	rm -rf runs data/synth
