"""Every mapped resource carries a generated narrative: well-formed XHTML, escaped, built from
the resource's own elements (so the HL7 validator's dom-6 warning is gone)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import orjson
import pytest

from meso_fhir.mapping import MapSummary, map_records
from meso_fhir.mapping.identity import ClinicConfig
from meso_fhir.mapping.narrative import with_narrative
from meso_fhir.model import load

from .helpers import EXAMPLE

XHTML = "{http://www.w3.org/1999/xhtml}"


def _paragraphs(resource: dict[str, Any]) -> list[str]:
    div = ET.fromstring(resource["text"]["div"])
    assert div.tag == f"{XHTML}div"
    assert all(child.tag == f"{XHTML}p" for child in div)
    return [p.text or "" for p in div]


def test_every_mapped_resource_has_a_generated_narrative() -> None:
    resources = [
        r for m in map_records(load(EXAMPLE), ClinicConfig(), MapSummary()) for r in m.resources
    ]
    assert len(resources) == 304
    for resource in resources:
        if resource["resourceType"] == "Binary":  # no DomainResource: no narrative
            assert "text" not in resource
            continue
        assert resource["text"]["status"] == "generated"
        assert _paragraphs(resource), resource["resourceType"]
        # text follows meta, where FHIR's own JSON puts it
        keys = list(resource)
        assert keys.index("text") == keys.index("meta") + 1
        for contained in resource.get("contained", []):
            assert "text" not in contained


def test_the_narrative_says_what_the_resource_says_and_escapes_it() -> None:
    patient = {
        "resourceType": "Patient",
        "id": "p",
        "meta": {"profile": ["x"]},
        "identifier": [{"system": "s", "value": "MRN-1"}],
        "name": [{"family": "O'Brien <b>", "given": ["Ann & Jo"]}],
        "gender": "female",
        "birthDate": "1970-01-02",
    }
    shown = with_narrative(patient)
    assert _paragraphs(shown) == [
        "Patient: Ann & Jo O'Brien <b>",
        "female, born 1970-01-02",
        "Identifier: MRN-1",
    ]
    assert "<b>" not in shown["text"]["div"]  # escaped: free text never becomes markup
    assert {k: v for k, v in shown.items() if k != "text"} == patient


@pytest.mark.parametrize(
    ("family", "escaped"), [("A & B", "A &amp; B"), ("A < B", "A &lt; B"), ("A > B", "A &gt; B")]
)
def test_each_markup_character_alone_is_escaped(family: str, escaped: str) -> None:
    # The narrative escapes only when a line holds one of them: each must be seen on its own.
    patient = {"resourceType": "Patient", "id": "p", "name": [{"family": family}]}
    shown = with_narrative(patient)
    assert f"<p>Patient: {escaped}</p>" in shown["text"]["div"]
    assert _paragraphs(shown) == [f"Patient: {family}"]


def test_an_answer_reads_as_question_and_answer() -> None:
    observation = {
        "resourceType": "Observation",
        "id": "o",
        "status": "final",
        "code": {"coding": [{"system": "s", "code": "ci-diabetes", "display": "Diabetes"}]},
        "effectiveDateTime": "2025-01-01",
        "valueCodeableConcept": {"coding": [{"system": "l", "code": "LA32-8", "display": "No"}]},
    }
    assert _paragraphs(with_narrative(observation)) == [
        "Diabetes: No",
        "When: 2025-01-01",
        "Status: final",
    ]
    assert list(with_narrative(observation))[:3] == ["resourceType", "id", "text"]


def test_the_profile_examples_carry_the_narrative_the_mapper_would_give_them() -> None:
    package = Path(__file__).resolve().parent.parent / "profiles" / "package"
    examples = [
        orjson.loads(f.read_bytes())
        for f in sorted(package.glob("*-example-*.json"))
        if not f.name.startswith(("StructureDefinition", "ValueSet", "CodeSystem"))
    ]
    assert len(examples) == 29
    for example in examples:
        if example["resourceType"] == "Binary":  # no DomainResource: no narrative
            continue
        bare = {k: v for k, v in example.items() if k != "text"}
        assert with_narrative(bare)["text"] == example["text"], example["id"]
