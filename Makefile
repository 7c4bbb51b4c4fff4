# Two commands on a fresh machine: `make run` starts the web chat, `make test` runs the tests.
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast screenshots browser lint

run: $(VENV)/.installed
	$(BIN)/python app.py

test: $(VENV)/.installed browser
	$(BIN)/pytest

# The tests not marked slow (no real model, no browser): about half a minute.
test-fast: $(VENV)/.installed
	$(BIN)/pytest -m "not slow"

# Refresh the pictures of the web chat in docs/ from the browser tests.
screenshots: $(VENV)/.installed browser
	RAG_SCREENSHOTS=docs $(BIN)/pytest tests/test_web.py -k "numbered_passages or phone_width"

# ruff, then mypy over the package (its settings are in pyproject.toml).
lint: $(VENV)/.installed
	$(BIN)/ruff check rag tests benchmarks training app.py
	$(BIN)/ruff format --check rag tests benchmarks training app.py
	$(BIN)/python -m mypy rag

# pip shows what it fetches and installs: the first time, a few minutes (torch is the largest part).
$(VENV)/.installed: pyproject.toml constraints.txt
	@echo "Installing into $(VENV) (the first time takes a few minutes)..."
	python3 -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -c constraints.txt -e '.[test]'
	touch $@

# Debian's headless Chromium drives the browser tests (a browser cannot be downloaded here).
browser:
	@command -v chromium >/dev/null || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-driver; }
