"""Each mapping function against golden FHIR JSON (reviewed by eye once), plus identity rules.

Regenerate after a deliberate change with ``UPDATE_GOLDEN=1 pytest tests/test_mapping.py`` and
review the diff.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from meso_fhir import codes
from meso_fhir.mapping.bundle import WriteStrategy, conditional_url, entry, entry_json, transaction
from meso_fhir.mapping.export import directory
from meso_fhir.mapping.identity import ClinicConfig, business_identifier, full_url, resource_id
from meso_fhir.mapping.resources import fhir_datetime, map_record, strength
from meso_fhir.model import Export, Record, load
from meso_fhir.model.records import Session, SessionObservation

from .helpers import EXAMPLE, example_document

GOLDEN = Path(__file__).parent / "golden"
CONFIG = ClinicConfig(
    mrn_system="https://hospital.example.org/fhir/sid/mrn",
    identifier_base="https://clinic.example.org/fhir/sid",
    timezone="Europe/Paris",
)

# One golden file per mapping function and per shape worth seeing: (file, kind, source id).
CASES = [
    ("patient", "patient", "P001"),
    ("screening-eligible", "screening", "S001"),
    ("screening-contraindicated", "screening", "S007"),
    ("screening-reported-condition", "screening", "S004"),
    ("screening-allergen", "screening", "S006"),
    ("course", "course", "C004"),
    ("course-photo-consent-without-disclosure", "course", "C001"),
    ("session-with-complication", "session", "C004-S2"),
    ("session-with-photos", "session", "C001-S1"),
    ("observation-pain", "observation", "C004-S2-O1"),
    ("observation-measurement", "observation", "C004-S2-O2"),
    ("observation-adverse-reaction", "observation", "C004-S2-O4"),
    ("observation-hypersensitivity", "observation", "C005-S2-O2"),
    ("observation-scale", "observation", "C001-S4-O2"),
]


def _records() -> dict[tuple[str, str], tuple[Record, Export]]:
    export = load(EXAMPLE)
    return {(r.kind, r.id): (r, export) for r in export.records()}


RECORDS = _records()


def _mapped(kind: str, source_id: str) -> list[dict[str, Any]]:
    record, export = RECORDS[(kind, source_id)]
    indication = export.course_indication(record.course_id) if isinstance(record, Session) else None
    given = (
        export.session_given(record.session_id) if isinstance(record, SessionObservation) else ()
    )
    photos = export.session_photos(record) if isinstance(record, Session) else None
    return map_record(record, CONFIG, indication, given, photos).resources


def test_the_clinic_and_its_practitioners_match_golden() -> None:
    """The Organization (named by the configuration) and the Practitioners the sessions name,
    each as the latest session giving its name and qualification describes them."""
    export = next(iter(RECORDS.values()))[1]
    named = ClinicConfig(
        **{**CONFIG.identity(), "timezone": CONFIG.timezone}, clinic_name="Clinique du Parc"
    )
    resources = [r for mapped in directory(export, named) for r in mapped.resources]
    golden = GOLDEN / "directory.json"
    rendered = orjson.dumps(resources, option=orjson.OPT_INDENT_2) + b"\n"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_bytes(rendered)
    assert rendered.decode() == golden.read_text()
    assert [r["resourceType"] for r in resources] == [
        "Organization",
        "Practitioner",
        "Practitioner",
    ]


@pytest.mark.parametrize(("name", "kind", "source_id"), CASES)
def test_mapping_matches_golden(name: str, kind: str, source_id: str) -> None:
    resources = _mapped(kind, source_id)
    golden = GOLDEN / f"{name}.json"
    rendered = orjson.dumps(resources, option=orjson.OPT_INDENT_2) + b"\n"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_bytes(rendered)
    assert rendered.decode() == golden.read_text()


def test_every_resource_declares_its_profile_and_a_business_identifier() -> None:
    profile = codes.CANONICAL + "/StructureDefinition/"
    sid = "https://clinic.example.org/fhir/sid/"
    declared: set[tuple[str, str, str, str]] = set()
    identifiers: set[tuple[str, str]] = set()
    binaries = 0
    for kind, source_id in RECORDS:
        for resource in _mapped(kind, source_id):
            [declared_profile] = resource["meta"]["profile"]
            if resource["resourceType"] == "Binary":  # R4's Binary has no identifier
                assert "identifier" not in resource
                assert declared_profile == profile + "meso-photo-content"
                binaries += 1
                continue
            business = business_identifier(resource)
            declared.add((kind, resource["resourceType"], declared_profile, business["system"]))
            assert isinstance(business["value"], str) and business["value"]
            assert (business["system"], business["value"]) not in identifiers
            identifiers.add((business["system"], business["value"]))
    assert declared == {
        ("patient", "Patient", profile + "meso-patient", CONFIG.mrn_system),
        ("screening", "Observation", profile + "meso-vital-signs", sid + "screening"),
        ("screening", "Observation", profile + "meso-screening-finding", sid + "screening"),
        ("screening", "Observation", profile + "meso-eligibility", sid + "screening"),
        (
            "screening",
            "MedicationStatement",
            profile + "meso-medication-statement",
            sid + "screening",
        ),
        ("screening", "Encounter", profile + "meso-encounter", sid + "encounter"),
        ("screening", "Condition", profile + "meso-condition", sid + "screening"),
        ("screening", "AllergyIntolerance", profile + "meso-allergy", sid + "screening"),
        ("course", "CarePlan", profile + "meso-course", sid + "course"),
        ("course", "Consent", profile + "meso-consent", sid + "course"),
        ("session", "Encounter", profile + "meso-encounter", sid + "encounter"),
        ("session", "BodyStructure", profile + "meso-injection-site", sid + "injection"),
        ("session", "Procedure", profile + "meso-session", sid + "session"),
        ("session", "MedicationAdministration", profile + "meso-injection", sid + "injection"),
        ("session", "Condition", profile + "meso-condition", sid + "session"),
        ("session", "Media", profile + "meso-media", sid + "session"),
        ("observation", "Observation", profile + "meso-session-observation", sid + "observation"),
        ("observation", "AdverseEvent", profile + "meso-adverse-event", sid + "observation"),
        ("observation", "AllergyIntolerance", profile + "meso-allergy", sid + "observation"),
    }
    assert binaries == 1


def test_ids_are_deterministic_hapi_safe_and_unique() -> None:
    ids: set[tuple[str, str]] = set()
    for kind, source_id in RECORDS:
        for resource in _mapped(kind, source_id):
            rid = resource["id"]
            assert re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", rid) and not rid.isdigit()
            assert (resource["resourceType"], rid) not in ids
            ids.add((resource["resourceType"], rid))
    assert len(ids) == 301


def test_resource_id_is_mf_and_40_hex_digits_of_the_sha256_of_system_and_value() -> None:
    expected = "mf-" + hashlib.sha256(b"https://c.example/sid/session|S-1").hexdigest()[:40]
    assert resource_id("https://c.example/sid/session", "S-1") == expected
    assert resource_id("s", "v") == "mf-718b3df694baa0894fe70d0c6c60bb373bcbc8a8"
    # another value or another system is another id
    assert len({resource_id("s", "v"), resource_id("s", "w"), resource_id("t", "v")}) == 3


def test_patient_id_derives_from_clinic_id_and_mrn_is_the_business_identifier() -> None:
    [patient] = _mapped("patient", "P001")
    # the id is SHA-256 of the clinic's patient id in its system, not of the MRN
    assert patient["id"] == "mf-ed2550f6725ca76440a352f5f71f73e6b8a543f0"
    assert patient["identifier"][0] == {
        "use": "usual",
        "type": {
            "coding": [{"system": codes.V2_0203, "code": "MR", "display": "Medical record number"}]
        },
        "system": "https://hospital.example.org/fhir/sid/mrn",
        "value": "MRN-40021",
    }


def test_withdrawn_records_become_entered_in_error() -> None:
    record, export = RECORDS[("session", "C004-S2")]
    withdrawn = record.model_copy(update={"withdrawn": True})
    resources = map_record(withdrawn, CONFIG, export.course_indication("C004")).resources
    sides = [r for r in resources if r["resourceType"] == "BodyStructure"]
    assert sides and all(r["active"] is False for r in sides)  # BodyStructure has no status
    [complication] = [r for r in resources if r["resourceType"] == "Condition"]
    assert {r["status"] for r in resources if r not in [*sides, complication]} == {
        "entered-in-error"
    }
    assert complication["verificationStatus"]["coding"][0]["code"] == "entered-in-error"
    patient, _ = RECORDS[("patient", "P002")]
    [mapped] = map_record(patient.model_copy(update={"withdrawn": True}), CONFIG).resources
    assert mapped["active"] is False


def _by_type(resources: list[dict[str, Any]], resource_type: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["resourceType"] == resource_type]


def _code(concept: dict[str, Any]) -> str:
    return str(concept["coding"][0]["code"])


def test_a_yes_is_a_condition_resting_on_the_answer_and_a_no_is_none() -> None:
    record, _ = RECORDS[("screening", "S004")]  # diabetes: yes; the other questions: no
    resources = map_record(record, CONFIG).resources
    [condition] = _by_type(resources, "Condition")
    assert _code(condition["code"]) == "73211009"  # Diabetes mellitus
    assert _code(condition["verificationStatus"]) == "unconfirmed"  # the patient's word
    assert _code(condition["clinicalStatus"]) == "active"
    assert condition["asserter"] == condition["subject"]
    [answer] = [
        r
        for r in resources
        if r["resourceType"] == "Observation"
        and r["identifier"][0]["value"] == "S004/contraindication-diabetes"
    ]
    assert condition["evidence"] == [{"detail": [{"reference": f"Observation/{answer['id']}"}]}]
    assert _code(answer["valueCodeableConcept"]) == "LA33-6"
    # a no to component-allergy: no known allergy, as US Core records it
    [allergy] = _by_type(resources, "AllergyIntolerance")
    assert (_code(allergy["code"]), _code(allergy["verificationStatus"])) == (
        "716186003",
        "confirmed",
    )
    withdrawn = map_record(record.model_copy(update={"withdrawn": True}), CONFIG).resources
    [condition] = _by_type(withdrawn, "Condition")
    assert "clinicalStatus" not in condition  # con-5
    assert _code(condition["verificationStatus"]) == "entered-in-error"
    [allergy] = _by_type(withdrawn, "AllergyIntolerance")
    assert "clinicalStatus" not in allergy  # ait-2
    assert _code(allergy["verificationStatus"]) == "entered-in-error"


def test_a_component_allergy_is_coded_by_each_substance_or_generically() -> None:
    record, _ = RECORDS[("screening", "S006")]  # component-allergy: yes, lidocaine
    [allergy] = _by_type(map_record(record, CONFIG).resources, "AllergyIntolerance")
    assert allergy["code"]["coding"][0] == {
        "system": codes.SCT,
        "code": "387480006",
        "display": "Lidocaine",
    }
    assert allergy["category"] == ["medication"]
    unnamed = record.model_copy(update={"allergens": []})
    [allergy] = _by_type(map_record(unnamed, CONFIG).resources, "AllergyIntolerance")
    assert _code(allergy["code"]) == "419199007"  # Allergy to substance
    unasked = record.model_copy(update={"allergens": [], "contraindications": {"diabetes": False}})
    assert _by_type(map_record(unasked, CONFIG).resources, "AllergyIntolerance") == []


def test_allergens_beside_a_no_are_refused(tmp_path: Path) -> None:
    doc = example_document()
    screening = next(s for s in doc["screenings"] if s["id"] == "S004")
    screening["allergens"] = ["lidocaine"]  # but component-allergy is false
    path = tmp_path / "clinic.json"
    path.write_bytes(orjson.dumps(doc))
    errors = [e for e in load(path).errors if e.source_id == "S004"]
    assert [(e.kind, "component-allergy is not yes" in str(e)) for e in errors] == [
        ("screening", True)
    ]


def test_a_hypersensitivity_reaction_suspects_each_product_given_and_is_an_adverse_event() -> None:
    record, export = RECORDS[("observation", "C005-S2-O2")]
    given = export.session_given("C005-S2")
    resources = map_record(record, CONFIG, given=given).resources
    [event] = _by_type(resources, "AdverseEvent")
    assert [s["instance"]["reference"] for s in event["suspectEntity"]] == [
        f"MedicationAdministration/{resource_id(CONFIG.system('injection'), g.injection_id)}"
        for g in given
    ]
    assert (_code(event["severity"]), _code(event["outcome"]), _code(event["seriousness"])) == (
        "mild",
        "resolved",
        "Non-serious",
    )
    [allergy] = _by_type(resources, "AllergyIntolerance")  # one product: HAIR-BIO
    assert allergy["code"]["coding"][0]["code"] == "HAIR-BIO"
    assert _code(allergy["verificationStatus"]) == "unconfirmed"
    assert _code(allergy["reaction"][0]["manifestation"][0]) == "95378001"
    # two products at the session: each is suspected; no injection: the Procedure is
    two = (*given, given[0]._replace(injection_id="X-1", product_code="OTHER"))
    resources = map_record(record, CONFIG, given=two).resources
    assert len(_by_type(resources, "AllergyIntolerance")) == 2
    none = map_record(record, CONFIG).resources
    [event] = _by_type(none, "AdverseEvent")
    assert event["suspectEntity"][0]["instance"]["reference"].startswith("Procedure/")
    assert _by_type(none, "AllergyIntolerance") == []
    # R4's AdverseEvent has no status: a withdrawn report sends none
    withdrawn = map_record(record.model_copy(update={"withdrawn": True}), CONFIG, given=given)
    assert _by_type(withdrawn.resources, "AdverseEvent") == []


def test_an_adverse_event_is_written_by_id_whatever_the_strategy() -> None:
    # R4 defines no identifier search parameter for AdverseEvent.
    record, export = RECORDS[("observation", "C004-S2-O4")]
    resources = map_record(record, CONFIG, given=export.session_given("C004-S2")).resources
    [event] = _by_type(resources, "AdverseEvent")
    entry = transaction(resources, "conditional")["entry"][resources.index(event)]
    assert entry["request"] == {"method": "PUT", "url": f"AdverseEvent/{event['id']}"}
    assert entry["resource"]["id"] == event["id"]


def test_naive_times_take_the_clinic_zone() -> None:
    assert (
        fhir_datetime(dt.datetime(2025, 7, 1, 10, 0), "Europe/Paris") == "2025-07-01T10:00:00+02:00"
    )
    assert (
        fhir_datetime(dt.datetime(2025, 1, 1, 10, 0), "Europe/Paris") == "2025-01-01T10:00:00+01:00"
    )
    assert fhir_datetime(dt.date(2025, 1, 1), "Europe/Paris") == "2025-01-01"


def test_transaction_rewrites_references_to_full_urls_and_uses_conditional_puts() -> None:
    resources = _mapped("patient", "P001") + _mapped("course", "C001")
    bundle = transaction(resources)
    patient_entry, plan_entry, _consent, _photo_consent = bundle["entry"]
    patient_ref = f"Patient/{resources[0]['id']}"
    assert patient_entry["fullUrl"] == full_url(patient_ref)
    assert patient_entry["request"] == {
        "method": "PUT",
        "url": "Patient?identifier=https://hospital.example.org/fhir/sid/mrn|MRN-40021",
    }
    assert "id" not in patient_entry["resource"]
    assert plan_entry["resource"]["subject"] == {"reference": full_url(patient_ref)}
    # the screening is not in this bundle: its reference is left for the server to resolve
    assert plan_entry["resource"]["supportingInfo"][0]["reference"].startswith("Observation/mf-")


def _references(value: Any) -> list[str]:
    """Every ``reference`` anywhere in a resource, contained ones ('#...') left out."""
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []


def _every_resource() -> list[dict[str, Any]]:
    """Every resource of the example: the clinic and its practitioners, then each record's."""
    export = next(iter(RECORDS.values()))[1]
    shared = [r for mapped in directory(export, CONFIG) for r in mapped.resources]
    return shared + [r for kind, source_id in RECORDS for r in _mapped(kind, source_id)]


def test_a_transaction_of_a_whole_export_refers_only_by_full_url() -> None:
    """Wherever a reference sits (subject, encounter, context, ...), a target in the Bundle is
    referred to by its full URL: a conditional write has no id the server would know."""
    bundle = transaction(_every_resource())
    full_urls = {e["fullUrl"] for e in bundle["entry"]}
    left = [
        ref
        for e in bundle["entry"]
        for ref in _references(e["resource"])
        if not ref.startswith("#") and ref not in full_urls
    ]
    assert left == []


@pytest.mark.parametrize("strategy", ["conditional", "id"])
def test_a_bundle_file_entry_is_the_transaction_entry_as_json(strategy: WriteStrategy) -> None:
    """``entry_json`` (what ``meso-fhir map`` writes: references rewritten in the JSON text)
    says byte for byte what ``entry`` builds by walking the resource, for every resource of
    the example (Patients as conditional creates too)."""
    resources = _every_resource()
    assert {r["resourceType"] for r in resources} >= {"MedicationAdministration", "Binary"}
    for resource in resources:
        for create_only in {False, resource["resourceType"] == "Patient"}:  # as map sends them
            expected = orjson.dumps(entry(resource, strategy, create_only=create_only))
            assert entry_json(resource, strategy, create_only) == expected


@pytest.mark.parametrize("strategy", ["conditional", "id"])
def test_a_transaction_to_send_is_the_transaction_as_json(strategy: WriteStrategy) -> None:
    """``transaction(serialised=True)`` (what sync sends) serialises to the same bytes as the
    walked transaction, with targets in the Bundle, on the server (``elsewhere``) and neither."""
    resources = _every_resource()
    patients = [f"Patient/{r['id']}" for r in resources if r["resourceType"] == "Patient"]
    sent = resources[len(resources) // 2 :]  # the other half is on the server, or unknown
    elsewhere = {f"{r['resourceType']}/{r['id']}": f"{r['resourceType']}/1" for r in resources[::3]}
    walked = transaction(sent, strategy, elsewhere, patients)
    text = transaction(sent, strategy, elsewhere, patients, serialised=True)
    assert orjson.dumps(text) == orjson.dumps(walked)
    assert b'/1"' in orjson.dumps(walked)  # some references did resolve to server ids


@pytest.mark.parametrize(
    "resource",
    [
        # a contained resource's references are its own ('#...'): the walk leaves them alone
        {
            "resourceType": "Observation",
            "id": "mf-1",
            "contained": [
                {"resourceType": "Device", "id": "d", "owner": {"reference": "Organization/mf-2"}}
            ],
            "subject": {"reference": "Patient/mf-3"},
            "device": {"reference": "#d"},
        },
        # a JSON escape inside a reference: the text is not rewritten, the walk is used
        {"resourceType": "Observation", "id": "mf-1", "subject": {"reference": 'Patient/a"b'}},
        {"resourceType": "Observation", "id": "mf-1", "subject": {"reference": "urn:uuid:x"}},
        {"resourceType": "Observation", "id": "mf-1", "subject": {"reference": ""}},
    ],
)
def test_a_bundle_file_entry_agrees_with_the_walk_where_the_text_could_not(
    resource: dict[str, Any],
) -> None:
    expected = orjson.dumps(entry(resource, "id"))
    assert entry_json(resource, "id") == expected
    assert b"Patient/mf-3" not in expected  # the top level's reference was rewritten


def test_id_strategy_keeps_ids_and_puts_by_id() -> None:
    resources = _mapped("patient", "P001")
    [entry] = transaction(resources, strategy="id")["entry"]
    assert entry["request"] == {"method": "PUT", "url": f"Patient/{resources[0]['id']}"}
    assert entry["resource"]["id"] == resources[0]["id"]


def test_references_to_resources_elsewhere_use_the_given_server_ids() -> None:
    resources = _mapped("course", "C001")
    target = resources[0]["subject"]["reference"]
    bundle = transaction(resources, elsewhere={target: "Patient/123"})
    assert bundle["entry"][0]["resource"]["subject"] == {"reference": "Patient/123"}


def test_full_url_is_the_rfc4122_uuid5_of_the_reference() -> None:
    # the namespace: uuid5 of the URL namespace and the project URL
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, "https://meso-fhir.org/fhir")
    for reference in ("Patient/mf-1", "Observation/mf-abc", "Procedure/é"):
        assert full_url(reference) == f"urn:uuid:{uuid.uuid5(namespace, reference)}"
    assert full_url("Patient/mf-1") == "urn:uuid:6506a815-8dfc-5a77-8dba-aa3baaff7803"
    assert full_url("Patient/mf-2") != full_url("Patient/mf-1")


def test_conditional_url_escapes_only_what_needs_it() -> None:
    plain = {
        "resourceType": "Procedure",
        "identifier": [{"system": "https://c.org/sid/session", "value": "S-1"}],
    }
    odd = {"resourceType": "Procedure", "identifier": [{"system": "urn:x", "value": "S 1&x=é"}]}
    assert conditional_url(plain) == "Procedure?identifier=https://c.org/sid/session|S-1"
    assert conditional_url(odd) == "Procedure?identifier=urn:x|S%201%26x%3D%C3%A9"


@pytest.mark.parametrize(
    ("label", "numerator", "denominator"),
    [
        ("20 mg/mL", (20, "mg"), 1),
        ("0.5 g / 10 mL", (0.5, "g"), 10),
        ("50 µg/mL", (50, "ug"), 1),
        ("500 mcg/2 mL", (500, "ug"), 2),
        ("1000 IU/mL", (1000, "[iU]"), 1),
    ],
)
def test_a_concentration_becomes_a_ucum_ratio(
    label: str, numerator: tuple[float, str], denominator: float
) -> None:
    ratio = strength(label)
    value, unit = numerator
    assert ratio == {
        "numerator": {"value": value, "unit": unit, "system": codes.UCUM, "code": unit},
        "denominator": {"value": denominator, "unit": "mL", "system": codes.UCUM, "code": "mL"},
    }


@pytest.mark.parametrize("label", ["0.5 %", "20 mg", "20 mg/g", "mg/mL", "20 mg/mL/h"])
def test_a_concentration_that_is_not_per_volume_is_refused_with_its_field(label: str) -> None:
    doc = example_document()
    session = next(s for s in doc["sessions"] if s["injections"] and not s.get("photos"))
    session["injections"][0]["product"]["ingredients"] = [
        {"substance": "lidocaine", "concentration": label}
    ]
    errors = load([{"kind": "session", **session}]).errors
    assert [(e.source_id, e.field) for e in errors] == [
        (session["id"], "injections[0].product.ingredients[0].concentration")
    ]
    assert "amount per volume" in errors[0].message


def test_every_optional_injection_field_arrives() -> None:
    doc = example_document()
    session = next(s for s in doc["sessions"] if s["injections"] and not s.get("photos"))
    injection = session["injections"][0]
    injection.update(lot="LOT-9", expiry="2027-05-31", needle="30G 4 mm", technique="nappage")
    injection.update(site="cheek", laterality="left")
    injection["depth"] = {"value": 2, "unit": "mm"}
    injection["product"]["ingredients"] = [{"substance": "lidocaine", "concentration": "5 mg/mL"}]
    mapped = map_record(Session.model_validate_json(orjson.dumps(session)), CONFIG, "wrinkles")
    [administration] = [
        r for r in mapped.resources if r["resourceType"] == "MedicationAdministration"
    ][:1]
    medication = administration["contained"][0]
    assert medication["batch"] == {"lotNumber": "LOT-9", "expirationDate": "2027-05-31"}
    assert medication["ingredient"][0]["strength"] == strength("5 mg/mL")
    dosage = administration["dosage"]
    assert {e["url"].rsplit("/", 1)[1] for e in dosage["extension"]} == {
        "injection-depth",
        "needle",
    }
    assert dosage["method"]["coding"][0]["code"] == "technique-nappage"
    # the side: a BodyStructure the site refers to, the plain site coding kept
    [side] = [r for r in mapped.resources if r["resourceType"] == "BodyStructure"][:1]
    assert side["location"]["coding"][0]["code"] == "36141000"
    assert side["locationQualifier"][0]["coding"][0]["code"] == "7771000"
    assert dosage["site"]["coding"][0]["code"] == "36141000"
    assert dosage["site"]["extension"] == [
        {
            "url": "http://hl7.org/fhir/StructureDefinition/bodySite",
            "valueReference": {"reference": f"BodyStructure/{side['id']}"},
        }
    ]
