"""Bad input: each malformed record gets one clear error naming kind, id and field; the rest loads."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from meso_fhir.errors import InputError
from meso_fhir.model import load

from .helpers import (
    EXAMPLE,
    EXAMPLE_LINES,
    Document,
    example_document,
    example_export,
    write_document,
)


def _errors(path: Path) -> list[dict[str, str | None]]:
    return [e.as_dict() for e in load(path).errors]


def _doc_with(tmp_path: Path, list_name: str, index: int, **changes: object) -> Path:
    def change(doc: Document) -> None:
        doc[list_name][index].update(changes)

    return example_export(tmp_path, change)


def test_examples_load_without_errors_and_agree() -> None:
    document, lines = load(EXAMPLE), load(EXAMPLE_LINES)
    assert document.errors == [] and lines.errors == []
    assert document.counts == {
        "patient": 7,
        "screening": 7,
        "course": 4,
        "session": 16,
        "observation": 34,
    }
    assert [r.model_dump() for r in document.records()] == [r.model_dump() for r in lines.records()]


def test_bad_date(tmp_path: Path) -> None:
    path = _doc_with(tmp_path, "patients", 0, birth_date="1978-02-30")
    assert _errors(path) == [
        {
            "kind": "patient",
            "source_id": "P001",
            "field": "birth_date",
            "message": "Input should be a valid date or datetime, day value is outside expected range",
        },
        # the patient's dependants cannot be sent without it
        {
            "kind": "screening",
            "source_id": "S001",
            "field": "patient_id",
            "message": "patient 'P001' has errors, so this record cannot be sent either",
        },
        {
            "kind": "course",
            "source_id": "C001",
            "field": "patient_id",
            "message": "patient 'P001' has errors, so this record cannot be sent either",
        },
    ] + [
        {
            "kind": kind,
            "source_id": source_id,
            "field": "patient_id",
            "message": "patient 'P001' has errors, so this record cannot be sent either",
        }
        for kind, source_id in _p001_sessions_and_observations()
    ]


def _p001_sessions_and_observations() -> list[tuple[str, str]]:
    doc = example_document()
    return [("session", s["id"]) for s in doc["sessions"] if s["patient_id"] == "P001"] + [
        ("observation", o["id"]) for o in doc["observations"] if o["patient_id"] == "P001"
    ]


def test_unknown_code(tmp_path: Path) -> None:
    doc = example_document()
    doc["sessions"][0]["injections"][1]["site"] = "nose"
    path = write_document(tmp_path / "clinic.json", doc)
    errors = _errors(path)
    assert errors[0] == {
        "kind": "session",
        "source_id": "C001-S1",
        "field": "injections[1].site",
        "message": "unknown body site 'nose'; expected one of: abdomen, buttock, cheek, decolletage, "
        "face, forehead, neck, scalp, submental, thigh, thigh-anterior, thigh-medial, "
        "thigh-posterior, upper-arm, upper-arm-anterior, upper-arm-posterior",
    }
    # the session's observations depend on it; nothing else fails
    assert {(e["kind"], e["source_id"]) for e in errors[1:]} == {
        ("observation", "C001-S1-O1"),
        ("observation", "C001-S1-O2"),
    }
    loaded = load(path)
    assert sum(1 for _ in loaded.records()) == 68 - 3


def test_missing_required_field(tmp_path: Path) -> None:
    doc = example_document()
    del doc["courses"][2]["indication"]
    path = write_document(tmp_path / "clinic.json", doc)
    assert _errors(path)[0] == {
        "kind": "course",
        "source_id": "C005",
        "field": "indication",
        "message": "required field is missing",
    }


def test_session_whose_course_does_not_exist(tmp_path: Path) -> None:
    path = _doc_with(tmp_path, "sessions", 3, course_id="C999")
    assert _errors(path)[0] == {
        "kind": "session",
        "source_id": "C001-S4",
        "field": "course_id",
        "message": "no course with id 'C999' in this export",
    }


def test_observation_whose_patient_does_not_exist(tmp_path: Path) -> None:
    path = _doc_with(tmp_path, "observations", 0, patient_id="P404")
    assert _errors(path) == [
        {
            "kind": "observation",
            "source_id": "C001-S1-O1",
            "field": "patient_id",
            "message": "no patient with id 'P404' in this export",
        }
    ]


def test_session_of_another_patients_course(tmp_path: Path) -> None:
    path = _doc_with(tmp_path, "sessions", 0, patient_id="P004")
    assert _errors(path)[0] == {
        "kind": "session",
        "source_id": "C001-S1",
        "field": "course_id",
        "message": "course 'C001' belongs to another patient",
    }


def test_volume_without_unit(tmp_path: Path) -> None:
    doc = example_document()
    doc["sessions"][5]["injections"][0]["volume"] = {"value": 2.0}
    path = write_document(tmp_path / "clinic.json", doc)
    assert _errors(path)[0] == {
        "kind": "session",
        "source_id": doc["sessions"][5]["id"],
        "field": "injections[0].volume.unit",
        "message": "required field is missing",
    }


def test_volume_in_wrong_unit(tmp_path: Path) -> None:
    doc = example_document()
    doc["sessions"][5]["injections"][0]["volume"] = {"value": 2.0, "unit": "cc"}
    path = write_document(tmp_path / "clinic.json", doc)
    assert _errors(path)[0] == {
        "kind": "session",
        "source_id": doc["sessions"][5]["id"],
        "field": "injections[0].volume",
        "message": "unit must be 'mL', got 'cc'",
    }


# Duplicate ids and MRNs: tests/test_input_safety.py (section C, both orders).


def test_broken_json_line_and_unknown_kind(tmp_path: Path) -> None:
    path = tmp_path / "clinic.jsonl"
    good = orjson.dumps({"kind": "patient", **example_document()["patients"][0]})
    path.write_bytes(good + b"\n{not json\n" + b'{"kind": "invoice", "id": "X1"}\n')
    errors = _errors(path)
    broken = errors[0].pop("message")
    assert errors[0] == {"kind": "record", "source_id": None, "field": "(json)"}
    # then the JSON parser's own words, in parentheses
    assert broken is not None and broken.startswith("line 2: not valid JSON (")
    assert errors[1] == {
        "kind": "record",
        "source_id": "X1",
        "field": "kind",
        "message": "line 3: unknown kind 'invoice'; expected one of: patient, screening, course, session, observation",
    }
    assert [p.id for p in load(path).records()] == ["P001"]


def test_unreadable_file_raises_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as missing:
        load(tmp_path / "missing.json")
    assert str(missing.value) == "file 'missing.json': (path): no such file"
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(InputError) as not_json:
        load(broken)
    # then the JSON parser's own words, in parentheses
    assert str(not_json.value).startswith("file 'broken.json': (json): not valid JSON (")
