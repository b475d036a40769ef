"""The conformance resources a validator knows, and the packaged ones.

The package data (``meso_fhir/data/r4-core.json``: core StructureDefinition snapshots and
ValueSet expansions; ``meso_fhir/data/meso-package.json``: the project's profiles, ValueSets,
CodeSystems and their expansions) is written by ``scripts/build_validation_data.py``; this module
only reads it, in the format that script writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources as importlib_resources
from typing import Any, Final

import orjson

__all__ = [
    "CORE_SD",
    "Definitions",
    "core_type_names",
    "packaged",
    "resources_in",
]

CORE_SD: Final = "http://hl7.org/fhir/StructureDefinition/"


@dataclass(slots=True)
class Definitions:
    """StructureDefinitions (with snapshots) by URL, ValueSets, complete CodeSystems, and the
    precomputed expansions (ValueSet url -> {"codes": {system: [code]}, "open": [system]})."""

    structure_definitions: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    value_sets: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    code_systems: dict[str, frozenset[str]] = field(default_factory=dict)
    expansions: dict[str, Any] = field(default_factory=dict)
    # What base R4 defines, for telling a profile's own rules from what it inherits.
    base_elements: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    base_constraint_keys: set[str] = field(default_factory=set)

    @classmethod
    def of(
        cls, conformance: Iterable[Mapping[str, Any]], expansions: Mapping[str, Any]
    ) -> Definitions:
        defs = cls(expansions=dict(expansions))
        for res in conformance:
            url = res.get("url")
            if not isinstance(url, str):
                continue
            # The packaged core snapshots are bare StructureDefinitions, without resourceType.
            if (
                res.get("resourceType", "StructureDefinition") == "StructureDefinition"
                and "snapshot" in res
            ):
                defs.structure_definitions[url] = res
            elif res.get("resourceType") == "ValueSet":
                defs.value_sets[url] = res
            elif res.get("resourceType") == "CodeSystem" and res.get("content") == "complete":
                defs.code_systems[url] = frozenset(_all_concepts(res.get("concept", [])))
        for url, sd in defs.structure_definitions.items():
            if url.startswith(CORE_SD) and sd.get("derivation") != "constraint":
                for el in sd["snapshot"]["element"]:
                    defs.base_elements.setdefault(el["path"], el)
                    defs.base_constraint_keys.update(c["key"] for c in el.get("constraint", ()))
        return defs

    def profiles(self) -> list[str]:
        """The canonical URLs of the profiles (constraints on a base definition), sorted."""
        return sorted(
            u
            for u, sd in self.structure_definitions.items()
            if sd.get("derivation") == "constraint"
        )


def _all_concepts(concepts: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    for c in concepts:
        yield c["code"]
        yield from _all_concepts(c.get("concept", ()))


@cache
def packaged(name: str) -> dict[str, Any]:
    """A data file of the package, parsed ({} when it is missing)."""
    ref = importlib_resources.files("meso_fhir").joinpath("data", name)
    if not ref.is_file():
        return {}
    data: dict[str, Any] = orjson.loads(ref.read_bytes())
    return data


@cache
def core_type_names() -> frozenset[str]:
    """Every type core R4 defines (datatypes and resources), for reference targets."""
    data = packaged("r4-core.json")
    names = {str(sd["type"]) for sd in data["structureDefinitions"]}
    return frozenset(names | _resource_type_names())


def _resource_type_names() -> frozenset[str]:
    # Not every resource type has a packaged snapshot; the all-types ValueSet names them all.
    data = packaged("r4-core.json")
    vs = data["valueSets"].get("http://hl7.org/fhir/ValueSet/all-types", {})
    return frozenset(vs.get("codes", {}).get("http://hl7.org/fhir/resource-types", ()))


def resources_in(data: Any) -> list[dict[str, Any]]:
    """The resources of a parsed JSON file: one resource, a Bundle's entries, a list, or an
    object with a ``resources`` list (the shape of meso-package.json)."""
    if isinstance(data, list):
        return [r for d in data for r in resources_in(d)]
    if not isinstance(data, dict):
        return []
    if data.get("resourceType") == "Bundle":
        return [
            e["resource"]
            for e in data.get("entry", [])
            if isinstance(e, dict) and isinstance(e.get("resource"), dict)
        ]
    if "resources" in data and "resourceType" not in data:
        return resources_in(data["resources"])
    return [data]
