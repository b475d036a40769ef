"""Running unattended against a hospital's EHR: its Patients stay its own.

Against the real test server: a Patient the EHR already has (with data the clinic does not
know: an address, another identifier) must come out of every default sync exactly as it went
in, whatever the write strategy, and the clinic's records must land on it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from meso_fhir import ClinicConfig, FhirClient, SyncOptions, SyncReport, load, sync
from meso_fhir.mapping.identity import identifier_token

from .helpers import example_document

pytestmark = pytest.mark.server

MRN = "MRN-40021"  # P001's MRN in the example


@pytest.fixture
def config() -> ClinicConfig:
    run = uuid.uuid4().hex[:12]
    return ClinicConfig(
        mrn_system=f"https://hospital.example.org/fhir/sid/mrn-{run}",
        identifier_base=f"https://clinic.example.org/fhir/sid/{run}",
    )


@pytest.fixture
def client(fhir_server: Any) -> Iterator[FhirClient]:
    with FhirClient(fhir_server.base_url) as c:
        yield c


def one_patient(tmp_path: Path, withdrawn: bool = False) -> Path:
    doc = example_document()
    for list_name in ("patients", "screenings", "courses", "sessions", "observations"):
        key = "id" if list_name == "patients" else "patient_id"
        doc[list_name] = [r for r in doc[list_name] if r[key] == "P001"]
    if withdrawn:
        doc["patients"][0]["withdrawn"] = True
    path = tmp_path / f"clinic-{withdrawn}.json"
    path.write_bytes(orjson.dumps(doc))
    return path


def ehr_patient(client: FhirClient, config: ClinicConfig) -> dict[str, Any]:
    """The hospital's own Patient for P001's MRN, with what only the hospital knows."""
    patient = {
        "resourceType": "Patient",
        "identifier": [
            {"system": config.mrn_system, "value": MRN},
            {"system": "https://hospital.example.org/fhir/sid/insurance", "value": "INS-77"},
        ],
        "name": [{"family": "Martin", "given": ["Claire"]}],
        "address": [{"line": ["3 rue des Lilas"], "city": "Lyon", "postalCode": "69003"}],
        "active": True,
    }
    result = client.create(patient)
    assert result.id is not None
    return client.read("Patient", result.id)


def patients_with_mrn(client: FhirClient, config: ClinicConfig) -> list[dict[str, Any]]:
    query = {"identifier": identifier_token(config.mrn_system, MRN)}
    return list(client.search("Patient", query))


def run(
    client: FhirClient, export: Path, state: Path, config: ClinicConfig, **options: Any
) -> SyncReport:
    return sync(load(export), client, config, state, SyncOptions(**options))


@pytest.mark.parametrize("strategy", ["conditional", "id"])
def test_the_default_never_changes_the_ehrs_patient_and_lands_on_it(
    client: FhirClient, config: ClinicConfig, tmp_path: Path, strategy: str
) -> None:
    before = ehr_patient(client, config)
    report = run(client, one_patient(tmp_path), tmp_path / "s.sqlite", config, strategy=strategy)
    assert report.failures == []
    assert report.resources["Patient"] == {"existing": 1}
    [after] = patients_with_mrn(client, config)  # no second Patient with the EHR's MRN
    assert after == before  # not a byte changed: same version, address, identifiers
    [plan] = client.search(
        "CarePlan", {"identifier": identifier_token(config.system("course"), "C001")}
    )
    assert plan["subject"]["reference"] == f"Patient/{before['id']}"


def test_the_default_creates_a_patient_the_ehr_does_not_have(
    client: FhirClient, config: ClinicConfig, tmp_path: Path
) -> None:
    report = run(client, one_patient(tmp_path), tmp_path / "s.sqlite", config)
    assert report.resources["Patient"] == {"created": 1}
    [created] = patients_with_mrn(client, config)
    mrn = created["identifier"][0]
    assert (mrn["system"], mrn["value"], mrn["type"]["coding"][0]["code"]) == (
        config.mrn_system,
        MRN,
        "MR",
    )
    again = run(client, one_patient(tmp_path), tmp_path / "s.sqlite", config, full=True)
    assert again.resources["Patient"] == {"existing": 1}  # a replay finds it, creates nothing
    assert len(patients_with_mrn(client, config)) == 1


def test_withdrawing_a_patient_never_touches_the_ehrs_patient(
    client: FhirClient, config: ClinicConfig, tmp_path: Path
) -> None:
    before = ehr_patient(client, config)
    state = tmp_path / "s.sqlite"
    run(client, one_patient(tmp_path), state, config)
    report = run(client, one_patient(tmp_path, withdrawn=True), state, config)
    assert report.failures == []
    assert report.records["withdrawn"] == 1
    assert report.resources["Patient"] == {"left as it is": 1}
    assert client.read("Patient", before["id"]) == before  # still active, still the EHR's


def test_replace_is_the_explicit_way_to_overwrite_the_ehrs_patient(
    client: FhirClient, config: ClinicConfig, tmp_path: Path
) -> None:
    before = ehr_patient(client, config)
    report = run(
        client, one_patient(tmp_path), tmp_path / "s.sqlite", config, patient_policy="replace"
    )
    assert report.resources["Patient"] == {"updated": 1}
    [after] = patients_with_mrn(client, config)
    assert after["id"] == before["id"]
    assert "address" not in after  # what --help warns about: the clinic's Patient replaced it
