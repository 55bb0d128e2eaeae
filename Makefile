# slaguard: `make demo` runs it on embedded defaults, `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every dependency, dev tools included, pinned with hashes (`make lock` regenerates it).
LOCK := requirements-dev.lock

.PHONY: demo test test-random mutate lint docs bench install clean lock

$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "slaguard needs Python 3.11 or newer; set PYTHON=python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	@$(BIN)/python -m pip install --quiet --no-deps -e .
	@$(BIN)/python -m pip check >/dev/null || { $(BIN)/python -m pip check; \
		echo "$(LOCK) does not cover pyproject.toml: run make lock"; exit 1; }
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/slaguard demo

test: $(STAMP)
	@if [ -z "$$TEST_POSTGRES_URL" ]; then echo "TEST_POSTGRES_URL is not set: running on SQLite only, PostgreSQL tests skipped"; fi
	$(BIN)/pytest

# The property tests with fresh random examples, more of them (CI runs them derandomized).
test-random: $(STAMP)
	HYPOTHESIS_PROFILE=random $(BIN)/pytest -m property

# Mutation testing of the pure SLA core (app/sla) against tests/app/sla; slow, not part of
# `make test` or CI. Prints the score per module (docs/testing.md records them).
# MUTANTS='app.sla.calendar*' limits the run to some modules.
MUTATE_JOBS ?= 2
mutate: $(STAMP)
	rm -rf mutants
	HYPOTHESIS_PROFILE=mutate $(BIN)/mutmut run --max-children $(MUTATE_JOBS) $(MUTANTS) >/dev/null
	$(BIN)/python scripts/mutation_scores.py --survivors

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo  # the layer contracts in pyproject.toml

# The manual (docs/) as a site in site/; --strict turns a broken link or page into an error.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --quiet

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# After changing dependencies in pyproject.toml: `make lock` keeps every other pin as it is;
# `make lock UPGRADE=1` moves every pin to the newest release the ranges allow.
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 \
	--generate-hashes --quiet $(if $(UPGRADE),--upgrade)
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet "$$(grep -m1 '^uv==' $(LOCK) | cut -d' ' -f1)"
	$(UV_COMPILE) -o requirements.lock
	$(UV_COMPILE) --extra dev -o requirements-dev.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis mutants .import_linter_cache
