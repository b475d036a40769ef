"""Provenance: one per activity in each transaction, what it names, and that it lands.

The pure part (which entries a bundle gets), the sync against a mock server (the recorded time,
the activity of a changed record, a replay writing the same Provenance, --no-provenance), and
the real servers (it lands where the written resources are, and a validating HAPI accepts it).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from pytest_httpx import HTTPXMock

from meso_fhir import codes
from meso_fhir.fhir import FhirClient, RetryPolicy
from meso_fhir.mapping import map_records
from meso_fhir.mapping.identity import ClinicConfig
from meso_fhir.model import load
from meso_fhir.syncing import SyncOptions, plan, sync

from .fhir_server import FhirTestServer
from .helpers import (
    FROZEN_NOW,
    ClientFactory,
    Document,
    answer_the_directory,
    example_export,
    sync_file,
    transaction_response,
    unique_config,
)

BASE = "http://fhir.test/fhir"
CONFIG = ClinicConfig()
SERIAL = SyncOptions(concurrency=1)
RECORDED = "2026-01-02T08:04:05+00:00"  # FROZEN_NOW (the tests' clock) in UTC
assert FROZEN_NOW.astimezone(UTC).isoformat() == RECORDED


def _items(tmp_path: Path, withdrawn: frozenset[str] = frozenset()) -> list[plan.Item]:
    def withdraw(doc: Document) -> None:
        for records in doc.values():
            for record in records:
                if record["id"] in withdrawn:
                    record["withdrawn"] = True

    export = load(example_export(tmp_path, withdraw, patients={"P006"}))
    hashes = plan.record_hashes(export, CONFIG)
    items = plan.items(map_records(export, CONFIG), export, hashes)
    for one in items:
        one.create_only = one.key.kind == "patient"
    return items


def _provenances(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in bundle["entry"] if e["request"]["url"].startswith("Provenance")]


def test_one_provenance_per_activity_naming_its_resources_and_records(tmp_path: Path) -> None:
    items = _items(tmp_path, withdrawn=frozenset({"C006-S3"}))
    course = next(i for i in items if i.key.kind == "course")
    course.on_server = True  # as the job says for a record the ledger has
    entries = plan.provenance_entries(items, plan.Stamp(RECORDED, CONFIG))
    activities = [e["resource"]["activity"]["coding"][0]["code"] for e in entries]
    assert activities == ["CREATE", "UPDATE", "NULLIFY"]
    created, updated, nullified = (e["resource"] for e in entries)
    # the Patient, a conditional create, may be the EHR's own: not claimed
    sources = {(w["what"]["identifier"]["value"]) for w in created["entity"]}
    assert "P006" not in sources and "S006" in sources and "C006-S1" in sources
    assert [w["what"]["identifier"]["value"] for w in updated["entity"]] == ["C006"]
    assert [w["what"]["identifier"]["value"] for w in nullified["entity"]] == ["C006-S3"]
    # logical references: a literal one would make the resource undeletable on HAPI
    assert updated["target"] == [
        {"type": "CarePlan", "identifier": {"system": CONFIG.system("course"), "value": "C006"}}
    ]
    assert all(
        e["request"] == {"method": "PUT", "url": f"Provenance/{e['resource']['id']}"}
        for e in entries
    )
    assert created["recorded"] == RECORDED
    device, clinic = created["agent"]
    assert device["type"]["coding"][0]["code"] == "assembler"
    assert device["who"]["identifier"] == {"system": codes.URI, "value": codes.CANONICAL}
    assert clinic["who"]["identifier"] == {"system": codes.URI, "value": CONFIG.identifier_base}
    assert device["onBehalfOf"] == clinic["who"]
    # what the bundle gets: its resources, then its Provenance entries
    bundle = plan.bundle(items, "conditional", {}, plan.Stamp(RECORDED, CONFIG))
    assert bundle["entry"][-3:] == entries
    assert _provenances(plan.bundle(items, "conditional", {})) == []


def test_a_bundle_stays_within_the_batch_size_provenance_included(tmp_path: Path) -> None:
    items = [i for i in _items(tmp_path) if i.key.kind != "screening"]  # 20 resources alone
    stamp = plan.Stamp(RECORDED, CONFIG)
    for batch_size in (8, 12, 25):
        units = plan.pack(items, batch_size, provenance=True)
        sizes = [len(plan.bundle(b, "conditional", {}, stamp)["entry"]) for u in units for b in u]
        assert max(sizes) <= batch_size, (batch_size, sizes)


@pytest.fixture
def mock_run(tmp_path: Path, make_client: ClientFactory, httpx_mock: HTTPXMock) -> Any:
    httpx_mock.add_response(
        method="GET",
        url=f"{BASE}/metadata?_elements=fhirVersion",
        json={"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1"},
        is_optional=True,
        is_reusable=True,
    )

    def run(export: Path, options: SyncOptions = SERIAL) -> Any:
        client = make_client(BASE, retry=RetryPolicy(max_attempts=3, base_delay=0.1, deadline=None))
        return sync_file(export, client, CONFIG, tmp_path / "state.sqlite", options)

    return run


def test_each_transaction_ends_with_its_provenance_and_a_change_is_an_update(
    tmp_path: Path, httpx_mock: HTTPXMock, mock_run: Any
) -> None:
    httpx_mock.add_callback(transaction_response, method="POST", url=BASE, is_reusable=True)
    assert mock_run(example_export(tmp_path, patients={"P006"})).failures == []
    clinics, first = httpx_mock.get_requests(method="POST")  # the clinic's bundle goes first
    [created] = _provenances(orjson.loads(first.content))
    assert created["resource"]["recorded"] == RECORDED
    [clinic] = _provenances(orjson.loads(clinics.content))
    assert {t["type"] for t in clinic["resource"]["target"]} == {"Organization", "Practitioner"}

    def new_score(doc: Document) -> None:
        doc["observations"][0]["finding"]["score"] = 7

    assert mock_run(example_export(tmp_path, new_score, patients={"P006"})).failures == []
    second = httpx_mock.get_requests(method="POST")[-1]
    [updated] = _provenances(orjson.loads(second.content))
    assert updated["resource"]["activity"]["coding"][0]["code"] == "UPDATE"
    assert [e["what"]["identifier"]["value"] for e in updated["resource"]["entity"]] == [
        "C006-S1-O1"
    ]


def test_a_replayed_transaction_writes_the_same_provenance_not_a_second(
    tmp_path: Path, httpx_mock: HTTPXMock, mock_run: Any
) -> None:
    answer_the_directory(httpx_mock, BASE)
    httpx_mock.add_exception(
        httpx.RemoteProtocolError("Server disconnected"), method="POST", url=BASE
    )
    httpx_mock.add_callback(transaction_response, method="POST", url=BASE)
    report = mock_run(example_export(tmp_path, patients={"P006"}))
    assert report.failures == [] and report.records["synced"] == 12  # retried: replay-safe
    requests = httpx_mock.get_requests(method="POST")[1:]  # after the clinic's bundle
    sent = [_provenances(orjson.loads(r.content)) for r in requests]
    assert len(sent) == 2 and sent[0] == sent[1]


def test_no_provenance_sends_none(tmp_path: Path, httpx_mock: HTTPXMock, mock_run: Any) -> None:
    httpx_mock.add_callback(transaction_response, method="POST", url=BASE, is_reusable=True)
    options = SyncOptions(concurrency=1, provenance=False)
    assert mock_run(example_export(tmp_path, patients={"P006"}), options).failures == []
    for request in httpx_mock.get_requests(method="POST"):
        assert _provenances(orjson.loads(request.content)) == []


@pytest.mark.server
def test_the_provenance_lands_and_leaves_what_it_names_deletable(
    fhir_server: FhirTestServer, tmp_path: Path
) -> None:
    config = unique_config()
    state = tmp_path / "state.sqlite"
    # A time of this test's own: found by it among the shared server's Provenances.
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC) + timedelta(seconds=uuid.uuid4().int % 10**7)
    with FhirClient(fhir_server.base_url) as client:
        export = example_export(tmp_path, patients={"P006"})
        report = sync(load(export), client, config, state, now=lambda: when)
        assert report.failures == []
        recorded = when.isoformat(timespec="seconds")
        clinics, found = sorted(  # the clinic's bundle's, then the records'
            client.search("Provenance", {"recorded": recorded}),
            key=lambda p: any(t["type"] == "Procedure" for t in p["target"]),
        )
        assert {t["type"] for t in clinics["target"]} == {"Organization", "Practitioner"}
        assert found["activity"]["coding"][0]["code"] == "CREATE"
        sources = {e["what"]["identifier"]["value"] for e in found["entity"]}
        assert {"S006", "C006", "C006-S1"} <= sources and "P006" not in sources
        assert {
            "type": "Procedure",
            "identifier": {"system": config.system("session"), "value": "C006-S1"},
        } in found["target"]

        # The Provenance does not pin what it names: a dropped medicine... here an injection
        def one_injection_less(doc: Document) -> None:
            next(s for s in doc["sessions"] if s["id"] == "C006-S1")["injections"].pop()

        changed = example_export(tmp_path, one_injection_less, patients={"P006"})
        again = sync(load(changed), client, config, state, now=lambda: when + timedelta(hours=1))
        assert again.failures == []
        assert {t: c["deleted"] for t, c in again.resources.items() if c["deleted"]}
