# trident: `make smoke` runs the whole pipeline on the embedded default; `make test` the suite.
VENV    := .venv
PY      := $(VENV)/bin/python
TRIDENT := $(PY) -m trident
STAMP   := $(VENV)/.installed
SMOKE   := experiments/smoke.yaml

.PHONY: setup test smoke clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	# torch first and pinned: an open range would make pip fetch a multi-GB CUDA build.
	$(VENV)/bin/pip install --quiet "torch==2.13.0"
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $(STAMP)

test: setup
	$(PY) -m pytest -q -n 2 tests

smoke: setup
	$(TRIDENT) data synth --out data/smoke --n 3000 --seed 0
	$(TRIDENT) teacher --config $(SMOKE)
	$(TRIDENT) train --config $(SMOKE)
	$(TRIDENT) evaluate --run runs/smoke --split test --with-teacher

clean:
	rm -rf runs data/synth data/smoke
