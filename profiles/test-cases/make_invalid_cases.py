"""Writes test-cases/invalid/*.json: broken variants of the examples in package/.

Each case must be rejected by the validators: check-examples.mjs (@medplum/core) and
check-examples-pyfhircheck.py. Run after changing the examples:

    python3 profiles/test-cases/make_invalid_cases.py [NAME ...]   # all cases, or those named

A case holds description, expect (a text the rejecting issue must contain), validators (only
when not both can catch it) and the resource. Every code used is one of codes.py.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent / "package"
OUT = HERE / "invalid"

SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
MESO = "https://meso-fhir.org/fhir/CodeSystem/meso"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

PATIENT = "Patient-example-patient.json"
BP = "Observation-example-blood-pressure.json"
HR = "Observation-example-heart-rate.json"
FITZPATRICK = "Observation-example-fitzpatrick.json"
CI = "Observation-example-contraindication-diabetes.json"
PREGNANCY = "Observation-example-pregnancy-status.json"
ELIGIBILITY = "Observation-example-eligibility.json"
ASPIRIN = "MedicationStatement-example-aspirin.json"
COURSE = "CarePlan-example-course.json"
SESSION = "Procedure-example-session.json"
INJECTION = "MedicationAdministration-example-injection.json"
PAIN = "Observation-example-pain.json"
WAIST = "Observation-example-waist.json"
CONDITION = "Condition-example-reported-condition.json"
ALLERGY = "AllergyIntolerance-example-reaction-allergy.json"
ADVERSE_EVENT = "AdverseEvent-example-adverse-event.json"
VISIT = "Encounter-example-session-visit.json"
CLINIC = "Organization-example-clinic.json"
PRACTITIONER = "Practitioner-example-practitioner.json"
PHOTO_CONSENT = "Consent-example-photo-consent.json"
PHOTO = "Media-example-photo.json"
PHOTO_CONTENT = "Binary-example-photo-content.json"

# Bindings and reference types: @medplum/core 4.5.2 checks neither; pyfhircheck does.
PYFHIRCHECK_ONLY = ["pyfhircheck"]

Resource = dict[str, Any]


def cc(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def detail(r: Resource) -> dict[str, Any]:
    d: dict[str, Any] = r["activity"][0]["detail"]
    return d


def repeat(r: Resource) -> dict[str, Any]:
    rep: dict[str, Any] = detail(r)["scheduledTiming"]["repeat"]
    return rep


def set_(key: str, value: Any) -> Callable[[Resource], None]:
    return lambda r: r.__setitem__(key, value)


def drop(key: str) -> Callable[[Resource], None]:
    return lambda r: r.pop(key) and None


def ci_coded_answer(r: Resource) -> None:
    r["valueCodeableConcept"] = {"text": "no"}


CASES: list[tuple[str, str, str, str, Callable[[Resource], None], list[str] | None]] = [
    # (name, description, expect, example, mutation, validators)
    ("patient-no-birthdate", "meso-patient: birthDate 1..1", "birthDate", PATIENT,
     drop("birthDate"), None),
    ("patient-identifier-no-system", "meso-patient: identifier.system 1..1", "identifier",
     PATIENT, lambda r: r["identifier"][0].pop("system") and None, None),
    ("vital-bp-with-value",
     "meso-vital-signs: a blood pressure panel has components and no value (meso-vs-1)",
     "meso-vs-1", BP,
     set_("valueQuantity", {"value": 118, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"}),
     None),
    ("vital-not-ucum", "meso-vital-signs: valueQuantity.system fixed to UCUM", "system", HR,
     lambda r: r["valueQuantity"].update(system="http://example.org/units"), None),
    ("vital-no-category", "meso-vital-signs (vitalsigns): category vital-signs 1..1", "VSCat", HR,
     set_("category", [{"coding": [{"system": OBS_CATEGORY, "code": "exam"}]}]), None),
    ("vital-bp-component-not-mmhg",
     "meso-vital-signs: blood pressure components in mm[Hg] (meso-vs-2)", "meso-vs-2", BP,
     lambda r: r["component"][0]["valueQuantity"].update(code="kPa", unit="kPa"), None),
    ("vital-bp-other-component",
     "meso-vital-signs: components are systolic and diastolic blood pressure (meso-vs-2)",
     "meso-vs-2", BP,
     lambda r: r["component"][1]["code"]["coding"][0].update(code="8867-4", display="Heart rate"),
     None),
    ("screening-fitzpatrick-glogau-answer",
     "meso-screening-finding: Fitzpatrick answered with a Glogau grade (meso-screen-2)",
     "meso-screen-2", FITZPATRICK,
     set_("valueCodeableConcept", cc(MESO, "glogau-II", "Glogau photo-ageing type II")), None),
    ("screening-pregnancy-wrong-answer",
     "meso-screening-finding: pregnancy status answered with a Fitzpatrick type (meso-screen-1)",
     "meso-screen-1", PREGNANCY,
     set_("valueCodeableConcept", cc(MESO, "fitzpatrick-III", "Fitzpatrick skin type III")),
     None),
    ("screening-contraindication-coded-answer",
     "meso-screening-finding: a contraindication question is answered yes or no, coded LA33-6 "
     "or LA32-8, not with text (meso-screen-4)", "meso-screen-4", CI, ci_coded_answer, None),
    ("screening-contraindication-no-category",
     "meso-screening-finding: a contraindication answer has the category contraindication "
     "(meso-screen-4)", "meso-screen-4", CI,
     lambda r: r.__setitem__("category", [r["category"][0]]), None),
    ("screening-no-value", "meso-screening-finding: value[x] 1..1", "value", CI,
     drop("valueBoolean"), None),
    ("eligibility-other-code", "meso-eligibility: code carries the local eligibility coding",
     "eligibility", ELIGIBILITY, set_("code", cc(MESO, "deferred", "Deferred")), None),
    ("eligibility-no-effective", "meso-eligibility: effective[x] 1..1", "effective", ELIGIBILITY,
     drop("effectiveDateTime"), None),
    ("medication-statement-no-date-asserted", "meso-medication-statement: dateAsserted 1..1",
     "dateAsserted", ASPIRIN, drop("dateAsserted"), None),
    ("course-six-sessions", "meso-course: 3 to 5 planned sessions (meso-course-1)",
     "meso-course-1", COURSE, lambda r: repeat(r).update(count=6), None),
    ("course-two-sessions", "meso-course: 3 to 5 planned sessions (meso-course-1)",
     "meso-course-1", COURSE, lambda r: repeat(r).update(count=2), None),
    ("course-intent-order", "meso-course: intent fixed plan", "intent", COURSE,
     set_("intent", "order"), None),
    ("course-no-period-unit",
     "meso-course: scheduledTiming.repeat.periodUnit 1..1 (meso-course-2)", "meso-course-2",
     COURSE, lambda r: repeat(r).pop("periodUnit") and None, None),
    ("course-no-start", "meso-course: period.start 1..1", "CarePlan.period", COURSE,
     lambda r: r["period"].pop("start") and None, None),
    ("course-kind-appointment",
     "meso-course: activity.detail.kind fixed ServiceRequest (meso-course-2)", "meso-course-2",
     COURSE, lambda r: detail(r).update(kind="Appointment"), None),
    ("course-no-reason", "meso-course: activity.detail.reasonCode 1..* (meso-course-2)",
     "meso-course-2", COURSE, lambda r: detail(r).pop("reasonCode") and None, None),
    ("session-no-session-number", "meso-session: the session-number extension 1..1",
     "Procedure.extension", SESSION, drop("extension"), None),
    ("session-other-code", "meso-session: code carries the local mesotherapy coding",
     "mesotherapy", SESSION,
     lambda r: r.__setitem__("code", {"coding": [r["code"]["coding"][1]]}), None),
    ("session-no-body-site", "meso-session: bodySite 1..*", "bodySite", SESSION,
     drop("bodySite"), None),
    ("session-no-based-on", "meso-session: basedOn 1..1", "basedOn", SESSION,
     drop("basedOn"), None),
    ("injection-dose-mg", "meso-injection: dose in mL (meso-inj-1)", "meso-inj-1", INJECTION,
     lambda r: r["dosage"]["dose"].update(code="mg", unit="mg"), None),
    ("injection-no-route", "meso-injection: dosage.route 1..1 (meso-inj-1)", "meso-inj-1",
     INJECTION, lambda r: r["dosage"].pop("route") and None, None),
    ("injection-no-site", "meso-injection: dosage.site 1..1 (meso-inj-1)", "meso-inj-1",
     INJECTION, lambda r: r["dosage"].pop("site") and None, None),
    ("injection-no-part-of", "meso-injection: partOf 1..*", "partOf", INJECTION,
     drop("partOf"), None),
    ("injection-depth-in-cm", "meso-injection: injection-depth in mm (meso-inj-2)",
     "meso-inj-2", INJECTION,
     lambda r: r["dosage"]["extension"][0]["valueQuantity"].update(code="cm", unit="cm"), None),
    ("session-observation-no-value",
     "meso-session-observation: a value or a dataAbsentReason (meso-obs-1)", "meso-obs-1",
     PAIN, drop("valueInteger"), None),
    ("session-observation-not-ucum",
     "meso-session-observation: valueQuantity.system fixed to UCUM (meso-obs-2)", "meso-obs-2",
     WAIST, lambda r: r["valueQuantity"].update(system="http://example.org/units"), None),
    ("session-observation-no-part-of", "meso-session-observation: partOf 1..*", "partOf", PAIN,
     drop("partOf"), None),
    # bindings (required) and reference types
    ("injection-route-not-in-value-set", "meso-injection: route bound (required) to meso-route",
     "binding.required MedicationAdministration.dosage.route", INJECTION,
     lambda r: r["dosage"].update(route=cc(SCT, "89545001", "Face")), PYFHIRCHECK_ONLY),
    ("eligibility-value-not-a-decision",
     "meso-eligibility: value bound (required) to meso-eligibility",
     "binding.required Observation.value[x]", ELIGIBILITY,
     set_("valueCodeableConcept", cc(MESO, "mesotherapy", "Mesotherapy session")),
     PYFHIRCHECK_ONLY),
    ("screening-code-not-a-finding",
     "meso-screening-finding: code bound (required) to meso-screening-finding-codes",
     "binding.required Observation.code", CI,
     set_("code", cc(MESO, "gais", "Global aesthetic improvement scale")), PYFHIRCHECK_ONLY),
    ("vital-code-not-a-vital-sign",
     "meso-vital-signs: code bound (required) to meso-vital-sign-codes",
     "binding.required Observation.code", HR,
     set_("code", cc(LOINC, "8280-0", "Waist Circumference at umbilicus by Tape measure")),
     PYFHIRCHECK_ONLY),
    ("eligibility-derived-from-medication-statement",
     "base R4: Observation.derivedFrom cannot reference a MedicationStatement (the profile "
     "puts them in the workflow-supportingInfo extension)",
     "reference.type Observation.derivedFrom", ELIGIBILITY,
     set_("derivedFrom", [{"reference": "MedicationStatement/example-aspirin"}]),
     PYFHIRCHECK_ONLY),
    ("condition-no-encounter", "meso-condition: encounter 1..1 (the visit it was reported at)",
     "encounter", CONDITION, drop("encounter"), None),
    ("condition-no-verification-status", "meso-condition: verificationStatus 1..1",
     "verificationStatus", CONDITION, drop("verificationStatus"), None),
    ("allergy-no-recorded-date", "meso-allergy: recordedDate 1..1", "recordedDate", ALLERGY,
     drop("recordedDate"), None),
    ("adverse-event-no-suspect", "meso-adverse-event: suspectEntity 1..*", "suspectEntity",
     ADVERSE_EVENT, drop("suspectEntity"), None),
    ("adverse-event-potential", "meso-adverse-event: actuality fixed to actual", "actuality",
     ADVERSE_EVENT, set_("actuality", "potential"), None),
    ("encounter-no-service-provider", "meso-encounter: serviceProvider 1..1 (the clinic)",
     "serviceProvider", VISIT, drop("serviceProvider"), None),
    ("clinic-identifier-not-a-uri",
     "meso-clinic: the identifier is the identifier base, system fixed to urn:ietf:rfc:3986",
     "identifier", CLINIC,
     lambda r: r["identifier"][0].update(system="https://clinic.example.org/ids") and None, None),
    ("practitioner-no-identifier", "meso-practitioner: identifier 1..* (the clinic's id)",
     "identifier", PRACTITIONER, drop("identifier"), None),
    ("consent-no-policy", "meso-consent: policy 1..* (the clinic's consent form)", "policy",
     PHOTO_CONSENT, drop("policy"), None),
    ("consent-photography-permits-nothing",
     "meso-consent: a consent to photography says what it permits (meso-consent-1)",
     "meso-consent-1", PHOTO_CONSENT, lambda r: r["provision"].pop("action") and None, None),
    ("media-inline-image", "meso-media: the image is referred to by URL, never inline "
     "(meso-media-1)", "meso-media-1", PHOTO,
     lambda r: r["content"].update(data="iVBORw0KGgo="), None),
    ("media-no-procedure", "meso-media: partOf 1..1 (the session's Procedure)", "partOf", PHOTO,
     drop("partOf"), None),
    ("photo-content-no-security-context",
     "meso-photo-content: securityContext 1..1 (the Patient)", "securityContext",
     PHOTO_CONTENT, drop("securityContext"), None),
]  # fmt: skip


def main(only: list[str]) -> None:
    """Write every case (deleting the old ones), or only the cases named."""
    OUT.mkdir(exist_ok=True)
    if not only:
        for f in OUT.glob("*.json"):
            f.unlink()
    for name, description, expect, example, mutate, validators in CASES:
        if only and name not in only:
            continue
        resource = copy.deepcopy(json.loads((PACKAGE / example).read_text(encoding="utf-8")))
        mutate(resource)
        resource["id"] = f"invalid-{name}"
        doc: dict[str, Any] = {"description": description, "expect": expect}
        if validators:
            doc["validators"] = validators
        doc["resource"] = resource
        text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        (OUT / f"{name}.json").write_text(text, encoding="utf-8")
    print(f"make_invalid_cases: {len(CASES)} cases -> {OUT.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main(sys.argv[1:])
