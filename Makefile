# dataver monorepo - build, test and lint entry points.
#
# One virtual environment per orchestrator (Airflow 3.3 and Prefect >= 3.7.8 cannot share one):
#   .venv/core     core[s3,ui] + dev tools         -> make test-core, lint, demo, bench
#   .venv/airflow  core + airflow_provider + Airflow -> make test-airflow
#   .venv/prefect  core + prefect_tasks + Prefect (+ prefect-dask) -> make test-prefect
# Each venv is (re)installed only when its inputs change (stamp file inside the venv).

PY ?= python3
# A literal comma, for extras inside $(call ...) arguments (a bare comma splits arguments).
comma := ,
VENV ?= .venv

# uv: use the one on PATH, otherwise `$(PY) -m uv` (what `pip install --user uv` provides).
UV ?= $(shell command -v uv 2>/dev/null || echo "$(PY) -m uv")
# Trust the system CA store (uv defaults to its bundled roots), as pip does here.
export UV_SYSTEM_CERTS ?= 1

AIRFLOW_SPEC ?= apache-airflow==3.3.*
PREFECT_SPEC ?= prefect==3.9.*
# The real ClearML SDK, in an environment of its own, for the drop-in's signature comparison
# (tests/clearml): dataver.clearml must match it parameter by parameter.
CLEARML_SPEC ?= clearml==2.1.*
# Extra requirements of the Prefect venv: none. Prefect 3.9 bounds fastapi itself (<0.151), and
# its server answers every CLI listing there (tests/prefect/test_live_server.py). Prefect 3.8
# did not: fastapi 0.155 stops its server, 0.154 makes `prefect artifact/block/deployment/
# automation ls` fail with HTTP 422; to test 3.8, pass both, e.g.
# `make venv-prefect PREFECT_SPEC="prefect==3.8.*" PREFECT_CONSTRAINTS="fastapi<0.154"`.
PREFECT_CONSTRAINTS ?=
TEST_TOOLS   := pytest hypothesis pytest-timeout "moto[server]"
# The Prefect suite's extras: a Dask cluster of worker processes runs the many-writers flow
# (examples/dags/prefect_many_writers.py, examples/many_writers_dask.py).
PREFECT_TEST_TOOLS := "prefect-dask>=0.3.7" "dask[distributed]"
# NOTE: ruff pinned: a new release brings new rules and formatting, which must not turn CI red.
DEV_TOOLS    := $(TEST_TOOLS) mypy ruff==0.17.6
# The web page's tests: Selenium drives Debian's Chromium; pyarrow writes the Parquet fixtures.
UI_TEST_TOOLS := selenium pyarrow httpx
# The documentation site (`make docs`; the test suite builds it too).
DOCS_TOOLS   := mkdocs mkdocs-material "mkdocstrings[python]"
CHROMIUM     ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver

# Extra arguments for every pytest run, e.g. `make test PYTEST_ARGS="-x -k cache"`.
PYTEST_ARGS ?=
# When set (CI does), each suite also writes a JUnit report to $(JUNIT_DIR)/<suite>.xml.
JUNIT_DIR ?=
junit = $(if $(JUNIT_DIR),--junitxml=$(JUNIT_DIR)/$(1).xml)

CORE_PY    := $(VENV)/core/bin/python
AIRFLOW_PY := $(VENV)/airflow/bin/python
PREFECT_PY := $(VENV)/prefect/bin/python
CLEARML_PY := $(VENV)/clearml/bin/python

# The optional C extension (native/): built into every venv; dataver falls back to Python
# without it. Rebuilt whenever its sources change.
NATIVE     := ./native --reinstall-package dataver-native
NATIVE_SRC := native/pyproject.toml native/setup.py native/src/dataver_native.c

CORE_STAMP    := $(VENV)/core/.installed
AIRFLOW_STAMP := $(VENV)/airflow/.installed
PREFECT_STAMP := $(VENV)/prefect/.installed
CLEARML_STAMP := $(VENV)/clearml/.installed

.DEFAULT_GOAL := help
.PHONY: help ensure-uv venv-core venv-airflow venv-prefect venv-clearml venvs browser bench-tools \
        test test-core test-core-pure test-airflow test-prefect test-clearml lint docs demo bench clean distclean

help:
	@echo "targets:"
	@echo "  venv-core     create/update .venv/core (core[s3,ui] + pytest, hypothesis, mypy, ruff, moto, selenium)"
	@echo "  browser       install Debian's chromium + chromium-driver if missing (web page tests)"
	@echo "  venv-airflow  create/update .venv/airflow (core + airflow_provider + $(AIRFLOW_SPEC))"
	@echo "  venv-prefect  create/update .venv/prefect (core + prefect_tasks + $(PREFECT_SPEC) + prefect-dask)"
	@echo "  venv-clearml  create/update .venv/clearml (core + the real $(CLEARML_SPEC), for tests/clearml)"
	@echo "  test          test-core, test-core-pure, test-airflow, test-prefect, test-clearml"
	@echo "  test-core-pure  tests/core again without the C extension (DATAVER_NATIVE=0)"
	@echo "  lint          ruff check, ruff format --check, mypy --strict (core)"
	@echo "  docs          build the documentation site into site/ (mkdocs --strict)"
	@echo "  demo          the example pipeline end to end: Airflow DAG, Prefect flow, report (.demo/)"
	@echo "  bench         run the benchmarks (python -m benchmarks)"
	@echo "  clean         remove caches and build output (keeps venvs)"
	@echo "  distclean     clean + remove all venvs"

# ------------------------------------------------------------------------------ environments

ensure-uv:
	@if ! $(UV) --version >/dev/null 2>&1; then \
	    echo "==> uv not found: installing it with pip"; \
	    $(PY) -m pip install --user uv || $(PY) -m pip install uv; \
	fi

# $(call make_venv,<dir>,<uv pip install args>)
# Creates the venv if it has no interpreter yet, then installs into it (a no-op when satisfied).
define make_venv
	@if [ ! -x $(1)/bin/python ]; then \
	    echo "==> creating $(1) with $(PY)"; \
	    $(UV) venv --python "$$($(PY) -c 'import sys; print(sys.executable)')" $(1); \
	fi
	@echo '==> installing into $(1): $(2)'
	$(UV) pip install --python $(1)/bin/python $(2)
	@touch $(1)/.installed
endef

venv-core: $(CORE_STAMP)
$(CORE_STAMP): core/pyproject.toml $(NATIVE_SRC) Makefile | ensure-uv
	$(call make_venv,$(VENV)/core,-e "./core[s3$(comma)ui]" $(NATIVE) $(DEV_TOOLS) $(UI_TEST_TOOLS) $(DOCS_TOOLS))

venv-airflow: $(AIRFLOW_STAMP)
$(AIRFLOW_STAMP): core/pyproject.toml $(NATIVE_SRC) airflow_provider/pyproject.toml Makefile | ensure-uv
	$(call make_venv,$(VENV)/airflow,-e "./core[s3$(comma)ui]" $(NATIVE) -e ./airflow_provider "$(AIRFLOW_SPEC)" apache-airflow-providers-openlineage $(TEST_TOOLS))

venv-prefect: $(PREFECT_STAMP)
$(PREFECT_STAMP): core/pyproject.toml $(NATIVE_SRC) prefect_tasks/pyproject.toml Makefile | ensure-uv
	$(call make_venv,$(VENV)/prefect,-e "./core[s3]" $(NATIVE) -e ./prefect_tasks "$(PREFECT_SPEC)" $(PREFECT_CONSTRAINTS:%="%") $(TEST_TOOLS) $(PREFECT_TEST_TOOLS))

venv-clearml: $(CLEARML_STAMP)
$(CLEARML_STAMP): core/pyproject.toml Makefile | ensure-uv
	$(call make_venv,$(VENV)/clearml,-e "./core" "$(CLEARML_SPEC)" $(TEST_TOOLS))

venvs: venv-core venv-airflow venv-prefect venv-clearml

# Debian's Chromium and ChromeDriver for the web page's browser tests, and jq and zstd for
# the storage format's shell examples (apt-get, as root or through sudo); nothing happens
# when all are there.
browser:
	@if [ -x $(CHROMIUM) ] && [ -x $(CHROMEDRIVER) ] && command -v jq >/dev/null && \
	  command -v zstdcat >/dev/null; then exit 0; fi; \
	echo "==> browser: installing Debian's chromium, chromium-driver, jq and zstd"; \
	sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	$$sudo apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium chromium-driver jq zstd

# BorgBackup and restic: the chunk benchmarks' peers (apt-get, as root or through sudo);
# nothing happens when both are there, and the benchmarks skip a peer that is missing.
bench-tools:
	@if command -v borg >/dev/null && command -v restic >/dev/null; then exit 0; fi; \
	echo "==> bench-tools: installing Debian's borgbackup and restic (chunk benchmark peers)"; \
	sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	($$sudo apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq borgbackup restic) || \
	echo "bench-tools: could not install them; the chunk benchmarks will skip borg and restic"

# ------------------------------------------------------------------------------------- tests

test: test-core test-core-pure test-airflow test-prefect test-clearml

# Strict everywhere: "no tests collected" (pytest exit 5) fails a suite.
test-core: $(CORE_STAMP) browser
	@echo "==> test-core: pytest tests (without tests/airflow, tests/prefect) in $(VENV)/core"
	$(CORE_PY) -m pytest tests --ignore=tests/airflow --ignore=tests/prefect --ignore=tests/clearml \
	    $(call junit,core) $(PYTEST_ARGS)

# The core suite once more with the optional C extension turned off (DATAVER_NATIVE=0, read by
# dataver.native): the pure-Python walk must give the same answers, as it does wherever the
# extension is not installed (`pip install dataver` never installs it). The documentation's
# code blocks too: they are what such a user runs first. tests/native runs to show it skips.
test-core-pure: $(CORE_STAMP) browser
	@echo "==> test-core-pure: tests/core, tests/native, the docs' code blocks; DATAVER_NATIVE=0"
	DATAVER_NATIVE=0 $(CORE_PY) -m pytest tests/core tests/native tests/docs/test_code_blocks.py \
	    $(call junit,core-pure) $(PYTEST_ARGS)

test-airflow: $(AIRFLOW_STAMP)
	@echo "==> test-airflow: pytest tests/airflow in $(VENV)/airflow"
	$(AIRFLOW_PY) -m pytest tests/airflow $(call junit,airflow) $(PYTEST_ARGS)

test-prefect: $(PREFECT_STAMP)
	@echo "==> test-prefect: pytest tests/prefect in $(VENV)/prefect"
	$(PREFECT_PY) -m pytest tests/prefect $(call junit,prefect) $(PYTEST_ARGS)

test-clearml: $(CLEARML_STAMP)
	@echo "==> test-clearml: pytest tests/clearml in $(VENV)/clearml (beside the real clearml)"
	$(CLEARML_PY) -m pytest tests/clearml $(call junit,clearml) $(PYTEST_ARGS)

# -------------------------------------------------------------------------------------- lint

# Runs all three checks, then fails if any of them failed.
lint: $(CORE_STAMP)
	@rc=0; \
	echo "==> lint: ruff check ."; \
	$(VENV)/core/bin/ruff check . || rc=1; \
	echo "==> lint: ruff format --check ."; \
	$(VENV)/core/bin/ruff format --check . || rc=1; \
	echo "==> lint: mypy (strict, files from pyproject.toml: core/src/dataver)"; \
	$(VENV)/core/bin/mypy || rc=1; \
	if [ $$rc -ne 0 ]; then echo "==> lint: FAILED"; fi; \
	exit $$rc

# -------------------------------------------------------------------------------------- docs

# Builds the MkDocs site into site/; --strict turns every broken link or reference into an error.
docs: $(CORE_STAMP)
	@echo "==> docs: mkdocs build --strict (site/)"
	NO_MKDOCS_2_WARNING=1 $(VENV)/core/bin/mkdocs build --strict

# ------------------------------------------------------------------------------- demo, bench

# The example pipeline end to end on a local folder registry: the Airflow DAG (airflow dags
# test, SQLite), the Prefect flow, then a report. Output and logs stay in .demo/.
demo: $(CORE_STAMP) $(AIRFLOW_STAMP) $(PREFECT_STAMP)
	@echo "==> demo: examples/demo.py (Airflow DAG, Prefect flow, report)"
	$(CORE_PY) examples/demo.py --airflow-python $(AIRFLOW_PY) --prefect-python $(PREFECT_PY)

# e.g. `make bench BENCH_ARGS="--quick --no-peers"` or `BENCH_ARGS="--only sync --runs 5"`.
# Do not run `make clean` while a benchmark runs: it deletes benchmarks/.work.
BENCH_ARGS ?=

bench: $(CORE_STAMP) bench-tools
	@echo "==> bench: python -m benchmarks $(BENCH_ARGS)"
	$(CORE_PY) -m benchmarks $(BENCH_ARGS)

# ------------------------------------------------------------------------------------- clean

clean:
	@echo "==> clean: caches and build output"
	rm -rf .mypy_cache .ruff_cache .pytest_cache .hypothesis benchmarks/.work site dist build .ci/reports test-artifacts .demo
	find . -path ./$(VENV) -prune -o \
	    \( -name __pycache__ -o -name '*.egg-info' -o -name .pytest_cache \) -type d -print0 \
	    | xargs -0 rm -rf
	find core airflow_provider prefect_tasks -maxdepth 1 \( -name dist -o -name build \) \
	    -type d -print0 | xargs -0 rm -rf

distclean: clean
	@echo "==> distclean: removing $(VENV)"
	rm -rf $(VENV)
