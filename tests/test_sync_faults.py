"""Sync when the server misbehaves in ways the in-memory server cannot show (pytest-httpx)."""

from __future__ import annotations

import fcntl
import logging
import re
from pathlib import Path
from typing import Any, Protocol

import httpx
import orjson
import pytest
from pytest_httpx import HTTPXMock

from meso_fhir.errors import ExitCode, MalformedResponse
from meso_fhir.fhir import RetryPolicy
from meso_fhir.fhir.outcome import parse_transaction_response
from meso_fhir.mapping.identity import ClinicConfig
from meso_fhir.model import RecordKey
from meso_fhir.syncing import Ledger, SyncOptions, SyncReport
from meso_fhir.syncing.ledger import ResourceRef
from meso_fhir.syncing.plan import Item
from meso_fhir.syncing.sinks import Sender, _fanned_out

from .helpers import (
    EXAMPLE_LINES,
    ClientFactory,
    Document,
    FakeTime,
    answer_the_directory,
    example_export,
    invoke,
    sync_file,
    transaction_response,
)

BASE = "http://fhir.test/fhir"
RETRY = RetryPolicy(max_attempts=3, base_delay=0.1, deadline=None)
PATIENT_SEARCH = re.compile(re.escape(f"{BASE}/Patient?") + ".*")
# One bundle in flight: requests come in a known order. No Provenance: these tests count and
# place the records' own entries (test_provenance.py has the Provenance entries).
SERIAL = SyncOptions(concurrency=1, provenance=False)


def one_patient_export(tmp_path: Path) -> Path:
    """P006: patient, screening, course, 3 sessions, 6 observations = 12 records."""
    return example_export(tmp_path, patients={"P006"})


class Run(Protocol):
    def __call__(self, export: Path | None = None, options: SyncOptions = SERIAL) -> SyncReport: ...


@pytest.fixture
def run(tmp_path: Path, make_client: ClientFactory) -> Run:
    """``run(export, options)``: one sync of ``export`` (default: P006's) against BASE, with the
    ledger ``state.sqlite`` in ``tmp_path``; the client's retries sleep on ``fake_time``."""

    def run(export: Path | None = None, options: SyncOptions = SERIAL) -> SyncReport:
        return sync_file(
            export or one_patient_export(tmp_path),
            make_client(BASE, retry=RETRY),
            ClinicConfig(),
            tmp_path / "state.sqlite",
            options,
        )

    return run


@pytest.fixture(autouse=True)
def capability_statement(httpx_mock: HTTPXMock) -> None:
    """What a FHIR R4 server answers to GET [base]/metadata (a sync may ask before writing)."""
    httpx_mock.add_response(
        method="GET",
        url=f"{BASE}/metadata?_elements=fhirVersion",
        json={"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1"},
        is_reusable=True,
        is_optional=True,
    )


def outcome(status: int, text: str, expression: str | None = None) -> httpx.Response:
    issue: dict[str, Any] = {"severity": "error", "code": "invalid", "diagnostics": text}
    if expression:
        issue["expression"] = [expression]
    return httpx.Response(status, json={"resourceType": "OperationOutcome", "issue": [issue]})


def test_rejected_transaction_is_split_until_the_bad_record_is_alone(
    tmp_path: Path, httpx_mock: HTTPXMock, run: Run
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
    report = run()
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
    # the clinic and its practitioners first; then the whole bundle, then halves down to the
    # record: every request is one the job needed
    assert sizes[1] == sum(sizes[2:4]) and len(sizes) == report.requests
    assert report.exit_code == ExitCode.SYNC_FAILED_RECORDS
    with Ledger.open(tmp_path / "state.sqlite") as ledger:
        state = ledger.record(("observation", "C006-S2-O1"))
        assert state is not None and state.outcome == "failed"
        assert (
            state.error_text
            == "error invalid: HAPI-0450: bad value (at Bundle.entry[3].resource.valueInteger)"
        )


def test_server_down_stops_the_job_and_leaves_records_pending(
    tmp_path: Path, httpx_mock: HTTPXMock, run: Run, fake_time: FakeTime
) -> None:
    httpx_mock.add_response(method="POST", url=BASE, status_code=503, is_reusable=True)
    report = run()
    assert report.aborted == "POST /fhir -> 503: Service Unavailable (gave up after 3 attempts)"
    assert report.exit_code == ExitCode.SYNC_ABORTED
    assert (
        len(httpx_mock.get_requests(method="POST")) == 3
    )  # the client's attempts, then the job stops
    assert len(fake_time.sleeps) == 2  # between the attempts, never for real
    assert report.records == {"pending": 12, "unchanged": 0}  # the next run sends them
    with Ledger.open(tmp_path / "state.sqlite") as ledger:
        # the first bundle, the clinic's: no patient's record was sent
        assert [key.kind for key in ledger.pending_keys()] == ["clinic", "practitioner"]
        assert ledger.counts()["patient"] == {
            "pending": 0,
            "synced": 0,
            "failed": 0,
            "withdrawn": 0,
        }


def test_503_then_success_lands_everything(
    httpx_mock: HTTPXMock, run: Run, fake_time: FakeTime
) -> None:
    answer_the_directory(httpx_mock, BASE)
    httpx_mock.add_response(method="POST", url=BASE, status_code=503, headers={"Retry-After": "1"})
    httpx_mock.add_callback(transaction_response, method="POST", url=BASE)
    report = run()
    assert report.records == {"synced": 12, "unchanged": 0}
    assert report.aborted is None
    assert fake_time.sleeps == [1.0]  # as the server asked


def test_dropped_connection_then_success(httpx_mock: HTTPXMock, run: Run) -> None:
    answer_the_directory(httpx_mock, BASE)
    httpx_mock.add_exception(
        httpx.RemoteProtocolError("Server disconnected"), method="POST", url=BASE
    )
    httpx_mock.add_callback(transaction_response, method="POST", url=BASE)
    report = run()
    assert report.records == {"synced": 12, "unchanged": 0}
    assert report.requests == 2  # the client's retry is not the job's request
    assert len(httpx_mock.get_requests(method="POST")) == 3


def test_conflict_is_tried_once_more(httpx_mock: HTTPXMock, run: Run) -> None:
    answer_the_directory(httpx_mock, BASE)
    httpx_mock.add_response(
        method="POST",
        url=BASE,
        status_code=409,
        json={"resourceType": "OperationOutcome", "issue": []},
    )
    httpx_mock.add_callback(transaction_response, method="POST", url=BASE)
    report = run()
    assert report.records == {"synced": 12, "unchanged": 0}
    assert report.requests == 3


def test_malformed_response_fails_the_bundle_without_splitting(
    httpx_mock: HTTPXMock, run: Run
) -> None:
    answer_the_directory(httpx_mock, BASE)
    httpx_mock.add_response(
        method="POST", url=BASE, status_code=200, text="<html>proxy error</html>"
    )
    report = run()
    assert report.records == {"failed": 12, "unchanged": 0}
    assert len(httpx_mock.get_requests(method="POST")) == 2
    assert {f.reason for f in report.failures} == {"POST /fhir -> 200: body is not JSON"}
    assert len(report.failures) == 12


def test_a_response_short_of_entries_fails_the_bundle(httpx_mock: HTTPXMock, run: Run) -> None:
    def one_short(request: httpx.Request) -> httpx.Response:
        answer = orjson.loads(transaction_response(request).content)
        answer["entry"].pop()
        return httpx.Response(200, json=answer)

    answer_the_directory(httpx_mock, BASE)
    httpx_mock.add_callback(one_short, method="POST", url=BASE)
    report = run()
    assert report.records == {"failed": 12, "unchanged": 0}
    assert {f.reason for f in report.failures} == {
        "POST /fhir: transaction-response has 42 entries for 43 sent"
    }


def test_entries_hapi_merged_get_the_one_answer_each() -> None:
    """HAPI answers once for entries that write through one conditional URL (seen on 8.8.0:
    four entries, two URLs, two answers, in the order of first occurrence)."""

    def put(value: str) -> dict[str, Any]:
        return {"request": {"method": "PUT", "url": f"Patient?identifier=urn:t|{value}"}}

    def create(value: str) -> dict[str, Any]:
        request = {"method": "POST", "url": "Patient", "ifNoneExist": f"identifier=urn:t|{value}"}
        return {"request": request}

    def answer(*locations: str) -> dict[str, Any]:
        entries = [{"response": {"status": "201 Created", "location": x}} for x in locations]
        return {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}

    sent = {"entry": [create("d1"), put("d2"), create("d1"), put("d2"), put("d3")]}
    got = parse_transaction_response(answer("Patient/1", "Patient/2", "Patient/3"))
    merged = _fanned_out(sent, got, 5)
    assert [r.id for r in merged] == ["1", "2", "1", "2", "3"]
    # Plain POSTs are never merged: one answer short is a malformed response.
    plain = {"entry": [{"request": {"method": "POST", "url": "Patient"}}] * 2}
    with pytest.raises(MalformedResponse, match="has 1 entries for 2 sent"):
        _fanned_out(plain, got[:1], 2)


# A sync with a server needs the identity settings given, not defaulted: these are run()'s.
IDENTITY = [
    "--mrn-system",
    ClinicConfig().mrn_system,
    "--identifier-base",
    ClinicConfig().identifier_base,
]


def sync_args(export: Path, state: Path, *more: str) -> list[str]:
    return ["sync", str(export), "--server", BASE, "--state", str(state), *IDENTITY, *more]


def test_authentication_failure_stops_the_job_without_leaking_the_token(
    tmp_path: Path, httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch
) -> None:
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
    report_path = tmp_path / "report.json"
    state = tmp_path / "s.sqlite"
    args = sync_args(one_patient_export(tmp_path), state, "--token-env", "EHR_TOKEN")
    result = invoke(*args, "--report", str(report_path))
    assert result.exit_code == ExitCode.SYNC_ABORTED
    assert result.stdout == ""
    assert httpx_mock.get_requests(method="POST")[0].headers["Authorization"] == f"Bearer {secret}"
    report = orjson.loads(report_path.read_bytes())
    aborted = "POST /fhir -> 401: Unauthorized: error login: token expired"
    assert report["aborted"] == aborted
    assert result.stderr.splitlines()[-1].startswith(f"stopped early: {aborted}")
    assert report["records"] == {"pending": 12, "unchanged": 0}
    assert secret not in result.stderr
    assert secret not in report_path.read_text()
    assert secret.encode() not in state.read_bytes()


def test_a_second_sync_on_the_same_ledger_refuses_to_start(tmp_path: Path) -> None:
    state = tmp_path / "s.sqlite"
    with open(tmp_path / "s.sqlite.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = invoke(*sync_args(one_patient_export(tmp_path), state))
    assert result.exit_code == ExitCode.LEDGER_BUSY
    assert result.stdout == ""
    assert result.stderr == (
        f"error: another meso-fhir sync is using {state}; nothing done (exit 8)\n"
    )
    assert not state.exists()


def test_server_token_and_options_come_from_the_environment(
    tmp_path: Path, httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESO_FHIR_SERVER", BASE)
    monkeypatch.setenv("MESO_FHIR_TOKEN", "tok-ENV-1234")
    monkeypatch.setenv("MESO_FHIR_BATCH_SIZE", "25")
    monkeypatch.setenv("MESO_FHIR_STATE", str(tmp_path / "env.sqlite"))
    monkeypatch.setenv("MESO_FHIR_MRN_SYSTEM", ClinicConfig().mrn_system)
    monkeypatch.setenv("MESO_FHIR_IDENTIFIER_BASE", ClinicConfig().identifier_base)
    httpx_mock.add_callback(transaction_response, method="POST", url=BASE, is_reusable=True)
    result = invoke("sync", str(one_patient_export(tmp_path)))
    assert result.exit_code == ExitCode.OK, result.stderr
    requests = httpx_mock.get_requests(method="POST")
    assert {r.headers["Authorization"] for r in requests} == {"Bearer tok-ENV-1234"}
    assert max(len(orjson.loads(r.content)["entry"]) for r in requests) <= 25
    # the clinic and its practitioner, then 12 records, 43 resources: bundles of at most 25
    # entries, a Provenance in each
    assert len(requests) == 3
    assert (tmp_path / "env.sqlite").exists()
    assert "tok-ENV-1234" not in result.stdout + result.stderr


def test_invalid_input_is_recorded_and_the_rest_is_sent(
    tmp_path: Path, httpx_mock: HTTPXMock, run: Run
) -> None:
    def pain_of_eleven(doc: Document) -> None:
        doc["observations"][0]["finding"]["score"] = 11  # pain is 0-10

    answer_the_directory(httpx_mock, BASE)
    httpx_mock.add_callback(transaction_response, method="POST", url=BASE)
    report = run(example_export(tmp_path, pain_of_eleven, patients={"P006"}))
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
    httpx_mock: HTTPXMock, run: Run, caplog: pytest.LogCaptureFixture
) -> None:
    def server(request: httpx.Request) -> httpx.Response:
        bundle = orjson.loads(request.content)
        if any(e["request"]["url"].endswith("|C006-S1-O2") for e in bundle["entry"]):
            return outcome(400, "value 'Benali MRN-40026' rejected")  # a server quoting PHI
        return transaction_response(request)

    httpx_mock.add_callback(server, method="POST", url=BASE, is_reusable=True)
    with caplog.at_level(logging.DEBUG, logger="meso_fhir"):
        report = run()
    assert report.records["failed"] == 1
    assert "observation 'C006-S1-O2' failed (status 400)" in caplog.messages
    for phi in ("Benali", "Nadia", "MRN-40026", "1975-02-19"):
        assert phi not in caplog.text


def test_large_exports_are_mapped_a_chunk_of_patients_at_a_time(
    httpx_mock: HTTPXMock, run: Run
) -> None:
    patients_per_request: list[set[str]] = []

    def server(request: httpx.Request) -> httpx.Response:
        bundle = orjson.loads(request.content)
        subjects = {
            (
                e["resource"].get("subject")
                or e["resource"].get("patient")
                or e["resource"].get("securityContext")  # a photo's Binary
                or {}
            ).get("reference", e["fullUrl"])
            for e in bundle["entry"]
        }
        patients_per_request.append(subjects)
        return transaction_response(request)

    httpx_mock.add_callback(server, method="POST", url=BASE, is_reusable=True)
    # every patient a chunk of its own
    report = run(EXAMPLE_LINES, SyncOptions(concurrency=1, chunk_records=1, provenance=False))
    assert report.records == {"synced": 68, "unchanged": 0}
    # the clinic and its practitioners, then one chunk, and here one bundle, per patient
    assert report.requests == 8
    assert all(len(subjects) == 1 for subjects in patients_per_request[1:])
    assert len(patients_per_request) == 8


def test_must_exist_looks_up_many_mrns_in_one_search(httpx_mock: HTTPXMock, run: Run) -> None:
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

    httpx_mock.add_callback(patients, method="GET", url=PATIENT_SEARCH, is_reusable=True)
    httpx_mock.add_callback(transaction_response, method="POST", url=BASE, is_reusable=True)
    report = run(EXAMPLE_LINES, SyncOptions(concurrency=1, patient_policy="must-exist"))
    assert len(searches) == 1 and len(searches[0].split(",")) == 7
    reasons = {f.source_id: f.reason for f in report.failures if f.kind == "patient"}
    assert reasons == {
        "P002": "no Patient with this MRN on the server (patient policy must-exist)",
        "P003": "no Patient with this MRN on the server (patient policy must-exist)",
        "P004": "no Patient with this MRN on the server (patient policy must-exist)",
        "P005": "several Patients have this MRN on the server (patient policy must-exist)",
        "P006": "no Patient with this MRN on the server (patient policy must-exist)",
        "P007": "no Patient with this MRN on the server (patient policy must-exist)",
    }
    assert report.records["matched"] == 1
    # P001's screening, course, 4 sessions and 6 observations
    assert report.records["synced"] == 12


def _lose_an_injection(doc: Document) -> None:
    """P006's first session loses its bilateral injection: its MedicationAdministration and
    BodyStructure go stale."""
    session = next(s for s in doc["sessions"] if s["id"] == "C006-S1")
    session["injections"] = [i for i in session["injections"] if i["id"] != "C006-S1-I2"]


STALE = [
    ("BodyStructure", "C006-S1-I2/site"),
    ("MedicationAdministration", "C006-S1-I2"),
]


class HapiLike:
    """A transaction callback answering as HAPI does: entries that write through one
    conditional URL merged into one answer, in the order of first occurrence; each DELETE
    answered ``delete_status``, or 409 if its URL ends with ``refuse``. ``sent``: the bundles
    it saw."""

    def __init__(self, delete_status: str, refuse: str | None = None) -> None:
        self.delete_status = delete_status
        self.refuse = refuse
        self.sent: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        bundle = orjson.loads(request.content)
        self.sent.append(bundle)
        answers: dict[object, dict[str, Any]] = {}
        for index, entry in enumerate(bundle["entry"]):
            rq = entry["request"]
            conditional = "?" in rq["url"] or "ifNoneExist" in rq
            key = (rq["method"], rq["url"], rq.get("ifNoneExist")) if conditional else index
            if rq["method"] == "DELETE":
                refused = self.refuse is not None and rq["url"].endswith(self.refuse)
                answers.setdefault(
                    key, {"status": "409 Conflict" if refused else self.delete_status}
                )
            else:
                location = f"{rq['url'].split('?')[0]}/s{index}/_history/1"
                answers.setdefault(key, {"status": "201 Created", "location": location})
        entries = [{"response": answer} for answer in answers.values()]
        return httpx.Response(
            200, json={"resourceType": "Bundle", "type": "transaction-response", "entry": entries}
        )


def _listed(tmp_path: Path, key: tuple[str, str]) -> list[tuple[str, str]]:
    with Ledger.open(tmp_path / "state.sqlite") as ledger:
        refs = ledger.resources(key, BASE)
    return [(r.resource_type, r.identifier.partition("|")[2]) for r in refs]


@pytest.mark.parametrize("delete_status", ["204 No Content", "404 Not Found", "410 Gone"])
def test_stale_resources_are_deleted_after_the_records_resources(
    tmp_path: Path, httpx_mock: HTTPXMock, run: Run, delete_status: str
) -> None:
    """404 and 410 mean already gone (a run killed after the server applied the delete):
    as good as deleted."""
    answer_the_directory(httpx_mock, BASE)
    httpx_mock.add_callback(transaction_response, method="POST", url=BASE)
    run()
    server = HapiLike(delete_status)
    httpx_mock.add_callback(server, method="POST", url=BASE)
    report = run(example_export(tmp_path, _lose_an_injection, patients={"P006"}))
    assert report.failures == [] and report.records == {"synced": 1, "unchanged": 11}
    assert {t: c["deleted"] for t, c in report.resources.items() if c["deleted"]} == {
        "BodyStructure": 1,
        "MedicationAdministration": 1,
    }
    [bundle] = server.sent
    methods = [e["request"]["method"] for e in bundle["entry"]]
    assert methods == ["PUT"] * (len(methods) - 2) + ["DELETE"] * 2
    system = ClinicConfig().system("injection")
    assert [e["request"]["url"] for e in bundle["entry"][-2:]] == [
        f"{t}?identifier={system}|{value}" for t, value in STALE
    ]
    listed = _listed(tmp_path, ("session", "C006-S1"))
    assert listed and not set(STALE) & set(listed)
    assert run(example_export(tmp_path, _lose_an_injection, patients={"P006"})).requests == 0


def test_entries_hapi_merged_and_deletes_each_get_their_own_answer(
    httpx_mock: HTTPXMock, make_client: ClientFactory
) -> None:
    """Two records write through one conditional URL (HAPI answers once for both) and every
    record retracts a resource; only B's delete is refused."""

    def item(source_id: str, *values: str) -> Item:
        resources = [
            {
                "resourceType": "Observation",
                "id": f"mf-{value}",
                "identifier": [{"system": "urn:t", "value": value}],
            }
            for value in values
        ]
        stale = ResourceRef("BodyStructure", f"urn:t|{source_id}-site", None, None)
        key = RecordKey("observation", source_id)
        return Item(key, resources, "h", [], False, "P1", False, [stale])

    server = HapiLike("204 No Content", refuse="B-site")
    httpx_mock.add_callback(server, method="POST", url=BASE)
    sender = Sender(make_client(BASE, retry=RETRY), "conditional", lambda: None)
    outcomes = sender.send([[item("A", "o1", "o2"), item("B", "o3"), item("C", "o1")]], {})
    assert len(server.sent[0]["entry"]) == 7  # answered with 6
    assert [(o.item.key.source_id, o.status) for o in outcomes] == [
        ("A", "sent"),
        ("B", "failed"),
        ("C", "sent"),
    ]
    assert [[r.id for r in o.results] for o in outcomes] == [["s0", "s1"], [], ["s0"]]
    failure = outcomes[1].failure
    assert failure is not None and failure.status == 409


def test_a_delete_the_server_refuses_fails_its_record_and_is_tried_again(
    tmp_path: Path, httpx_mock: HTTPXMock, run: Run
) -> None:
    """HAPI refuses to delete what another resource still refers to (409, HAPI-0550): the
    whole transaction. The record is bisected out and fails with the server's words; the
    ledger keeps the stale resources, so the next run deletes them."""
    answer_the_directory(httpx_mock, BASE)
    httpx_mock.add_callback(transaction_response, method="POST", url=BASE)
    run()
    changed = example_export(tmp_path, _lose_an_injection, patients={"P006"})

    server = HapiLike("204 No Content")
    refuse = [True]

    def referred_to(request: httpx.Request) -> httpx.Response:
        bundle = orjson.loads(request.content)
        if refuse[0] and any(e["request"]["method"] == "DELETE" for e in bundle["entry"]):
            return outcome(409, "HAPI-0550: Unable to delete BodyStructure/s7: a reference to it")
        return server(request)

    httpx_mock.add_callback(referred_to, method="POST", url=BASE, is_reusable=True)
    report = run(changed)
    assert report.records == {"failed": 1, "unchanged": 11}
    [failure] = report.failures
    assert (failure.source_id, failure.status) == ("C006-S1", 409)
    assert "HAPI-0550" in failure.reason
    assert set(STALE) <= set(_listed(tmp_path, ("session", "C006-S1")))

    refuse[0] = False  # the reference to it was removed on the server
    server.sent.clear()
    again = run(changed)
    assert again.failures == [] and again.records == {"synced": 1, "unchanged": 11}
    assert [e["request"]["method"] for e in server.sent[0]["entry"]].count("DELETE") == 2
    assert not set(STALE) & set(_listed(tmp_path, ("session", "C006-S1")))


def test_a_delete_refused_inside_a_response_fails_its_record(
    tmp_path: Path, httpx_mock: HTTPXMock, run: Run
) -> None:
    """A server that answers a transaction entry by entry, as a batch: the stale resource is
    still there, so the record is not synced and the ledger still lists it."""
    answer_the_directory(httpx_mock, BASE)
    httpx_mock.add_callback(transaction_response, method="POST", url=BASE)
    run()
    httpx_mock.add_callback(HapiLike("409 Conflict"), method="POST", url=BASE)
    report = run(example_export(tmp_path, _lose_an_injection, patients={"P006"}))
    assert report.records == {"failed": 1, "unchanged": 11}
    assert [(f.source_id, f.status) for f in report.failures] == [("C006-S1", 409)]
    assert set(STALE) <= set(_listed(tmp_path, ("session", "C006-S1")))


def test_full_resends_every_record_and_still_deletes_what_is_stale(
    tmp_path: Path, httpx_mock: HTTPXMock, run: Run
) -> None:
    answer_the_directory(httpx_mock, BASE)
    httpx_mock.add_callback(transaction_response, method="POST", url=BASE)
    run()
    server = HapiLike("204 No Content")
    httpx_mock.add_callback(server, method="POST", url=BASE, is_reusable=True)
    changed = example_export(tmp_path, _lose_an_injection, patients={"P006"})
    report = run(changed, SyncOptions(concurrency=1, full=True))
    assert report.records == {"synced": 12, "unchanged": 0}
    assert len(server.sent) == 2  # the clinic's bundle too
    deletes = [e["request"]["url"] for e in server.sent[1]["entry"] if "resource" not in e]
    system = ClinicConfig().system("injection")
    assert deletes == [f"{t}?identifier={system}|{value}" for t, value in STALE]
