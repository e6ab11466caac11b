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
	@echo
	@echo "Governor on http://127.0.0.1:8000 (development: SQLite and a generated secret in $(CURDIR)/instance/)."
	@echo "In another shell (any folder; relative paths are taken from GOVERNOR_HOME, default this folder):"
	@echo "  export GOVERNOR_ENV=development"
	@echo "  TOKEN=\$$($(CURDIR)/$(BIN)/governor token --sub chat-web --scope sessions)"
	@echo "  curl -s -H \"Authorization: Bearer \$$TOKEN\" http://127.0.0.1:8000/v1/users/u-1/status"
	@echo "Admin console: http://127.0.0.1:8000/admin/ (sign in with: governor token --sub me --scope admin)"
	@echo
	GOVERNOR_ENV=$${GOVERNOR_ENV:-development} $(BIN)/governor serve

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/run.py --history

clean:
	rm -rf $(VENV) instance .pytest_cache clients/typescript/node_modules clients/typescript/dist \
		examples/chat-frontend/node_modules
