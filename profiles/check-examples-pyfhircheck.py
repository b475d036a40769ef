"""Validates the compiled package with pyfhircheck, the validator the Python package uses.

Same contract as check-examples.mjs: every example in package/ must have no error, and every
case in test-cases/invalid/ (unless its "validators" list leaves pyfhircheck out) must be
rejected with an issue whose text (code, path, message) contains its "expect".
Only package/ is loaded (localPackagePaths); pyfhircheck brings the base R4 spec itself. Loading
the whole core package as well makes it worse: its base profiles (vitalsigns, bp, ...) trip the
same limits listed in KNOWN_FALSE_POSITIVES, and loading takes seconds.

usage: python3 check-examples-pyfhircheck.py [package dir] [invalid cases dir]
Exit 0 when all hold, 1 otherwise, 0 with a note when pyfhircheck is not installed.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# Errors pyfhircheck 0.2.0 reports on valid resources, by issue code.
KNOWN_FALSE_POSITIVES = {
    # Inherited from the base vitalsigns profile: "($this as dateTime).toString().length() >= 8".
    # pyfhircheck evaluates FHIRPath on plain JSON without type information, so "as dateTime"
    # yields nothing and the invariant fails on every effectiveDateTime.
    "profile.element.invariant.vs-1",
}
# ... and by exact message: pyfhircheck 0.2.0 reads Binary.data's type as fhir.resources' Python
# annotation (EncodedBytes), which no JSON string is, instead of base64Binary.
KNOWN_FALSE_MESSAGES = {"Binary.data must be EncodedBytes"}
CONFORMANCE = {"StructureDefinition", "ValueSet", "CodeSystem", "ImplementationGuide"}


def main() -> int:
    package_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "package"
    invalid_dir = Path(sys.argv[2]) if len(sys.argv) > 2 else HERE / "test-cases" / "invalid"
    try:
        from pyfhircheck import Validator
        from pyfhircheck.config import ValidatorConfig
    except ImportError:
        print("check-examples-pyfhircheck: pyfhircheck not installed, skipped")
        return 0

    config = ValidatorConfig.load_dict(
        {
            "fhirVersion": "4.0.1",
            "localPackagePaths": [str(package_dir)],
            "terminology": {"mode": "local"},
        }
    )
    validator = Validator(config)

    def errors(resource: dict[str, Any]) -> list[str]:
        # pyfhircheck prints FHIRPath trace() output (from the base dom-3 invariant) to stdout.
        with contextlib.redirect_stdout(io.StringIO()):
            report = validator.validate_resource(resource)
        return [
            f"{i.code} {i.path}: {i.message}"
            for i in report.issues
            if i.severity.value in ("error", "fatal")
            and i.code not in KNOWN_FALSE_POSITIVES
            and i.message not in KNOWN_FALSE_MESSAGES
        ]

    failed = 0
    examples = 0
    for f in sorted(package_dir.glob("*.json")):
        if f.name == "package.json" or f.name.startswith("."):
            continue
        resource = json.loads(f.read_text(encoding="utf-8"))
        if resource.get("resourceType") in CONFORMANCE:
            continue
        examples += 1
        problems = errors(resource)
        if problems:
            failed += 1
            print(f"FAIL {f.name}")
            for p in problems:
                print(f"  {p}")

    cases = 0
    for f in sorted(invalid_dir.glob("*.json")) if invalid_dir.is_dir() else []:
        case = json.loads(f.read_text(encoding="utf-8"))
        if "pyfhircheck" not in case.get("validators", ["medplum", "pyfhircheck"]):
            continue
        cases += 1
        problems = errors(case["resource"])
        if not any(case["expect"] in p for p in problems):
            failed += 1
            print(
                f"FAIL test-cases/invalid/{f.name}: expected an error containing {case['expect']!r}"
            )
            print(f"  ({case['description']})")
            for p in problems or ["no error at all"]:
                print(f"  got {p}")

    print(
        f"check-examples-pyfhircheck: {examples} examples, {cases} invalid cases: "
        + (f"{failed} FAILED" if failed else "all OK")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
