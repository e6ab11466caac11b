# The two commands of the quick start: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-random lint bench clean

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
	$(BIN)/lint-imports  # the layers (pyproject.toml's tool.importlinter, docs/architecture.md)
	$(BIN)/python -m pytest -q

# The fast suites once more, in a random order: every test stands alone (CI runs it after `make
# test`). The seed is printed; `pytest -p random_order --random-order-seed=N ...` repeats an order.
test-random: $(STAMP)
	$(BIN)/python -m pytest -q --random-order-bucket=global tests/unit tests/api

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/run.py --history

clean:
	rm -rf $(VENV) instance .pytest_cache clients/typescript/node_modules clients/typescript/dist \
		examples/chat-frontend/node_modules
