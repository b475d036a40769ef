"""The README's "Input field → FHIR element" table names every field of the input."""

from __future__ import annotations

import re
from typing import Any

from meso_fhir.model import json_schema

from .helpers import ROOT

# Quantities ({"value", "unit"}) are one field each, not two.
_LEAVES = re.compile(r".*(KG|CM|Cel|PerMin|KGM2|MMHG|ML|MM)$|^Line$")
_RECORDS = {
    "Patient": "patient",
    "Screening": "screening",
    "Course": "course",
    "Session": "session",
    "SessionObservation": "observation",
}


def _refs(schema: dict[str, Any]) -> list[str]:
    found = [schema["$ref"].rsplit("/", 1)[1]] if "$ref" in schema else []
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            found += _refs(schema[key])
    for key in ("anyOf", "oneOf"):
        for alternative in schema.get(key, []):
            found += _refs(alternative)
    return found


def input_fields() -> set[str]:
    definitions = json_schema()["$defs"]
    fields: set[str] = set()

    def walk(name: str, prefix: str) -> None:
        for field, schema in definitions[name].get("properties", {}).items():
            if field == "kind":
                continue
            path = f"{prefix}.{field}"
            parts = [r for r in _refs(schema) if not _LEAVES.match(r)]
            if not parts:
                fields.add(path)
            for part in parts:
                walk(part, path)

    for name, kind in _RECORDS.items():
        walk(name, kind)
    return fields


def test_the_table_names_every_input_field_and_nothing_else() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Input field → FHIR element", 1)[1].split("\n\n", 3)[2]
    named = {
        field
        for row in section.splitlines()
        if row.startswith("| `")
        for field in re.findall(r"`([a-z_.]+)`", row.split(" | ", 1)[0])
    }
    fields = input_fields()
    assert len(fields) > 70
    assert fields - named == set()  # a field the table leaves out
    assert named - fields == set()  # a row for a field that does not exist
