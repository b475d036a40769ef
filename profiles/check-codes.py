"""Checks the compiled package against src/meso_fhir/codes.py (the contract of codes).

- The CodeSystem `meso` holds exactly local_codes(), each with the display codes.py sends and a
  definition.
- Every concept of our ValueSets, and every coding of the examples, is a code of codes.py (same
  system, code and display) or, for HL7 terminology systems, a code of the core package's own
  CodeSystem: no clinical code enters the profiles that codes.py does not know.
- Each ValueSet holds exactly the codings of its codes.py table (value_set_tables()).

usage: python3 check-codes.py <package dir> <core package dir>   (exit 1 on any problem)
Needs only the standard library and src/ (codes.py imports nothing else).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from meso_fhir import codes  # noqa: E402

HL7_TERMINOLOGY = "http://terminology.hl7.org/CodeSystem/"


def known_codings() -> dict[tuple[str, str], str]:
    """(system, code) -> display for every coding codes.py can send."""
    found: dict[tuple[str, str], str] = {}

    def walk(value: Any) -> None:
        if isinstance(value, tuple) and len(value) == 3 and all(isinstance(v, str) for v in value):
            system, code, display = value
            if system.startswith(("http://", "https://")):
                found[(system, code)] = display
                return
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    for name in dir(codes):
        if name.isupper():
            walk(getattr(codes, name))
    # LOINC tables keyed without their system.
    for loinc_code, display, _unit in codes.VITAL_SIGN.values():
        found[(codes.LOINC, loinc_code)] = display
    for loinc_code, display in (codes.BLOOD_PRESSURE, codes.SYSTOLIC, codes.DIASTOLIC):
        found[(codes.LOINC, loinc_code)] = display
    return found


def core_concepts(core_dir: Path) -> dict[tuple[str, str], str | None]:
    out: dict[tuple[str, str], str | None] = {}

    def walk(system: str, concepts: list[dict[str, Any]]) -> None:
        for c in concepts:
            out[(system, c["code"])] = c.get("display")
            walk(system, c.get("concept", []))

    for f in core_dir.glob("CodeSystem-*.json"):
        cs = json.loads(f.read_text(encoding="utf-8"))
        if cs.get("url", "").startswith(HL7_TERMINOLOGY):
            walk(cs["url"], cs.get("concept", []))
    return out


def codings_in(value: Any) -> list[dict[str, Any]]:
    """Every Coding-shaped object (system + code) inside a resource."""
    out: list[dict[str, Any]] = []
    if isinstance(value, dict):
        if (
            isinstance(value.get("system"), str)
            and isinstance(value.get("code"), str)
            and ("display" in value or "value" not in value)
        ):
            out.append(value)
        for v in value.values():
            out.extend(codings_in(v))
    elif isinstance(value, list):
        for v in value:
            out.extend(codings_in(v))
    return out


def value_set_tables() -> dict[str, list[tuple[str, str, str]]]:
    """Each ValueSet id -> the codings of codes.py it must hold, no more, no less.

    pyfhircheck 0.2 checks a required binding on every coding of a CodeableConcept (not "at least
    one", as the spec says), so every coding the mapper sends beside the main one (the SNOMED CT
    concept after a ci-* code, the v3 route after the SNOMED CT one) must be in the value set.
    """
    loinc = [(codes.LOINC, c, d) for c, d, _u in codes.VITAL_SIGN.values()]
    return {
        "meso-vital-sign-codes": [(codes.LOINC, *codes.BLOOD_PRESSURE), *loinc],
        "meso-blood-pressure-components": [
            (codes.LOINC, *codes.SYSTOLIC),
            (codes.LOINC, *codes.DIASTOLIC),
        ],
        "meso-screening-finding-codes": [
            codes.PREGNANCY_STATUS,
            codes.FITZPATRICK,
            codes.PHOTOAGEING,
            *[c for cs in codes.CONTRAINDICATION.values() for c in cs],
        ],
        "meso-pregnancy-status": list(codes.PREGNANCY_ANSWER.values()),
        "meso-fitzpatrick-skin-type": [c for cs in codes.FITZPATRICK_TYPE.values() for c in cs],
        "meso-glogau-grade": list(codes.GLOGAU_GRADE.values()),
        "meso-screening-finding-values": [
            *codes.PREGNANCY_ANSWER.values(),
            *[c for cs in codes.FITZPATRICK_TYPE.values() for c in cs],
            *codes.GLOGAU_GRADE.values(),
            *[c for cs in codes.ANSWER.values() for c in cs],
        ],
        "meso-eligibility": list(codes.ELIGIBILITY_ANSWER.values()),
        "meso-visit-type": list(codes.VISIT_TYPE.values()),
        "meso-laterality": list(codes.LATERALITY.values()),
        "meso-indication": list(codes.INDICATION.values()),
        "meso-body-site": list(codes.BODY_SITE.values()),
        "meso-route": [c for cs in codes.ROUTE.values() for c in cs],
        "meso-technique": list(codes.TECHNIQUE.values()),
        "meso-reaction": list(codes.REACTION.values()),
        "meso-condition-codes": [*codes.CONDITION.values(), *codes.REACTION.values()],
        "meso-provenance-activity": list(codes.PROVENANCE_ACTIVITY.values()),
        "meso-consent-scope": list(codes.CONSENT_SCOPE_CODE.values()),
        "meso-consent-category": [codes.PATIENT_CONSENT, codes.RELEASE_OF_INFORMATION],
        "meso-photo-view": list(codes.PHOTO_VIEW.values()),
        "meso-photo-content-type": list(codes.PHOTO_CONTENT_TYPE.values()),
        "meso-session-observation-codes": [
            codes.PAIN_SCORE,
            codes.REACTION_OBSERVATION,
            *codes.MEASUREMENT.values(),
            *codes.SCALE.values(),
        ],
    }


def main() -> int:
    package_dir, core_dir = Path(sys.argv[1]), Path(sys.argv[2])
    problems: list[str] = []
    known = known_codings()
    core = core_concepts(core_dir)
    local = codes.local_codes()

    cs = json.loads((package_dir / "CodeSystem-meso.json").read_text(encoding="utf-8"))
    if cs.get("url") != codes.LOCAL:
        problems.append(f"CodeSystem-meso url {cs.get('url')} != codes.LOCAL {codes.LOCAL}")
    defined = {c["code"]: c for c in cs.get("concept", [])}
    for code in sorted(local - defined.keys()):
        problems.append(f"local code {code!r} of codes.py is not in CodeSystem meso")
    for code in sorted(defined.keys() - local):
        problems.append(f"CodeSystem meso code {code!r} is not a local code of codes.py")
    for code, c in sorted(defined.items()):
        sent = known.get((codes.LOCAL, code))
        if sent is not None and c.get("display") != sent:
            problems.append(f"meso#{code}: display {c.get('display')!r} != codes.py {sent!r}")
        if not c.get("definition"):
            problems.append(f"meso#{code}: no definition")

    def check_coding(where: str, system: str, code: str, display: str | None) -> None:
        if system == codes.LOCAL:
            if code not in defined:
                problems.append(f"{where}: {system}#{code} is not in CodeSystem meso")
            elif display is not None and display != defined[code].get("display"):
                problems.append(f"{where}: {system}#{code} display {display!r} != CodeSystem")
            return
        if (system, code) in known:
            sent = known[(system, code)]
            if display is not None and display != sent:
                problems.append(
                    f"{where}: {system}#{code} display {display!r} != codes.py {sent!r}"
                )
            return
        if system.startswith(HL7_TERMINOLOGY) and (system, code) in core:
            core_display = core[(system, code)]
            if display is not None and core_display is not None and display != core_display:
                problems.append(
                    f"{where}: {system}#{code} display {display!r} != core {core_display!r}"
                )
            return
        if system.startswith(
            (
                "http://snomed.info",
                "http://loinc.org",
                HL7_TERMINOLOGY,
                "http://www.nlm.nih.gov",
                "http://www.whocc.no",
                "http://fdasis",
                "http://unitsofmeasure.org",
                "http://dicom.nema.org",
            )
        ):
            if system == codes.UCUM and code in codes.UNIT.values():
                return
            problems.append(f"{where}: {system}#{code} is not a code of codes.py")

    for f in sorted(package_dir.glob("*.json")):
        if f.name in ("package.json",) or f.name == "CodeSystem-meso.json":
            continue
        r = json.loads(f.read_text(encoding="utf-8"))
        if r.get("resourceType") == "ValueSet":
            for inc in r.get("compose", {}).get("include", []):
                for c in inc.get("concept", []):
                    check_coding(f.name, inc["system"], c["code"], c.get("display"))
        elif r.get("resourceType") != "StructureDefinition":
            for c in codings_in(r):
                check_coding(f.name, c["system"], c["code"], c.get("display"))

    tables = value_set_tables()
    for f in sorted(package_dir.glob("ValueSet-*.json")):
        vs = json.loads(f.read_text(encoding="utf-8"))
        if vs["id"] not in tables:
            problems.append(f"{f.name}: no codes.py table is declared for it in check-codes.py")
            continue
        held = {
            (inc["system"], c["code"])
            for inc in vs.get("compose", {}).get("include", [])
            for c in inc.get("concept", [])
        }
        if any(
            "valueSet" in inc or "filter" in inc for inc in vs.get("compose", {}).get("include", [])
        ):
            problems.append(
                f"{f.name}: list concepts one by one (offline validators do not expand)"
            )
        want = {(system, code) for system, code, _display in tables[vs["id"]]}
        for system, code in sorted(want - held):
            problems.append(f"{f.name}: lacks {system}#{code} of codes.py")
        for system, code in sorted(held - want):
            problems.append(f"{f.name}: holds {system}#{code}, which its codes.py table lacks")
    for vs_id in sorted(
        set(tables) - {p.name[len("ValueSet-") : -5] for p in package_dir.glob("ValueSet-*.json")}
    ):
        problems.append(f"ValueSet {vs_id} is missing from the package")

    for p in problems:
        print(f"FAIL {p}")
    print(
        f"check-codes: {len(defined)} local codes, {len(known)} codes.py codings: "
        + (f"{len(problems)} problems" if problems else "all OK")
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
