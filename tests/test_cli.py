"""The command line: exit codes, reports, help that teaches, no traceback for bad input.

Results go to files (``--out``, ``--report``) or stdout (``--format json``, ``schema``); what a
person reads (progress, summaries, problems) goes to stderr. Each test checks both streams.
"""

from __future__ import annotations

from pathlib import Path

import click
import orjson
import pytest

from meso_fhir.cli import main
from meso_fhir.errors import ExitCode

from .helpers import EXAMPLE, EXAMPLE_LINES, Document, example_export, invoke

MAPPED_EXAMPLE = (
    "mapped 68 of 68 records to 304 resources (2 AdverseEvent, 8 AllergyIntolerance, 1 Binary,"
    " 21 BodyStructure, 4 CarePlan, 2 Condition, 4 Consent, 23 Encounter, 2 Media,"
    " 49 MedicationAdministration, 3 MedicationStatement, 159 Observation, 1 Organization,"
    " 7 Patient, 2 Practitioner,"
    " 16 Procedure)"
)


def _command_paths() -> list[tuple[str, ...]]:
    """Every command, and every command of a group (``config show``)."""
    paths: list[tuple[str, ...]] = []
    for name, command in sorted(main.commands.items()):
        paths.append((name,))
        if isinstance(command, click.Group):
            paths += [(name, sub) for sub in sorted(command.commands)]
    return paths


def _runs(words: list[str], path: tuple[str, ...]) -> bool:
    """``words`` (an example's command line) run the command ``path``, options in between."""
    rest = iter(words[1:])
    return words[0] == "meso-fhir" and all(part in rest for part in path)


@pytest.mark.parametrize("path", _command_paths(), ids=" ".join)
def test_every_command_is_documented_with_a_runnable_example(path: tuple[str, ...]) -> None:
    result = invoke(*path, "--help")
    assert result.exit_code == ExitCode.OK
    assert result.stderr == ""
    assert "Example" in result.stdout
    lines = [line.split() for line in result.stdout.split("Example", 1)[1].splitlines()]
    assert any(_runs(words, path) for words in lines if words), result.stdout


def test_map_writes_a_bundle_and_a_report(tmp_path: Path) -> None:
    out, report_path = tmp_path / "b.json", tmp_path / "r.json"
    result = invoke("map", str(EXAMPLE_LINES), "--out", str(out), "--report", str(report_path))
    assert result.exit_code == ExitCode.OK
    assert result.stdout == ""
    assert result.stderr == f"{MAPPED_EXAMPLE} -> {out}\n"
    bundle = orjson.loads(out.read_bytes())
    assert bundle["type"] == "transaction" and len(bundle["entry"]) == 304
    report = orjson.loads(report_path.read_bytes())
    assert report == {
        "command": "map",
        "input": str(EXAMPLE_LINES),
        "output": str(out),
        "records_read": {
            "course": 4,
            "observation": 34,
            "patient": 7,
            "screening": 7,
            "session": 16,
        },
        "records_mapped": {
            "course": 4,
            "observation": 34,
            "patient": 7,
            "screening": 7,
            "session": 16,
        },
        "records_failed": 0,
        "resources": {
            "AdverseEvent": 2,
            "AllergyIntolerance": 8,
            "Binary": 1,
            "BodyStructure": 21,
            "CarePlan": 4,
            "Condition": 2,
            "Consent": 4,
            "Encounter": 23,
            "Media": 2,
            "MedicationAdministration": 49,
            "MedicationStatement": 3,
            "Observation": 159,
            "Organization": 1,
            "Patient": 7,
            "Practitioner": 2,
            "Procedure": 16,
        },
        "errors": [],
    }


def test_map_is_deterministic_byte_for_byte(tmp_path: Path) -> None:
    # the same records as a document and as lines, and the document twice
    for name, source in (("a", EXAMPLE), ("b", EXAMPLE_LINES), ("c", EXAMPLE)):
        result = invoke("map", str(source), "--out", str(tmp_path / f"{name}.json"))
        assert result.exit_code == ExitCode.OK
    first = (tmp_path / "a.json").read_bytes()
    assert len(orjson.loads(first)["entry"]) == 304
    assert (tmp_path / "b.json").read_bytes() == first
    assert (tmp_path / "c.json").read_bytes() == first


def test_map_with_a_bad_record_maps_the_rest_and_exits_3(tmp_path: Path) -> None:
    def bad_birth_date(doc: Document) -> None:
        doc["patients"][1]["birth_date"] = "1990-13-03"  # P002: screening S002 depends on it

    source = example_export(tmp_path, bad_birth_date)
    out, report_path = tmp_path / "b.json", tmp_path / "r.json"
    result = invoke("map", str(source), "--out", str(out), "--report", str(report_path))
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "invalid: patient 'P002': birth_date: Input should be a valid date or datetime, month value is outside expected range of 1-12",
        "invalid: screening 'S002': patient_id: patient 'P002' has errors, so this record cannot be sent either",
        "mapped 66 of 68 records to 284 resources (2 AdverseEvent, 7 AllergyIntolerance,"
        " 1 Binary, 21 BodyStructure, 4 CarePlan, 2 Condition, 4 Consent, 22 Encounter,"
        " 2 Media, 49 MedicationAdministration, 3 MedicationStatement, 142 Observation,"
        f" 1 Organization, 6 Patient, 2 Practitioner, 16 Procedure) -> {out}",
        "2 record(s) invalid: left out, listed above (exit 3)",
    ]
    report = orjson.loads(report_path.read_bytes())
    assert report["records_failed"] == 2
    assert sum(report["records_mapped"].values()) == 66
    # sync names them in the same words, with the prefix once ("invalid: invalid: ..." once)
    synced = invoke("sync", str(source), "--outbox", str(tmp_path / "outbox"))
    assert synced.exit_code == ExitCode.INVALID_INPUT
    assert [line for line in synced.stderr.splitlines() if "P002" in line] == (
        result.stderr.splitlines()[:2]
    )
    assert [(e["kind"], e["source_id"], e["field"]) for e in report["errors"]] == [
        ("patient", "P002", "birth_date"),
        ("screening", "S002", "patient_id"),
    ]
    # left out: P002's Patient and S002's 18 resources (the visit, 5 vital signs, 2 findings,
    # 9 contraindication answers, the eligibility decision)
    assert len(orjson.loads(out.read_bytes())["entry"]) == 304 - 1 - 19


def test_map_of_an_unreadable_file_exits_7(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    result = invoke("map", str(missing), "--out", str(tmp_path / "b.json"))
    assert result.exit_code == ExitCode.UNREADABLE_INPUT
    assert result.stdout == ""
    assert (
        result.stderr == f"error: cannot read {missing}: file 'nope.json': (path): no such file\n"
    )
    assert not (tmp_path / "b.json").exists()


def test_validate_passes_the_mapped_example_and_fails_a_broken_resource(tmp_path: Path) -> None:
    bundle_path = tmp_path / "b.json"
    assert invoke("map", str(EXAMPLE), "--out", str(bundle_path)).exit_code == ExitCode.OK
    result = invoke("validate", str(bundle_path))
    assert result.exit_code == ExitCode.OK
    assert result.stdout == ""
    assert result.stderr == "checked 304 resource(s): 0 error(s), 0 warning(s)\n"

    entries = orjson.loads(bundle_path.read_bytes())["entry"]
    patient = next(e["resource"] for e in entries if e["resource"]["resourceType"] == "Patient")
    patient["gender"] = "woman"  # not in the required AdministrativeGender binding
    broken = tmp_path / "p.json"
    broken.write_bytes(orjson.dumps(patient))
    result = invoke("validate", str(broken), "--format", "json")
    assert result.exit_code == ExitCode.NOT_CONFORMANT
    assert result.stderr == ""
    assert orjson.loads(result.stdout) == {
        "checked": 1,
        "errors": 1,
        "issues": [
            {
                "file": str(broken),
                "severity": "error",
                "resource_type": "Patient",
                "resource_id": None,
                "entry_index": None,
                "path": "Patient.gender",
                "rule": "binding",
                "message": "'woman' is not in the required ValueSet"
                " http://hl7.org/fhir/ValueSet/administrative-gender",
                "profile": None,
                "source": "meso-fhir",
            }
        ],
    }


def _large_bundle(tmp_path: Path) -> Path:
    """The mapped example four times over (over 1,000 entries, new fullUrls), two resources
    broken: the Patient of entry 5 and entry 900."""
    mapped = tmp_path / "b.json"
    assert invoke("map", str(EXAMPLE), "--out", str(mapped)).exit_code == ExitCode.OK
    bundle = orjson.loads(mapped.read_bytes())
    entries = bundle["entry"]
    once = orjson.dumps(entries)
    for copy in range(1, 4):
        for i, entry in enumerate(orjson.loads(once)):
            entry["fullUrl"] = f"urn:uuid:00000000-0000-4000-8000-{copy:04d}{i:08d}"
            entries.append(entry)
    assert entries[5]["resource"]["resourceType"] == "Patient"
    entries[5]["resource"]["gender"] = "woman"
    entries[900]["resource"]["nickname"] = "x"
    big = tmp_path / "big.json"
    big.write_bytes(orjson.dumps(bundle))
    return big


def test_validate_in_processes_reports_the_same(tmp_path: Path) -> None:
    big = _large_bundle(tmp_path)
    one = invoke("validate", str(big), "--format", "json")
    two = invoke("validate", str(big), "--format", "json", "--jobs", "2")
    assert one.exit_code == two.exit_code == ExitCode.NOT_CONFORMANT
    assert one.stdout == two.stdout
    report = orjson.loads(one.stdout)
    assert (report["checked"], report["errors"]) == (
        len(orjson.loads(big.read_bytes())["entry"]),
        2,
    )
    assert [(i["entry_index"], i["rule"]) for i in report["issues"]] == [
        (5, "binding"),
        (900, "unknown-element"),
    ]


def test_validate_reports_progress_only_when_asked(tmp_path: Path) -> None:
    big = _large_bundle(tmp_path)
    quiet = invoke("validate", str(big))
    assert "progress" not in quiet.stderr
    asked = invoke("validate", str(big), "--progress")
    lines = [line for line in asked.stderr.splitlines() if line.startswith("progress: ")]
    total = len(orjson.loads(big.read_bytes())["entry"])
    assert lines[-1] == f"progress: {total}/{total} resources (100%)"
    assert len(lines) == 11  # 0 %, then every 10 %
    assert asked.stdout == quiet.stdout


def test_schema_describes_both_forms() -> None:
    result = invoke("schema")
    assert result.exit_code == ExitCode.OK
    assert result.stderr == ""
    schema = orjson.loads(result.stdout)
    assert set(schema["properties"]) == {
        "patients",
        "screenings",
        "courses",
        "sessions",
        "observations",
    }
    assert schema["$defs"]["VolumeML"]["properties"]["unit"]["const"] == "mL"
    assert "Line" in schema["$defs"]


@pytest.mark.parametrize("source", [EXAMPLE, EXAMPLE_LINES], ids=["document", "lines"])
def test_an_export_on_standard_input_maps_as_the_file_does(tmp_path: Path, source: Path) -> None:
    """'-' reads standard input; its form is found from the first line."""
    from_file, from_stdin = tmp_path / "file.json", tmp_path / "stdin.json"
    assert invoke("map", str(source), "--out", str(from_file)).exit_code == ExitCode.OK
    # Photo paths are relative to the current folder for standard input, else --photo-dir.
    piped = invoke(
        "map", "-", "--out", str(from_stdin), "--photo-dir", str(source.parent),
        stdin=source.read_bytes(),
    )  # fmt: skip
    assert piped.exit_code == ExitCode.OK, piped.stderr
    assert from_stdin.read_bytes() == from_file.read_bytes()
    # sync reads it twice (checked, then mapped a chunk at a time): the spooled copy holds
    outbox = tmp_path / "outbox"
    synced = invoke(
        "sync", "-", "--outbox", str(outbox), "--photo-dir", str(source.parent),
        stdin=source.read_bytes(),
    )  # fmt: skip
    assert synced.exit_code == ExitCode.OK, synced.stderr
    # the clinic's bundle, then 301 entries, 250 a bundle
    assert "wrote 3 bundle(s) with 68 record(s)" in synced.stderr


@pytest.mark.parametrize(
    ("source", "form"), [(EXAMPLE, "json"), (EXAMPLE_LINES, "jsonl")], ids=["document", "lines"]
)
def test_a_name_that_says_no_form_is_read_by_its_content_or_format(
    tmp_path: Path, source: Path, form: str
) -> None:
    unnamed = tmp_path / "export.txt"
    unnamed.write_bytes(b"\xef\xbb\xbf\n" + source.read_bytes())  # a BOM, a blank line
    result = invoke("map", str(unnamed), "--out", str(tmp_path / "a.json"))
    assert result.exit_code == ExitCode.OK, result.stderr
    assert (tmp_path / "a.json").read_bytes() == invoke_map_bytes(source, tmp_path)
    other = "jsonl" if form == "json" else "json"
    wrong = invoke("map", str(unnamed), "--format", other, "--out", str(tmp_path / "b.json"))
    assert wrong.exit_code in (ExitCode.INVALID_INPUT, ExitCode.UNREADABLE_INPUT)


def invoke_map_bytes(source: Path, tmp_path: Path) -> bytes:
    out = tmp_path / "reference.json"
    assert invoke("map", str(source), "--out", str(out)).exit_code == ExitCode.OK
    return out.read_bytes()


def test_the_cli_offers_the_loaders_formats() -> None:
    from meso_fhir.cli import EXPORT_FORMATS
    from meso_fhir.model.loader import FORMS

    assert EXPORT_FORMATS == FORMS


def test_shell_completion_as_the_readme_gives_it() -> None:
    from click.testing import CliRunner

    runner = CliRunner(env={"_MESO_FHIR_COMPLETE": "bash_source"})
    result = runner.invoke(main, [], prog_name="meso-fhir")
    assert result.exit_code == 0
    assert "_meso_fhir_completion()" in result.stdout
    assert "complete -o nosort -F _meso_fhir_completion meso-fhir" in result.stdout
