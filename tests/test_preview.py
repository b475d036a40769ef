"""sync --dry-run against a server: the plan per record, and not a single write."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from meso_fhir import ClinicConfig, FhirClient, load, sync
from meso_fhir.cli import main
from meso_fhir.mapping.identity import identifier_token
from meso_fhir.syncing import preview

from .helpers import example_document

pytestmark = pytest.mark.server


def one_patient(tmp_path: Path, pain: int | None = None) -> Path:
    doc = example_document()
    for list_name in ("patients", "screenings", "courses", "sessions", "observations"):
        key = "id" if list_name == "patients" else "patient_id"
        doc[list_name] = [r for r in doc[list_name] if r[key] == "P001"]
    if pain is not None:
        finding = next(o for o in doc["observations"] if o["finding"]["type"] == "pain")
        finding["finding"]["score"] = pain
    path = tmp_path / f"p001-{pain}.json"
    path.write_bytes(orjson.dumps(doc))
    return path


@pytest.fixture
def config() -> ClinicConfig:
    run = uuid.uuid4().hex[:12]
    return ClinicConfig(
        mrn_system=f"https://hospital.example.org/mrn-{run}",
        identifier_base=f"https://clinic.example.org/ids-{run}",
    )


def test_a_preview_plans_every_record_and_writes_nothing(
    fhir_server: Any, config: ClinicConfig, tmp_path: Path
) -> None:
    state = tmp_path / "s.sqlite"
    export = load(one_patient(tmp_path))
    with FhirClient(fhir_server.base_url) as client:
        before = fhir_server.stats()
        plan = preview(export, client, config, state)
        after = fhir_server.stats()
        assert {a["action"] for a in plan.actions} == {"create"}
        # every record, after the clinic and its practitioner (sent first)
        assert [a["kind"] for a in plan.actions[:2]] == ["clinic", "practitioner"]
        assert len(plan.actions) == sum(export.counts.values()) + 2
        if before is not None and after is not None:  # the local server counts its requests
            writes = {k: v for k, v in after["by_method"].items() if k != "GET"}
            assert writes == {k: v for k, v in before["by_method"].items() if k != "GET"}
        query = {"identifier": identifier_token(config.mrn_system, "MRN-40021")}
        assert list(client.search("Patient", query)) == []  # not created
        sync(export, client, config, state)
        changed = load(one_patient(tmp_path, pain=9))
        again = preview(changed, client, config, state)
    assert again.actions == [{"kind": "observation", "source_id": "C001-S1-O1", "action": "update"}]
    assert again.report.records["unchanged"] == sum(export.counts.values()) - 1


def test_the_cli_preview_names_the_records_that_would_fail(
    fhir_server: Any, config: ClinicConfig, tmp_path: Path
) -> None:
    report = tmp_path / "preview.json"
    result = CliRunner().invoke(
        main,
        [
            "sync", str(one_patient(tmp_path)), "--server", fhir_server.base_url, "--dry-run",
            "--state", str(tmp_path / "s.sqlite"), "--patient-policy", "must-exist",
            "--mrn-system", config.mrn_system, "--identifier-base", config.identifier_base,
            "--report", str(report),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "fail            patient 'P001': no Patient with this MRN on the server" in result.stdout
    data = orjson.loads(report.read_bytes())
    assert {a["action"] for a in data["preview"]} == {"fail"}
    assert "dry run, nothing written: would" in result.stderr


def test_a_preview_names_what_a_changed_record_would_delete(
    fhir_server: Any, config: ClinicConfig, tmp_path: Path
) -> None:
    state = tmp_path / "s.sqlite"
    with FhirClient(fhir_server.base_url) as client:
        sync(load(one_patient(tmp_path)), client, config, state)
    doc = orjson.loads(one_patient(tmp_path).read_bytes())
    doc["screenings"][0]["medications"] = []  # aspirin is no longer taken
    changed = tmp_path / "no-aspirin.json"
    changed.write_bytes(orjson.dumps(doc))
    report = tmp_path / "preview.json"
    before = fhir_server.stats()
    result = CliRunner().invoke(
        main,
        [
            "sync", str(changed), "--server", fhir_server.base_url, "--dry-run",
            "--state", str(state), "--report", str(report),
            "--mrn-system", config.mrn_system, "--identifier-base", config.identifier_base,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "update          screening 'S001'; would delete MedicationStatement 'S001/medication-aspirin'"
    ]
    assert "would 1 update, delete 1 stale resource(s); 12 unchanged" in result.stderr
    data = orjson.loads(report.read_bytes())
    [action] = data["preview"]
    assert action["delete"] == [
        {"resourceType": "MedicationStatement", "identifier": "S001/medication-aspirin"}
    ]
    assert data["resources"]["MedicationStatement"] == {"would delete": 1}
    after = fhir_server.stats()
    if before is not None and after is not None:
        assert {k: v for k, v in after["by_method"].items() if k != "GET"} == {
            k: v for k, v in before["by_method"].items() if k != "GET"
        }
    with FhirClient(fhir_server.base_url) as client:
        token = identifier_token(config.system("screening"), "S001/medication-aspirin")
        assert len(list(client.search("MedicationStatement", {"identifier": token}))) == 1
