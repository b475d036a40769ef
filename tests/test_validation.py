"""Offline validation: one resource per profile that passes, one broken resource per rule kind
(exactly one issue, exact path and rule), Bundles, speed-path equivalence (and each entry of the
FHIRPath subset's tables), public names, packaged data, robustness to any JSON."""

from __future__ import annotations

import copy
import json
import random
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fhirpathpy
import pytest
from fhirpathpy.models import models as fhirpath_models
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meso_fhir import codes, validation
from meso_fhir.validation import ERROR, WARNING, Issue, Validator, fhirpath, files
from meso_fhir.validation.bundles import BundleIndex, EntrySummary, shell_of
from meso_fhir.validation.definitions import Definitions, packaged
from meso_fhir.validation.files import Unreadable, validate_file
from meso_fhir.validation.invariants import Invariants
from meso_fhir.validation.issues import Run
from meso_fhir.validation.snapshots import Snapshots

REPO = Path(__file__).resolve().parent.parent
MESO = codes.LOCAL
PATIENT_REF = {"reference": "Patient/p1"}
# Base R4 vital-signs profiles a vital sign may declare beside ours (the packaged ones are checked).
BASE_VITAL_PROFILE = {
    "85354-9": "http://hl7.org/fhir/StructureDefinition/bp",
    "8867-4": "http://hl7.org/fhir/StructureDefinition/heartrate",
}
WHEN = "2024-03-08T14:00:00+01:00"

Resource = dict[str, Any]


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator.load()


def meta(profile: str, *more: str) -> dict[str, Any]:
    return {"profile": [profile, *more]}


def coding(c: tuple[str, str, str]) -> dict[str, str]:
    return {"system": c[0], "code": c[1], "display": c[2]}


def concept(*cs: tuple[str, str, str]) -> dict[str, Any]:
    return {"coding": [coding(c) for c in cs]}


def ident(value: str) -> list[dict[str, str]]:
    return [{"system": "https://clinic.example.org/fhir/sid/test", "value": value}]


# --- one valid resource per profile (shaped like the mapper's output) -----------------------------
def patient() -> Resource:
    return {
        "resourceType": "Patient",
        "id": "p1",
        "meta": meta(codes.PROFILE_PATIENT),
        "identifier": [
            {
                "type": concept((codes.V2_0203, "MR", "Medical record number")),
                "system": "https://hospital.example.org/fhir/sid/mrn",
                "value": "MRN-1",
            }
        ],
        "name": [{"family": "Martin", "given": ["Claire"]}],
        "gender": "female",
        "birthDate": "1981-04-12",
    }


def heart_rate() -> Resource:
    code, display, unit = codes.VITAL_SIGN["heart_rate"]
    return {
        "resourceType": "Observation",
        "id": "hr1",
        "meta": meta(codes.PROFILE_VITAL_SIGNS, BASE_VITAL_PROFILE[code]),
        "identifier": ident("hr1"),
        "status": "final",
        "category": [concept(codes.VITAL_SIGNS_CATEGORY)],
        "code": concept((codes.LOINC, code, display)),
        "subject": PATIENT_REF,
        "effectiveDateTime": WHEN,
        "valueQuantity": {"value": 64, "unit": unit, "system": codes.UCUM, "code": unit},
    }


def blood_pressure() -> Resource:
    def component(c: tuple[str, str], value: int) -> dict[str, Any]:
        q = {"value": value, "unit": "mm[Hg]", "system": codes.UCUM, "code": "mm[Hg]"}
        return {"code": concept((codes.LOINC, *c)), "valueQuantity": q}

    return {
        "resourceType": "Observation",
        "id": "bp1",
        "meta": meta(codes.PROFILE_VITAL_SIGNS, BASE_VITAL_PROFILE["85354-9"]),
        "identifier": ident("bp1"),
        "status": "final",
        "category": [concept(codes.VITAL_SIGNS_CATEGORY)],
        "code": concept((codes.LOINC, *codes.BLOOD_PRESSURE)),
        "subject": PATIENT_REF,
        "effectiveDateTime": WHEN,
        "component": [component(codes.SYSTOLIC, 118), component(codes.DIASTOLIC, 76)],
    }


def contraindication() -> Resource:
    return {
        "resourceType": "Observation",
        "id": "ci1",
        "meta": meta(codes.PROFILE_SCREENING_FINDING),
        "identifier": ident("ci1"),
        "status": "final",
        "category": [concept(codes.SURVEY_CATEGORY), concept(codes.CONTRAINDICATION_CATEGORY)],
        "code": concept(*codes.CONTRAINDICATION["diabetes"]),
        "subject": PATIENT_REF,
        "effectiveDateTime": WHEN,
        "valueCodeableConcept": concept(*codes.ANSWER[False]),
    }


def eligibility() -> Resource:
    return {
        "resourceType": "Observation",
        "id": "el1",
        "meta": meta(codes.PROFILE_ELIGIBILITY),
        "identifier": ident("el1"),
        "status": "final",
        "category": [concept(codes.SURVEY_CATEGORY)],
        "code": concept(codes.ELIGIBILITY),
        "subject": PATIENT_REF,
        "effectiveDateTime": WHEN,
        "valueCodeableConcept": concept(codes.ELIGIBILITY_ANSWER["eligible"]),
        "derivedFrom": [{"reference": "Observation/ci1"}],
    }


def medication_statement() -> Resource:
    return {
        "resourceType": "MedicationStatement",
        "id": "ms1",
        "meta": meta(codes.PROFILE_MEDICATION_STATEMENT),
        "identifier": ident("ms1"),
        "status": "stopped",
        "medicationCodeableConcept": concept(*codes.MEDICATION["aspirin"]),
        "subject": PATIENT_REF,
        "effectivePeriod": {"start": "2024-01-01", "end": "2024-02-10"},
        "dateAsserted": WHEN,
    }


def course() -> Resource:
    return {
        "resourceType": "CarePlan",
        "id": "c1",
        "meta": meta(codes.PROFILE_COURSE),
        "extension": [
            {
                "url": codes.EXT_TREATMENT_AREA,
                "valueCodeableConcept": concept(codes.BODY_SITE["face"]),
            }
        ],
        "identifier": ident("c1"),
        "status": "active",
        "intent": "plan",
        "subject": PATIENT_REF,
        "period": {"start": "2024-03-08"},
        "activity": [
            {
                "detail": {
                    "kind": "ServiceRequest",
                    "code": concept(*codes.MESOTHERAPY_SESSION),
                    "reasonCode": [concept(codes.INDICATION["skin-rejuvenation"])],
                    "status": "in-progress",
                    "scheduledTiming": {"repeat": {"count": 4, "period": 2, "periodUnit": "wk"}},
                }
            }
        ],
    }


def session() -> Resource:
    return {
        "resourceType": "Procedure",
        "id": "s1",
        "meta": meta(codes.PROFILE_SESSION),
        "extension": [{"url": codes.EXT_SESSION_NUMBER, "valuePositiveInt": 1}],
        "identifier": ident("s1"),
        "basedOn": [{"reference": "CarePlan/c1"}],
        "status": "completed",
        "code": concept(*codes.MESOTHERAPY_SESSION),
        "subject": PATIENT_REF,
        "performedDateTime": WHEN,
        "bodySite": [concept(codes.BODY_SITE["face"])],
        "reasonCode": [concept(codes.INDICATION["skin-rejuvenation"])],
    }


def visit() -> Resource:
    return {
        "resourceType": "Encounter",
        "id": "e1",
        "meta": meta(codes.PROFILE_ENCOUNTER),
        "identifier": ident("e1"),
        "status": "finished",
        "class": {"system": codes.V3_ACT_CODE, "code": "AMB", "display": "ambulatory"},
        "type": [concept(codes.VISIT_TYPE["session"])],
        "subject": PATIENT_REF,
        "period": {"start": WHEN},
        "serviceProvider": {"reference": "Organization/org1"},
    }


def clinic() -> Resource:
    return {
        "resourceType": "Organization",
        "id": "org1",
        "meta": meta(codes.PROFILE_CLINIC),
        "identifier": [{"system": codes.URI, "value": "https://c.example"}],
        "active": True,
        "type": [concept(codes.HEALTHCARE_PROVIDER)],
    }


def practitioner() -> Resource:
    return {
        "resourceType": "Practitioner",
        "id": "pr1",
        "meta": meta(codes.PROFILE_PRACTITIONER),
        "identifier": ident("pr1"),
        "active": True,
        "name": [{"text": "Dr A. Dupont"}],
        "qualification": [{"code": {"text": "MD"}}],
    }


def injection_site() -> Resource:
    return {
        "resourceType": "BodyStructure",
        "id": "b1",
        "meta": meta(codes.PROFILE_INJECTION_SITE),
        "identifier": ident("b1"),
        "active": True,
        "location": concept(codes.BODY_SITE["cheek"]),
        "locationQualifier": [concept(codes.LATERALITY["left"])],
        "patient": PATIENT_REF,
    }


def injection() -> Resource:
    return {
        "resourceType": "MedicationAdministration",
        "id": "i1",
        "meta": meta(codes.PROFILE_INJECTION),
        "contained": [
            {"resourceType": "Medication", "id": "product", "code": {"text": "HA cocktail"}}
        ],
        "identifier": ident("i1"),
        "status": "completed",
        "medicationReference": {"reference": "#product"},
        "subject": PATIENT_REF,
        "partOf": [{"reference": "Procedure/s1"}],
        "effectiveDateTime": WHEN,
        "dosage": {
            "extension": [
                {
                    "url": codes.EXT_INJECTION_DEPTH,
                    "valueQuantity": {
                        "value": 1.5,
                        "unit": "mm",
                        "system": codes.UCUM,
                        "code": "mm",
                    },
                },
                {"url": codes.EXT_NEEDLE, "valueString": "32G 4 mm"},
            ],
            "site": concept(codes.BODY_SITE["cheek"]),
            "route": concept(*codes.ROUTE["intradermal"]),
            "method": concept(codes.TECHNIQUE["nappage"]),
            "dose": {"value": 2, "unit": "mL", "system": codes.UCUM, "code": "mL"},
        },
    }


def pain() -> Resource:
    return {
        "resourceType": "Observation",
        "id": "o1",
        "meta": meta(codes.PROFILE_SESSION_OBSERVATION),
        "identifier": ident("o1"),
        "status": "final",
        "category": [concept(codes.SURVEY_CATEGORY)],
        "code": concept(codes.PAIN_SCORE),
        "subject": PATIENT_REF,
        "partOf": [{"reference": "Procedure/s1"}],
        "effectiveDateTime": WHEN,
        "valueInteger": 3,
    }


def reported_condition() -> Resource:
    return {
        "resourceType": "Condition",
        "id": "c1",
        "meta": meta(codes.PROFILE_CONDITION),
        "identifier": ident("c1"),
        "clinicalStatus": concept(codes.ACTIVE),
        "verificationStatus": concept(codes.UNCONFIRMED),
        "category": [concept(codes.PROBLEM_LIST_ITEM)],
        "code": concept(codes.CONDITION["diabetes"]),
        "subject": PATIENT_REF,
        "encounter": {"reference": "Encounter/e1"},
        "recordedDate": WHEN,
        "asserter": PATIENT_REF,
        "evidence": [{"detail": [{"reference": "Observation/o1"}]}],
    }


def allergy() -> Resource:
    return {
        "resourceType": "AllergyIntolerance",
        "id": "a1",
        "meta": meta(codes.PROFILE_ALLERGY),
        "identifier": ident("a1"),
        "clinicalStatus": concept(codes.ALLERGY_ACTIVE),
        "verificationStatus": concept(codes.ALLERGY_VERIFICATION_STATUS["unconfirmed"]),
        "type": "allergy",
        "category": ["medication"],
        "code": {"text": "HA cocktail"},
        "patient": PATIENT_REF,
        "encounter": {"reference": "Encounter/e1"},
        "recordedDate": WHEN,
        "reaction": [{"manifestation": [concept(codes.REACTION["hypersensitivity"])]}],
    }


def adverse_event() -> Resource:
    return {
        "resourceType": "AdverseEvent",
        "id": "ae1",
        "meta": meta(codes.PROFILE_ADVERSE_EVENT),
        "identifier": ident("ae1")[0],
        "actuality": "actual",
        "event": concept(codes.REACTION["nodule"]),
        "subject": PATIENT_REF,
        "encounter": {"reference": "Encounter/e1"},
        "date": WHEN,
        "severity": concept(codes.ADVERSE_EVENT_SEVERITY_CODE["moderate"]),
        "outcome": concept(codes.ADVERSE_EVENT_OUTCOME_CODE["recovering"]),
        "suspectEntity": [{"instance": {"reference": "MedicationAdministration/i1"}}],
    }


def provenance() -> Resource:
    clinic = {
        "type": "Organization",
        "identifier": {"system": codes.URI, "value": "https://c.example"},
    }
    return {
        "resourceType": "Provenance",
        "id": "pv1",
        "meta": meta(codes.PROFILE_PROVENANCE),
        "target": [{"type": "Procedure", "identifier": ident("s1")[0]}],
        "recorded": "2024-03-08T18:00:00+00:00",
        "activity": concept(codes.PROVENANCE_ACTIVITY["create"]),
        "agent": [
            {
                "type": concept(codes.ASSEMBLER),
                "who": {"type": "Device", "identifier": {"system": codes.URI, "value": "urn:x"}},
                "onBehalfOf": clinic,
            },
            {"type": concept(codes.AUTHOR), "who": clinic},
        ],
        "entity": [{"role": "source", "what": {"identifier": ident("s1")[0]}}],
    }


def photo_consent() -> Resource:
    return {
        "resourceType": "Consent",
        "id": "cs1",
        "meta": meta(codes.PROFILE_CONSENT),
        "identifier": ident("c1/consent-photography"),
        "status": "active",
        "scope": concept(codes.CONSENT_SCOPE_CODE["photography"]),
        "category": [concept(codes.PATIENT_CONSENT)],
        "patient": PATIENT_REF,
        "dateTime": "2024-03-01",
        "performer": [PATIENT_REF],
        "organization": [
            {"type": "Organization", "identifier": {"system": codes.URI, "value": "urn:x"}}
        ],
        "policy": [{"uri": "https://c.example/forms/photography"}],
        "provision": {
            "type": "permit",
            "action": [concept(codes.CONSENT_ACTION_CODE["collect"])],
        },
    }


def photo() -> Resource:
    return {
        "resourceType": "Media",
        "id": "m1",
        "meta": meta(codes.PROFILE_MEDIA),
        "identifier": ident("s1/photo-1"),
        "partOf": [{"reference": "Procedure/s1"}],
        "status": "completed",
        "type": concept(codes.MEDIA_IMAGE),
        "modality": concept(codes.EXTERNAL_CAMERA),
        "view": concept(codes.PHOTO_VIEW["frontal"]),
        "subject": PATIENT_REF,
        "encounter": {"reference": "Encounter/e1"},
        "createdDateTime": WHEN,
        "content": {
            "contentType": "image/jpeg",
            "url": "Binary/b1",
            "size": 4,
            "hash": "2jmj7l5rSw0yVb/vlWAYkK/YBwk=",
        },
    }


def photo_content() -> Resource:
    return {
        "resourceType": "Binary",
        "id": "b1",
        "meta": meta(codes.PROFILE_PHOTO_CONTENT),
        "contentType": "image/jpeg",
        "securityContext": PATIENT_REF,
        "data": "/9j/4A==",
    }


VALID: dict[str, Callable[[], Resource]] = {
    "meso-patient": patient,
    "meso-vital-signs (heart rate)": heart_rate,
    "meso-vital-signs (blood pressure)": blood_pressure,
    "meso-screening-finding": contraindication,
    "meso-eligibility": eligibility,
    "meso-medication-statement": medication_statement,
    "meso-course": course,
    "meso-session": session,
    "meso-injection": injection,
    "meso-session-observation": pain,
    "meso-encounter": visit,
    "meso-injection-site": injection_site,
    "meso-condition": reported_condition,
    "meso-allergy": allergy,
    "meso-adverse-event": adverse_event,
    "meso-provenance": provenance,
    "meso-clinic": clinic,
    "meso-practitioner": practitioner,
    "meso-consent": photo_consent,
    "meso-media": photo,
    "meso-photo-content": photo_content,
}


def found(issues: list[Issue]) -> list[tuple[str, str]]:
    return [(i.path, i.rule) for i in issues]


@pytest.mark.parametrize("make", VALID.values(), ids=VALID.keys())
def test_valid_resource_per_profile_has_no_issues(
    validator: Validator, make: Callable[[], Resource]
) -> None:
    assert validator.validate(make()) == []


def test_every_project_profile_has_a_valid_resource(validator: Validator) -> None:
    declared = {p for make in VALID.values() for p in make()["meta"]["profile"]}
    profiles = {p for p in validator.known_profiles() if p.startswith(codes.CANONICAL)}
    extensions = {
        codes.EXT_SESSION_NUMBER,
        codes.EXT_TREATMENT_AREA,
        codes.EXT_INJECTION_DEPTH,
        codes.EXT_NEEDLE,
    }
    assert profiles - extensions <= declared


EXAMPLES = sorted((REPO / "profiles" / "package").glob("*-example-*.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_profile_examples_have_no_issues(validator: Validator, path: Path) -> None:
    assert validator.validate(json.loads(path.read_text())) == []


INVALID = sorted((REPO / "profiles" / "test-cases" / "invalid").glob("*.json"))


@pytest.mark.parametrize("path", INVALID, ids=[p.name for p in INVALID])
def test_profile_negative_cases_are_rejected(validator: Validator, path: Path) -> None:
    """The broken examples profiles/ checks @medplum/core and pyfhircheck against."""
    case = json.loads(path.read_text())
    assert [i for i in validator.validate(case["resource"]) if i.severity == ERROR], case[
        "description"
    ]


# --- one broken resource per rule kind ------------------------------------------------------------
def broken(make: Callable[[], Resource], change: Callable[[Resource], object]) -> Resource:
    r = make()
    change(r)
    return r


def drop(key: str) -> Callable[[Resource], object]:
    return lambda r: r.pop(key)


CASES: dict[str, tuple[Resource, str, str]] = {
    # consent and photos
    "consent to photography that permits nothing": (
        broken(photo_consent, lambda r: r["provision"].pop("action")),
        "Consent",
        "invariant:meso-consent-1",
    ),
    "photo with an unknown view": (
        broken(photo, lambda r: r.update(view=concept((codes.SCT, "399348003", "x")))),
        "Media.view",
        "binding",
    ),
    "photo content of another type": (
        broken(photo_content, lambda r: r.update(contentType="application/pdf")),
        "Binary.contentType",
        "binding",
    ),
    "photo content guarded by nothing": (
        broken(photo_content, drop("securityContext")),
        "Binary.securityContext",
        "cardinality",
    ),
    # cardinality
    "missing 1..1 of the profile": (
        broken(patient, drop("birthDate")),
        "Patient.birthDate",
        "cardinality",
    ),
    "missing 1..1 of base R4": (broken(pain, drop("status")), "Observation.status", "cardinality"),
    "adverse event without a suspect": (
        broken(adverse_event, drop("suspectEntity")),
        "AdverseEvent.suspectEntity",
        "cardinality",
    ),
    "condition of no visit": (
        broken(reported_condition, drop("encounter")),
        "Condition.encounter",
        "cardinality",
    ),
    "provenance of nothing": (
        broken(provenance, drop("target")),
        "Provenance.target",
        "cardinality",
    ),
    "provenance target by literal reference only": (
        broken(provenance, lambda r: r.update(target=[{"reference": "Procedure/s1"}])),
        "Provenance.target[0].identifier",
        "cardinality",
    ),
    "provenance without its source records": (
        broken(provenance, drop("entity")),
        "Provenance.entity",
        "cardinality",
    ),
    "allergy of no visit": (
        broken(allergy, drop("encounter")),
        "AllergyIntolerance.encounter",
        "cardinality",
    ),
    "missing element of a backbone": (
        broken(course, lambda r: r["activity"][0]["detail"].pop("status")),
        "CarePlan.activity[0].detail.status",
        "cardinality",
    ),
    "too many": (
        broken(session, lambda r: r["basedOn"].append({"reference": "CarePlan/c2"})),
        "Procedure.basedOn",
        "cardinality",
    ),
    "missing slice": (
        broken(session, lambda r: r.update(code=concept(codes.MESOTHERAPY_SESSION[1]))),
        "Procedure.code.coding:mesotherapy",
        "cardinality",
    ),
    # fixed value and pattern
    "fixed value (base vital signs profile)": (
        broken(heart_rate, lambda r: r["valueQuantity"].update(system="http://example.org/units")),
        "Observation.valueQuantity.system",
        "fixed-value",
    ),
    "fixed value (project profile)": (
        broken(course, lambda r: r.update(intent="order")),
        "CarePlan.intent",
        "fixed-value",
    ),
    # bindings
    "required binding to a project ValueSet": (
        broken(
            injection,
            lambda r: r["dosage"].update(
                route=concept((codes.SCT, "47625008", "Intravenous route"))
            ),
        ),
        "MedicationAdministration.dosage.route",
        "binding",
    ),
    "core required binding (gender)": (
        broken(patient, lambda r: r.update(gender="woman")),
        "Patient.gender",
        "binding",
    ),
    "core required binding (Procedure.status)": (
        broken(session, lambda r: r.update(status="done")),
        "Procedure.status",
        "binding",
    ),
    "core required binding in a datatype": (
        broken(heart_rate, lambda r: r["valueQuantity"].update(comparator="~")),
        "Observation.valueQuantity.comparator",
        "binding",
    ),
    # types
    "value[x] type the profile does not allow": (
        broken(
            eligibility, lambda r: (r.pop("valueCodeableConcept"), r.update(valueString="eligible"))
        ),
        "Observation.valueString",
        "type",
    ),
    "JSON kind of a primitive": (
        broken(patient, lambda r: r.update(active="true")),
        "Patient.active",
        "type",
    ),
    "reference target the profile does not allow": (
        broken(session, lambda r: r.update(basedOn=[{"reference": "ServiceRequest/sr1"}])),
        "Procedure.basedOn[0].reference",
        "reference-target",
    ),
    # invariants
    "invariant meso-course-1 (2 sessions)": (
        broken(
            course,
            lambda r: r["activity"][0]["detail"]["scheduledTiming"]["repeat"].update(count=2),
        ),
        "CarePlan",
        "invariant:meso-course-1",
    ),
    "invariant meso-course-1 (6 sessions)": (
        broken(
            course,
            lambda r: r["activity"][0]["detail"]["scheduledTiming"]["repeat"].update(count=6),
        ),
        "CarePlan",
        "invariant:meso-course-1",
    ),
    "invariant meso-obs-1": (
        broken(pain, drop("valueInteger")),
        "Observation",
        "invariant:meso-obs-1",
    ),
    "core invariant obs-6": (
        broken(pain, lambda r: r.update(dataAbsentReason={"text": "asked, not answered"})),
        "Observation",
        "invariant:obs-6",
    ),
    "core invariant per-1 in a datatype": (
        broken(medication_statement, lambda r: r["effectivePeriod"].update(start="2024-03-01")),
        "MedicationStatement.effectivePeriod",
        "invariant:per-1",
    ),
    # structure, formats, empties
    "unknown element": (
        broken(patient, lambda r: r.update(nickname="Cla")),
        "Patient.nickname",
        "unknown-element",
    ),
    "unknown element in a datatype": (
        broken(patient, lambda r: r["name"][0].update(nick="Cla")),
        "Patient.name[0].nick",
        "unknown-element",
    ),
    "bad date format": (
        broken(patient, lambda r: r.update(birthDate="12/04/1981")),
        "Patient.birthDate",
        "format",
    ),
    "impossible date": (
        broken(patient, lambda r: r.update(birthDate="2023-02-30")),
        "Patient.birthDate",
        "format",
    ),
    "impossible dateTime": (
        broken(pain, lambda r: r.update(effectiveDateTime="2023-02-30T10:00:00Z")),
        "Observation.effectiveDateTime",
        "format",
    ),
    "empty array": (broken(pain, lambda r: r.update(note=[])), "Observation.note", "empty-array"),
    "empty array in a datatype": (
        broken(patient, lambda r: r["name"][0].update(given=[])),
        "Patient.name[0].given",
        "empty-array",
    ),
    "empty object": (
        broken(patient, lambda r: r["name"].append({})),
        "Patient.name[1]",
        "empty-element",
    ),
    # codes and extensions
    "code not in the project's CodeSystem": (
        broken(
            pain,
            lambda r: r["category"].append({"coding": [{"system": MESO, "code": "no-such-code"}]}),
        ),
        "Observation.category[1].coding[0].code",
        "unknown-code",
    ),
    "extension value of the wrong type": (
        broken(
            session,
            lambda r: r.update(extension=[{"url": codes.EXT_SESSION_NUMBER, "valueInteger": 0}]),
        ),
        "Procedure.extension[0].valueInteger",
        "type",
    ),
    "unknown project extension": (
        broken(
            pain,
            lambda r: r.update(
                extension=[{"url": codes.extension_url("no-such"), "valueString": "x"}]
            ),
        ),
        "Observation.extension[0]",
        "unknown-extension",
    ),
    "reference format": (
        broken(pain, lambda r: r.update(subject={"reference": "patient 1"})),
        "Observation.subject.reference",
        "reference-format",
    ),
}


@pytest.mark.parametrize(("resource", "path", "rule"), CASES.values(), ids=CASES.keys())
def test_broken_resource_yields_exactly_that_issue(
    validator: Validator, resource: Resource, path: str, rule: str
) -> None:
    issues = validator.validate(resource)
    assert found(issues) == [(path, rule)], [str(i) for i in issues]
    assert issues[0].severity == ERROR
    assert issues[0].resource_type == resource["resourceType"]
    assert issues[0].resource_id == resource["id"]


@pytest.mark.parametrize(
    ("quantity", "rule"),
    [
        ({"value": 92, "system": "urn:example:units", "code": "cm"}, "fixed-value"),
        ({"value": 92}, "cardinality"),
    ],
    ids=["fixed-value", "cardinality"],
)
def test_value_x_type_slice(validator: Validator, quantity: dict[str, Any], rule: str) -> None:
    # meso-session-observation constrains valueQuantity.system (value[x]:valueQuantity); the
    # profile may add invariants that say the same, hence "in".
    r = broken(pain, lambda r: (r.pop("valueInteger"), r.update(valueQuantity=quantity)))
    assert ("Observation.valueQuantity.system", rule) in found(validator.validate(r))


def test_missing_extension_slice_is_named(validator: Validator) -> None:
    issues = validator.validate(broken(session, drop("extension")))
    assert found(issues) == [
        ("Procedure.extension", "cardinality"),
        ("Procedure.extension:sessionNumber", "cardinality"),
    ]
    assert all(i.profile == codes.PROFILE_SESSION for i in issues)


def test_fixed_value_issue_reads_well(validator: Validator) -> None:
    r = broken(heart_rate, lambda r: r["valueQuantity"].update(system="http://example.org/units"))
    [issue] = validator.validate(r)
    assert str(issue) == (
        "Observation/hr1 Observation.valueQuantity.system: fixed-value: expected http://unitsofmeasure.org"
    )
    assert issue.as_dict() == {
        "severity": "error",
        "resource_type": "Observation",
        "resource_id": "hr1",
        "entry_index": None,
        "path": "Observation.valueQuantity.system",
        "rule": "fixed-value",
        "message": "expected http://unitsofmeasure.org",
        "profile": codes.PROFILE_VITAL_SIGNS,
        "source": "meso-fhir",
    }


def test_who_found_it(validator: Validator) -> None:
    assert (
        validator.validate(broken(patient, lambda r: r.update(birthDate="2023-02-30")))[0].source
        == "fhir.resources"
    )
    assert validator.validate(broken(pain, drop("valueInteger")))[0].source == "fhirpath"
    assert (
        validator.validate(broken(patient, lambda r: r.update(gender="woman")))[0].source
        == "meso-fhir"
    )


def test_issue_found_by_two_checkers_is_reported_once(validator: Validator) -> None:
    # fhir.resources and the walker both see the missing code; several missing elements are all
    # reported although pydantic stops at the first one.
    r = broken(pain, lambda r: (r.pop("code"), r.pop("status")))
    assert found(validator.validate(r)) == [
        ("Observation.status", "cardinality"),
        ("Observation.code", "cardinality"),
    ]


def test_unknown_profile_is_a_warning(validator: Validator) -> None:
    r = broken(pain, lambda r: r["meta"]["profile"].append(codes.profile_url("no-such-profile")))
    [issue] = validator.validate(r)
    assert (issue.path, issue.rule, issue.severity) == (
        "Observation.meta.profile[1]",
        "unknown-profile",
        WARNING,
    )


def test_profile_for_another_type(validator: Validator) -> None:
    r = broken(pain, lambda r: r["meta"].update(profile=[codes.PROFILE_SESSION]))
    assert found(validator.validate(r)) == [("Observation.meta.profile[0]", "profile-type")]


def test_base_r4_is_checked_without_any_profile(validator: Validator) -> None:
    r = {"resourceType": "Patient", "id": "x", "gender": "woman", "name": []}
    assert found(validator.validate(r)) == [
        ("Patient.gender", "binding"),
        ("Patient.name", "empty-array"),
    ]


def test_validation_prints_nothing(
    validator: Validator, capsys: pytest.CaptureFixture[str]
) -> None:
    # fhirpathpy prints trace() (used by core invariants) to stdout unless told otherwise.
    validator.validate(injection())
    validator.validate(
        broken(medication_statement, lambda r: r["effectivePeriod"].update(start="2024-03-01"))
    )
    assert capsys.readouterr() == ("", "")


# --- hand-made profiles (from_resources) ----------------------------------------------------------
HAND_MADE = "https://example.org/fhir/StructureDefinition/hand-made"


def hand_made_validator() -> Validator:
    """A snapshot written by hand (only the constrained elements): a pattern (the project's
    profiles use patterns only as slice discriminators), an invariant and a cardinality."""

    def el(path: str, min_: int, max_: str, base_min: int, **more: Any) -> dict[str, Any]:
        return {
            "id": path,
            "path": path,
            "min": min_,
            "max": max_,
            "base": {"path": path, "min": base_min, "max": max_},
            **more,
        }

    sd = {
        "resourceType": "StructureDefinition",
        "url": HAND_MADE,
        "type": "Observation",
        "derivation": "constraint",
        "snapshot": {
            "element": [
                el(
                    "Observation",
                    0,
                    "*",
                    0,
                    constraint=[
                        {
                            "key": "hand-1",
                            "severity": "error",
                            "human": "two notes",
                            "expression": "note.count() = 2",
                        }
                    ],
                ),
                el(
                    "Observation.code",
                    1,
                    "1",
                    1,
                    type=[{"code": "CodeableConcept"}],
                    patternCodeableConcept={"coding": [{"system": codes.LOINC, "code": "72514-3"}]},
                ),
                el("Observation.issued", 1, "1", 0, type=[{"code": "instant"}]),
            ]
        },
    }
    return Validator.from_resources([sd])


def hand_made(**changes: Any) -> Resource:
    r = pain()
    r["meta"] = meta(HAND_MADE)
    r.update(
        {"note": [{"text": "a"}, {"text": "b"}], "issued": "2024-03-08T14:31:00+01:00", **changes}
    )
    return r


def test_hand_made_profile_passes() -> None:
    assert hand_made_validator().validate(hand_made()) == []


@pytest.mark.parametrize(
    ("changes", "path", "rule"),
    [
        ({"code": concept(codes.SCALE["satisfaction"])}, "Observation.code", "pattern"),
        ({"note": [{"text": "a"}]}, "Observation", "invariant:hand-1"),
        ({"issued": None}, "Observation.issued", "cardinality"),
    ],
    ids=["pattern", "invariant", "cardinality"],
)
def test_hand_made_profile_rules(changes: dict[str, Any], path: str, rule: str) -> None:
    r = hand_made(**changes)
    if r.get("issued") is None:
        r.pop("issued")
    issues = hand_made_validator().validate(r)
    assert found(issues) == [(path, rule)]
    assert issues[0].profile == HAND_MADE


def test_hand_made_validator_knows_no_project_profile() -> None:
    v = hand_made_validator()
    assert codes.PROFILE_PATIENT not in v.known_profiles()
    [issue] = v.validate(patient())
    assert (issue.rule, issue.severity) == ("unknown-profile", WARNING)


# --- Bundles --------------------------------------------------------------------------------------
def uuid(n: int) -> str:
    return f"urn:uuid:00000000-0000-4000-8000-{n:012d}"


def transaction(*resources: Resource) -> Resource:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": uuid(i),
                "resource": r,
                "request": {"method": "PUT", "url": f"{r['resourceType']}?identifier=x|{i}"},
            }
            for i, r in enumerate(resources)
        ],
    }


def test_bundle_issues_carry_the_entry_index(validator: Validator) -> None:
    p = patient()
    p.pop("id")
    o = broken(pain, lambda r: r.update(status="done", subject={"reference": uuid(0)}))
    b = transaction(p, o)
    issues = validator.validate_bundle(b)
    assert [(i.entry_index, i.path, i.rule) for i in issues] == [
        (1, "Observation.status", "binding")
    ]
    assert str(issues[0]).startswith("entry[1] Observation/o1 Observation.status: binding: ")
    assert validator.validate(b) == issues


def test_bundle_reference_targets_resolve_through_full_urls(validator: Validator) -> None:
    o = broken(pain, lambda r: r.update(partOf=[{"reference": uuid(0)}]))
    issues = validator.validate_bundle(transaction(patient(), o))
    assert [(i.entry_index, i.path, i.rule) for i in issues] == [
        (1, "Observation.partOf[0].reference", "reference-target")
    ]


def test_bundle_unresolved_urn_uuid(validator: Validator) -> None:
    o = broken(pain, lambda r: r.update(subject={"reference": uuid(99)}))
    issues = validator.validate_bundle(transaction(patient(), o))
    assert [(i.entry_index, i.path, i.rule) for i in issues] == [
        (1, "Observation.subject.reference", "reference-unresolved")
    ]


def test_bundle_level_problems_have_no_entry_index(validator: Validator) -> None:
    b = transaction(patient())
    b["entry"][0]["request"].pop("method")
    b["timestamp"] = "2024-02-30T10:00:00Z"
    issues = validator.validate_bundle(b)
    assert {(i.entry_index, i.path, i.rule) for i in issues} == {
        (None, "Bundle.timestamp", "format"),
        (None, "Bundle.entry[0].request.method", "cardinality"),
    }


def test_bundle_of_every_profile_is_clean(validator: Validator) -> None:
    assert validator.validate_bundle(transaction(*(make() for make in VALID.values()))) == []


# --- the fast FHIRPath subset agrees with fhirpathpy ----------------------------------------------
def test_fast_invariants_agree_with_fhirpathpy(validator: Validator) -> None:
    slow = Validator.from_resources(*_packaged_project(), fast_fhirpath=False)
    corpus = [make() for make in VALID.values()]
    corpus += [copy.deepcopy(r) for r, _, _ in CASES.values()]
    corpus += [json.loads(p.read_text()) for p in EXAMPLES]
    corpus += [
        broken(
            blood_pressure,
            lambda r: r.update(valueQuantity={"value": 1, "system": codes.UCUM, "code": "mm[Hg]"}),
        ),
        broken(heart_rate, lambda r: r.update(component=blood_pressure()["component"])),
        broken(contraindication, lambda r: r.update(category=[concept(codes.SURVEY_CATEGORY)])),
        broken(
            contraindication,
            lambda r: r.update(valueCodeableConcept={"text": "yes"}),
        ),
        broken(contraindication, lambda r: r.update(valueBoolean=False)),
        broken(  # the disorder's code beside the question's: a "no" would index as diabetes
            contraindication,
            lambda r: r["code"]["coding"].append(
                {"system": codes.SCT, "code": "73211009", "display": "Diabetes mellitus"}
            ),
        ),
        broken(eligibility, lambda r: r.update(hasMember=[{"reference": "Observation/ci1"}])),
        broken(visit, lambda r: r.update({"class": {"system": codes.V3_ACT_CODE, "code": "IMP"}})),
        broken(visit, lambda r: r.pop("period")),
        broken(injection_site, lambda r: r.pop("locationQualifier")),
        broken(
            injection_site,
            lambda r: r.update(locationQualifier=[concept(codes.BODY_SITE["face"])]),
        ),
        broken(visit, lambda r: r.update(type=[concept(codes.INDICATION["wrinkles"])])),
        broken(contraindication, lambda r: r.update(code=concept(codes.FITZPATRICK))),
        broken(contraindication, lambda r: r.update(code=concept(codes.PREGNANCY_STATUS))),
        broken(contraindication, lambda r: r.update(code=concept(codes.PHOTOAGEING))),
        broken(heart_rate, lambda r: r["valueQuantity"].pop("system")),
        broken(
            course,
            lambda r: r["activity"][0]["detail"]["scheduledTiming"]["repeat"].update(count=5),
        ),
        broken(
            course,
            lambda r: r["activity"][0]["detail"]["scheduledTiming"]["repeat"].update(count=3),
        ),
    ]
    duplicate = transaction(patient(), pain())
    duplicate["entry"][1]["fullUrl"] = duplicate["entry"][0]["fullUrl"]
    corpus += [
        transaction(*(make() for make in VALID.values())),
        duplicate,
        broken(lambda: transaction(patient()), lambda b: b.update(type="document")),
        broken(course, lambda r: _repeat(r).update(offset=10, when=["C"])),
        broken(course, lambda r: _repeat(r).update(offset=10, when=["MORN"])),
        broken(course, lambda r: _repeat(r).update(duration=-1, durationUnit="min")),
    ]
    for r in corpus:
        fast = [(i.path, i.rule, i.severity) for i in validator.validate(r)]
        assert fast == [(i.path, i.rule, i.severity) for i in slow.validate(r)], r.get("id")


FHIRPATH_PATIENT = {
    "resourceType": "Patient",
    "active": True,
    "gender": "female",
    "birthDate": "1981-04-12",
    "name": [
        {"family": "Martin", "given": ["Claire", "Anne"]},
        {"family": "Dupont", "use": "maiden"},
    ],
    "multipleBirthInteger": 2,
}
FHIRPATH_BUNDLE = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [{"resource": {"resourceType": "Patient", "id": "p"}}, {"resource": pain()}],
}
# Each entry of the subset's tables at least once, with what FHIRPath (and fhirpathpy) says.
FHIRPATH_CASES: list[tuple[Resource, str, list[Any]]] = [
    (FHIRPATH_PATIENT, "name.exists()", [True]),
    (FHIRPATH_PATIENT, "name.exists(use = 'maiden')", [True]),
    (FHIRPATH_PATIENT, "telecom.empty()", [True]),
    (FHIRPATH_PATIENT, "active.not()", [False]),
    (FHIRPATH_PATIENT, "name.given.count()", [2]),
    (FHIRPATH_PATIENT, "name.given.first()", ["Claire"]),
    (FHIRPATH_PATIENT, "birthDate.hasValue()", [True]),
    (FHIRPATH_PATIENT, "name.where(use = 'maiden').family", ["Dupont"]),
    (FHIRPATH_PATIENT, "name.select(family)", ["Martin", "Dupont"]),
    (FHIRPATH_PATIENT, "name.all(family.exists())", [True]),
    (FHIRPATH_PATIENT, "(active = false).allFalse()", [True]),
    (FHIRPATH_PATIENT, "name.given.isDistinct()", [True]),
    (FHIRPATH_PATIENT, "gender.startsWith('fem')", [True]),
    (FHIRPATH_PATIENT, "gender.contains('mal')", [True]),
    (FHIRPATH_PATIENT, "multipleBirth.toString()", ["2"]),
    (FHIRPATH_PATIENT, "gender.length()", [6]),
    (FHIRPATH_PATIENT, "name.given.intersect('Anne' | 'Zoe')", ["Anne"]),
    (FHIRPATH_PATIENT, "iif(active, 'yes', 'no')", ["yes"]),
    (FHIRPATH_PATIENT, "iif(active.not(), 'yes')", []),
    (FHIRPATH_PATIENT, "active and gender = 'female'", [True]),
    (FHIRPATH_PATIENT, "active or false", [True]),
    (FHIRPATH_PATIENT, "active xor true", [False]),
    (FHIRPATH_PATIENT, "active implies deceased.exists()", [False]),
    (FHIRPATH_PATIENT, "gender in ('female' | 'male')", [True]),
    (FHIRPATH_PATIENT, "gender != 'male'", [True]),
    (FHIRPATH_PATIENT, "name.given.count() < 3", [True]),
    (FHIRPATH_PATIENT, "name.given.count() <= 1", [False]),
    (FHIRPATH_PATIENT, "name.given.count() > 1", [True]),
    (FHIRPATH_PATIENT, "name.given.count() >= 3", [False]),
    (FHIRPATH_PATIENT, "name.first().family & '!'", ["Martin!"]),
    (FHIRPATH_PATIENT, "(name.count() + name.given.count()) > 3", [True]),
    (FHIRPATH_PATIENT, "name.count() + name.given.count() = 4", [True]),
    (FHIRPATH_PATIENT, "name.where($this.family = 'Dupont').use", ["maiden"]),
    (FHIRPATH_PATIENT, "%ucum", ["http://unitsofmeasure.org"]),
    (FHIRPATH_BUNDLE, "entry.resource.ofType(Observation).count()", [1]),
    (FHIRPATH_BUNDLE, "entry.first().resource.is(FHIR.Patient)", [True]),
    (FHIRPATH_BUNDLE, "%resource.entry.count() = %rootResource.entry.count()", [True]),
]


@pytest.mark.parametrize(
    ("resource", "expression", "expected"), FHIRPATH_CASES, ids=[c[1] for c in FHIRPATH_CASES]
)
def test_fhirpath_subset_agrees_with_fhirpathpy(
    resource: Resource, expression: str, expected: list[Any]
) -> None:
    fn = fhirpath.compile(expression)
    assert fn is not None, f"{expression} is outside the subset"
    assert fn([resource], resource, fhirpath.Env(resource)) == expected
    has_value = {
        "fn": lambda xs: [len(xs) == 1 and not isinstance(xs[0], (dict, list))],
        "arity": {0: []},
    }
    assert (
        fhirpathpy.evaluate(
            resource,
            expression,
            {"resource": resource, "rootResource": resource},
            fhirpath_models["r4"],
            {"userInvocationTable": {"hasValue": has_value}},
        )
        == expected
    )


def test_fhirpath_cases_use_every_entry_of_the_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    used: set[object] = set()
    tables: list[dict[Any, Any]] = [fhirpath.FUNCTIONS, fhirpath.OPERATORS, fhirpath.TYPE_FUNCTIONS]
    for table in tables:
        for key, build in list(table.items()):

            def record(*args: Any, key: object = key, build: Any = build) -> Any:
                used.add(key)
                return build(*args)

            monkeypatch.setitem(table, key, record)
    for _, expression, _ in FHIRPATH_CASES:
        fhirpath.compile(expression)
    assert {key for table in tables for key in table} - used == set()


def _repeat(course: Resource) -> dict[str, Any]:
    repeat: dict[str, Any] = course["activity"][0]["detail"]["scheduledTiming"]["repeat"]
    return repeat


def _packaged_project() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    data = json.loads((REPO / "src" / "meso_fhir" / "data" / "meso-package.json").read_text())
    return data["resources"], data["expansions"]


# --- the package's public names --------------------------------------------------------------------
def test_public_names_are_the_documented_ones() -> None:
    assert validation.__doc__ is not None
    documented = validation.__doc__.split("Public names:", 1)[1].split("\n\n", 1)[0]
    assert sorted(validation.__all__) == sorted(re.findall(r"``(\w+)``", documented))
    assert sorted(validation.__all__) == ["ERROR", "INFORMATION", "Issue", "Validator", "WARNING"]
    assert all(hasattr(validation, name) for name in validation.__all__)


# --- packaged data --------------------------------------------------------------------------------
def test_packaged_data_is_small_and_loads() -> None:
    data = REPO / "src" / "meso_fhir" / "data"
    assert sum(f.stat().st_size for f in data.glob("*.json")) < 5 * 1024 * 1024
    assert codes.PROFILE_COURSE in Validator.load().known_profiles()


@pytest.mark.skipif(
    not (REPO / "node_modules" / "@medplum" / "definitions").is_dir(), reason="needs npm ci"
)
def test_packaged_data_is_up_to_date(tmp_path: Path) -> None:
    """scripts/build_validation_data.py rebuilds exactly the committed files (from
    node_modules and profiles/package): run it after every SUSHI build."""
    subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "build_validation_data.py"),
            "--out",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    for name in ("r4-core.json", "meso-package.json"):
        committed = (REPO / "src" / "meso_fhir" / "data" / name).read_bytes()
        assert (tmp_path / name).read_bytes() == committed, (
            f"{name} is stale: run scripts/build_validation_data.py"
        )


# --- robustness -----------------------------------------------------------------------------------
SCALARS = {
    "null": st.none(),
    "boolean": st.booleans(),
    "number": st.integers() | st.floats(allow_nan=False),
    "string": st.text(max_size=8),
}
KEYS = st.sampled_from(["value", "code", "system", "coding", "x", "reference"])
JSON = st.recursive(
    st.one_of(*SCALARS.values()),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=3),
    max_leaves=8,
)
KINDS = {
    **SCALARS,
    "array": st.lists(JSON, max_size=3),
    "object": st.dictionaries(KEYS, JSON, max_size=3),
}


def json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    kinds: dict[type, str] = {str: "string", list: "array", dict: "object"}
    return kinds[type(value)]


def never_valid_instead_of(value: Any) -> st.SearchStrategy[Any]:
    """JSON that no FHIR element accepts where ``value`` is: another JSON kind, or empty."""
    return st.one_of(
        *(s for kind, s in KINDS.items() if kind != json_kind(value)), st.sampled_from([[], {}])
    )


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*prefix, i))
    return out


def _replace(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    """Put ``value`` at ``path`` in ``data``; the value that was there."""
    target: Any = data
    for step in path[:-1]:
        target = target[step]
    was = target[path[-1]]
    target[path[-1]] = value
    return was


def fhir_path(resource_type: str, path: tuple[Any, ...]) -> str:
    return resource_type + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def about(issue: Issue, where: str) -> bool:
    """The issue is at ``where``, below it, or on an element that contains it (an invariant, a
    choice element as a whole: ``Observation.value[x]`` for ``Observation.valueQuantity``)."""
    own = issue.path.split(":")[0].removesuffix("[x]")
    return issue.path.startswith(where) or where.startswith(own)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(make=st.sampled_from(list(VALID.values())), pick=st.integers(min_value=0), data=st.data())
def test_any_json_gives_issues_never_an_exception(
    validator: Validator, make: Callable[[], Resource], pick: int, data: st.DataObject
) -> None:
    """Any JSON anywhere in a valid resource: issues, never an exception; JSON that cannot be
    valid there (another kind, an empty array or object) is an error about that element."""
    r = copy.deepcopy(make())  # the makers share PATIENT_REF
    paths = [p for p in _paths(r) if p[0] not in ("resourceType",)]
    path = paths[pick % len(paths)]
    was = _replace(r, path, None)
    junk = data.draw(JSON | never_valid_instead_of(was))
    _replace(r, path, junk)
    issues = validator.validate(r)
    assert all(isinstance(i, Issue) and i.rule and i.path for i in issues)
    if json_kind(junk) != json_kind(was) or junk in ([], {}):
        where = fhir_path(r["resourceType"], path)
        assert [i for i in issues if i.severity == ERROR and about(i, where)], (
            where,
            [str(i) for i in issues],
        )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pick=st.integers(min_value=0), data=st.data())
def test_any_json_in_a_bundle_gives_issues_never_an_exception(
    validator: Validator, pick: int, data: st.DataObject
) -> None:
    b = copy.deepcopy(transaction(*(make() for make in VALID.values())))
    b["entry"][1]["resource"]["subject"] = {"reference": uuid(0)}
    paths = [p for p in _paths(b) if p[-1] != "resourceType" or len(p) > 3]
    path = paths[pick % len(paths)]
    was = _replace(b, path, None)
    junk = data.draw(JSON | never_valid_instead_of(was))
    _replace(b, path, junk)
    issues = validator.validate_bundle(b)
    assert all(isinstance(i, Issue) and i.rule and i.path for i in issues)
    # Known gap: an entry's resource that is not an object goes unreported (fhir.resources sees
    # the Bundle without its entries' resources, the walker does not look into a Resource).
    gap = len(path) == 3 and path[2] == "resource"
    if (json_kind(junk) != json_kind(was) or junk in ([], {})) and not gap:
        assert [i for i in issues if i.severity == ERROR], (path, [str(i) for i in issues])


def test_reference_to_an_entry_without_a_resource_type(validator: Validator) -> None:
    # That entry is reported; the reference to it has no known target type, so its target is
    # not checked (a JSON object as a type name used to raise TypeError).
    o = broken(pain, lambda r: r.update(partOf=[{"reference": uuid(0)}]))
    issues = validator.validate_bundle(
        transaction(broken(patient, lambda r: r.update(resourceType={"x": 1})), o)
    )
    assert [(i.entry_index, i.path, i.rule) for i in issues if i.entry_index is not None] == [
        (0, "resourceType", "structure")
    ]


# --- a Bundle file: one entry a line (as map writes it) or any other layout, the same issues -------
def _file(tmp: Path, name: str, bundle: Any, layout: str) -> Path:
    """``bundle`` written one entry a line (as ``meso-fhir map`` does), pretty-printed or on one
    line; json, not orjson: integers beyond 64 bits are written too."""
    path = tmp / f"{name}-{layout}.json"

    def dump(value: Any, **options: Any) -> str:
        return json.dumps(value, ensure_ascii=False, **options)

    if layout == "lines":
        shell = {k: v for k, v in bundle.items() if k != "entry"}
        head = dump({**shell, "entry": []}, separators=(",", ":"))
        assert head.endswith('"entry":[]}'), "entry is written last"
        lines = ",\n".join(dump(e, separators=(",", ":")) for e in bundle["entry"])
        path.write_text(f"{head[:-2]}{lines}]}}\n", encoding="utf-8")
    else:
        path.write_text(dump(bundle, indent=2 if layout == "pretty" else None), encoding="utf-8")
    return path


def _read_in_one_pass(path: Path, validator: Validator) -> bool:
    return files._validate_lines(path, validator, None) is not None


LAYOUTS = ("lines", "pretty", "one-line")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pick=st.integers(min_value=0), data=st.data())
def test_a_bundle_file_in_any_layout_gives_the_issues_of_the_bundle(
    validator: Validator, tmp_path_factory: pytest.TempPathFactory, pick: int, data: st.DataObject
) -> None:
    b = copy.deepcopy(transaction(*(make() for make in VALID.values())))
    b["entry"][1]["resource"]["subject"] = {"reference": uuid(0)}
    path = data.draw(st.sampled_from([p for p in _paths(b) if p[0] == "entry" and len(p) > 1]))
    _replace(b, path, data.draw(JSON))
    tmp = tmp_path_factory.mktemp("layouts")
    outcomes: list[tuple[int, list[Issue]] | None] = []
    for layout in LAYOUTS:
        try:
            outcomes.append(validate_file(_file(tmp, "b", b, layout), validator))
        except Unreadable:  # an integer beyond 64 bits: ijson's yajl cannot read it
            outcomes.append(None)
    if outcomes[0] is not None:
        outcomes.append((len(b["entry"]), validator.validate_bundle(b)))
    assert all(outcome == outcomes[0] for outcome in outcomes), outcomes


def _forward() -> Resource:
    """Entry 0 refers to entry 2, a Patient, where a Patient may be and where one may not;
    entry 1 to nothing in the Bundle."""
    forward = broken(
        pain,
        lambda r: r.update(subject={"reference": uuid(2)}, partOf=[{"reference": uuid(2)}]),
    )
    nowhere = broken(pain, lambda r: r.update(id="o2", subject={"reference": uuid(99)}))
    return transaction(forward, nowhere, patient())


@pytest.mark.parametrize(
    ("name", "change", "one_pass"),
    [
        ("forward", lambda b: None, True),
        # Two entries with one fullUrl: bdl-7, and the last one's type counts; read in two passes.
        ("repeated", lambda b: b["entry"][2].update(fullUrl=uuid(0)), False),
        # A problem of the Bundle's own, beside those of its entries.
        ("own", lambda b: b.update(timestamp="2024-02-30"), True),
    ],
)
def test_a_bundle_file_one_entry_a_line_is_read_once(
    validator: Validator, tmp_path: Path, name: str, change: Callable[[Any], None], one_pass: bool
) -> None:
    b = _forward()
    change(b)
    expected = validator.validate_bundle(b)
    assert expected, "each case has issues"
    lines = _file(tmp_path, name, b, "lines")
    assert _read_in_one_pass(lines, validator) is one_pass
    done: list[tuple[int, int]] = []
    count, issues = validate_file(lines, validator, progress=lambda *at: done.append(at))
    assert (count, issues) == (3, expected)
    assert done[-1] == (3, 3)
    assert validate_file(_file(tmp_path, name, b, "pretty"), validator) == (3, expected)


def test_forward_references_resolve_in_one_pass(validator: Validator, tmp_path: Path) -> None:
    issues = validate_file(_file(tmp_path, "f", _forward(), "lines"), validator)[1]
    assert [(i.entry_index, i.path, i.rule) for i in issues] == [
        (0, "Observation.partOf[0].reference", "reference-target"),
        (1, "Observation.subject.reference", "reference-unresolved"),
    ]


def test_a_bundle_file_in_processes_gives_the_same_issues(
    validator: Validator, tmp_path: Path
) -> None:
    """Over 200 entries (a worker's chunk), one entry a line and pretty-printed: in two
    processes as in one, and as the Bundle in memory."""
    b = transaction(*(make() for _ in range(30) for make in VALID.values()))
    assert len(b["entry"]) > 3 * files._CHUNK
    b["entry"][5]["resource"]["status"] = "done"
    b["entry"][-5]["resource"]["nickname"] = "x"
    later = next(
        e["fullUrl"] for e in b["entry"][500:] if e["resource"]["resourceType"] == "Patient"
    )
    forward = broken(pain, lambda r: r.update(id="forward", partOf=[{"reference": later}]))
    b["entry"].insert(0, {**transaction(forward)["entry"][0], "fullUrl": uuid(10**6)})
    expected = (len(b["entry"]), validator.validate_bundle(b))
    assert len({i.entry_index for i in expected[1]}) >= 3
    lines = _file(tmp_path, "b", b, "lines")
    assert files._validate_lines_in_workers(lines, validator, 2, None) is not None
    done: list[tuple[int, int]] = []
    assert files.validate_file(lines, validator, 2, lambda *at: done.append(at)) == expected
    assert done[-1] == (expected[0], expected[0])
    assert files.validate_file(_file(tmp_path, "b", b, "pretty"), validator, 2) == expected


# A Bundle's elements before its entries, as map writes them.
HEAD = b'{"resourceType":"Bundle","type":"collection","entry":['


@pytest.mark.parametrize(
    ("text", "read"),
    [
        (HEAD + b'{"fullUrl":"a"},\n{}]}\n', "once"),
        (HEAD + b"{},\n{}]}\n  \n", "once"),
        (HEAD + b"{},{}]}", "twice"),  # two on a line
        (HEAD + b"{},\n{}] }", "twice"),
        (b'{"resourceType":"Bundle","entry":[{},\n{}],"type":"collection"}\n', "twice"),
        (HEAD + b"\n{},\n{}\n]}", "twice"),
        (HEAD + b'{},\n{"x":1234567890123456789}]}', "twice"),  # 19 digits: left to ijson
        (HEAD + b"{},\n{}]}x\n", "unreadable"),
        (HEAD + b"{},\n{]}\n", "unreadable"),
        (HEAD + b"{},\n{}]}\n{}", "unreadable"),
        # orjson would read it as a float; ijson cannot read it.
        (HEAD + b'{},\n{"x":18446744073709551616}]}', "unreadable"),
    ],
)
def test_a_file_is_read_once_only_when_laid_out_so(
    validator: Validator, tmp_path: Path, text: bytes, read: str
) -> None:
    path = tmp_path / "b.json"
    path.write_bytes(text)
    if read == "unreadable":
        with pytest.raises(Unreadable):
            validate_file(path, validator)
        return
    assert validate_file(path, validator) == (2, validator.validate_bundle(json.loads(text)))
    assert _read_in_one_pass(path, validator) is (read == "once")


# --- the walker does fhir.resources' checks: none is lost ------------------------------------------
@pytest.fixture(scope="module")
def with_models() -> Validator:
    """The validator as it was: every resource also through its fhir.resources model."""
    return Validator.from_resources(*_packaged_project(), fhir_resources=True)


def _every(issues: list[Issue]) -> list[tuple[Any, ...]]:
    return [
        (i.entry_index, i.resource_id, i.path, i.rule, i.severity, i.message, i.profile)
        for i in issues
    ]


def test_walker_reports_what_fhir_resources_did_on_every_test_resource(
    validator: Validator, with_models: Validator
) -> None:
    corpus = [make() for make in VALID.values()]
    corpus += [copy.deepcopy(r) for r, _, _ in CASES.values()]
    corpus += [json.loads(p.read_text()) for p in EXAMPLES]
    corpus += [json.loads(p.read_text())["resource"] for p in INVALID]
    corpus += [transaction(*(make() for make in VALID.values()))]
    for r in corpus:
        assert _every(validator.validate(r)) == _every(with_models.validate(r)), r.get("id")


def _covered(issue: Issue, by: list[Issue]) -> bool:
    """An error of fhir.resources is reported without it too: on the same element, one below it
    or one that contains it (pydantic names some places its own way: ``.root``,
    ``.resource_type``, and reports a wrong JSON kind a second time as a format)."""
    where = issue.path.replace(".resource_type", ".resourceType").removesuffix(".root")
    return any(
        i.severity == ERROR and i.entry_index == issue.entry_index and about(i, where) for i in by
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    make=st.sampled_from([*VALID.values(), lambda: transaction(*(m() for m in VALID.values()))]),
    picks=st.lists(st.integers(min_value=0), min_size=1, max_size=3),
    key=st.sampled_from(["x", "_code", "_x", "resourceType", "fhir_comments", "id", "text"]),
    data=st.data(),
)
def test_walker_loses_no_check_of_fhir_resources(
    validator: Validator,
    with_models: Validator,
    make: Callable[[], Resource],
    picks: list[int],
    key: str,
    data: st.DataObject,
) -> None:
    """Any JSON anywhere, and unknown or misplaced keys: the same verdict with and without the
    models, every error the models found is still found, and nothing new is reported."""
    r = copy.deepcopy(make())
    for pick in picks:
        paths = _paths(r)
        path = paths[pick % len(paths)]
        target: Any = r
        for step in path[:-1]:
            target = target[step]
        if pick % 5 == 0 and isinstance(target, dict):
            target[key] = data.draw(JSON)
        else:
            _replace(r, path, data.draw(JSON | never_valid_instead_of(target[path[-1]])))
    new, old = validator.validate(r), with_models.validate(r)
    assert [str(i) for i in new if _every([i])[0] not in _every(old)] == []
    assert [str(i) for i in old if i.severity == ERROR and not _covered(i, new)] == []


def test_remembered_results_do_not_depend_on_what_was_seen_before() -> None:
    """Clean values and invariant results are remembered: two validators that see the same
    resources in opposite orders report the same for each."""
    rng = random.Random(11)
    corpus = [make() for make in VALID.values()] + [copy.deepcopy(r) for r, _, _ in CASES.values()]
    for _ in range(300):
        r = copy.deepcopy(rng.choice(list(VALID.values()))())
        path = rng.choice(_paths(r))
        _replace(r, path, rng.choice([None, "", "x", 0, [], {}, [{}], {"x": 1}, {"code": "x"}]))
        corpus.append(r)
    forward = Validator.from_resources(*_packaged_project())
    backward = Validator.from_resources(*_packaged_project())
    seen = [_every(forward.validate(r)) for r in corpus]
    assert [_every(backward.validate(r)) for r in reversed(corpus)] == seen[::-1]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    picks=st.lists(st.integers(min_value=0), min_size=1, max_size=4),
    values=st.lists(
        st.sampled_from(
            [
                None,
                "x",
                1,
                [],
                {},
                "document",
                "message",
                "history",
                "searchset",
                "batch",
                {"method": "GET", "url": "Patient"},
                {"status": "200"},
                {"mode": "match"},
                uuid(0),
                {"versionId": "1"},
                {"versionId": 2},
                [uuid(1)],
            ]
        ),
        min_size=4,
        max_size=4,
    ),
)
def test_bundle_invariants_see_the_entries_as_the_whole_bundle(
    picks: list[int], values: list[Any]
) -> None:
    """The Bundle's invariants are evaluated on stand-ins of its entries (bundles.EntrySummary):
    fhirpathpy gives each the verdict it gives on the whole Bundle."""
    b = copy.deepcopy(transaction(*(make() for make in VALID.values())))
    b["entry"] += copy.deepcopy(b["entry"][:3])
    for pick, value in zip(picks, values, strict=False):
        entry = b["entry"][pick % len(b["entry"])]
        where = ["fullUrl", "request", "response", "search", "resource"][pick % 5]
        if where == "resource" and isinstance(value, dict) and "versionId" in value:
            if not isinstance(entry.get("resource"), dict):
                continue
            entry["resource"]["meta"] = {**entry["resource"].get("meta", {}), **value}
        elif where == "request" and isinstance(value, str) and pick % 2:
            b["type"] = value
        else:
            entry[where] = value
    index = BundleIndex.of(b["entry"])
    summary = EntrySummary()
    for entry in b["entry"]:
        summary.add(entry, index.repeated)
    whole = {**shell_of(b), "entry": summary.entries()}
    invariants = Invariants(fast_fhirpath=False)
    snapshots = Snapshots(Definitions.of(packaged("r4-core.json")["structureDefinitions"], {}))
    tree = snapshots.tree("http://hl7.org/fhir/StructureDefinition/Bundle")
    assert tree is not None
    verdicts = []
    for bundle in (b, whole):
        run = Run(bundle, "Bundle", None, None, None)
        invariants.check(run, tree.root, bundle, "Bundle", "Bundle")
        verdicts.append([(i.rule, i.severity) for i in run.issues])
    assert verdicts[0] == verdicts[1]


def test_an_ehrs_own_indication_or_technique_code_is_accepted(validator: Validator) -> None:
    # extensible bindings: an EHR that edits these resources may code them its own way
    wrinkled = concept((codes.SCT, "247434009", "Wrinkled skin"))
    coded = broken(session, lambda r: r.update(reasonCode=[wrinkled]))
    assert [i for i in validator.validate(coded) if i.severity == ERROR] == []
    planned = broken(course, lambda r: r["activity"][0]["detail"].update(reasonCode=[wrinkled]))
    assert [i for i in validator.validate(planned) if i.severity == ERROR] == []
    cannula = broken(injection, lambda r: r["dosage"].update(method={"text": "cannula"}))
    assert [i for i in validator.validate(cannula) if i.severity == ERROR] == []


@settings(max_examples=500, deadline=None)
@given(
    type_code=st.sampled_from(sorted(validation.r4b._PASSES)),
    value=st.one_of(
        st.text(),
        st.text(alphabet=st.characters(categories=("Zs", "Zl", "Zp", "Cc", "Cf")), max_size=4),
    ),
)
def test_primitives_passed_without_fhir_resources_pass_it(type_code: str, value: str) -> None:
    """A string the fast path lets through (r4b._PASSES) is one fhir.resources' validator of
    the type accepts: the verdict is the same."""
    r4b = validation.r4b
    if r4b._PASSES[type_code].search(value):
        adapter = r4b._adapter(type_code)
        assert adapter is not None
        adapter.validate_python(value)  # raises if fhir.resources disagrees
