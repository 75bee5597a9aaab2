# trident: `make smoke` runs the whole pipeline on the embedded default; `make test` the suite.
VENV    := .venv
PY      := $(VENV)/bin/python
TRIDENT := $(PY) -m trident
STAMP   := $(VENV)/.installed
SMOKE   := experiments/smoke.yaml

.PHONY: setup test docs smoke bench sweep-beta sweep-contrastive sweep-before-after sweep-before-after-smoke sweep-hidden sweep-seqkd sweep-gkd sweep-methods-smoke report dashboard clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	# torch first and pinned: an open range would make pip fetch a multi-GB CUDA build.
	$(VENV)/bin/pip install --quiet "torch==2.13.0"
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	# W&B's sweep-config checks (wandb[sweeps]). Its metadata pins numpy<2, which would drag
	# pandas back a major version; the schema checks it is used for run fine on numpy 2.
	$(VENV)/bin/pip install --quiet --no-deps "sweeps>=0.2"
	# Chromium for the report's PNGs (kaleido) and its browser test: Debian's package, never a download.
	command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; } \
		|| echo "chromium not installed (needs root): report PNGs and the browser test need it"
	# bubblewrap: the sandbox generated assertions run in (trident/execution/sandbox.py).
	command -v bwrap >/dev/null || { apt-get update -qq && apt-get install -y -qq bubblewrap; } \
		|| echo "bubblewrap not installed (needs root): running generated assertions needs it (or --unsafe-no-sandbox)"
	# PostgreSQL server binaries (initdb, pg_ctl): the suite starts its own throwaway server.
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null \
		|| { apt-get update -qq && apt-get install -y -qq postgresql; } \
		|| echo "postgresql not installed (needs root): the multi-worker sweep tests need it"
	# Java for running generated tests (trident evaluate --execute): a JDK and Debian's test jars.
	command -v javac >/dev/null && ls /usr/share/java/junit-platform-console-standalone.jar /usr/share/java/assertj-core.jar \
		/usr/share/java/hamcrest.jar /usr/share/java/junit4.jar >/dev/null 2>&1 \
		|| { apt-get update -qq && apt-get install -y -qq default-jdk-headless junit5 junit4 libassertj-core-java libhamcrest-java; } \
		|| echo "Java test jars not installed (needs root): trident evaluate --execute and its tests need them"
	touch $(STAMP)

test: setup
	$(PY) -m pytest -q -n 2 tests

# The manual (docs/, mkdocs.yml) as a site in site/; --strict fails on a broken link or anchor.
# NO_MKDOCS_2_WARNING silences Material's banner about its successor, printed on every build.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

# teacher, student and the retrieval baseline on the test split, their assertions compiled and run
smoke: setup
	test -d data/synth || $(TRIDENT) data synth --out data/synth --n 6000 --seed 0
	$(TRIDENT) teacher --config $(SMOKE)
	$(TRIDENT) train --config $(SMOKE) --overwrite
	$(TRIDENT) evaluate --run runs/smoke --split test --with-teacher --execute

clean:
	rm -rf runs data/synth data/smoke data/smoke-ba sweeps/studies reports

# The main job: β ∈ {3, 5, 7} for trident-v1 on the synthetic corpus (Optuna; the study is a local SQLite file,
# sweeps/studies/beta.db, which the sweep creates and git ignores).
sweep-beta: setup
	test -d data/synth || $(TRIDENT) data synth --out data/synth --n 6000 --seed 0
	$(TRIDENT) sweep sweeps/beta.yaml

sweep-contrastive: setup
	test -d data/synth || $(TRIDENT) data synth --out data/synth --n 6000 --seed 0
	$(TRIDENT) sweep sweeps/contrastive.yaml

sweep-before-after: setup
	test -d data/synth || $(TRIDENT) data synth --out data/synth --n 6000 --seed 0
	$(TRIDENT) sweep sweeps/before-after.yaml
	$(PY) analysis/report.py --study before-after

# The before/after workflow, short: 2 student seeds, 3 epochs per run, one shared teacher, then the report
# (measured durations: docs/performance.md, "Timings").
sweep-before-after-smoke: setup
	$(TRIDENT) sweep sweeps/before-after-smoke.yaml
	$(PY) analysis/report.py --study before-after-smoke

# Each distillation method against trident-v1 × 3 seeds on the full data, then the report.
sweep-hidden sweep-seqkd sweep-gkd: sweep-%: setup
	test -d data/synth || $(TRIDENT) data synth --out data/synth --n 6000 --seed 0
	$(TRIDENT) sweep sweeps/$*.yaml
	$(PY) analysis/report.py --study $* --baseline trident-v1

# The three methods and trident-v1 × 2 seeds, 80 steps each, then the report (durations: docs/performance.md, "Timings").
sweep-methods-smoke: setup
	$(TRIDENT) sweep sweeps/methods-smoke.yaml
	$(PY) analysis/report.py --study methods-smoke --baseline trident-v1 --out reports/methods-smoke

report: setup
	$(PY) analysis/report.py $(REPORT_ARGS)

STUDY ?= beta
STORAGE ?= sqlite:///sweeps/studies/$(STUDY).db
dashboard: setup
	$(VENV)/bin/optuna-dashboard --host 127.0.0.1 --port 8080 $(STORAGE)

# Figures go to benchmarks/results.json (raw, with the machine) and benchmarks/results.md.
bench: setup
	$(PY) benchmarks/overhead.py
	$(PY) benchmarks/methods.py
	$(PY) benchmarks/mine_speed.py
	$(PY) benchmarks/components.py
	$(PY) benchmarks/metrics_speed.py
	$(PY) benchmarks/quality.py smoke
	$(PY) benchmarks/curve.py
	test -f runs/smoke/summary.json || $(MAKE) smoke
	$(PY) benchmarks/cache_data.py
	$(PY) benchmarks/execute_speed.py
	$(PY) benchmarks/gpu.py
	$(PY) benchmarks/export_parity.py
	$(PY) benchmarks/record.py > /dev/null
