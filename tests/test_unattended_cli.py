"""What a cron job meets: wrong URLs, stalled or refusing servers, Ctrl-C, odd ledgers, floods.

Each test reproduces a defect found by running meso-fhir as a new user would; each would have
failed before the fix. Servers are pytest-httpx mocks: what a real one cannot show on demand.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner, Result
from pytest_httpx import HTTPXMock

from meso_fhir import ClinicConfig, FhirClient, SyncOptions, SyncReport, load, sync
from meso_fhir.cli import main
from meso_fhir.errors import ExitCode
from meso_fhir.syncing import Ledger

from .helpers import EXAMPLE, EXAMPLE_LINES, example_document, transaction_response

BASE = "https://ehr.example/fhir"
METADATA = f"{BASE}/metadata?_elements=fhirVersion"  # what a sync's preflight asks
CAPABILITY = {"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1", "status": "active"}
MRNS = [p["mrn"] for p in example_document()["patients"]]


@pytest.fixture
def metadata(httpx_mock: HTTPXMock) -> HTTPXMock:
    httpx_mock.add_response(method="GET", url=METADATA, json=CAPABILITY, is_reusable=True)
    return httpx_mock


# Syncing with a server needs the identity settings spelled out.
IDENTITY = (
    "--mrn-system", "https://hospital.example.org/fhir/sid/mrn",
    "--identifier-base", "https://clinic.example.org/fhir/sid",
)  # fmt: skip


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    if args[0] == "sync" or args[:2] == ("-vv", "sync"):
        args = (*args, *IDENTITY)
    result = CliRunner().invoke(main, list(args), env=env)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_only_meso_fhirs_loggers_speak_at_vv_and_never_an_mrn(
    metadata: HTTPXMock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    metadata.add_response(
        method="GET",
        url=re.compile(re.escape(f"{BASE}/Patient?") + ".*"),
        json={"resourceType": "Bundle", "type": "searchset", "entry": []},
        is_reusable=True,
    )
    caplog.set_level(logging.DEBUG)  # the root logger, every library's records
    result = invoke(
        "-vv", "sync", str(EXAMPLE), "--server", BASE, "--state", str(tmp_path / "s.sqlite"),
        "--patient-policy", "must-exist",
    )  # fmt: skip
    assert result.exit_code == ExitCode.SYNC_FAILED_RECORDS
    assert {r.name.split(".")[0] for r in caplog.records} == {"meso_fhir"}
    assert any(r.name == "meso_fhir.http" for r in caplog.records)  # -vv logged the requests
    for mrn in MRNS:
        assert mrn not in caplog.text
        assert mrn not in result.output


def test_a_wrong_base_url_stops_after_one_request_and_leaves_the_ledger_alone(
    httpx_mock: HTTPXMock, tmp_path: Path
) -> None:
    root = "https://ehr.example/"
    httpx_mock.add_response(
        method="GET", url=f"{root}metadata?_elements=fhirVersion", status_code=404, text="Not Found"
    )
    state = tmp_path / "s.sqlite"
    result = invoke("sync", str(EXAMPLE), "--server", root, "--state", str(state))
    assert result.exit_code == ExitCode.SYNC_ABORTED
    assert (
        "does not answer as a FHIR server (GET metadata: GET /metadata?_elements= -> 404"
        in result.output
    )
    assert "68 record(s) left pending" in result.output
    assert "failed:" not in result.output
    assert len(httpx_mock.get_requests()) == 1
    with Ledger.open(state) as ledger:
        assert ledger.runs() == [] and ledger.binding() is None  # the URL can be corrected


def test_a_server_of_another_fhir_version_is_refused_before_writing(
    httpx_mock: HTTPXMock, tmp_path: Path
) -> None:
    httpx_mock.add_response(method="GET", url=METADATA, json={**CAPABILITY, "fhirVersion": "3.0.2"})
    result = invoke("sync", str(EXAMPLE), "--server", BASE, "--state", str(tmp_path / "s.sqlite"))
    assert result.exit_code == ExitCode.SYNC_ABORTED
    assert f"{BASE} states FHIR 3.0.2; meso-fhir sends FHIR R4 (4.0.x)" in result.output


@pytest.mark.parametrize("status", [404, 405, 415])
def test_a_refused_transaction_endpoint_stops_the_job_instead_of_failing_records(
    metadata: HTTPXMock, tmp_path: Path, status: int
) -> None:
    metadata.add_response(method="POST", url=BASE, status_code=status, text="no", is_reusable=True)
    state = tmp_path / "s.sqlite"
    result = invoke("sync", str(EXAMPLE), "--server", BASE, "--state", str(state))
    assert result.exit_code == ExitCode.SYNC_ABORTED
    assert "failed:" not in result.output
    # not bisected: one POST for each bundle in flight (the default concurrency, 2), no more
    assert len([r for r in metadata.get_requests() if r.method == "POST"]) <= 2
    assert "68 record(s) left pending: the next run sends them" in result.output
    with Ledger.open(state) as ledger:
        assert ledger.failures() == []
        # the first bundle (the clinic and its practitioners) is pending; no record was sent
        assert {key.kind for key in ledger.pending_keys()} == {"clinic", "practitioner"}


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--server", "ehr.example/fhir"], {}, "base_url must be an absolute http(s) URL"),
        (
            ["--server", BASE],
            {"MESO_FHIR_TOKEN": "abc def-SECRET"},
            "MESO_FHIR_TOKEN: bearer token is empty or holds whitespace",
        ),
    ],
)
def test_bad_settings_are_usage_errors_with_a_message(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    result = invoke("sync", str(EXAMPLE), "--state", str(tmp_path / "s.sqlite"), *args, env=env)
    assert result.exit_code == ExitCode.USAGE
    assert message in result.output
    assert "SECRET" not in result.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_ledger_in_a_read_only_folder_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    result = invoke("sync", str(EXAMPLE), "--server", BASE, "--state", str(folder / "s.sqlite"))
    assert result.exit_code == ExitCode.SYNC_ABORTED
    assert "cannot use the ledger" in result.output


def test_a_ledger_whose_folder_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    # What a read-only folder does for a non-root user: the lock file cannot be made.
    (tmp_path / "file").write_text("")
    state = tmp_path / "file" / "s.sqlite"
    result = invoke("sync", str(EXAMPLE), "--server", BASE, "--state", str(state))
    assert result.exit_code == ExitCode.SYNC_ABORTED
    assert f"error: cannot use the ledger {state}:" in result.output


def test_status_on_a_damaged_ledger_is_a_clear_error(tmp_path: Path) -> None:
    state = tmp_path / "s.sqlite"
    with Ledger.open(state) as ledger:
        run = ledger.start_run(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), BASE, {})
        ledger.finish_run(run, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), {}, 0)
    with sqlite3.connect(state) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(state.read_bytes())
    data[4096 : 4096 + 200] = b"\xff" * 200  # damage the second page
    state.write_bytes(bytes(data))
    result = invoke("status", "--state", str(state))
    assert result.exit_code == ExitCode.SYNC_ABORTED
    assert f"ledger {state}" in result.output and "malformed" in result.output


def test_the_lock_is_on_the_file_whatever_path_leads_to_it(tmp_path: Path) -> None:
    import fcntl

    state = tmp_path / "real" / "s.sqlite"
    state.parent.mkdir()
    (tmp_path / "link").symlink_to(state.parent)
    with open(state.with_name("s.sqlite.lock"), "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        for other in (
            tmp_path / "link" / "s.sqlite",
            tmp_path / "real" / ".." / "real" / "s.sqlite",
        ):
            result = invoke("sync", str(EXAMPLE), "--server", BASE, "--state", str(other))
            assert result.exit_code == ExitCode.LEDGER_BUSY, other


def test_many_failures_for_one_reason_print_one_line(metadata: HTTPXMock, tmp_path: Path) -> None:
    def reject_observations(request: httpx.Request) -> httpx.Response:
        bundle = orjson.loads(request.content)
        if any(
            e["resource"]["resourceType"] == "Observation"
            and "/observation|" in e["request"]["url"]
            for e in bundle["entry"]
        ):
            return httpx.Response(
                422,
                json={
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {
                            "severity": "error",
                            "code": "business-rule",
                            "diagnostics": "observations are closed",
                        }
                    ],
                },
            )
        return transaction_response(request)

    metadata.add_callback(reject_observations, method="POST", url=BASE, is_reusable=True)
    report = tmp_path / "r.json"
    result = invoke(
        "sync", str(EXAMPLE_LINES), "--server", BASE, "--state", str(tmp_path / "s.sqlite"),
        "--report", str(report),
    )  # fmt: skip
    assert result.exit_code == ExitCode.SYNC_FAILED_RECORDS
    failed_lines = [line for line in result.output.splitlines() if line.startswith("failed:")]
    assert failed_lines == [
        "failed: 34 records: error business-rule: observations are closed"
        " (e.g. observation 'C001-S1-O1', observation 'C001-S1-O2', observation 'C001-S2-O1'"
        " and 31 more)"
    ]
    assert len(orjson.loads(report.read_bytes())["failures"]) == 34  # the report has them all


def test_must_exist_with_the_wrong_mrn_system_says_so(metadata: HTTPXMock, tmp_path: Path) -> None:
    metadata.add_response(
        method="GET",
        url=re.compile(re.escape(f"{BASE}/Patient?") + ".*"),
        json={"resourceType": "Bundle", "type": "searchset", "entry": []},
        is_reusable=True,
    )
    result = invoke(
        "sync", str(EXAMPLE), "--server", BASE, "--state", str(tmp_path / "s.sqlite"),
        "--patient-policy", "must-exist",
    )  # fmt: skip
    assert "hint: 0 of 7 MRNs found on the server: check --mrn-system" in result.output
    assert sum(line.startswith(("failed:", "invalid:")) for line in result.output.splitlines()) == 2


class _Clock:
    """Monotonic seconds that move on by ``step`` each time they are read."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture
def client() -> Iterator[FhirClient]:
    with FhirClient(BASE) as c:
        yield c


def run(
    client: FhirClient, tmp_path: Path, clock: Callable[[], float] = time.monotonic, **options: Any
) -> SyncReport:
    return sync(
        load(EXAMPLE_LINES),
        client,
        ClinicConfig(),
        tmp_path / "s.sqlite",
        SyncOptions(concurrency=1, batch_size=20, **options),
        clock=clock,
    )


def test_max_time_stops_sending_and_leaves_the_rest_pending(
    metadata: HTTPXMock, client: FhirClient, tmp_path: Path
) -> None:
    metadata.add_callback(transaction_response, method="POST", url=BASE, is_reusable=True)
    report = run(client, tmp_path, _Clock(step=10.0), max_time=25)
    assert report.aborted == "the time limit of 25 s was reached (--max-time)"
    assert report.exit_code == ExitCode.SYNC_ABORTED
    sent = report.records["synced"]
    assert 0 < sent < 68 and report.records["pending"] == 68 - sent
    again = run(client, tmp_path)
    assert again.records["synced"] == 68 - sent and again.records["unchanged"] == sent


def test_ctrl_c_while_sending_stops_cleanly_and_a_rerun_resumes(
    metadata: HTTPXMock, client: FhirClient, tmp_path: Path
) -> None:
    calls = 0

    def interrupt_second(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt  # reaches the job as Ctrl-C would
        return transaction_response(request)

    metadata.add_callback(interrupt_second, method="POST", url=BASE, is_reusable=True)
    report = run(client, tmp_path)
    assert report.aborted == "interrupted (Ctrl-C)"
    with Ledger.open(tmp_path / "s.sqlite") as ledger:
        in_flight = len(ledger.pending_keys())
    assert in_flight > 0 and report.records["pending"] == 68 - report.records["synced"]
    again = run(client, tmp_path)
    assert again.aborted is None and again.records["synced"] == 68 - report.records["synced"]


def test_a_404_with_an_operation_outcome_is_a_records_fault_not_the_endpoints(
    metadata: HTTPXMock, client: FhirClient, tmp_path: Path
) -> None:
    # HAPI-1091: a conditional reference in the bundle matched nothing
    def server(request: httpx.Request) -> httpx.Response:
        bundle = orjson.loads(request.content)
        if any("C001-S1-O1" in e["request"]["url"] for e in bundle["entry"]):
            return httpx.Response(
                404,
                json={
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {
                            "severity": "error",
                            "code": "not-found",
                            "diagnostics": "HAPI-1091: no match",
                        }
                    ],
                },
            )
        return transaction_response(request)

    metadata.add_callback(server, method="POST", url=BASE, is_reusable=True)
    report = run(client, tmp_path)
    assert report.aborted is None
    assert [(f.kind, f.source_id, f.status) for f in report.failures] == [
        ("observation", "C001-S1-O1", 404)
    ]
