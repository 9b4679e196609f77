# The two commands a newcomer runs: `make demo` and `make test`. Both set up .venv when needed.
PYTHON_SYSTEM ?= python3
VENV := .venv
PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

POSTGRES_INITDB := $(wildcard /usr/lib/postgresql/*/bin/initdb)

.PHONY: demo test bench clean postgres-server browser

$(INSTALLED): pyproject.toml
	@$(PYTHON_SYSTEM) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ReliefLedger needs Python 3.11 or newer")'
	@test -x $(PYTHON) || $(PYTHON_SYSTEM) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[test]'
	@touch $(INSTALLED)

demo: $(INSTALLED)
	$(VENV)/bin/reliefledger demo

test: $(INSTALLED) postgres-server browser
	$(PYTHON) -m pytest

# The PostgreSQL adapter is tested against a real server from Debian's package. Best effort: where
# it cannot be installed (not root, no apt-get), that test is skipped and says why.
postgres-server:
ifeq ($(POSTGRES_INITDB),)
	-@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's postgresql for the adapter tests"; \
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi
endif

# The dashboard is tested in Debian's chromium driven by Playwright (no browser download). Best
# effort, as for PostgreSQL: where it cannot be installed, the browser test is skipped and says why.
browser:
	-@if { [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/truetype/wqy ]; } && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium and a Chinese font for the dashboard test"; \
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	fi

bench: $(INSTALLED)
	$(VENV)/bin/reliefledger bench --json --count 50000

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .hypothesis
