# Two commands on a fresh machine: `make run` starts the web chat, `make test` runs the tests.
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test browser lint

run: $(VENV)/.installed
	$(BIN)/python app.py

test: $(VENV)/.installed browser
	$(BIN)/pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check rag tests benchmarks app.py
	$(BIN)/ruff format --check rag tests benchmarks app.py

$(VENV)/.installed: pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

# Debian's headless Chromium drives the browser tests (a browser cannot be downloaded here).
browser:
	@command -v chromium >/dev/null || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-driver; }
