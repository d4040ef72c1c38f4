# The two commands of the README: `make serve` and `make test`. Both set up a virtual
# environment on first use (VENV, default .venv) with the project installed in editable mode.
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml server/wire/* | cksum | cut -d" " -f1)

.PHONY: serve test bench stubs lint-proto

$(STAMP): pyproject.toml $(wildcard server/wire/*)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

serve: $(STAMP)
	$(VENV)/bin/trackstore serve $(ARGS)

test: $(STAMP)
	$(VENV)/bin/python -m pytest $(ARGS)

bench: $(STAMP)
	$(VENV)/bin/python bench/run.py $(ARGS)

# Regenerates the committed Python stubs from proto/ (tests/test_stubs.py checks they match).
stubs: $(STAMP)
	$(VENV)/bin/python clients/python/generate_stubs.py

lint-proto: $(STAMP)
	$(VENV)/bin/buf lint proto
