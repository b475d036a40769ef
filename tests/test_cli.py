"""The command line: exit codes, reports, help that teaches, no traceback for bad input."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from meso_fhir.cli import main
from meso_fhir.errors import ExitCode

from .helpers import EXAMPLE, EXAMPLE_LINES, example_document


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


@pytest.mark.parametrize("command", sorted(main.commands))  # type: ignore[attr-defined]
def test_every_command_is_documented_with_a_runnable_example(command: str) -> None:
    code, output = invoke(command, "--help")
    assert code == 0
    assert "Example" in output and f"meso-fhir {command}" in output


def test_map_writes_a_bundle_and_a_report(tmp_path: Path) -> None:
    code, output = invoke(
        "map",
        str(EXAMPLE_LINES),
        "--out",
        str(tmp_path / "b.json"),
        "--report",
        str(tmp_path / "r.json"),
    )
    assert code == ExitCode.OK
    bundle = orjson.loads((tmp_path / "b.json").read_bytes())
    assert bundle["type"] == "transaction" and len(bundle["entry"]) == 238
    report = orjson.loads((tmp_path / "r.json").read_bytes())
    assert report["records_mapped"] == {
        "course": 4,
        "observation": 34,
        "patient": 7,
        "screening": 7,
        "session": 16,
    }
    assert report["resources"] == {
        "CarePlan": 4,
        "MedicationAdministration": 49,
        "MedicationStatement": 3,
        "Observation": 159,
        "Patient": 7,
        "Procedure": 16,
    }
    assert "mapped 68 of 68 records to 238 resources" in output


def test_map_is_deterministic_byte_for_byte(tmp_path: Path) -> None:
    invoke("map", str(EXAMPLE), "--out", str(tmp_path / "a.json"))
    invoke("map", str(EXAMPLE_LINES), "--out", str(tmp_path / "b.json"))
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_map_with_a_bad_record_maps_the_rest_and_exits_3(tmp_path: Path) -> None:
    doc = example_document()
    doc["patients"][1]["birth_date"] = "1990-13-03"  # P002: screening S002 depends on it
    source = tmp_path / "clinic.json"
    source.write_bytes(orjson.dumps(doc))
    code, output = invoke(
        "map", str(source), "--out", str(tmp_path / "b.json"), "--report", str(tmp_path / "r.json")
    )
    assert code == ExitCode.INVALID_INPUT
    assert (
        "invalid: patient 'P002': birth_date: Input should be a valid date or datetime, month value is outside expected range"
        in output
    )
    assert (
        "invalid: screening 'S002': patient_id: patient 'P002' has errors, so this record cannot be sent either"
        in output
    )
    assert "Traceback" not in output
    report = orjson.loads((tmp_path / "r.json").read_bytes())
    assert report["records_failed"] == 2
    assert sum(report["records_mapped"].values()) == 66
    # left out: P002's Patient and S002's 17 resources (5 vital signs, 2 findings,
    # 9 contraindication answers, the eligibility decision)
    assert len(orjson.loads((tmp_path / "b.json").read_bytes())["entry"]) == 238 - 1 - 17


def test_map_of_an_unreadable_file_exits_7(tmp_path: Path) -> None:
    code, output = invoke("map", str(tmp_path / "nope.json"))
    assert code == ExitCode.UNREADABLE_INPUT
    assert "no such file" in output


def test_validate_passes_the_mapped_example_and_fails_a_broken_resource(tmp_path: Path) -> None:
    invoke("map", str(EXAMPLE), "--out", str(tmp_path / "b.json"))
    code, output = invoke("validate", str(tmp_path / "b.json"))
    assert code == ExitCode.OK
    assert "checked 238 resource(s): 0 error(s)" in output
    bundle = orjson.loads((tmp_path / "b.json").read_bytes())
    patient = bundle["entry"][0]["resource"]
    patient["gender"] = "woman"  # not in the required AdministrativeGender binding
    (tmp_path / "p.json").write_bytes(orjson.dumps(patient))
    code, output = invoke("validate", str(tmp_path / "p.json"), "--format", "json")
    assert code == ExitCode.NOT_CONFORMANT
    issues = orjson.loads(output[: output.rindex("}") + 1])["issues"]
    assert any(i["path"] == "Patient.gender" for i in issues)


def test_schema_describes_both_forms() -> None:
    code, output = invoke("schema")
    assert code == ExitCode.OK
    schema = orjson.loads(output)
    assert set(schema["properties"]) == {
        "patients",
        "screenings",
        "courses",
        "sessions",
        "observations",
    }
    assert schema["$defs"]["VolumeML"]["properties"]["unit"]["const"] == "mL"
    assert "Line" in schema["$defs"]
