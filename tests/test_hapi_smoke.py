"""The local HAPI FHIR JPA server (tests/hapi) is configured as a sync client expects.

Each test proves one setting that makes it behave like the public HAPI test server: client
ids, referential integrity, conditional references, paging, the search cache, Prefer
handling, conditional updates, and (second server) request validation against the project's
FHIR package. Needs Java 17 and Maven; the first run builds the server (minutes, once).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.hapi_server import HapiServer, start_hapi

pytestmark = pytest.mark.hapi

FHIR_JSON = "application/fhir+json"
PACKAGE_DIR = Path(__file__).resolve().parent.parent / "profiles" / "package"
SYSTEM = "urn:meso-fhir:test:hapi"


@pytest.fixture(scope="module")
def hapi() -> Iterator[HapiServer]:
    server = start_hapi()
    yield server
    server.stop()


def _client(server: HapiServer) -> httpx.Client:
    headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=60)


@pytest.fixture
def client(hapi: HapiServer) -> Iterator[httpx.Client]:
    with _client(hapi) as c:
        yield c


@pytest.fixture
def vclient(hapi_validating: HapiServer) -> Iterator[httpx.Client]:
    with _client(hapi_validating) as c:
        yield c


def uid() -> str:
    return uuid.uuid4().hex[:12]


def patient(value: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "identifier": [{"system": SYSTEM, "value": value}], **extra}


def diagnostics(r: httpx.Response) -> str:
    body = r.json()
    assert body["resourceType"] == "OperationOutcome", body
    return " ".join(i.get("diagnostics", "") for i in body["issue"])


def transaction(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


def ref_id(location: str) -> str:
    """'Patient/1003/_history/1' -> 'Patient/1003'."""
    return "/".join(location.split("/")[:2])


def test_all_digit_client_id_is_refused(client: httpx.Client) -> None:
    digits = str(uuid.uuid4().int)[:9]
    r = client.put(f"/Patient/{digits}", json={"resourceType": "Patient", "id": digits})
    assert r.status_code == 400
    assert "HAPI-0960" in diagnostics(r)
    # One letter is enough (strategy ALPHANUMERIC, not ANY).
    r = client.put(f"/Patient/p{digits}", json={"resourceType": "Patient", "id": f"p{digits}"})
    assert r.status_code == 201


def test_transaction_resolves_urn_uuid_and_conditional_reference(client: httpx.Client) -> None:
    existing, new = uid(), uid()
    r = client.put(f"/Patient?identifier={SYSTEM}|{existing}", json=patient(existing))
    assert r.status_code == 201
    existing_id = f"Patient/{r.json()['id']}"

    urn = f"urn:uuid:{uuid.uuid4()}"
    bundle = transaction(
        {
            "fullUrl": urn,
            "resource": patient(new),
            "request": {
                "method": "POST",
                "url": "Patient",
                "ifNoneExist": f"identifier={SYSTEM}|{new}",
            },
        },
        {
            "resource": {
                "resourceType": "Observation",
                "status": "final",
                "code": {"text": "by urn:uuid"},
                "subject": {"reference": urn},
            },
            "request": {"method": "POST", "url": "Observation"},
        },
        {
            "resource": {
                "resourceType": "Observation",
                "status": "final",
                "code": {"text": "by match URL"},
                "subject": {"reference": f"Patient?identifier={SYSTEM}|{existing}"},
            },
            "request": {"method": "POST", "url": "Observation"},
        },
    )
    r = client.post("", json=bundle)
    assert r.status_code == 200, r.text
    locations = [e["response"]["location"] for e in r.json()["entry"]]
    new_id = ref_id(locations[0])
    obs_urn = client.get(f"/{ref_id(locations[1])}").json()
    obs_match = client.get(f"/{ref_id(locations[2])}").json()
    assert obs_urn["subject"]["reference"] == new_id
    assert obs_match["subject"]["reference"] == existing_id


def test_match_url_reference_without_match_is_404(client: httpx.Client) -> None:
    bundle = transaction(
        {
            "resource": {
                "resourceType": "Observation",
                "status": "final",
                "code": {"text": "x"},
                "subject": {"reference": f"Patient?identifier={SYSTEM}|{uid()}"},
            },
            "request": {"method": "POST", "url": "Observation"},
        }
    )
    r = client.post("", json=bundle)
    assert r.status_code == 404
    assert "HAPI-1091" in diagnostics(r)


def test_reference_to_missing_resource_is_refused_and_rolls_back(client: httpx.Client) -> None:
    missing = f"Patient/missing-{uid()}"
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": missing},
    }
    r = client.post("/Observation", json=obs)
    assert r.status_code == 400
    assert "HAPI-1094" in diagnostics(r)

    # In a transaction the whole bundle fails: the Patient beside it is not stored either.
    value = uid()
    bundle = transaction(
        {"resource": patient(value), "request": {"method": "POST", "url": "Patient"}},
        {"resource": obs, "request": {"method": "POST", "url": "Observation"}},
    )
    r = client.post("", json=bundle)
    assert r.status_code == 400
    assert "HAPI-1094" in diagnostics(r)
    r = client.get(
        "/Patient",
        params={"identifier": f"{SYSTEM}|{value}"},
        headers={"Cache-Control": "no-cache"},
    )
    assert r.json().get("entry", []) == []


def test_paging_uses_getpages_links(client: httpx.Client) -> None:
    tag = uid()
    entries = [
        {
            "resource": {
                "resourceType": "Patient",
                "meta": {"tag": [{"system": SYSTEM, "code": tag}]},
            },
            "request": {"method": "POST", "url": "Patient"},
        }
        for _ in range(25)
    ]
    assert client.post("", json=transaction(*entries)).status_code == 200
    page1 = client.get("/Patient", params={"_tag": f"{SYSTEM}|{tag}"}).json()
    assert len(page1["entry"]) == 20  # default page size
    next_url = next(link["url"] for link in page1["link"] if link["relation"] == "next")
    assert "_getpages=" in next_url and "_getpagesoffset=20" in next_url
    # No resource type in the paging link: it points at the server base.
    assert next_url.startswith(client.base_url.__str__().rstrip("/") + "?")
    page2 = client.get(next_url).json()
    assert len(page2["entry"]) == 5
    assert not any(link["relation"] == "next" for link in page2["link"])


def test_search_results_are_reused_unless_no_cache(client: httpx.Client) -> None:
    tag = uid()
    params = {"_tag": f"{SYSTEM}|{tag}"}
    res = {"resourceType": "Patient", "meta": {"tag": [{"system": SYSTEM, "code": tag}]}}
    assert client.post("/Patient", json=res).status_code == 201
    first = client.get("/Patient", params=params).json()
    assert len(first["entry"]) == 1
    assert client.post("/Patient", json=res).status_code == 201
    cached = client.get("/Patient", params=params).json()
    assert cached["id"] == first["id"]  # the same stored search, so still one hit
    assert len(cached["entry"]) == 1
    fresh = client.get("/Patient", params=params, headers={"Cache-Control": "no-cache"}).json()
    assert len(fresh["entry"]) == 2


def test_raw_pipe_in_query_is_accepted(client: httpx.Client) -> None:
    # httpx sends the '|' as is; Tomcat refuses it with 400 unless relaxed-query-chars has it.
    r = client.get(f"/Patient?identifier={SYSTEM}|{uid()}")
    assert "|" in r.request.url.raw_path.decode()
    assert r.status_code == 200


def test_prefer_return_minimal_transaction(client: httpx.Client) -> None:
    put_value = uid()
    bundle = transaction(
        {"resource": patient(uid()), "request": {"method": "POST", "url": "Patient"}},
        {
            "resource": patient(put_value),
            "request": {"method": "PUT", "url": f"Patient?identifier={SYSTEM}|{put_value}"},
        },
    )
    r = client.post("", json=bundle, headers={"Prefer": "return=minimal"})
    assert r.status_code == 200, r.text
    entries = r.json()["entry"]
    assert len(entries) == 2
    for e in entries:
        assert "resource" not in e
        assert e["response"]["status"].startswith("201")
        assert e["response"]["location"].startswith("Patient/")
        assert e["response"]["etag"]


def test_entries_through_one_conditional_url_are_merged_into_one_answer(
    client: httpx.Client,
) -> None:
    """HAPI answers once for entries that write through the same conditional URL, so the
    response has fewer entries than the request (syncing/sinks.py fans the answer out)."""
    once, twice = uid(), uid()
    create = {"method": "POST", "url": "Patient", "ifNoneExist": f"identifier={SYSTEM}|{once}"}
    put = {"method": "PUT", "url": f"Patient?identifier={SYSTEM}|{twice}"}
    # Each with a fullUrl, as meso-fhir sends them (HAPI-2008 refuses anonymous duplicates).
    bundle = transaction(
        *(
            {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": patient(value), "request": request}
            for value, request in ((once, create), (twice, put), (once, create), (twice, put))
        )
    )
    r = client.post("", json=bundle, headers={"Prefer": "return=minimal"})
    assert r.status_code == 200, r.text
    locations = [e["response"]["location"].split("/_history")[0] for e in r.json()["entry"]]
    assert len(locations) == 2
    for value, location in zip((once, twice), locations, strict=True):
        found = client.get("/Patient", params={"identifier": f"{SYSTEM}|{value}"}).json()
        assert [f"Patient/{e['resource']['id']}" for e in found["entry"]] == [location]


def test_conditional_put_creates_then_updates_and_noop_keeps_version(client: httpx.Client) -> None:
    value = uid()
    url = f"/Patient?identifier={SYSTEM}|{value}"

    r = client.put(url, json=patient(value, name=[{"family": "A"}]))
    assert r.status_code == 201
    assert r.json()["meta"]["versionId"] == "1"
    pid = r.json()["id"]

    r = client.put(url, json=patient(value, name=[{"family": "B"}]))
    assert r.status_code == 200
    assert r.json()["id"] == pid
    assert r.json()["meta"]["versionId"] == "2"

    # The same content again: HAPI stores no new version.
    r = client.put(url, json=patient(value, name=[{"family": "B"}]))
    assert r.status_code == 200
    assert r.json()["meta"]["versionId"] == "2"
    assert r.headers["etag"] == 'W/"2"'

    # When the URL matches nothing, a body that does not satisfy it is refused ...
    r = client.put(f"/Patient?identifier={SYSTEM}|{uid()}", json=patient(uid()))
    assert r.status_code == 400
    assert "HAPI-0929" in diagnostics(r)
    # ... but when it matches, HAPI accepts a body that no longer satisfies it (default
    # preventInvalidatingConditionalMatchCriteria=false): the identifier really changes.
    other = uid()
    r = client.put(url, json=patient(other))
    assert r.status_code == 200
    assert r.json()["id"] == pid
    assert r.json()["identifier"][0]["value"] == other


def test_unknown_profile_is_rejected(vclient: httpx.Client) -> None:
    res = patient(
        uid(), meta={"profile": ["https://meso-fhir.org/fhir/StructureDefinition/no-such"]}
    )
    r = vclient.post("/Patient", json=res)
    assert 400 <= r.status_code < 500
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    assert any(i["severity"] == "error" for i in body["issue"])
    assert "no-such" in json.dumps(body)


def test_resource_conforming_to_package_profile_is_accepted(vclient: httpx.Client) -> None:
    example = json.loads((PACKAGE_DIR / "Patient-example-patient.json").read_text())
    r = vclient.put(f"/Patient/{example['id']}", json=example)
    assert r.status_code in (200, 201), r.text


def test_loinc_code_is_a_warning_not_an_error(vclient: httpx.Client) -> None:
    # No terminology server may be reached, so LOINC cannot be checked; the server must
    # still accept a vital sign that is otherwise valid (the patient it refers to first).
    patient_res = json.loads((PACKAGE_DIR / "Patient-example-patient.json").read_text())
    assert vclient.put(f"/Patient/{patient_res['id']}", json=patient_res).status_code in (200, 201)
    obs = json.loads((PACKAGE_DIR / "Observation-example-heart-rate.json").read_text())
    r = vclient.post("/Observation/$validate", json=obs)
    issues = r.json()["issue"]
    loinc = [i for i in issues if "http://loinc.org" in i.get("diagnostics", "")]
    assert loinc and all(i["severity"] == "warning" for i in loinc), issues
    r = vclient.put(f"/Observation/{obs['id']}", json=obs)
    assert r.status_code in (200, 201), r.text


def test_resource_breaking_package_profile_is_rejected(vclient: httpx.Client) -> None:
    example = json.loads((PACKAGE_DIR / "Patient-example-patient.json").read_text())
    profile = json.loads((PACKAGE_DIR / "StructureDefinition-meso-patient.json").read_text())
    # Every top-level Patient element is optional in base R4, so one the profile makes
    # required (1..) proves that the package's profile, not the base spec, was applied.
    required = [
        e["path"].split(".")[1]
        for e in profile["differential"]["element"]
        if e["path"].count(".") == 1 and e.get("min", 0) >= 1 and ":" not in e["id"]
    ]
    missing = next(name for name in required if name in example)
    del example["id"]
    del example[missing]
    r = vclient.post("/Patient", json=example)
    assert r.status_code == 422, r.text
    assert f"Patient.{missing}" in json.dumps(r.json())
    # Without the profile claim the same resource is plain R4 and passes.
    del example["meta"]
    assert vclient.post("/Patient", json=example).status_code == 201


def test_validating_server_checks_transaction_entries(vclient: httpx.Client) -> None:
    res = patient(
        uid(), meta={"profile": ["https://meso-fhir.org/fhir/StructureDefinition/no-such"]}
    )
    bundle = transaction({"resource": res, "request": {"method": "POST", "url": "Patient"}})
    r = vclient.post("", json=bundle)
    assert 400 <= r.status_code < 500
    assert r.json()["resourceType"] == "OperationOutcome"


def test_metadata_elements_gives_the_fhir_version_alone(client: httpx.Client) -> None:
    # A sync's preflight reads only fhirVersion: asked for alone, it is a few hundred bytes of
    # a CapabilityStatement of over a megabyte.
    whole = client.get("/metadata")
    alone = client.get("/metadata", params={"_elements": "fhirVersion"})
    assert whole.status_code == alone.status_code == 200
    assert alone.json()["fhirVersion"] == whole.json()["fhirVersion"] == "4.0.1"
    assert "rest" in whole.json() and "rest" not in alone.json()
    assert len(alone.content) < 1_000 < 1_000_000 < len(whole.content)
