"""`meso-fhir check`: what a server supports, asked read-only, before anything is written."""

from __future__ import annotations

import re
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner
from pytest_httpx import HTTPXMock

from meso_fhir.cli import main
from meso_fhir.errors import ExitCode
from meso_fhir.fhir.check import Finding, assess
from meso_fhir.mapping.resources import RESOURCE_TYPES

BASE = "https://ehr.example/fhir"


def statement(**resource: Any) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "fhirVersion": "4.0.1",
        "rest": [
            {
                "mode": "server",
                "interaction": [{"code": "transaction"}],
                "resource": [
                    {
                        "type": t,
                        "interaction": [{"code": "create"}, {"code": "update"}],
                        "conditionalCreate": True,
                        "conditionalUpdate": True,
                        **resource.get(t, {}),
                    }
                    for t in RESOURCE_TYPES
                    if resource.get(t) != "absent"
                ],
            }
        ],
    }


def test_assess_names_what_the_statement_rules_out() -> None:
    findings = assess(
        statement(Procedure={"conditionalUpdate": False}, CarePlan="absent"),
        RESOURCE_TYPES,
        create_only=["Patient"],
    )
    failed = [f for f in findings if f.ok is False]
    assert failed == [
        Finding("CarePlan", False, "not among the server's resource types"),
        Finding("Procedure", False, "conditionalUpdate is false: meso-fhir writes conditionally"),
    ]
    assert Finding("Patient", True, "create, conditionalCreate: True") in findings


def test_a_type_written_by_id_needs_update_create_not_conditional_update() -> None:
    # R4 has no identifier search parameter for AdverseEvent: it is always written by id.
    refused = statement(AdverseEvent={"conditionalUpdate": True, "updateCreate": False})
    findings = assess(refused, ["AdverseEvent"], by_id=["AdverseEvent"])
    assert findings[-1] == Finding(
        "AdverseEvent", False, "updateCreate is false: meso-fhir writes it by its own id"
    )
    allowed = statement(AdverseEvent={"conditionalUpdate": False, "updateCreate": True})
    assert assess(allowed, ["AdverseEvent"], by_id=["AdverseEvent"])[-1].ok is True


def test_a_server_that_cannot_delete_is_named_where_sync_would_delete() -> None:
    # sync deletes what a changed record no longer produces (conditionally; by id where R4 has
    # no identifier search); the Patient is never deleted.
    refusing = statement(
        Observation={"conditionalDelete": "not-supported"},
        AdverseEvent={"interaction": [{"code": "update"}]},
        Patient={"conditionalDelete": "not-supported"},
    )
    types = ["Patient", "Observation", "AdverseEvent"]
    findings = assess(
        refusing,
        types,
        ["Patient"],
        by_id=["AdverseEvent"],
        deletes=["Observation", "AdverseEvent"],
    )
    assert [(f.name, f.ok, f.detail) for f in findings[-3:]] == [
        ("Patient", True, "create, conditionalCreate: True"),
        (
            "Observation",
            None,
            "update, conditionalUpdate: True; no conditional delete: a record that no longer"
            " produces one will fail",
        ),
        (
            "AdverseEvent",
            None,
            "update, updateCreate: not stated; no delete: a record that no longer produces one"
            " will fail",
        ),
    ]
    deleting = [{"code": "create"}, {"code": "update"}, {"code": "delete"}]
    able = statement(Observation={"conditionalDelete": "single", "interaction": deleting})
    [finding] = assess(able, ["Observation"], deletes=["Observation"])[-1:]
    assert finding.ok is True


def test_assess_is_not_sure_where_the_statement_is_silent() -> None:
    silent = {
        "resourceType": "CapabilityStatement",
        "fhirVersion": "4.0.1",
        "rest": [{"mode": "server", "resource": [{"type": "Patient"}]}],
    }
    findings = assess(silent, ["Patient"])
    assert [(f.name, f.ok) for f in findings] == [
        ("FHIR version", True),
        ("transactions", None),
        ("Patient", None),
    ]


@pytest.mark.server
def test_check_against_the_real_test_server(fhir_server: Any) -> None:
    result = CliRunner().invoke(main, ["check", "--server", fhir_server.base_url, "--json"])
    data = orjson.loads(result.stdout)
    by_name = {f["check"]: f for f in data["findings"]}
    assert by_name["reachable"]["ok"] is True
    assert by_name["FHIR version"]["ok"] is True
    assert by_name["authorised search"]["ok"] is True
    assert result.exit_code == (ExitCode.OK if data["ok"] else ExitCode.SYNC_ABORTED)
    assert set(RESOURCE_TYPES) <= set(by_name)


def test_refused_credentials_fail_the_check(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(method="GET", url=f"{BASE}/metadata", json=statement())
    httpx_mock.add_response(
        method="GET",
        url=httpx.URL(f"{BASE}/Patient", params={"_count": "1"}),
        status_code=403,
        json={
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": "forbidden",
                    "diagnostics": "scope system/Patient.rs missing",
                }
            ],
        },
    )
    httpx_mock.add_response(
        method="GET",
        url=re.compile(re.escape(f"{BASE}/StructureDefinition?") + ".*"),
        json={"resourceType": "Bundle", "type": "searchset"},
        is_reusable=True,
        is_optional=True,
    )
    result = CliRunner().invoke(main, ["check", "--server", BASE])
    assert result.exit_code == ExitCode.SYNC_ABORTED
    assert "FAIL authorised search" in result.stdout
    assert "scope system/Patient.rs missing" in result.stdout


def test_an_unreachable_server_is_one_finding_and_exit_6(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(httpx.ConnectError("connection refused"), is_reusable=True)
    result = CliRunner().invoke(main, ["check", "--server", BASE, "--timeout", "1"])
    assert result.exit_code == ExitCode.SYNC_ABORTED
    assert result.stdout.splitlines()[1].startswith("  FAIL reachable")


def test_the_resource_types_checked_are_those_the_mapper_emits() -> None:
    from meso_fhir import ClinicConfig, load, map_records

    from .helpers import EXAMPLE

    emitted = {
        r["resourceType"] for m in map_records(load(EXAMPLE), ClinicConfig()) for r in m.resources
    }
    assert emitted == set(RESOURCE_TYPES)
