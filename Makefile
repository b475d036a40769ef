# Two set-up commands (README): `make example` runs the main job on the bundled examples,
# `make check` runs every check (format, lint, types, profile rebuild, tests). Both install
# what they need on a fresh machine: a .venv with the package and its test tools, and the
# pinned Node tools (SUSHI, the in-memory FHIR server) from package-lock.json.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OUT := out

.PHONY: example check test lint types format profiles bench clean

$(BIN)/meso-fhir: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

example: $(BIN)/meso-fhir
	$(BIN)/meso-fhir map examples/clinic.json --out $(OUT)/bundle.json --report $(OUT)/map-report.json
	$(BIN)/meso-fhir validate $(OUT)/bundle.json

format: $(BIN)/meso-fhir
	$(BIN)/ruff format src tests bench

lint: $(BIN)/meso-fhir
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

types: $(BIN)/meso-fhir
	$(BIN)/mypy

profiles: node_modules/.package-lock.json
	bash profiles/build.sh --check

test: $(BIN)/meso-fhir node_modules/.package-lock.json
	$(BIN)/pytest -q

check: lint types profiles test

clean:
	rm -rf $(VENV) node_modules $(OUT)
