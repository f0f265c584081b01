# Two commands set up everything on a fresh machine:
#   make demo   - virtualenv, install, synthetic county, ingest, serve on 127.0.0.1:8080
#   make test   - virtualenv, install, run the whole test suite (SQLite and PostgreSQL)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install bench clean lint-policy

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

bench: $(STAMP)
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b --quick || exit 1; done

lint-policy: $(STAMP)
	$(BIN)/hep policy lint

clean:
	rm -rf $(VENV) var build *.egg-info
