# Two set-up commands (README): `make example` runs the main job on the bundled examples,
# `make check` runs every check (format, lint, types, profile rebuild, tests). Both install
# what they need on a fresh machine: a .venv with the package and its test tools, and the
# pinned Node tools (SUSHI, the in-memory FHIR server) from package-lock.json.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OUT := out

.PHONY: example check test lint types format profiles bench clean hapi hapi-build fhir-package hl7-validate

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

# Every benchmark the README's Speed section quotes, but HAPI's, one after the other (8 to 9
# minutes on the development machine; nothing else should run meanwhile: they time CPU seconds).
# HAPI's: `.venv/bin/python bench/bench_sync.py 2000 --server hapi --no-naive` (builds it first).
bench: $(BIN)/meso-fhir node_modules/.package-lock.json
	$(BIN)/python bench/bench_map.py
	$(BIN)/python bench/bench_stages.py 100000
	$(BIN)/python bench/bench_template.py
	$(BIN)/python bench/bench_validation.py
	$(BIN)/python bench/bench_sync.py 2000
	$(BIN)/python bench/bench_sync.py 10000 --strategy id --no-naive

# A local HAPI FHIR JPA server (R4, H2 in memory) on 127.0.0.1, port $HAPI_PORT or 8080, built
# from Maven Central with Java 17 + Maven (first build: a few minutes; see tests/hapi/).
hapi:
	bash tests/hapi/run.sh

hapi-build:
	bash tests/hapi/run.sh --build-only

# The installable FHIR package of the profiles, build/meso-fhir-profiles-<version>.tgz, from the
# committed profiles/package/ (Python standard library only; bash profiles/build.sh makes it too).
fhir-package:
	$(PYTHON) scripts/make_fhir_package.py

# The HL7 FHIR Validator, offline, on the profile examples, the Bundle of examples/clinic.json and
# that of a generated 1,000-record export; exit 1 on any error. First run: ~130 MB from Maven
# Central and two npm packages into build/hl7-validator/. --with-invalid adds the negative cases
# and compares them with meso-fhir validate (tests/test_hl7_validator.py does both).
hl7-validate: $(BIN)/meso-fhir node_modules/.package-lock.json
	$(BIN)/python scripts/hl7_validate.py

clean:
	rm -rf $(VENV) node_modules $(OUT)
