"""Sync against a real FHIR server (the in-memory one, or MESO_FHIR_TEST_SERVER, e.g. HAPI).

Every test uses its own identifier systems, so tests never see each other's resources and the
same tests can run against a shared server that cannot be reset.
"""

from __future__ import annotations

import base64
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from meso_fhir.fhir import FhirClient
from meso_fhir.mapping import Mapped, MapSummary, map_records
from meso_fhir.mapping.identity import ClinicConfig, identifier_token, resource_id
from meso_fhir.model import Export, load
from meso_fhir.syncing import SyncOptions, SyncReport, plan
from meso_fhir.syncing.ledger import Ledger
from meso_fhir.syncing.plan import Item

from .fhir_server import FhirTestServer
from .helpers import (
    EXAMPLE_PHOTOS,
    PATIENT_FIELD,
    Change,
    Document,
    example_document,
    example_export,
    sync_file,
    unique_config,
)

pytestmark = pytest.mark.server

EXAMPLE_PHOTO = EXAMPLE_PHOTOS / "C001-S1-frontal.png"

# A small slice of the example: two treated patients, one contraindicated, with everything.
PATIENTS = ("P001", "P006", "P007")


def small_export(tmp_path: Path, change: Change | None = None) -> Path:
    return example_export(tmp_path, change, patients=PATIENTS)


@pytest.fixture
def config() -> ClinicConfig:
    return unique_config()


@pytest.fixture
def client(fhir_server: FhirTestServer) -> Iterator[FhirClient]:
    with FhirClient(fhir_server.base_url) as c:
        yield c


def run_sync(
    client: FhirClient,
    export: Path,
    state: Path,
    config: ClinicConfig,
    options: SyncOptions | None = None,
) -> SyncReport:
    return sync_file(export, client, config, state, options)


def on_server(client: FhirClient, config: ClinicConfig) -> dict[str, list[dict[str, Any]]]:
    """Every resource of this test's identifier systems, by type, found by identifier search."""
    found: dict[str, list[dict[str, Any]]] = {}
    doc = example_document()
    for patient in doc["patients"]:
        if patient["id"] in PATIENTS:
            token = identifier_token(config.mrn_system, patient["mrn"])
            found.setdefault("Patient", []).extend(client.search("Patient", {"identifier": token}))
    for resource_type, kind in (
        ("Observation", "screening"),
        ("Observation", "observation"),
        ("MedicationStatement", "screening"),
        ("CarePlan", "course"),
        ("Procedure", "session"),
        ("MedicationAdministration", "injection"),
        ("Encounter", "encounter"),
        ("BodyStructure", "injection"),
        ("Condition", "screening"),
        ("Condition", "session"),
        ("AllergyIntolerance", "screening"),
        ("AllergyIntolerance", "observation"),
        ("Practitioner", "practitioner"),
        ("Consent", "course"),
        ("Media", "session"),
    ):
        # token search on the system alone: every resource of that kind in this test
        found.setdefault(resource_type, []).extend(
            client.search(resource_type, {"identifier": f"{config.system(kind)}|", "_count": "200"})
        )
    clinic = identifier_token(config.system("clinic"), config.identifier_base)
    found["Organization"] = list(client.search("Organization", {"identifier": clinic}))
    # A Binary has no identifier to search by: read each the Media name.
    for media in found["Media"]:
        url = media["content"]["url"]
        if url.startswith("Binary/"):
            found.setdefault("Binary", []).append(client.read("Binary", url.split("/")[1]))
    return found


def example_keys(patients: set[str]) -> set[tuple[str, str]]:
    """(kind, source id) of every record of ``patients`` in the example."""
    doc = example_document()
    return {
        (list_name.removesuffix("s"), r["id"])
        for list_name, field in PATIENT_FIELD.items()
        for r in doc[list_name]
        if r[field] in patients
    }


def mapped_counts(export: Path, config: ClinicConfig) -> dict[str, int]:
    summary = MapSummary()
    for _ in map_records(load(export), config, summary):
        pass
    return dict(Counter(summary.resources))


def _identifiers(resources: list[dict[str, Any]]) -> list[str]:
    # a Binary has no identifier: its id is deterministic
    return sorted(
        f"{r['identifier'][0]['system']}|{r['identifier'][0]['value']}"
        if "identifier" in r
        else r["id"]
        for r in resources
    )


def _stats(fhir_server: FhirTestServer) -> int | None:
    stats = fhir_server.stats()
    return None if stats is None else stats["requests"]


def test_first_sync_lands_every_resource_once_and_resync_sends_nothing(
    fhir_server: FhirTestServer, client: FhirClient, config: ClinicConfig, tmp_path: Path
) -> None:
    export = small_export(tmp_path)
    first = run_sync(client, export, tmp_path / "state.sqlite", config)
    assert first.failures == []
    assert first.records == {"synced": 27, "unchanged": 0}
    assert first.requests == 2  # the clinic and its practitioner, then 27 records: one transaction
    expected = mapped_counts(export, config)
    assert {t: dict(c) for t, c in first.resources.items()} == {
        t: {"created": n} for t, n in expected.items()
    }
    landed = on_server(client, config)
    # the photo file's bytes landed as they are, guarded by the patient
    [binary] = landed["Binary"]
    assert base64.b64decode(binary["data"]) == EXAMPLE_PHOTO.read_bytes()
    assert binary["contentType"] == "image/png"
    assert binary["securityContext"]["reference"].startswith("Patient/")
    for resource_type, resources in landed.items():
        ids = _identifiers(resources)
        assert len(ids) == len(set(ids)), f"duplicate {resource_type}"
    assert {t: len(r) for t, r in landed.items() if r} == expected

    before = _stats(fhir_server)
    second = run_sync(client, export, tmp_path / "state.sqlite", config)
    assert second.records == {"unchanged": 27}
    assert {t: dict(c) for t, c in second.resources.items()} == {
        t: {"unchanged": n} for t, n in expected.items()
    }
    assert second.requests == 0
    if before is not None:
        assert _stats(fhir_server) == before  # not one request reached the server


def test_a_changed_record_updates_only_its_own_resources(
    fhir_server: FhirTestServer, client: FhirClient, config: ClinicConfig, tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite"
    run_sync(client, small_export(tmp_path), state, config)

    def new_pain_score(doc: Document) -> None:
        observation = next(o for o in doc["observations"] if o["id"] == "C001-S2-O1")
        observation["finding"]["score"] = 7

    report = run_sync(client, small_export(tmp_path, new_pain_score), state, config)
    assert report.records == {"synced": 1, "unchanged": 26}
    written = {
        (t, k): n for t, c in report.resources.items() for k, n in c.items() if k != "unchanged"
    }
    assert written == {("Observation", "updated"): 1}
    token = identifier_token(config.system("observation"), "C001-S2-O1")
    [changed] = client.search("Observation", {"identifier": token})
    assert changed["valueInteger"] == 7
    assert changed["meta"]["versionId"] != "1"
    token = identifier_token(config.system("observation"), "C001-S1-O1")
    [untouched] = client.search("Observation", {"identifier": token})
    assert untouched["meta"]["versionId"] == "1"


def test_one_invalid_record_fails_alone_and_the_rest_land(
    fhir_server: FhirTestServer,
    client: FhirClient,
    config: ClinicConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server rejects the whole transaction; sync splits it until the bad record is alone."""
    real = plan.item

    def corrupt_one(mapped: Mapped, export: Export, content_hash: str) -> Item:
        if (mapped.kind, mapped.source_id) == ("observation", "C006-S2-O2"):
            del mapped.resources[0]["code"]  # Observation.code is 1..1 in base R4
        return real(mapped, export, content_hash)

    monkeypatch.setattr(plan, "item", corrupt_one)
    report = run_sync(client, small_export(tmp_path), tmp_path / "state.sqlite", config)
    assert report.records == {"synced": 26, "failed": 1, "unchanged": 0}
    [failure] = report.failures
    assert (failure.kind, failure.source_id) == ("observation", "C006-S2-O2")
    assert "code" in failure.reason  # the server's own words
    assert failure.status in (400, 412, 422)
    if fhir_server.is_local:  # the in-memory server's words, exactly (HAPI has its own)
        assert failure.status == 400 and failure.at == ("Observation.code",)
        assert failure.reason.startswith("error structure: Bundle.entry[")
        assert failure.reason.endswith(
            "Missing required property at Observation.code (base R4) (at Observation.code)"
        )
    landed = on_server(client, config)
    assert len(landed["Procedure"]) == 7
    with Ledger.open(tmp_path / "state.sqlite") as ledger:
        state = ledger.record(("observation", "C006-S2-O2"))
        assert (
            state is not None and state.outcome == "failed" and "code" in (state.error_text or "")
        )
        assert ledger.counts()["observation"]["synced"] == 11


def test_must_exist_patient_policy_finds_the_ehr_patient_and_never_creates_one(
    fhir_server: FhirTestServer, client: FhirClient, config: ClinicConfig, tmp_path: Path
) -> None:
    # The EHR already has P001 (with its own id); P006 and P007 are unknown to it.
    ehr_patient = {
        "resourceType": "Patient",
        "identifier": [{"system": config.mrn_system, "value": "MRN-40021"}],
        "name": [{"family": "Laurent"}],
    }
    created = client.create(ehr_patient)
    report = run_sync(
        client,
        small_export(tmp_path),
        tmp_path / "state.sqlite",
        config,
        SyncOptions(patient_policy="must-exist"),
    )
    reasons = {(f.kind, f.source_id): f.reason for f in report.failures}
    # P006 and P007 and every record of theirs; nothing of P001
    assert set(reasons) == example_keys({"P006", "P007"})
    assert {r for k, r in reasons.items() if k[0] == "patient"} == {
        "no Patient with this MRN on the server (patient policy must-exist)"
    }
    assert reasons[("course", "C006")] == (
        "not sent: patient 'P006' is not on the server (patient policy must-exist)"
    )
    landed = on_server(client, config)
    assert [p["id"] for p in landed["Patient"]] == [created.id]  # none created
    [care_plan] = landed["CarePlan"]
    assert care_plan["subject"]["reference"] == f"Patient/{created.id}"


def test_dry_run_writes_bundles_and_touches_no_server(
    fhir_server: FhirTestServer, tmp_path: Path
) -> None:
    before = _stats(fhir_server)
    env = {**os.environ, "MESO_FHIR_SERVER": ""}
    export = small_export(tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "meso_fhir.cli",
            "sync",
            str(export),
            "--outbox",
            str(tmp_path / "outbox"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert (
        "no server configured (--server or MESO_FHIR_SERVER): dry run, nothing sent"
        in result.stderr.splitlines()
    )
    bundles = sorted((tmp_path / "outbox").glob("bundle-*.json"))
    assert [b.name for b in bundles] == ["bundle-00001.json", "bundle-00002.json"]
    clinics, entries = (orjson.loads(b.read_bytes())["entry"] for b in bundles)
    assert [e["resource"]["resourceType"] for e in clinics] == [
        "Organization",
        "Practitioner",
        "Provenance",
    ]
    # every mapped resource, then each bundle's Provenance (all new: one activity, create)
    assert len(clinics + entries) == sum(mapped_counts(export, ClinicConfig()).values()) + 2
    assert entries[-1]["resource"]["resourceType"] == "Provenance"
    # the records refer to the clinic's resources as a server will have them: by identifier
    visit = next(e["resource"] for e in entries if e["resource"]["resourceType"] == "Encounter")
    assert visit["serviceProvider"]["reference"] == clinics[0]["request"]["url"]
    assert not (tmp_path / "meso-fhir-state.sqlite").exists()
    if before is not None:
        assert _stats(fhir_server) == before


def test_withdrawn_record_becomes_entered_in_error(
    fhir_server: FhirTestServer, client: FhirClient, config: ClinicConfig, tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite"
    run_sync(client, small_export(tmp_path), state, config)

    def withdraw(doc: Document) -> None:
        next(o for o in doc["observations"] if o["id"] == "C001-S1-O2")["withdrawn"] = True

    report = run_sync(client, small_export(tmp_path, withdraw), state, config)
    assert report.records == {"withdrawn": 1, "unchanged": 26}
    [withdrawn] = client.search(
        "Observation", {"identifier": identifier_token(config.system("observation"), "C001-S1-O2")}
    )
    assert withdrawn["status"] == "entered-in-error"


def test_killed_mid_run_then_restarted_ends_complete_without_duplicates(
    fhir_server: FhirTestServer, client: FhirClient, config: ClinicConfig, tmp_path: Path
) -> None:
    """SIGKILL the CLI after the server has applied some bundles but not all."""
    export = small_export(tmp_path)
    state = tmp_path / "state.sqlite"
    cmd = [
        sys.executable, "-m", "meso_fhir.cli", "sync", str(export), "--server", fhir_server.base_url,
        "--state", str(state), "--batch-size", "1", "--concurrency", "1",
        "--mrn-system", config.mrn_system, "--identifier-base", config.identifier_base,
    ]  # fmt: skip
    errors = tmp_path / "stderr.txt"
    with errors.open("wb") as stderr:
        process = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=stderr)
    # Kill once the ledger shows some records synced, whatever the server's speed.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if state.exists():
            with Ledger.open(state) as ledger:
                if sum(c["synced"] for c in ledger.counts().values()) >= 3:
                    break
        time.sleep(0.02)
    assert process.poll() is None, (
        f"the run finished before it could be killed: {errors.read_text()}"
    )
    process.send_signal(signal.SIGKILL)
    process.wait()
    with Ledger.open(state) as ledger:
        interrupted = ledger.counts()
    assert 3 <= sum(c["synced"] for c in interrupted.values()) < 29

    report = run_sync(client, export, state, config, SyncOptions(batch_size=1))
    assert report.failures == []
    with Ledger.open(state) as ledger:
        # 27 records, the clinic and its practitioner
        assert sum(c["synced"] for c in ledger.counts().values()) == 29
        assert ledger.pending_keys() == []
    landed = on_server(client, config)
    for resources in landed.values():
        ids = _identifiers(resources)
        assert len(ids) == len(set(ids))
    assert len(landed["Procedure"]) == 7 and len(landed["Patient"]) == 3
    assert len(landed["Organization"]) == 1 and len(landed["Practitioner"]) == 1


def test_retry_failed_sends_only_what_failed(
    client: FhirClient, config: ClinicConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = plan.item
    state = tmp_path / "state.sqlite"

    def corrupt(mapped: Mapped, export: Export, content_hash: str) -> Item:
        if (mapped.kind, mapped.source_id) == ("course", "C006"):
            del mapped.resources[0]["subject"]
        return real(mapped, export, content_hash)

    with monkeypatch.context() as patch:
        patch.setattr(plan, "item", corrupt)
        first = run_sync(client, small_export(tmp_path), state, config)
    failed = {(f.kind, f.source_id) for f in first.failures}
    # the course, and its sessions and observations (which refer to it)
    assert failed == {("course", "C006")} | {
        key for key in example_keys({"P006"}) if key[1].startswith("C006-")
    }
    again = run_sync(client, small_export(tmp_path), state, config, SyncOptions(retry_failed=True))
    assert again.failures == []
    assert again.records["synced"] == len(failed)


def test_cli_sync_report_and_status(
    fhir_server: FhirTestServer, config: ClinicConfig, tmp_path: Path
) -> None:
    export = small_export(tmp_path)
    state = tmp_path / "state.sqlite"
    base = [sys.executable, "-m", "meso_fhir.cli"]
    ids = ["--mrn-system", config.mrn_system, "--identifier-base", config.identifier_base]
    result = subprocess.run(
        [*base, "sync", str(export), "--server", fhir_server.base_url, "--state", str(state), "--report", str(tmp_path / "r.json"), *ids],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    report = orjson.loads((tmp_path / "r.json").read_bytes())
    assert report["records"] == {"synced": 27, "unchanged": 0}
    assert report["failures"] == []
    status = subprocess.run(
        [*base, "status", "--state", str(state), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert status.returncode == 0
    listed = orjson.loads(status.stdout)
    assert listed["pending"] == [] and listed["failed"] == []
    assert [r["exit_code"] for r in listed["runs"]] == [0]
    counts = listed["counts"]
    assert counts["session"]["synced"] == 7 and counts["patient"]["synced"] == 3


# replace: the Patient too is written under its deterministic id (create-if-missing lets the
# server pick it, see test_unattended)
BY_ID = SyncOptions(strategy="id", patient_policy="replace")


def test_id_strategy_writes_resources_under_their_deterministic_ids(
    fhir_server: FhirTestServer, client: FhirClient, config: ClinicConfig, tmp_path: Path
) -> None:
    export = small_export(tmp_path)
    state = tmp_path / "state.sqlite"
    first = run_sync(client, export, state, config, BY_ID)
    assert first.failures == [] and first.records == {"synced": 27, "unchanged": 0}
    [care_plan] = client.search(
        "CarePlan", {"identifier": identifier_token(config.system("course"), "C001")}
    )
    assert care_plan["id"] == resource_id(config.system("course"), "C001")
    patient_id = resource_id(config.system("patient"), "P001")
    assert care_plan["subject"]["reference"] == f"Patient/{patient_id}"
    again = run_sync(client, export, state, config, BY_ID)
    assert again.requests == 0 and again.records == {"unchanged": 27}


def _drop_resources(doc: Document) -> None:
    """A medicine off a screening, an injection with laterality off a session, a laterality off
    an injection, and a withdrawn session that also lost an injection."""
    screening = next(s for s in doc["screenings"] if s["id"] == "S001")
    screening["medications"] = [m for m in screening["medications"] if m["medicine"] != "aspirin"]
    sessions = {s["id"]: s for s in doc["sessions"]}
    sessions["C001-S2"]["injections"] = [
        i for i in sessions["C001-S2"]["injections"] if i["id"] != "C001-S2-I2"
    ]
    next(i for i in sessions["C001-S3"]["injections"] if i["id"] == "C001-S3-I3").pop("laterality")
    sessions["C006-S3"]["withdrawn"] = True
    sessions["C006-S3"]["injections"] = [
        i for i in sessions["C006-S3"]["injections"] if i["id"] != "C006-S3-I2"
    ]


# What _drop_resources leaves stale: (type, identifier kind, identifier value).
RETRACTED = [
    ("MedicationStatement", "screening", "S001/medication-aspirin"),
    ("MedicationAdministration", "injection", "C001-S2-I2"),
    ("BodyStructure", "injection", "C001-S2-I2/site"),
    ("BodyStructure", "injection", "C001-S3-I3/site"),
    ("MedicationAdministration", "injection", "C006-S3-I2"),
    ("BodyStructure", "injection", "C006-S3-I2/site"),
]
CHANGED = [
    ("screening", "S001"),
    ("session", "C001-S2"),
    ("session", "C001-S3"),
    ("session", "C006-S3"),
]


def _versions(client: FhirClient, config: ClinicConfig) -> dict[tuple[str, str], tuple[str, str]]:
    """(type, identifier) → (server id, version) of everything on the server for this test."""
    return {
        (t, plan.identity_identifier(r)): (r["id"], r["meta"]["versionId"])
        for t, resources in on_server(client, config).items()
        for r in resources
    }


def test_resources_a_changed_record_no_longer_produces_are_deleted(
    fhir_server: FhirTestServer, client: FhirClient, config: ClinicConfig, tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite"
    run_sync(client, small_export(tmp_path), state, config)
    before = _versions(client, config)
    with Ledger.open(state) as ledger:
        owned_by_changed = {
            (r.resource_type, r.identifier)
            for key in CHANGED
            for r in ledger.resources(key, client.public_url)
        }
    changed = small_export(tmp_path, _drop_resources)

    report = run_sync(client, changed, state, config)
    assert report.failures == []
    assert report.records == {"synced": 3, "withdrawn": 1, "unchanged": 23}
    deleted = {t: c["deleted"] for t, c in report.resources.items() if c["deleted"]}
    assert deleted == {"MedicationStatement": 1, "MedicationAdministration": 2, "BodyStructure": 3}
    assert report.requests == 1  # in the records' own transaction
    for resource_type, kind, value in RETRACTED:
        token = identifier_token(config.system(kind), value)
        assert list(client.search(resource_type, {"identifier": token})) == [], value
    # The rest is as mapped: nothing else went, nothing is left over.
    after = _versions(client, config)
    assert Counter(t for t, _ in after) == mapped_counts(changed, config)
    with Ledger.open(state) as ledger:  # each record's current resources only
        for mapped in map_records(load(changed), config):
            listed = ledger.resources((mapped.kind, mapped.source_id), client.public_url)
            assert sorted((r.resource_type, r.identifier) for r in listed) == sorted(
                (r["resourceType"], plan.identity_identifier(r)) for r in mapped.resources
            )
    untouched = {k: v for k, v in before.items() if k not in owned_by_changed}
    assert {k: after.get(k) for k in untouched} == untouched  # same ids, same versions
    token = identifier_token(config.system("injection"), "C006-S3-I1")
    [kept] = client.search("MedicationAdministration", {"identifier": token})
    assert kept["status"] == "entered-in-error"  # the withdrawn session's other resources stay

    again = run_sync(client, changed, state, config)
    assert again.requests == 0 and again.records == {"unchanged": 27}


def _copy_ledger(source: Path, target: Path) -> None:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def test_deletes_resent_after_a_run_killed_before_recording_them_succeed(
    client: FhirClient, config: ClinicConfig, tmp_path: Path
) -> None:
    """The server applied the deletes, the ledger never heard: the next run deletes again,
    finds nothing, and that is no failure (a second DELETE by id would be 410 on Medplum)."""
    state, saved = tmp_path / "state.sqlite", tmp_path / "saved.sqlite"
    run_sync(client, example_export(tmp_path, patients={"P001"}), state, config)
    _copy_ledger(state, saved)

    def no_aspirin(doc: Document) -> None:
        doc["screenings"][0]["medications"] = []

    changed = example_export(tmp_path, no_aspirin, patients={"P001"}, name="changed.json")
    assert run_sync(client, changed, state, config).resources["MedicationStatement"] == {
        "deleted": 1
    }
    _copy_ledger(saved, state)  # as if killed before the outcome was recorded
    again = run_sync(client, changed, state, config)
    assert again.failures == [] and again.records == {"synced": 1, "unchanged": 12}
    assert again.resources["MedicationStatement"] == {"deleted": 1}
    with Ledger.open(state) as ledger:
        listed = ledger.resources(("screening", "S001"), client.public_url)
    assert "MedicationStatement" not in {r.resource_type for r in listed}
