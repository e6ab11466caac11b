# The two commands of the quick start: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml clients/python/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]' -e ./clients/python  # the client: its own distribution, tested here
	@touch $(STAMP)

run: $(STAMP)
	@# serve prints the banner (the address it really serves, how to call it) once it listens;
	@# a busy port is one line instead (set GOVERNOR_BIND=127.0.0.1:8001)
	GOVERNOR_ENV=$${GOVERNOR_ENV:-development} $(BIN)/governor serve --banner

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/run.py --history

clean:
	rm -rf $(VENV) instance .pytest_cache clients/typescript/node_modules clients/typescript/dist \
		examples/chat-frontend/node_modules
