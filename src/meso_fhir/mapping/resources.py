"""Pure mapping: clinic records in, FHIR R4 resources (plain dicts) out.

No I/O, no clock: everything a function needs comes in as arguments. Resources are built as
plain dicts, not through fhir.resources models, because serialising through the models is two
orders of magnitude slower (tooling.md); the tests validate what comes out against base R4 and
the project's profiles instead.

References between resources are written ``Type/<deterministic id>``; the bundle builder turns
them into ``urn:uuid:`` full URLs (see identity.full_url).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from .. import codes
from ..codes import Coding
from ..model.records import (
    CONCENTRATION_PATTERN,
    Consent,
    Course,
    Given,
    Ingredient,
    Injection,
    MeasurementFinding,
    MedicationUse,
    PainScore,
    Patient,
    Performer,
    Photo,
    PhotoConsent,
    PhotoContent,
    Practitioner,
    ReactionFinding,
    ScaleFinding,
    Screening,
    Session,
    SessionObservation,
)
from .identity import ClinicConfig, resource_id
from .narrative import TEXT_SLOT, with_narrative

Resource = dict[str, Any]

# What the mapped output looks like. A changed version resends every record on the next sync
# (and bumps every resource's version on the server), so it changes when, and only when, the
# output does: tests/test_mapping.py fails when the golden files change and this does not.
MAPPING_VERSION = 6

# The resource types the mapper emits (a test holds it to the mapped example).
RESOURCE_TYPES = (
    "Patient",
    "Organization",
    "Practitioner",
    "Encounter",
    "BodyStructure",
    "Observation",
    "MedicationStatement",
    "CarePlan",
    "Procedure",
    "MedicationAdministration",
    "Condition",
    "AllergyIntolerance",
    "AdverseEvent",
    "Consent",
    "Media",
    "Binary",
)

# Never deleted: the EHR's Patient, and the clinic and its practitioners, which every patient's
# records refer to (a practitioner no session names any more stays on the server).
NEVER_DELETED = ("Patient", "Organization", "Practitioner")

ENTERED_IN_ERROR = "entered-in-error"


@dataclass(frozen=True, slots=True)
class Mapped:
    """The resources of one clinic record, the unit that is hashed, sent and recorded."""

    kind: str
    source_id: str
    resources: list[Resource]


# --- small builders ----------------------------------------------------------------------------


def coding(c: Coding) -> dict[str, str]:
    return {"system": c[0], "code": c[1], "display": c[2]}


def concept(codings: Iterable[Coding], text: str | None = None) -> dict[str, Any]:
    cc: dict[str, Any] = {"coding": [coding(c) for c in codings]}
    if text:
        cc["text"] = text
    return cc


def quantity(value: float, ucum: str) -> dict[str, Any]:
    return {"value": value, "unit": ucum, "system": codes.UCUM, "code": ucum}


def identifier(system: str, value: str) -> dict[str, str]:
    return {"system": system, "value": value}


def reference(resource_type: str, system: str, value: str) -> dict[str, str]:
    return {"reference": f"{resource_type}/{resource_id(system, value)}"}


def product_concept(config: ClinicConfig, code: str, name: str) -> dict[str, Any]:
    """A product or the clinic's cocktail, by the clinic's product code (and its name as text)."""
    return concept([(config.system("product"), code, name)], name)


def visit(config: ClinicConfig, kind: str, source_id: str) -> dict[str, str]:
    """The Encounter of a screening visit or a session, by its identifier."""
    return reference("Encounter", config.system("encounter"), f"{kind}/{source_id}")


def _encounter(
    config: ClinicConfig,
    kind: str,
    source_id: str,
    status: str,
    subject: dict[str, str],
    start: str,
    performer: Performer | None = None,
) -> Resource:
    """The ambulatory visit every resource of a screening or a session refers to."""
    encounter = _start(
        "Encounter", [codes.PROFILE_ENCOUNTER], config.system("encounter"), f"{kind}/{source_id}"
    )
    encounter.update(
        {
            "status": status,
            "class": coding(codes.AMBULATORY),
            "type": [concept([codes.VISIT_TYPE[kind]])],
            "subject": subject,
        }
    )
    if performer is not None:
        encounter["participant"] = [{"individual": _practitioner(config, performer)}]
    encounter["period"] = {"start": start}
    encounter["serviceProvider"] = clinic(config)
    return encounter


def _practitioner(config: ClinicConfig, performer: Performer) -> dict[str, Any]:
    """The clinic's practitioner (``map_practitioner``), by the clinic's practitioner id."""
    actor = reference("Practitioner", config.system("practitioner"), performer.id)
    return {**actor, "display": performer.name} if performer.name else dict(actor)


def clinic(config: ClinicConfig) -> dict[str, str]:
    """The clinic's Organization (``map_clinic``)."""
    organization = reference("Organization", config.system("clinic"), config.identifier_base)
    return {**organization, "display": config.clinic_name} if config.clinic_name else organization


def map_clinic(config: ClinicConfig) -> Resource:
    """The clinic as an Organization, known by its identifier base (the configuration names
    it): what every visit's ``serviceProvider`` refers to."""
    organization = _start("Organization", [codes.PROFILE_CLINIC], codes.URI, config.identifier_base)
    organization.update(active=True, type=[concept([codes.HEALTHCARE_PROVIDER])])
    if config.clinic_name:
        organization["name"] = config.clinic_name
    return with_narrative(organization)


def map_practitioner(practitioner: Practitioner, config: ClinicConfig) -> Resource:
    """A practitioner the sessions name as ``performer``, with the name and qualification the
    export gives (as text: the export's qualifications are the clinic's words, not codes)."""
    resource = _start(
        "Practitioner",
        [codes.PROFILE_PRACTITIONER],
        config.system("practitioner"),
        practitioner.id,
    )
    resource["active"] = True
    if practitioner.name:
        resource["name"] = [{"text": practitioner.name}]
    if practitioner.qualification:
        resource["qualification"] = [{"code": {"text": practitioner.qualification}}]
    return with_narrative(resource)


def _start(resource_type: str, profiles: list[str], system: str, value: str) -> Resource:
    business = identifier(system, value)
    return {
        "resourceType": resource_type,
        "id": resource_id(system, value),
        "meta": {"profile": profiles},
        # Where the narrative goes, kept from the start: ``with_narrative`` fills it in place
        # instead of rebuilding the resource to put its text after ``meta``.
        "text": TEXT_SLOT,
        # R4's AdverseEvent has a single identifier (0..1), every other type a list.
        "identifier": business if resource_type == "AdverseEvent" else [business],
    }


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def fhir_datetime(value: dt.datetime | dt.date, zone: str) -> str:
    """FHIR dateTime: a date as is; a time with its UTC offset (the clinic's zone if none given)."""
    if not isinstance(value, dt.datetime):
        return value.isoformat()
    if value.tzinfo is None:
        value = value.replace(tzinfo=_zone(zone))
    return value.isoformat(timespec="seconds")


def body_site(site: str, laterality: str | None = None) -> dict[str, Any]:
    text = codes.BODY_SITE_TEXT.get(site)
    if laterality:
        text = f"{laterality} {text or codes.BODY_SITE[site][2].lower()}"
    return concept([codes.BODY_SITE[site]], text)


# --- patient -----------------------------------------------------------------------------------


def map_patient(patient: Patient, config: ClinicConfig) -> list[Resource]:
    resource = _start("Patient", [codes.PROFILE_PATIENT], config.system("patient"), patient.id)
    # The MRN comes first: it is the business identifier conditional writes match on.
    resource["identifier"] = [
        {
            "use": "usual",
            "type": concept([(codes.V2_0203, "MR", "Medical record number")]),
            **identifier(config.mrn_system, patient.mrn),
        },
        identifier(config.system("patient"), patient.id),
    ]
    # Patient has no status: a withdrawn patient is marked inactive, never deleted.
    resource["active"] = not patient.withdrawn
    resource["name"] = [{"use": "official", "family": patient.family, "given": list(patient.given)}]
    telecom = []
    if patient.phone:
        telecom.append({"system": "phone", "value": patient.phone})
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    if telecom:
        resource["telecom"] = telecom
    resource["gender"] = patient.gender
    resource["birthDate"] = patient.birth_date.isoformat()
    return [resource]


# --- screening ---------------------------------------------------------------------------------

_VITAL_PART = {
    "heart_rate": "heart-rate",
    "body_temperature": "body-temperature",
    "body_weight": "body-weight",
    "body_height": "body-height",
    "bmi": "bmi",
}


def map_screening(screening: Screening, config: ClinicConfig) -> list[Resource]:
    """Observation per finding, MedicationStatement per medicine, one eligibility Observation."""
    system = config.system("screening")
    subject = reference("Patient", config.system("patient"), screening.patient_id)
    when = fhir_datetime(screening.screened_at, config.timezone)
    status = ENTERED_IN_ERROR if screening.withdrawn else "final"
    encounter = visit(config, "screening", screening.id)
    findings: list[Resource] = []

    def observation(
        part: str, profiles: list[str], category: list[dict[str, Any]], code: dict[str, Any]
    ) -> Resource:
        obs = _start("Observation", profiles, system, f"{screening.id}/{part}")
        obs.update(
            status=status,
            category=category,
            code=code,
            subject=subject,
            encounter=encounter,
            effectiveDateTime=when,
        )
        findings.append(obs)
        return obs

    vitals_category = [concept([codes.VITAL_SIGNS_CATEGORY])]
    vs = screening.vital_signs
    if vs.blood_pressure is not None:
        obs = observation(
            "blood-pressure",
            [codes.PROFILE_VITAL_SIGNS],
            vitals_category,
            concept([(codes.LOINC, *codes.BLOOD_PRESSURE)]),
        )
        obs["component"] = [
            {
                "code": concept([(codes.LOINC, *codes.SYSTOLIC)]),
                "valueQuantity": quantity(vs.blood_pressure.systolic.value, "mm[Hg]"),
            },
            {
                "code": concept([(codes.LOINC, *codes.DIASTOLIC)]),
                "valueQuantity": quantity(vs.blood_pressure.diastolic.value, "mm[Hg]"),
            },
        ]
    for name, (loinc, display, ucum) in codes.VITAL_SIGN.items():
        measured = getattr(vs, name)
        if measured is None:
            continue
        obs = observation(
            _VITAL_PART[name],
            [codes.PROFILE_VITAL_SIGNS],
            vitals_category,
            concept([(codes.LOINC, loinc, display)]),
        )
        obs["valueQuantity"] = quantity(measured.value, ucum)

    exam = [concept([codes.EXAM_CATEGORY])]
    if screening.pregnancy is not None:
        obs = observation(
            "pregnancy-status",
            [codes.PROFILE_SCREENING_FINDING],
            [concept([codes.SOCIAL_HISTORY_CATEGORY])],  # as US Core's pregnancy status
            concept([codes.PREGNANCY_STATUS]),
        )
        obs["valueCodeableConcept"] = concept([codes.PREGNANCY_ANSWER[screening.pregnancy]])
    if screening.fitzpatrick is not None:
        obs = observation(
            "fitzpatrick", [codes.PROFILE_SCREENING_FINDING], exam, concept([codes.FITZPATRICK])
        )
        obs["valueCodeableConcept"] = concept(codes.FITZPATRICK_TYPE[screening.fitzpatrick])
    if screening.glogau is not None:
        obs = observation(
            "photoageing", [codes.PROFILE_SCREENING_FINDING], exam, concept([codes.PHOTOAGEING])
        )
        obs["valueCodeableConcept"] = concept([codes.GLOGAU_GRADE[screening.glogau]])

    contraindication_category = [
        concept([codes.SURVEY_CATEGORY]),
        concept([codes.CONTRAINDICATION_CATEGORY]),
    ]
    answers: dict[str, Resource] = {}
    for name in sorted(screening.contraindications):
        obs = observation(
            f"contraindication-{name}",
            [codes.PROFILE_SCREENING_FINDING],
            contraindication_category,
            concept(codes.CONTRAINDICATION[name]),
        )
        obs["valueCodeableConcept"] = concept(codes.ANSWER[screening.contraindications[name]])
        answers[name] = obs
    reported = _reported(screening, config, answers, subject, when, encounter)

    statements = [
        _medication_statement(use, screening, system, subject, when, encounter)
        for use in screening.medications
    ]

    eligibility = _start(
        "Observation", [codes.PROFILE_ELIGIBILITY], system, f"{screening.id}/eligibility"
    )
    eligibility.update(
        status=status,
        category=[concept([codes.SURVEY_CATEGORY])],
        code=concept([codes.ELIGIBILITY]),
        subject=subject,
        encounter=encounter,
        effectiveDateTime=when,
        valueCodeableConcept=concept([codes.ELIGIBILITY_ANSWER[screening.eligibility]]),
    )
    if statements:
        # R4 Observation.derivedFrom cannot point at a MedicationStatement: the core extension
        # workflow-supportingInfo carries the medicines reviewed.
        eligibility["extension"] = [
            {
                "url": codes.EXT_SUPPORTING_INFO,
                "valueReference": {"reference": f"MedicationStatement/{s['id']}"},
            }
            for s in statements
        ]
        eligibility = {"extension": eligibility.pop("extension"), **eligibility}
    # The decision rests on the positive answers: a contraindication present, a pregnancy.
    # (Not hasMember: the decision is not a panel of the findings.)
    yes = concept(codes.ANSWER[True])
    positive = [
        o
        for o in findings
        if o.get("valueCodeableConcept") == yes
        or (
            screening.pregnancy == "pregnant"
            and o["identifier"][0]["value"].endswith("/pregnancy-status")
        )
    ]
    if positive:
        eligibility["derivedFrom"] = [{"reference": f"Observation/{o['id']}"} for o in positive]
    if screening.eligibility_note:
        eligibility["note"] = [{"text": screening.eligibility_note}]
    screening_visit = _encounter(
        config,
        "screening",
        screening.id,
        ENTERED_IN_ERROR if screening.withdrawn else "finished",
        subject,
        when,
    )
    return [screening_visit, *findings, *statements, eligibility, *reported]


def _reported(
    screening: Screening,
    config: ClinicConfig,
    answers: dict[str, Resource],
    subject: dict[str, str],
    when: str,
    encounter: dict[str, str],
) -> list[Resource]:
    """What a screening's answers put on the patient's problem and allergy lists.

    A "yes" to a disorder is a Condition, unconfirmed: it is the patient's word, not the clinic's
    diagnosis. The component allergy question gives an AllergyIntolerance per named allergen
    (or "allergy to substance" when none is named) for a yes, and "no known allergy" for a no,
    as US Core records it. Each rests on its answer (evidence) and was asserted by the patient.
    """
    system = config.system("screening")
    withdrawn = screening.withdrawn
    reported: list[Resource] = []
    for name, disorder in codes.CONDITION.items():
        if screening.contraindications.get(name) is not True:
            continue
        condition = _start(
            "Condition", [codes.PROFILE_CONDITION], system, f"{screening.id}/condition-{name}"
        )
        if not withdrawn:  # con-5: no clinical status on an entered-in-error condition
            condition["clinicalStatus"] = concept([codes.ACTIVE])
        condition.update(
            verificationStatus=concept(
                [codes.CONDITION_ENTERED_IN_ERROR if withdrawn else codes.UNCONFIRMED]
            ),
            category=[concept([codes.PROBLEM_LIST_ITEM])],
            code=concept([disorder]),
            subject=subject,
            encounter=encounter,
            recordedDate=when,
            asserter=subject,
            evidence=[{"detail": [{"reference": f"Observation/{answers[name]['id']}"}]}],
        )
        reported.append(condition)
    answer = screening.contraindications.get("component-allergy")
    if answer is None:
        return reported
    if answer:
        allergies = [(a, concept(codes.SUBSTANCE[a])) for a in screening.allergens] or [
            ("substance", concept([codes.ALLERGY_TO_SUBSTANCE]))
        ]
        verification = "unconfirmed"
    else:
        allergies = [("none-known", concept([codes.NO_KNOWN_ALLERGY]))]
        verification = "confirmed"  # as US Core's "no known allergy"
    for part, code in allergies:
        allergy = _start(
            "AllergyIntolerance", [codes.PROFILE_ALLERGY], system, f"{screening.id}/allergy-{part}"
        )
        _allergy_status(allergy, verification, withdrawn)
        if answer:
            allergy["category"] = ["medication"]  # a component of the clinic's products
        allergy.update(
            code=code,
            patient=subject,
            encounter=encounter,
            recordedDate=when,
            asserter=subject,
            note=[
                {
                    "text": "Answer to the screening question on allergy to a component of the"
                    " clinic's products."
                }
            ],
        )
        reported.append(allergy)
    return reported


def _allergy_status(allergy: Resource, verification: str, withdrawn: bool) -> None:
    # ait-1 / ait-2: a clinical status unless the record is entered in error.
    if not withdrawn:
        allergy["clinicalStatus"] = concept([codes.ALLERGY_ACTIVE])
    status = ENTERED_IN_ERROR if withdrawn else verification
    allergy["verificationStatus"] = concept([codes.ALLERGY_VERIFICATION_STATUS[status]])


def _medication_statement(
    use: MedicationUse,
    screening: Screening,
    system: str,
    subject: dict[str, str],
    when: str,
    encounter: dict[str, str],
) -> Resource:
    statement = _start(
        "MedicationStatement",
        [codes.PROFILE_MEDICATION_STATEMENT],
        system,
        f"{screening.id}/medication-{use.medicine}",
    )
    statement.update(
        status=ENTERED_IN_ERROR if screening.withdrawn else use.status,
        medicationCodeableConcept=concept(codes.MEDICATION[use.medicine]),
        subject=subject,
        context=encounter,
    )
    if use.stopped_on is not None:
        statement["effectivePeriod"] = {"end": use.stopped_on.isoformat()}
    statement["dateAsserted"] = when
    if use.note:
        statement["note"] = [{"text": use.note}]
    return statement


# --- course ------------------------------------------------------------------------------------

# CarePlan.status for the course; CarePlan.activity.detail.status for the planned sessions.
_COURSE_DETAIL_STATUS = {
    "draft": "not-started",
    "active": "in-progress",
    "on-hold": "on-hold",
    "completed": "completed",
    "revoked": "cancelled",
}


def map_course(course: Course, config: ClinicConfig) -> list[Resource]:
    """A CarePlan: indication, treatment areas, planned session count and interval; a Consent
    for each consent the patient signed for the course (to the treatment, to photography)."""
    plan = _start("CarePlan", [codes.PROFILE_COURSE], config.system("course"), course.id)
    plan["extension"] = [
        {"url": codes.EXT_TREATMENT_AREA, "valueCodeableConcept": body_site(area)}
        for area in course.areas
    ]
    plan.update(
        status=ENTERED_IN_ERROR if course.withdrawn else course.status,
        intent="plan",
        title=course.title
        or f"Mesotherapy course: {codes.INDICATION[course.indication][2].lower()}",
        subject=reference("Patient", config.system("patient"), course.patient_id),
        period={"start": course.start_date.isoformat()},
    )
    if course.screening_id is not None:
        plan["supportingInfo"] = [
            reference(
                "Observation", config.system("screening"), f"{course.screening_id}/eligibility"
            )
        ]
    plan["activity"] = [
        {
            "detail": {
                "kind": "ServiceRequest",
                "code": concept(codes.MESOTHERAPY_SESSION),
                "reasonCode": [concept([codes.INDICATION[course.indication]])],
                "status": ENTERED_IN_ERROR
                if course.withdrawn
                else _COURSE_DETAIL_STATUS[course.status],
                "scheduledTiming": {
                    "repeat": {
                        "count": course.planned_sessions,
                        "period": course.interval_weeks,
                        "periodUnit": "wk",
                    }
                },
            }
        }
    ]
    consents = [
        _consent(course, config, kind, given)
        for kind, given in (("treatment", course.consent), ("photography", course.photo_consent))
        if given is not None
    ]
    return [plan, *consents]


def _consent(
    course: Course, config: ClinicConfig, kind: str, given: Consent | PhotoConsent
) -> Resource:
    """The patient's consent, signed on the clinic's form (``policy.uri``, which ppc-1 needs).

    The patient agrees (performer) with the clinic (organization, by its identifier). To the
    treatment: a permit. To photography: a permit to take photos and keep them in the clinical
    record (collect, use), and to disclose them only if the patient allowed it; a nested deny
    says so otherwise.
    """
    patient = reference("Patient", config.system("patient"), course.patient_id)
    consent = _start(
        "Consent", [codes.PROFILE_CONSENT], config.system("course"), f"{course.id}/consent-{kind}"
    )
    category = [concept([codes.PATIENT_CONSENT])]
    provision: dict[str, Any] = {"type": "permit"}
    if isinstance(given, PhotoConsent):
        actions = ["collect", "use"]
        if given.disclosure:
            actions.append("disclose")
            category.append(concept([codes.RELEASE_OF_INFORMATION]))
        provision["action"] = [concept([codes.CONSENT_ACTION_CODE[a]]) for a in actions]
        if not given.disclosure:
            provision["provision"] = [
                {"type": "deny", "action": [concept([codes.CONSENT_ACTION_CODE["disclose"]])]}
            ]
    consent.update(
        status=ENTERED_IN_ERROR if course.withdrawn else "active",
        scope=concept([codes.CONSENT_SCOPE_CODE[kind]]),
        category=category,
        patient=patient,
        dateTime=given.date.isoformat(),
        performer=[patient],
        organization=[clinic(config)],
        policy=[{"uri": given.form_url}],
        provision=provision,
    )
    return consent


# --- session -----------------------------------------------------------------------------------

_ADMINISTRATION_STATUS = {
    "completed": "completed",
    "in-progress": "in-progress",
    "not-done": "not-done",
    "stopped": "stopped",
}


def map_session(
    session: Session,
    indication: str,
    config: ClinicConfig,
    photos: Mapping[str, PhotoContent] | None = None,
) -> list[Resource]:
    """A Procedure for the session, a MedicationAdministration per injection, and a Media per
    photo (with a Binary holding a photo file's bytes).

    ``indication`` is the course's (a session is done for its course's indication);
    ``photos`` the content of the photo files, by photo id (``Export.session_photos``: the
    mapping reads no file).
    """
    system = config.system("session")
    subject = reference("Patient", config.system("patient"), session.patient_id)
    when = fhir_datetime(session.performed_at, config.timezone)
    encounter = visit(config, "session", session.id)
    procedure = _start("Procedure", [codes.PROFILE_SESSION], system, session.id)
    procedure["extension"] = [{"url": codes.EXT_SESSION_NUMBER, "valuePositiveInt": session.number}]
    procedure.update(
        basedOn=[reference("CarePlan", config.system("course"), session.course_id)],
        status=ENTERED_IN_ERROR if session.withdrawn else session.status,
        code=concept(codes.MESOTHERAPY_SESSION),
        subject=subject,
        encounter=encounter,
        performedDateTime=when,
    )
    if session.performer is not None:
        procedure["performer"] = [
            {"actor": _practitioner(config, session.performer), "onBehalfOf": clinic(config)}
        ]
    procedure["reasonCode"] = [concept([codes.INDICATION[indication]])]
    procedure["bodySite"] = [body_site(area) for area in session.areas]
    complications = [
        _complication(session, config, r, subject, encounter, when) for r in session.complications
    ]
    if complications:
        procedure["complication"] = [c["code"] for c in complications]
        procedure["complicationDetail"] = [
            {"reference": f"Condition/{c['id']}"} for c in complications
        ]
    if session.note:
        procedure["note"] = [{"text": session.note}]

    part_of = [{"reference": f"Procedure/{procedure['id']}"}]
    status = ENTERED_IN_ERROR if session.withdrawn else _ADMINISTRATION_STATUS[session.status]
    administrations: list[Resource] = []
    structures: list[Resource] = []
    for injection in session.injections:
        medication = _medication(config, injection)
        dosage: dict[str, Any] = {}
        extensions = []
        if injection.depth is not None:
            extensions.append(
                {
                    "url": codes.EXT_INJECTION_DEPTH,
                    "valueQuantity": quantity(injection.depth.value, "mm"),
                }
            )
        if injection.needle:
            extensions.append({"url": codes.EXT_NEEDLE, "valueString": injection.needle})
        if extensions:
            dosage["extension"] = extensions
        dosage["site"] = body_site(injection.site, injection.laterality)
        if injection.laterality:
            side = _injection_site(config, injection, subject, session.withdrawn)
            structures.append(side)
            # the plain site coding stays; the extension says which side
            dosage["site"] = {
                "extension": [
                    {
                        "url": codes.EXT_BODY_STRUCTURE,
                        "valueReference": {"reference": f"BodyStructure/{side['id']}"},
                    }
                ],
                **dosage["site"],
            }
        dosage["route"] = concept(codes.ROUTE[injection.route])
        if injection.technique:
            dosage["method"] = concept([codes.TECHNIQUE[injection.technique]])
        dosage["dose"] = quantity(injection.volume.value, "mL")

        administration = _start(
            "MedicationAdministration",
            [codes.PROFILE_INJECTION],
            config.system("injection"),
            injection.id,
        )
        administration.update(
            contained=[medication],
            partOf=part_of,
            status=status,
            medicationReference={"reference": "#product"},
            subject=subject,
            context=encounter,
            effectiveDateTime=when,
        )
        if session.performer is not None:
            administration["performer"] = [{"actor": _practitioner(config, session.performer)}]
        administration["dosage"] = dosage
        administrations.append(administration)
    session_visit = _encounter(
        config,
        "session",
        session.id,
        ENTERED_IN_ERROR if session.withdrawn else _ENCOUNTER_STATUS[session.status],
        subject,
        when,
        session.performer,
    )
    media: list[Resource] = []
    for photo in session.photos:
        content = (photos or {})[photo.id] if photo.file is not None else None
        media.extend(_photo(session, photo, content, config, subject, encounter, part_of))
    return [session_visit, *complications, procedure, *structures, *administrations, *media]


def _medication(config: ClinicConfig, injection: Injection) -> Resource:
    """What was injected, as the injection's contained Medication: the product, its
    ingredients with their strengths, the lot and its expiry."""
    product = injection.product
    medication: Resource = {
        "resourceType": "Medication",
        "id": "product",
        "code": product_concept(config, product.code, product.name),
    }
    if product.ingredients:
        medication["ingredient"] = [_ingredient(i) for i in product.ingredients]
    batch = {}
    if injection.lot:
        batch["lotNumber"] = injection.lot
    if injection.expiry:
        batch["expirationDate"] = injection.expiry.isoformat()
    if batch:
        medication["batch"] = batch
    return medication


def _photo(
    session: Session,
    photo: Photo,
    content: PhotoContent | None,
    config: ClinicConfig,
    subject: dict[str, str],
    encounter: dict[str, str],
    part_of: list[dict[str, str]],
) -> list[Resource]:
    """A photo taken at the session: a Media (an image, DICOM XC, the view and the site), and
    for a file a Binary with its bytes, which ``content.url`` refers to (``Binary/<id>``, a
    relative URL read as a reference). A photo kept elsewhere is referred to by its URL.

    R4's Binary has no identifier: it is written by its deterministic id, and its
    ``securityContext`` is the Patient, so a server guards it as it guards the patient's data.
    The file's name is never sent (it may hold the patient's name).
    """
    system = config.system("session")
    value = f"{session.id}/photo-{photo.id}"
    media = _start("Media", [codes.PROFILE_MEDIA], system, value)
    media.update(
        partOf=part_of,
        status=ENTERED_IN_ERROR if session.withdrawn else "completed",
        type=concept([codes.MEDIA_IMAGE]),
        modality=concept([codes.EXTERNAL_CAMERA]),
    )
    if photo.view is not None:
        media["view"] = concept([codes.PHOTO_VIEW[photo.view]])
    media.update(
        subject=subject,
        encounter=encounter,
        createdDateTime=fhir_datetime(photo.taken_at, config.timezone),
    )
    if photo.site is not None:
        media["bodySite"] = body_site(photo.site)
    resources = [media]
    if content is None:
        media["content"] = {"url": photo.url}
    else:
        binary = {
            "resourceType": "Binary",
            "id": resource_id(system, f"{value}/content"),
            "meta": {"profile": [codes.PROFILE_PHOTO_CONTENT]},
            "contentType": content.content_type,
            "securityContext": subject,
            "data": base64.b64encode(content.data).decode("ascii"),
        }
        media["content"] = {
            "contentType": content.content_type,
            "url": f"Binary/{binary['id']}",
            "size": len(content.data),
            # R4: the SHA-1 of the data, base64-encoded
            "hash": base64.b64encode(
                hashlib.sha1(content.data, usedforsecurity=False).digest()
            ).decode("ascii"),
        }
        resources.insert(0, binary)  # the Binary first: what the Media points at exists
    if photo.note:
        media["note"] = [{"text": photo.note}]
    return resources


def _complication(
    session: Session,
    config: ClinicConfig,
    reaction: str,
    subject: dict[str, str],
    encounter: dict[str, str],
    when: str,
) -> Resource:
    """A complication seen at the session, as the Condition Procedure.complicationDetail needs.
    Seen by the clinic, so confirmed; its clinical status later is not known, so not given."""
    condition = _start(
        "Condition",
        [codes.PROFILE_CONDITION],
        config.system("session"),
        f"{session.id}/complication-{reaction}",
    )
    condition.update(
        verificationStatus=concept(
            [codes.CONDITION_ENTERED_IN_ERROR if session.withdrawn else codes.CONFIRMED]
        ),
        category=[concept([codes.ENCOUNTER_DIAGNOSIS])],
        code=concept([codes.REACTION[reaction]]),
        subject=subject,
        encounter=encounter,
        onsetDateTime=when,
        recordedDate=when,
    )
    return condition


def _injection_site(
    config: ClinicConfig, injection: Injection, subject: dict[str, str], withdrawn: bool
) -> Resource:
    """The injected site with its side: a BodyStructure (location and locationQualifier).
    It has no status: a withdrawn session's is inactive."""
    assert injection.laterality is not None
    structure = _start(
        "BodyStructure",
        [codes.PROFILE_INJECTION_SITE],
        config.system("injection"),
        f"{injection.id}/site",
    )
    structure.update(
        location=concept([codes.BODY_SITE[injection.site]]),
        locationQualifier=[concept([codes.LATERALITY[injection.laterality]])],
        active=not withdrawn,
        patient=subject,
    )
    return structure


# Encounter.status of a session's visit: a session stopped part-way was still a visit.
_ENCOUNTER_STATUS = {
    "completed": "finished",
    "in-progress": "in-progress",
    "not-done": "cancelled",
    "stopped": "finished",
}


# The units a labelled concentration may use (model.records.CONCENTRATION_PATTERN), in UCUM.
_AMOUNT_UNIT = {"mg": "mg", "g": "g", "ug": "ug", "µg": "ug", "mcg": "ug", "IU": "[iU]"}


def strength(concentration: str) -> dict[str, Any]:
    """'20 mg/mL' or '0.5 g / 10 mL' as the UCUM Ratio of Medication.ingredient.strength."""
    match = re.fullmatch(CONCENTRATION_PATTERN, concentration)
    if match is None:  # the input model admits no other form
        raise ValueError(f"not a concentration: {concentration!r}")
    amount, unit, per = match.groups()
    return {
        "numerator": quantity(_number(amount), _AMOUNT_UNIT[unit]),
        "denominator": quantity(_number(per or "1"), "mL"),
    }


def _number(text: str) -> float | int:
    return float(text) if "." in text else int(text)


def _ingredient(ingredient: Ingredient) -> dict[str, Any]:
    mapped: dict[str, Any] = {"itemCodeableConcept": concept(codes.SUBSTANCE[ingredient.substance])}
    if ingredient.concentration:
        mapped["strength"] = strength(ingredient.concentration)
    return mapped


# --- session observation -----------------------------------------------------------------------


def map_observation(
    observation: SessionObservation, config: ClinicConfig, given: tuple[Given, ...] = ()
) -> list[Resource]:
    """An Observation of the session: pain, a reaction, a measurement or an outcome scale.

    ``given``: the session's injections. A reaction reported as adverse is also an
    AdverseEvent; a hypersensitivity reaction also an AllergyIntolerance per product given.
    """
    obs = _start(
        "Observation",
        [codes.PROFILE_SESSION_OBSERVATION],
        config.system("observation"),
        observation.id,
    )
    finding = observation.finding
    value: dict[str, Any]
    category = [concept([codes.EXAM_CATEGORY])]
    if isinstance(finding, PainScore):
        category = [concept([codes.SURVEY_CATEGORY])]
        code = concept([codes.PAIN_SCORE])
        value = {"valueInteger": finding.score}
    elif isinstance(finding, ReactionFinding):
        if finding.adverse:
            category.append(concept([codes.ADVERSE_EVENT_CATEGORY]))
        code = concept([codes.REACTION_OBSERVATION])
        value = {"valueCodeableConcept": concept([codes.REACTION[finding.reaction]])}
    elif isinstance(finding, MeasurementFinding):
        code = concept([codes.MEASUREMENT[finding.measurement]])
        value = {"valueQuantity": quantity(finding.value.value, "cm")}
    elif isinstance(finding, ScaleFinding):
        category = [concept([codes.SURVEY_CATEGORY])]
        code = concept([codes.SCALE[finding.scale]])
        value = {"valueInteger": finding.score}
    else:  # pragma: no cover - the input model admits no other finding
        raise TypeError(f"unknown finding {type(finding).__name__}")
    obs.update(
        partOf=[reference("Procedure", config.system("session"), observation.session_id)],
        status=ENTERED_IN_ERROR if observation.withdrawn else "final",
        category=category,
        code=code,
        subject=reference("Patient", config.system("patient"), observation.patient_id),
        encounter=visit(config, "session", observation.session_id),
        effectiveDateTime=fhir_datetime(observation.observed_at, config.timezone),
        **value,
    )
    if not isinstance(finding, ReactionFinding):
        return [obs]
    if finding.site:
        obs["bodySite"] = body_site(finding.site)
    if finding.note:
        obs["note"] = [{"text": finding.note}]
    resources = [obs]
    if finding.adverse and not observation.withdrawn:
        # R4's AdverseEvent has no status to mark it entered in error: a withdrawn
        # observation has none.
        resources.append(_adverse_event(observation, finding, config, given, obs))
    if finding.reaction in codes.HYPERSENSITIVITY:
        resources.extend(_suspected_allergies(observation, finding, config, given, obs))
    return resources


def _adverse_event(
    observation: SessionObservation,
    finding: ReactionFinding,
    config: ClinicConfig,
    given: tuple[Given, ...],
    obs: Resource,
) -> Resource:
    """The reaction reported as an adverse event, suspecting every injection of the session
    (or the session itself when it had none)."""
    event = _start(
        "AdverseEvent",
        [codes.PROFILE_ADVERSE_EVENT],
        config.system("observation"),
        f"{observation.id}/adverse-event",
    )
    event.update(
        actuality="actual",
        event=concept([codes.REACTION[finding.reaction]]),
        subject=obs["subject"],
        encounter=obs["encounter"],
        date=obs["effectiveDateTime"],
    )
    if finding.serious is not None:
        event["seriousness"] = concept([codes.ADVERSE_EVENT_SERIOUS[finding.serious]])
    if finding.severity is not None:
        event["severity"] = concept([codes.ADVERSE_EVENT_SEVERITY_CODE[finding.severity]])
    if finding.outcome is not None:
        event["outcome"] = concept([codes.ADVERSE_EVENT_OUTCOME_CODE[finding.outcome]])
    suspects = [
        reference("MedicationAdministration", config.system("injection"), g.injection_id)
        for g in given
    ] or obs["partOf"]
    event["suspectEntity"] = [{"instance": s} for s in suspects]
    return event


def _suspected_allergies(
    observation: SessionObservation,
    finding: ReactionFinding,
    config: ClinicConfig,
    given: tuple[Given, ...],
    obs: Resource,
) -> list[Resource]:
    """A hypersensitivity reaction puts each product given at the session on the allergy
    list, unconfirmed: which of them caused it is not known."""
    products = {g.product_code: g.product_name for g in given}
    allergies = []
    reaction: dict[str, Any] = {
        "manifestation": [concept([codes.REACTION[finding.reaction]])],
        "onset": obs["effectiveDateTime"],
    }
    if finding.severity is not None:
        reaction["severity"] = finding.severity
    for code, name in sorted(products.items()):
        allergy = _start(
            "AllergyIntolerance",
            [codes.PROFILE_ALLERGY],
            config.system("observation"),
            f"{observation.id}/allergy-{code}",
        )
        _allergy_status(allergy, "unconfirmed", observation.withdrawn)
        allergy.update(type="allergy", category=["medication"])
        if finding.reaction in codes.LIFE_THREATENING:
            allergy["criticality"] = "high"
        allergy.update(
            code=product_concept(config, code, name),
            patient=obs["subject"],
            encounter=obs["encounter"],
            onsetDateTime=obs["effectiveDateTime"],
            recordedDate=obs["effectiveDateTime"],
            reaction=[reaction],
        )
        allergies.append(allergy)
    return allergies


def map_record(
    record: Patient | Screening | Course | Session | SessionObservation,
    config: ClinicConfig,
    course_indication: str | None = None,
    given: tuple[Given, ...] = (),
    photos: Mapping[str, PhotoContent] | None = None,
) -> Mapped:
    """Map any record; a session needs its course's indication and its photo files
    (``Export.session_photos``), an observation its session's injections
    (``Export.session_given``)."""
    resources: list[Resource]
    if isinstance(record, Patient):
        resources = map_patient(record, config)
    elif isinstance(record, Screening):
        resources = map_screening(record, config)
    elif isinstance(record, Course):
        resources = map_course(record, config)
    elif isinstance(record, Session):
        if course_indication is None:
            raise ValueError(f"session {record.id!r} needs its course's indication")
        resources = map_session(record, course_indication, config, photos)
    else:
        resources = map_observation(record, config, given)
    return Mapped(record.kind, record.id, [with_narrative(r) for r in resources])
