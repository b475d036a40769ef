"""The clinic export: what a clinic system sends meso-fhir, as pydantic models.

One export holds five kinds of record (``kinds.py``), each with a stable ``id`` chosen by the
clinic system, referring to each other by those ids.

As one JSON document: ``{"patients": [...], "screenings": [...], "courses": [...],
"sessions": [...], "observations": [...]}``. As JSON Lines: one record a line, each with
``"kind": "patient" | "screening" | "course" | "session" | "observation"``; lines may come in any
order. ``meso-fhir schema`` prints the JSON Schema of both.

Quantities always carry their unit, spelled as UCUM (``mL``, ``mm``, ``cm``, ``kg``,
``mm[Hg]``, ``/min``, ``Cel``, ``kg/m2``); a field accepts only the unit it documents.
A record marked ``"withdrawn": true`` was deleted or withdrawn at the clinic: its resources are
sent as ``entered-in-error``, never silently deleted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from .. import codes

# A source id becomes part of FHIR identifiers and of file names in reports: keep it printable.
SourceId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\s|]+$"),
]


def _code(table: Mapping[str, object], what: str) -> Any:
    """A string field that must be one of the keys of a code table in codes.py."""
    allowed = sorted(table)

    def check(value: str) -> str:
        if value not in table:
            raise ValueError(f"unknown {what} {value!r}; expected one of: {', '.join(allowed)}")
        return value

    return Annotated[
        str, AfterValidator(check), WithJsonSchema({"type": "string", "enum": allowed})
    ]


BodySite = _code(codes.BODY_SITE, "body site")
Indication = _code(codes.INDICATION, "indication")
Technique = _code(codes.TECHNIQUE, "technique")
Route = _code(codes.ROUTE, "route")
Reaction = _code(codes.REACTION, "reaction")
Substance = _code(codes.SUBSTANCE, "substance")
Medicine = _code(codes.MEDICATION, "medicine")
Contraindication = _code(codes.CONTRAINDICATION, "contraindication")
Measurement = _code(codes.MEASUREMENT, "measurement")
Scale = _code(codes.SCALE, "scale")
Laterality = Literal["left", "right", "bilateral"]


def _unit_in_schema(schema: dict[str, Any], cls: type[Any]) -> None:
    schema["properties"]["unit"]["const"] = cls.UNIT


class _Quantity(BaseModel):
    """A quantity that must be given in exactly the UCUM unit its subclass names."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_unit_in_schema)
    UNIT: ClassVar[str]
    value: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    unit: str

    @model_validator(mode="after")
    def _unit_is(self) -> _Quantity:
        if self.unit != self.UNIT:
            raise ValueError(f"unit must be {self.UNIT!r}, got {self.unit!r}")
        return self


class VolumeML(_Quantity):
    UNIT = "mL"


class LengthMM(_Quantity):
    UNIT = "mm"


class LengthCM(_Quantity):
    UNIT = "cm"


class MassKG(_Quantity):
    UNIT = "kg"


class PressureMMHG(_Quantity):
    UNIT = "mm[Hg]"


class RatePerMin(_Quantity):
    UNIT = "/min"


class TemperatureCel(_Quantity):
    UNIT = "Cel"


class BmiKGM2(_Quantity):
    UNIT = "kg/m2"


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: SourceId = Field(description="Stable id of the record in the clinic system.")
    withdrawn: bool = Field(
        default=False, description="Deleted or withdrawn at the clinic: sent as entered-in-error."
    )


class Patient(_Record):
    """A clinic patient. The MRN is the EHR's medical record number for this patient."""

    kind: Literal["patient"] = "patient"
    mrn: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    family: Annotated[str, StringConstraints(min_length=1)]
    given: list[Annotated[str, StringConstraints(min_length=1)]] = Field(min_length=1)
    gender: Literal["male", "female", "other", "unknown"]
    birth_date: dt.date
    phone: str | None = None
    email: str | None = None


class BloodPressure(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    systolic: PressureMMHG
    diastolic: PressureMMHG


class VitalSigns(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    blood_pressure: BloodPressure | None = None
    heart_rate: RatePerMin | None = None
    body_temperature: TemperatureCel | None = None
    body_weight: MassKG | None = None
    body_height: LengthCM | None = None
    bmi: BmiKGM2 | None = None


class MedicationUse(BaseModel):
    """A medicine reviewed at screening (aspirin and NSAIDs are stopped weeks before a course)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    medicine: Medicine  # type: ignore[valid-type]
    status: Literal["active", "stopped", "on-hold", "intended", "not-taken"]
    stopped_on: dt.date | None = None
    note: str | None = None


class Screening(_Record):
    """The pre-treatment screening: vital signs, pregnancy, skin, contraindications, medicines."""

    kind: Literal["screening"] = "screening"
    patient_id: SourceId
    screened_at: dt.datetime | dt.date
    vital_signs: VitalSigns = Field(default_factory=VitalSigns)
    pregnancy: Literal["pregnant", "not-pregnant", "not-confirmed", "possible"] | None = None
    fitzpatrick: Literal["I", "II", "III", "IV", "V", "VI"] | None = None
    glogau: Literal["I", "II", "III", "IV"] | None = None
    contraindications: dict[Contraindication, bool] = Field(  # type: ignore[valid-type]
        default_factory=dict, description="Each contraindication asked about, and the answer."
    )
    medications: list[MedicationUse] = Field(default_factory=list)
    eligibility: Literal["eligible", "deferred", "contraindicated"]
    eligibility_note: str | None = None

    @model_validator(mode="after")
    def _one_statement_per_medicine(self) -> Screening:
        seen = [m.medicine for m in self.medications]
        dupes = sorted({m for m in seen if seen.count(m) > 1})
        if dupes:
            raise ValueError(f"medicine listed twice: {', '.join(dupes)}")
        return self


class Course(_Record):
    """A treatment course (plan): 3 to 5 sessions at a planned interval, for one indication."""

    kind: Literal["course"] = "course"
    patient_id: SourceId
    screening_id: SourceId | None = None
    indication: Indication  # type: ignore[valid-type]
    areas: list[BodySite] = Field(min_length=1)  # type: ignore[valid-type]
    planned_sessions: int = Field(ge=3, le=5)
    interval_weeks: int = Field(ge=1, le=26)
    start_date: dt.date
    status: Literal["draft", "active", "on-hold", "completed", "revoked"] = "active"
    title: str | None = None


class Performer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: SourceId
    name: str | None = None


class Ingredient(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    substance: Substance  # type: ignore[valid-type]
    concentration: str | None = Field(default=None, description="As labelled, e.g. '20 mg/mL'.")


class Product(BaseModel):
    """The product or the clinic's own cocktail; its code is the clinic's product code."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    code: SourceId
    name: str
    ingredients: list[Ingredient] = Field(default_factory=list)


class Injection(BaseModel):
    """One injection of a session: what, how much, where, how deep, how."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: SourceId
    product: Product
    volume: VolumeML
    site: BodySite  # type: ignore[valid-type]
    laterality: Laterality | None = None
    route: Route = "intradermal"  # type: ignore[valid-type]
    technique: Technique | None = None  # type: ignore[valid-type]
    depth: LengthMM | None = None
    needle: str | None = Field(default=None, description="e.g. '32G 4 mm'.")
    lot: str | None = None


class Session(_Record):
    """One injection session of a course."""

    kind: Literal["session"] = "session"
    course_id: SourceId
    patient_id: SourceId
    number: int = Field(ge=1, le=10, description="1 for the course's first session.")
    performed_at: dt.datetime
    status: Literal["completed", "in-progress", "not-done", "stopped"] = "completed"
    performer: Performer | None = None
    areas: list[BodySite] = Field(min_length=1)  # type: ignore[valid-type]
    injections: list[Injection] = Field(default_factory=list)
    complications: list[Reaction] = Field(default_factory=list)  # type: ignore[valid-type]
    note: str | None = None

    @model_validator(mode="after")
    def _injection_ids_unique(self) -> Session:
        ids = [i.id for i in self.injections]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"injection id used twice: {', '.join(dupes)}")
        return self


class PainScore(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["pain"] = "pain"
    score: int = Field(ge=0, le=10, description="0-10 verbal numeric rating.")


class ReactionFinding(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["reaction"] = "reaction"
    reaction: Reaction  # type: ignore[valid-type]
    site: BodySite | None = None  # type: ignore[valid-type]
    adverse: bool = Field(default=False, description="Reported as an adverse event.")
    note: str | None = None


class MeasurementFinding(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["measurement"] = "measurement"
    measurement: Measurement  # type: ignore[valid-type]
    value: LengthCM


class ScaleFinding(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["scale"] = "scale"
    scale: Scale  # type: ignore[valid-type]
    score: int = Field(ge=0, le=100)


Finding = Annotated[
    PainScore | ReactionFinding | MeasurementFinding | ScaleFinding, Field(discriminator="type")
]


class SessionObservation(_Record):
    """Something observed at a session: pain, a reaction, a measurement or an outcome scale."""

    kind: Literal["observation"] = "observation"
    session_id: SourceId
    patient_id: SourceId
    observed_at: dt.datetime
    finding: Finding


Record = Annotated[
    Patient | Screening | Course | Session | SessionObservation, Field(discriminator="kind")
]

MODEL_OF_KIND: dict[str, type[_Record]] = {
    model.model_fields["kind"].default: model
    for model in (Patient, Screening, Course, Session, SessionObservation)
}


class ClinicExport(BaseModel):
    """A whole clinic export as one JSON document (the JSON Lines form has one record a line)."""

    model_config = ConfigDict(extra="forbid")
    patients: list[Patient] = Field(default_factory=list)
    screenings: list[Screening] = Field(default_factory=list)
    courses: list[Course] = Field(default_factory=list)
    sessions: list[Session] = Field(default_factory=list)
    observations: list[SessionObservation] = Field(default_factory=list)


def json_schema() -> dict[str, Any]:
    """JSON Schema of the export: the document form, with the line form under ``$defs``."""
    from pydantic import TypeAdapter

    schema = ClinicExport.model_json_schema()
    line = TypeAdapter(Record).json_schema(ref_template="#/$defs/{model}")
    schema.setdefault("$defs", {}).update(line.pop("$defs", {}))
    schema["$defs"]["Line"] = {
        "description": "One line of the JSON Lines form: any record with its 'kind'.",
        **line,
    }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"{codes.CANONICAL}/schema/clinic-export.json"
    return schema
