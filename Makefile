# The two commands a newcomer runs: `make demo` and `make test`. Both set up .venv when needed.
PYTHON_SYSTEM ?= python3
VENV := .venv
PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: demo test bench verify-bench clean

$(INSTALLED): pyproject.toml
	@$(PYTHON_SYSTEM) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ReliefLedger needs Python 3.11 or newer")'
	@test -x $(PYTHON) || $(PYTHON_SYSTEM) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[test]'
	@touch $(INSTALLED)

demo: $(INSTALLED)
	$(VENV)/bin/reliefledger demo

test: $(INSTALLED)
	$(PYTHON) -m pytest

bench: $(INSTALLED)
	$(VENV)/bin/reliefledger bench --json --count 50000

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .hypothesis
