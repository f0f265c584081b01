# Two commands set up everything on a fresh machine:
#   make demo   - virtualenv, install, synthetic county, ingest, serve on 127.0.0.1:8080
#   make test   - virtualenv, install, run the whole test suite (SQLite and PostgreSQL)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install bench load clean lint-policy fuzz

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/hep demo

test: $(STAMP)
	bash scripts/ensure-postgres.sh
	bash scripts/install-browser.sh
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

# every benchmark's quick version (--quick where a bench has one; bench/bare_app.py is served, not run)
bench: $(STAMP)
	bash scripts/ensure-postgres.sh
	for b in bench/*.py; do case $$b in bench/bare_app.py) continue;; esac; \
	  q=--quick; grep -q -- '"--quick"' $$b || q=; \
	  echo "== $$b $$q"; $(BIN)/python $$b $$q || exit 1; done

# mixed load against gunicorn over PostgreSQL on 127.0.0.1 for LOAD_MINUTES (results under var/load/)
LOAD_MINUTES ?= 30
load: $(STAMP)
	bash scripts/ensure-postgres.sh
	$(BIN)/python -m load.run --minutes $(LOAD_MINUTES)

# atheris harness per adapter for FUZZ_SECONDS each (seed corpus from ../shared samples into
# var/fuzz-corpus/, crashes saved in var/fuzz-crashes/), then the long hypothesis and schemathesis runs
FUZZ_SECONDS ?= 60
fuzz: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,fuzz]'
	$(BIN)/python fuzz/build_corpus.py
	for f in fuzz/fuzz_*.py; do echo "== $$f"; FUZZ_SECONDS=$(FUZZ_SECONDS) $(BIN)/python $$f || exit 1; done
	HEP_FUZZ_EXAMPLES=500 HEP_FUZZ_API_EXAMPLES=200 $(BIN)/python -m pytest -q tests/test_fuzz_adapters.py tests/test_fuzz_api.py

lint-policy: $(STAMP)
	$(BIN)/hep policy lint

clean:
	rm -rf $(VENV) var build *.egg-info
