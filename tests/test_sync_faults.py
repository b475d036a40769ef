"""Sync when the server misbehaves in ways the in-memory server cannot show (pytest-httpx)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from pytest_httpx import HTTPXMock

from meso_fhir.errors import ExitCode
from meso_fhir.fhir import FhirClient, RetryPolicy
from meso_fhir.mapping.identity import ClinicConfig
from meso_fhir.model import load
from meso_fhir.syncing import Ledger, SyncOptions, SyncReport, sync

from .helpers import example_document

BASE = "http://fhir.test/fhir"
FIXED = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=-5)))


def one_patient_export(tmp_path: Path) -> Path:
    """P006: patient, screening, course, 3 sessions, 6 observations = 12 records."""
    doc = example_document()
    for name in ("patients", "screenings", "courses", "sessions", "observations"):
        key = "id" if name == "patients" else "patient_id"
        doc[name] = [r for r in doc[name] if r[key] == "P006"]
    path = tmp_path / "clinic.json"
    path.write_bytes(orjson.dumps(doc))
    return path


def run(tmp_path: Path, export: Path | None = None, **options: Any) -> SyncReport:
    client = FhirClient(
        BASE,
        retry=RetryPolicy(max_attempts=3, base_delay=0.1, deadline=None),
        sleep=lambda _s: None,
    )
    with client:
        return sync(
            load(export or one_patient_export(tmp_path)),
            client,
            ClinicConfig(),
            tmp_path / "state.sqlite",
            SyncOptions(concurrency=1, **options),
            now=lambda: FIXED,
        )


def transaction_response(request: httpx.Request) -> httpx.Response:
    bundle = orjson.loads(request.content)
    entries = [
        {
            "response": {
                "status": "201 Created",
                "location": f"{e['request']['url'].split('?')[0]}/s{i}/_history/1",
            }
        }
        for i, e in enumerate(bundle["entry"])
    ]
    return httpx.Response(
        200, json={"resourceType": "Bundle", "type": "transaction-response", "entry": entries}
    )


def outcome(status: int, text: str, expression: str | None = None) -> httpx.Response:
    issue: dict[str, Any] = {"severity": "error", "code": "invalid", "diagnostics": text}
    if expression:
        issue["expression"] = [expression]
    return httpx.Response(status, json={"resourceType": "OperationOutcome", "issue": [issue]})


def test_rejected_transaction_is_split_until_the_bad_record_is_alone(
    tmp_path: Path, httpx_mock: HTTPXMock
) -> None:
    sizes: list[int] = []

    def server(request: httpx.Request) -> httpx.Response:
        bundle = orjson.loads(request.content)
        sizes.append(len(bundle["entry"]))
        urls = [e["request"]["url"] for e in bundle["entry"]]
        if any(u.endswith("|C006-S2-O1") for u in urls):
            return outcome(400, "HAPI-0450: bad value", "Bundle.entry[3].resource.valueInteger")
        return transaction_response(request)

    httpx_mock.add_callback(server, method="POST", url=BASE, is_reusable=True)
    report = run(tmp_path)
    assert report.records == {"synced": 11, "failed": 1, "unchanged": 0}
    assert [f.as_dict() for f in report.failures] == [
        {
            "kind": "observation",
            "source_id": "C006-S2-O1",
            "error": "error invalid: HAPI-0450: bad value (at Bundle.entry[3].resource.valueInteger)",
            "status": 400,
            "at": ["Bundle.entry[3].resource.valueInteger"],
        }
    ]
    # whole bundle, then halves down to the record: every request is one the job needed
    assert sizes[0] == sum(sizes[1:3]) and len(sizes) == report.requests
    assert report.exit_code == ExitCode.SYNC_FAILED_RECORDS
    with Ledger.open(tmp_path / "state.sqlite") as ledger:
        state = ledger.record(("observation", "C006-S2-O1"))
        assert state is not None and state.outcome == "failed"
        assert (
            state.error_text
            == "error invalid: HAPI-0450: bad value (at Bundle.entry[3].resource.valueInteger)"
        )


def test_server_down_stops_the_job_and_leaves_records_pending(
    tmp_path: Path, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(method="POST", url=BASE, status_code=503, is_reusable=True)
    report = run(tmp_path)
    assert report.aborted is not None and "503" in report.aborted
    assert report.exit_code == ExitCode.SYNC_ABORTED
    assert len(httpx_mock.get_requests()) == 3  # the client's attempts, then the job stops
    with Ledger.open(tmp_path / "state.sqlite") as ledger:
        assert len(ledger.pending_keys()) == 12  # the next run sends them
        assert ledger.counts()["patient"] == {
            "pending": 1,
            "synced": 0,
            "failed": 0,
            "withdrawn": 0,
        }


def test_503_then_success_lands_everything(tmp_path: Path, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(method="POST", url=BASE, status_code=503, headers={"Retry-After": "1"})
    httpx_mock.add_callback(transaction_response, method="POST", url=BASE)
    report = run(tmp_path)
    assert report.records == {"synced": 12, "unchanged": 0}
    assert report.aborted is None


def test_dropped_connection_then_success(tmp_path: Path, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(
        httpx.RemoteProtocolError("Server disconnected"), method="POST", url=BASE
    )
    httpx_mock.add_callback(transaction_response, method="POST", url=BASE)
    report = run(tmp_path)
    assert report.records == {"synced": 12, "unchanged": 0}


def test_conflict_is_tried_once_more(tmp_path: Path, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        method="POST",
        url=BASE,
        status_code=409,
        json={"resourceType": "OperationOutcome", "issue": []},
    )
    httpx_mock.add_callback(transaction_response, method="POST", url=BASE)
    report = run(tmp_path)
    assert report.records == {"synced": 12, "unchanged": 0}
    assert report.requests == 2


def test_malformed_response_fails_the_bundle_without_splitting(
    tmp_path: Path, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        method="POST", url=BASE, status_code=200, text="<html>proxy error</html>"
    )
    report = run(tmp_path)
    assert report.records == {"failed": 12, "unchanged": 0}
    assert len(httpx_mock.get_requests()) == 1
    assert all("not JSON" in f.reason or "JSON" in f.reason for f in report.failures)


def test_authentication_failure_stops_the_job_without_leaking_the_token(
    tmp_path: Path, httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from meso_fhir.cli import main

    secret = "tok-SECRET-4711"
    monkeypatch.setenv("EHR_TOKEN", secret)
    httpx_mock.add_response(
        method="POST",
        url=BASE,
        status_code=401,
        json={
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "login", "diagnostics": "token expired"}],
        },
    )
    export = one_patient_export(tmp_path)
    report_path = tmp_path / "report.json"
    result = CliRunner().invoke(
        main,
        [
            "sync",
            str(export),
            "--server",
            BASE,
            "--token-env",
            "EHR_TOKEN",
            "--state",
            str(tmp_path / "s.sqlite"),
            "--report",
            str(report_path),
        ],
    )
    assert result.exit_code == ExitCode.SYNC_ABORTED
    assert "token expired" in result.output
    assert httpx_mock.get_requests()[0].headers["Authorization"] == f"Bearer {secret}"
    assert secret not in result.output
    assert secret not in report_path.read_text()
    assert secret.encode() not in (tmp_path / "s.sqlite").read_bytes()


def test_a_second_sync_on_the_same_ledger_refuses_to_start(tmp_path: Path) -> None:
    import fcntl

    from click.testing import CliRunner

    from meso_fhir.cli import main

    state = tmp_path / "s.sqlite"
    with open(tmp_path / "s.sqlite.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = CliRunner().invoke(
            main,
            ["sync", str(one_patient_export(tmp_path)), "--server", BASE, "--state", str(state)],
        )
    assert result.exit_code == ExitCode.LEDGER_BUSY
    assert "another meso-fhir sync is using" in result.output
    assert not state.exists()


def test_server_token_and_options_come_from_the_environment(
    tmp_path: Path, httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from meso_fhir.cli import main

    monkeypatch.setenv("MESO_FHIR_SERVER", BASE)
    monkeypatch.setenv("MESO_FHIR_TOKEN", "tok-ENV-1234")
    monkeypatch.setenv("MESO_FHIR_BATCH_SIZE", "20")
    monkeypatch.setenv("MESO_FHIR_STATE", str(tmp_path / "env.sqlite"))
    httpx_mock.add_callback(transaction_response, method="POST", url=BASE, is_reusable=True)
    result = CliRunner().invoke(main, ["sync", str(one_patient_export(tmp_path))])
    assert result.exit_code == 0, result.output
    requests = httpx_mock.get_requests()
    assert {r.headers["Authorization"] for r in requests} == {"Bearer tok-ENV-1234"}
    assert max(len(orjson.loads(r.content)["entry"]) for r in requests) <= 20
    assert len(requests) == 2  # 12 records, 35 resources: two bundles of at most 20
    assert (tmp_path / "env.sqlite").exists()
    assert "tok-ENV-1234" not in result.output


def test_invalid_input_is_recorded_and_the_rest_is_sent(
    tmp_path: Path, httpx_mock: HTTPXMock
) -> None:

    httpx_mock.add_callback(transaction_response, method="POST", url=BASE)
    doc = orjson.loads(one_patient_export(tmp_path).read_bytes())
    doc["observations"][0]["finding"]["score"] = 11  # pain is 0-10
    (tmp_path / "clinic.json").write_bytes(orjson.dumps(doc))
    report = run(tmp_path, tmp_path / "clinic.json")
    with Ledger.open(tmp_path / "state.sqlite") as ledger:
        state = ledger.record(("observation", "C006-S1-O1"))
    assert report.records == {"invalid": 1, "synced": 11, "unchanged": 0}
    assert [f.as_dict() for f in report.failures] == [
        {
            "kind": "observation",
            "source_id": "C006-S1-O1",
            "field": "finding.pain.score",
            "error": "Input should be less than or equal to 10",
        }
    ]
    assert report.exit_code == ExitCode.INVALID_INPUT
    assert state is not None and state.outcome == "failed"
    assert (
        state.error_text
        == "invalid input: finding.pain.score: Input should be less than or equal to 10"
    )


def test_logs_carry_keys_and_counts_never_patient_data(
    tmp_path: Path, httpx_mock: HTTPXMock, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    def server(request: httpx.Request) -> httpx.Response:
        bundle = orjson.loads(request.content)
        if any(e["request"]["url"].endswith("|C006-S1-O2") for e in bundle["entry"]):
            return outcome(400, "value 'Benali MRN-40026' rejected")  # a server quoting PHI
        return transaction_response(request)

    httpx_mock.add_callback(server, method="POST", url=BASE, is_reusable=True)
    with caplog.at_level(logging.DEBUG, logger="meso_fhir"):
        report = run(tmp_path)
    assert report.records["failed"] == 1
    assert "C006-S1-O2" in caplog.text and "failed (status 400)" in caplog.text
    for phi in ("Benali", "Nadia", "MRN-40026", "1975-02-19"):
        assert phi not in caplog.text


def test_large_exports_are_mapped_a_chunk_of_patients_at_a_time(
    tmp_path: Path, httpx_mock: HTTPXMock
) -> None:
    from .helpers import EXAMPLE_LINES

    patients_per_request: list[set[str]] = []

    def server(request: httpx.Request) -> httpx.Response:
        bundle = orjson.loads(request.content)
        subjects = {
            e["resource"].get("subject", {}).get("reference", e["fullUrl"]) for e in bundle["entry"]
        }
        patients_per_request.append(subjects)
        return transaction_response(request)

    httpx_mock.add_callback(server, method="POST", url=BASE, is_reusable=True)
    report = run(tmp_path, EXAMPLE_LINES, chunk_records=1)  # every patient a chunk of its own
    assert report.records == {"synced": 68, "unchanged": 0}
    assert report.requests == 7  # one chunk, and here one bundle, per patient
    assert all(len(subjects) == 1 for subjects in patients_per_request)


def test_must_exist_looks_up_many_mrns_in_one_search(tmp_path: Path, httpx_mock: HTTPXMock) -> None:
    from .helpers import EXAMPLE_LINES

    searches: list[str] = []

    def patients(request: httpx.Request) -> httpx.Response:
        query = request.url.params["identifier"]
        searches.append(query)
        tokens = query.split(",")
        # The EHR knows MRN-40021 once and MRN-40025 twice (a duplicate patient).
        found = [
            {
                "resourceType": "Patient",
                "id": f"ehr-{i}-{n}",
                "identifier": [{"system": t.split("|")[0], "value": t.split("|")[1]}],
            }
            for i, t in enumerate(tokens)
            for n in range({"MRN-40021": 1, "MRN-40025": 2}.get(t.split("|")[1], 0))
        ]
        return httpx.Response(
            200,
            json={
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": r} for r in found],
            },
        )

    httpx_mock.add_callback(patients, method="GET", is_reusable=True)
    httpx_mock.add_callback(transaction_response, method="POST", url=BASE, is_reusable=True)
    report = run(tmp_path, EXAMPLE_LINES, patient_policy="must-exist")
    assert len(searches) == 1 and len(searches[0].split(",")) == 7
    failed_patients = sorted(f.source_id for f in report.failures if f.kind == "patient")
    assert failed_patients == ["P002", "P003", "P004", "P005", "P006", "P007"]
    reasons = {f.source_id: f.reason for f in report.failures if f.kind == "patient"}
    assert (
        reasons["P005"]
        == "several Patients have this MRN on the server (patient policy must-exist)"
    )
    assert report.records["matched"] == 1
    # P001's screening, course, 4 sessions and 6 observations
    assert report.records["synced"] == 12
