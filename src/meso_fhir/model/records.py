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

Types are strict, as JSON has them, because a loose conversion changes clinical meaning
(``"withdrawn": "yes"`` would withdraw a patient, ``"birth_date": 0`` would be 1970-01-01):
booleans are ``true``/``false``, quantities and integers are JSON numbers (never strings),
dates and times are ISO 8601 strings (``YYYY-MM-DD``; ``YYYY-MM-DDThh:mm[:ss[.f]]`` with an
optional ``Z`` or ``±hh:mm`` offset no further than ±14:00), never numbers or timestamps.
Clinical values must be plausible (``PLAUSIBLE``), and no string carries a control character,
which a FHIR server refuses (notes may hold tabs and line breaks).
"""

from __future__ import annotations

import datetime as dt
import re
import reprlib
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Final, Literal, NamedTuple

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    Strict,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import InitErrorDetails, PydanticCustomError, core_schema

from .. import codes
from .kinds import DATE_FIELD

# --- plausibility --------------------------------------------------------------------------------

# The lowest and highest value accepted for each clinical quantity, in the unit the field takes.
# They refuse what is impossible for a patient at a screening or for a mesotherapy injection
# (most often a value in another unit), never what is merely unusual. The README's input section
# shows this table; a test holds the two together.
PLAUSIBLE: Final[dict[str, tuple[float, float]]] = {
    # Below the lightest newborn known to survive; above the heaviest person recorded (635 kg).
    # Grams (61500) fail.
    "body_weight": (0.2, 650.0),
    # The shortest newborns measure about 24 cm, the tallest person recorded 272 cm.
    # Metres (1.65) and millimetres (1650) fail.
    "body_height": (20.0, 275.0),
    # A patient screened for an aesthetic treatment is far from the extremes survived in
    # intensive care (about 14 and 46 Cel). Fahrenheit (98.6) fails.
    "body_temperature": (25.0, 45.0),
    # A cuff reads nothing below 40; its scale ends at 300. Kilopascals (16) fail.
    "systolic": (40.0, 300.0),
    # A cuff reads no diastolic below 20; above the highest seen in hypertensive crises.
    # Kilopascals (10.7) fail. It must also be below the systolic (a swapped pair fails).
    "diastolic": (20.0, 200.0),
    # Below 20/min a patient is not screened but resuscitated; 300/min is faster than any
    # conducted rhythm. Beats per second (1.2) fail.
    "heart_rate": (20.0, 300.0),
    # Below the lowest survived (about 7), above the heaviest person's (about 186).
    "bmi": (7.0, 200.0),
    # 0.01 mL is the finest graduation of a mesotherapy syringe; 20 mL in one injection is twice
    # the largest syringe a mesotherapy gun takes. Microlitres (50) fail.
    "volume": (0.01, 20.0),
    # Mesotherapy needles are 4 to 13 mm long (25 mm for deep lipolysis); micrometres (400) fail.
    "depth": (0.1, 25.0),
    # From a finger to beyond the widest hip or waist recorded; millimetres (860) and metres fail.
    "circumference": (5.0, 350.0),
}

# No living patient was born before 1900, and no clinic record is older: an earlier date is a
# placeholder from a clinic system (0001-01-01, 1899-12-30), not a date.
EARLIEST_DATE: Final = dt.date(1900, 1, 1)

# --- strings -------------------------------------------------------------------------------------

# Control characters (C0) are refused by FHIR servers in any string; notes keep tab, LF and CR.
# As patterns, not Python validators: pydantic checks them natively, on every string.
LINE_PATTERN: Final = r"^[^\x00-\x1f]*$"
NOTE_PATTERN: Final = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
# A source id becomes part of FHIR identifiers and of file names in reports: keep it printable.
SOURCE_ID_PATTERN: Final = r"^[^\s|\x00-\x1f]+$"

# A labelled concentration, e.g. "20 mg/mL" or "0.5 g / 10 mL": an amount of substance per
# volume, which becomes Medication.ingredient.strength (a UCUM Ratio). Percentages are refused:
# "2 %" may be w/v or w/w, and the difference is tenfold for some products.
CONCENTRATION_PATTERN: Final = (
    r"^\s*(\d+(?:\.\d+)?)\s*(mg|g|ug|µg|mcg|IU)\s*/\s*(?:(\d+(?:\.\d+)?)\s*)?mL\s*$"
)

# What a pattern mismatch means, in words (the loader uses these instead of the regex).
PATTERN_MESSAGES: Final[dict[str, str]] = {
    CONCENTRATION_PATTERN: "a concentration is an amount per volume: '<number> mg|g|ug|IU /"
    " [<number>] mL', e.g. '20 mg/mL'",
    LINE_PATTERN: "control characters (U+0000 to U+001F) are not allowed",
    NOTE_PATTERN: "control characters other than tab, line feed and carriage return are not"
    " allowed",
    SOURCE_ID_PATTERN: "an id is printable, without spaces, '|' or control characters",
}

# A web address (the clinic's consent form, a photo kept on the clinic's image server).
URL_PATTERN: Final = r"^https?://[^\s\x00-\x1f]+$"
PATTERN_MESSAGES[URL_PATTERN] = "expected an http:// or https:// URL"

SourceId = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=SOURCE_ID_PATTERN
    ),
]
Text = Annotated[str, StringConstraints(pattern=LINE_PATTERN)]  # one line of text
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, pattern=LINE_PATTERN)]
Note = Annotated[str, StringConstraints(pattern=NOTE_PATTERN)]  # free text, several lines
Concentration = Annotated[str, StringConstraints(pattern=CONCENTRATION_PATTERN)]


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict = 2, 4, 4
_SHORT.maxstring = _SHORT.maxother = 40


def shown(value: object, limit: int = 40) -> str:
    """A value quoted for a message: escaped (no control character reaches a log) and short,
    however long or deep the value (reprlib never walks more than it shows)."""
    text = _SHORT.repr(value)
    return text if len(text) <= limit else f"{text[: limit - 5]}...{text[-1]}"


class OneOf:
    """``Annotated[str, OneOf(table, what)]``: a string field that must be one of the keys of a
    code table in codes.py. A class rather than a function returning ``Annotated[...]``, so
    that type checkers (and mypyc) see the field as the ``str`` it is."""

    __slots__ = ("allowed", "table", "what")

    def __init__(self, table: Mapping[str, object], what: str) -> None:
        self.table, self.what, self.allowed = table, what, sorted(table)

    def check(self, value: str) -> str:
        if value not in self.table:
            raise ValueError(
                f"unknown {self.what} {shown(value)}; expected one of: {', '.join(self.allowed)}"
            )
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "enum": self.allowed}


BodySite = Annotated[str, OneOf(codes.BODY_SITE, "body site")]
Indication = Annotated[str, OneOf(codes.INDICATION, "indication")]
Technique = Annotated[str, OneOf(codes.TECHNIQUE, "technique")]
Route = Annotated[str, OneOf(codes.ROUTE, "route")]
Reaction = Annotated[str, OneOf(codes.REACTION, "reaction")]
Substance = Annotated[str, OneOf(codes.SUBSTANCE, "substance")]
Medicine = Annotated[str, OneOf(codes.MEDICATION, "medicine")]
Contraindication = Annotated[str, OneOf(codes.CONTRAINDICATION, "contraindication")]
Measurement = Annotated[str, OneOf(codes.MEASUREMENT, "measurement")]
Scale = Annotated[str, OneOf(codes.SCALE, "scale")]
Laterality = Literal["left", "right", "bilateral"]
PhotoView = Annotated[str, OneOf(codes.PHOTO_VIEW, "view")]

# --- dates and times -----------------------------------------------------------------------------

# The ISO 8601 forms accepted. Pydantic alone, even strict, reads "0" and "1700000000" as dates
# and times (unix timestamps): the string must have the form first, then pydantic parses it.
# The form, checked by pydantic's own regex engine (dates are in every record: it must be
# cheap), also holds the earliest year (EARLIEST_DATE) and the largest UTC offset.
_YEAR = r"(19[0-9]{2}|[2-9][0-9]{3})"
# UTC offsets in use run from -12:00 to +14:00; a FHIR server refuses anything beyond ±14:00.
_OFFSET = r"(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9]|[+-]14:00)"
DATE_PATTERN: Final = rf"^{_YEAR}-[0-9]{{2}}-[0-9]{{2}}$"
DATETIME_PATTERN: Final = (
    rf"^{_YEAR}-[0-9]{{2}}-[0-9]{{2}}T[0-9]{{2}}:[0-9]{{2}}(:[0-9]{{2}}(\.[0-9]{{1,9}})?)?"
    rf"{_OFFSET}?$"
)
_DATE = re.compile(DATE_PATTERN)
_DATETIME = re.compile(DATETIME_PATTERN)
# The same forms with any year and any offset: only to say why a string was refused.
_ANY_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ANY_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?"
)
_DATE_ADAPTER: Final = TypeAdapter(dt.date)
_DATETIME_ADAPTER: Final = TypeAdapter(dt.datetime)

# The error types of a string not in the form, and what they say.
FORM_ERRORS: Final[dict[str, str]] = {
    "iso_date": "expected an ISO 8601 date string, YYYY-MM-DD",
    "iso_datetime": "expected an ISO 8601 date-time string, YYYY-MM-DDThh:mm[:ss[.f]] with Z,"
    " ±hh:mm or no offset",
    "iso_date_or_datetime": "expected an ISO 8601 date (YYYY-MM-DD) or date-time"
    " (YYYY-MM-DDThh:mm[:ss[.f]] with Z, ±hh:mm or no offset) string",
}


def form_problem(error_type: str, value: object) -> str:
    """Why a date or time was refused, in words (run for refused values only; never shows the
    value, which may be a birth date)."""
    if isinstance(value, str):
        forms = [_ANY_DATE] if error_type == "iso_date" else [_ANY_DATETIME]
        if error_type == "iso_date_or_datetime":
            forms.append(_ANY_DATE)
        if any(form.fullmatch(value) for form in forms):
            if value[:4] < f"{EARLIEST_DATE.year}":
                return f"before {EARLIEST_DATE.isoformat()}: not a date a clinic records"
            return f"UTC offset {value[-6:]} is beyond ±14:00"
    return FORM_ERRORS[error_type]


class _IsoForm:
    """Annotation: the value must be a string in an ISO form (a regex) before pydantic parses
    it. Both steps are pydantic's own: no Python runs for a valid value."""

    def __init__(self, pattern: str, error_type: str) -> None:
        self.pattern, self.error_type = pattern, error_type

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        form = core_schema.str_schema(pattern=self.pattern, strict=True)
        return core_schema.chain_schema(
            [
                core_schema.custom_error_schema(
                    form, self.error_type, custom_error_message=FORM_ERRORS[self.error_type]
                ),
                handler(source),
            ]
        )


def _iso_date_or_datetime(value: object) -> object:
    # Parsed here, to an instance: a date stays a date (read as a time, it would claim a
    # midnight nobody recorded), and a union cannot be told to parse strings in strict mode.
    if isinstance(value, str):
        adapter = (
            _DATE_ADAPTER
            if _DATE.match(value)
            else _DATETIME_ADAPTER
            if _DATETIME.match(value)
            else None
        )
        if adapter is not None:
            try:
                return adapter.validate_python(value)
            except ValidationError as exc:
                raise ValueError(exc.errors()[0]["msg"]) from None
    raise ValueError(form_problem("iso_date_or_datetime", value))


_DATE_SCHEMA: Final = {"type": "string", "format": "date", "pattern": DATE_PATTERN}
_DATETIME_SCHEMA: Final = {"type": "string", "format": "date-time", "pattern": DATETIME_PATTERN}

# Strict(False): the string, once it has the ISO form, is parsed by pydantic ("lax" only means
# "from a string" here; nothing else gets past the form).
Date = Annotated[
    dt.date, Strict(False), _IsoForm(DATE_PATTERN, "iso_date"), WithJsonSchema(_DATE_SCHEMA)
]
DateTime = Annotated[
    dt.datetime,
    Strict(False),
    _IsoForm(DATETIME_PATTERN, "iso_datetime"),
    WithJsonSchema(_DATETIME_SCHEMA),
]
DateOrDateTime = Annotated[
    dt.datetime | dt.date,
    BeforeValidator(_iso_date_or_datetime),
    WithJsonSchema({"anyOf": [_DATETIME_SCHEMA, _DATE_SCHEMA]}),
]

# --- models --------------------------------------------------------------------------------------


class _Model(BaseModel):
    # strict: no conversion between JSON types (see the module docstring).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _quantity_schema(schema: dict[str, Any], cls: type[Any]) -> None:
    schema["properties"]["unit"]["const"] = cls.UNIT
    low, high = PLAUSIBLE[cls.PLAUSIBLE]
    schema["properties"]["value"].update(minimum=low, maximum=high)


class _Quantity(_Model):
    """A quantity that must be given in exactly the UCUM unit its subclass names, and lie within
    the plausible range its subclass names (``PLAUSIBLE``)."""

    model_config = ConfigDict(json_schema_extra=_quantity_schema)
    UNIT: ClassVar[str]
    PLAUSIBLE: ClassVar[str]
    value: Annotated[float, Field(allow_inf_nan=False)]
    unit: Text

    @model_validator(mode="after")
    def _unit_and_range(self) -> _Quantity:
        # One validator for both: it runs for every quantity of every record.
        low, high = PLAUSIBLE[self.PLAUSIBLE]
        if low <= self.value <= high and self.unit == self.UNIT:
            return self
        problems = []
        if not low <= self.value <= high:
            unit = self.UNIT
            message = f"{self.value:g} {unit} is outside {low:g}–{high:g} {unit}"
            problems.append(_problem("implausible", ("value",), message, self.value))
        if self.unit != self.UNIT:
            message = f"unit must be {self.UNIT!r}, got {shown(self.unit)}"
            problems.append(_problem("unit", (), message, self.unit))
        raise ValidationError.from_exception_data(type(self).__name__, problems)


def _problem(kind: str, loc: tuple[str, ...], message: str, value: object) -> InitErrorDetails:
    """An error at a field of its own (a model validator's errors are otherwise the model's)."""
    return InitErrorDetails(
        type=PydanticCustomError(kind, message.replace("{", "{{").replace("}", "}}")),
        loc=loc,
        input=value,
    )


class VolumeML(_Quantity):
    """The volume of one injection."""

    UNIT = "mL"
    PLAUSIBLE = "volume"


class LengthMM(_Quantity):
    """The depth of one injection."""

    UNIT = "mm"
    PLAUSIBLE = "depth"


class HeightCM(_Quantity):
    UNIT = "cm"
    PLAUSIBLE = "body_height"


class CircumferenceCM(_Quantity):
    UNIT = "cm"
    PLAUSIBLE = "circumference"


class MassKG(_Quantity):
    UNIT = "kg"
    PLAUSIBLE = "body_weight"


class SystolicMMHG(_Quantity):
    UNIT = "mm[Hg]"
    PLAUSIBLE = "systolic"


class DiastolicMMHG(_Quantity):
    UNIT = "mm[Hg]"
    PLAUSIBLE = "diastolic"


class RatePerMin(_Quantity):
    UNIT = "/min"
    PLAUSIBLE = "heart_rate"


class TemperatureCel(_Quantity):
    UNIT = "Cel"
    PLAUSIBLE = "body_temperature"


class BmiKGM2(_Quantity):
    UNIT = "kg/m2"
    PLAUSIBLE = "bmi"


class _Record(_Model):
    model_config = ConfigDict(str_strip_whitespace=True)

    id: SourceId = Field(description="Stable id of the record in the clinic system.")
    withdrawn: bool = Field(
        default=False, description="Deleted or withdrawn at the clinic: sent as entered-in-error."
    )


class Patient(_Record):
    """A clinic patient. The MRN is the EHR's medical record number for this patient.

    ``birth_date`` is not before 1900, and not after the date of any of the patient's records
    (checked by the loader, which sees them all; nor after ``load(..., today=)`` when given).
    """

    kind: Literal["patient"] = "patient"
    mrn: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=LINE_PATTERN)]
    family: Name
    given: list[Name] = Field(min_length=1)
    gender: Literal["male", "female", "other", "unknown"]
    birth_date: Date
    phone: Text | None = None
    email: Text | None = None


class BloodPressure(_Model):
    systolic: SystolicMMHG
    diastolic: DiastolicMMHG

    @model_validator(mode="after")
    def _diastolic_below_systolic(self) -> BloodPressure:
        if self.diastolic.value >= self.systolic.value:
            raise ValueError(
                f"diastolic {self.diastolic.value:g} mm[Hg] is not below systolic"
                f" {self.systolic.value:g} mm[Hg]"
            )
        return self


class VitalSigns(_Model):
    blood_pressure: BloodPressure | None = None
    heart_rate: RatePerMin | None = None
    body_temperature: TemperatureCel | None = None
    body_weight: MassKG | None = None
    body_height: HeightCM | None = None
    bmi: BmiKGM2 | None = None


class MedicationUse(_Model):
    """A medicine reviewed at screening (aspirin and NSAIDs are stopped weeks before a course)."""

    medicine: Medicine
    status: Literal["active", "stopped", "on-hold", "intended", "not-taken"]
    stopped_on: Date | None = None
    note: Note | None = None


class Screening(_Record):
    """The pre-treatment screening: vital signs, pregnancy, skin, contraindications, medicines."""

    kind: Literal["screening"] = "screening"
    patient_id: SourceId
    screened_at: DateOrDateTime
    vital_signs: VitalSigns = Field(default_factory=VitalSigns)
    pregnancy: Literal["pregnant", "not-pregnant", "not-confirmed", "possible"] | None = None
    fitzpatrick: Literal["I", "II", "III", "IV", "V", "VI"] | None = None
    glogau: Literal["I", "II", "III", "IV"] | None = None
    contraindications: dict[Contraindication, bool] = Field(
        default_factory=dict, description="Each contraindication asked about, and the answer."
    )
    allergens: list[Substance] = Field(
        default_factory=list,
        description="The substances the patient is allergic to, when the answer to"
        " 'component-allergy' is yes and the clinic knows which.",
    )
    medications: list[MedicationUse] = Field(default_factory=list)
    eligibility: Literal["eligible", "deferred", "contraindicated"]
    eligibility_note: Note | None = None

    @model_validator(mode="after")
    def _one_statement_per_medicine(self) -> Screening:
        seen = [m.medicine for m in self.medications]
        dupes = sorted({m for m in seen if seen.count(m) > 1})
        if dupes:
            raise ValueError(f"medicine listed twice: {', '.join(dupes)}")
        return self

    @model_validator(mode="after")
    def _allergens_need_a_yes(self) -> Screening:
        # An allergen beside a "no" (or no answer) would put an allergy on the patient's list
        # that the screening itself denies.
        if self.allergens and self.contraindications.get("component-allergy") is not True:
            raise ValueError("allergens are given, but the answer to component-allergy is not yes")
        if len(set(self.allergens)) != len(self.allergens):
            raise ValueError("a substance is listed twice in allergens")
        return self


Url = Annotated[str, StringConstraints(max_length=2048, pattern=URL_PATTERN)]
# A photo file's path, relative to the export file's folder (or absolute). Error messages never
# show it: a file name may hold the patient's name.
PhotoPath = Annotated[str, StringConstraints(min_length=1, max_length=1024, pattern=LINE_PATTERN)]


class Consent(_Model):
    """The patient's informed consent to the course: the day it was signed, on which form.

    ``form_url`` is the clinic's consent form (the text the patient agreed to), which becomes
    Consent.policy.uri.
    """

    date: Date
    form_url: Url


class PhotoConsent(Consent):
    """The patient's consent to clinical photographs: taken and kept in the clinical record
    and, if ``disclosure``, shown beyond it (publication, teaching)."""

    disclosure: bool = Field(
        default=False, description="The photos may be disclosed beyond the clinical record."
    )


class Course(_Record):
    """A treatment course (plan): 3 to 5 sessions at a planned interval, for one indication.

    ``consent`` and ``photo_consent`` are the patient's consents signed for this course: a
    photo of one of its sessions is refused without a ``photo_consent`` given on or before the
    day it was taken.
    """

    kind: Literal["course"] = "course"
    patient_id: SourceId
    screening_id: SourceId | None = None
    indication: Indication
    areas: list[BodySite] = Field(min_length=1)
    planned_sessions: int = Field(ge=3, le=5)
    interval_weeks: int = Field(ge=1, le=26)
    start_date: Date
    status: Literal["draft", "active", "on-hold", "completed", "revoked"] = "active"
    title: Text | None = None
    consent: Consent | None = None
    photo_consent: PhotoConsent | None = None


class Performer(_Model):
    """Who performed a session: the clinic's practitioner id, and what the export says of them.

    Every session naming the same id is one Practitioner; where sessions disagree on the name or
    the qualification, the latest session giving it wins (``Export.practitioners``).
    """

    id: SourceId
    name: Text | None = None
    qualification: Text | None = Field(
        default=None, description="As the clinic records it: e.g. 'MD, dermatology', 'RN'."
    )


class Ingredient(_Model):
    substance: Substance
    concentration: Concentration | None = Field(
        default=None, description="As labelled, per volume: e.g. '20 mg/mL', '0.5 g/10 mL'."
    )


class Product(_Model):
    """The product or the clinic's own cocktail; its code is the clinic's product code."""

    code: SourceId
    name: Name
    ingredients: list[Ingredient] = Field(default_factory=list)


class Injection(_Model):
    """One injection of a session: what, how much, where, how deep, how."""

    id: SourceId
    product: Product
    volume: VolumeML
    site: BodySite
    laterality: Laterality | None = None
    route: Route = "intradermal"
    technique: Technique | None = None
    depth: LengthMM | None = None
    needle: Text | None = Field(default=None, description="e.g. '32G 4 mm'.")
    lot: Text | None = None
    expiry: Date | None = Field(default=None, description="The expiry date of the product's lot.")


class Photo(_Model):
    """A clinical photograph taken at a session: a file (JPEG or PNG, sent as a Binary beside
    its Media) or the URL of the clinic's image server (referred to, never downloaded)."""

    id: SourceId = Field(description="Unique within its session.")
    file: PhotoPath | None = Field(
        default=None, description="Path of a JPEG or PNG file, relative to the export's folder."
    )
    url: Url | None = Field(default=None, description="Where the clinic keeps the image.")
    taken_at: DateTime
    view: PhotoView | None = None
    site: BodySite | None = None
    note: Note | None = None

    @model_validator(mode="after")
    def _file_or_url(self) -> Photo:
        if (self.file is None) == (self.url is None):
            raise ValueError("a photo has either a file or a url")
        return self


class PhotoContent(NamedTuple):
    """A photo file as read by the loader, for the mapping (which reads no file)."""

    content_type: str
    data: bytes


class Session(_Record):
    """One injection session of a course, with the photos taken at it."""

    kind: Literal["session"] = "session"
    course_id: SourceId
    patient_id: SourceId
    number: int = Field(ge=1, le=10, description="1 for the course's first session.")
    performed_at: DateTime
    status: Literal["completed", "in-progress", "not-done", "stopped"] = "completed"
    performer: Performer | None = None
    areas: list[BodySite] = Field(min_length=1)
    injections: list[Injection] = Field(default_factory=list)
    complications: list[Reaction] = Field(default_factory=list)
    note: Note | None = None
    photos: list[Photo] = Field(default_factory=list)

    @model_validator(mode="after")
    def _injection_ids_unique(self) -> Session:
        ids = [i.id for i in self.injections]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"injection id used twice: {', '.join(dupes)}")
        return self

    @model_validator(mode="after")
    def _photo_ids_unique(self) -> Session:
        ids = [p.id for p in self.photos]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"photo id used twice: {', '.join(dupes)}")
        return self


class Practitioner(NamedTuple):
    """A practitioner as the sessions naming them describe them (``Export.practitioners``)."""

    id: str
    name: str | None
    qualification: str | None


class Given(NamedTuple):
    """One injection of a session as its observations need it: an adverse event suspects the
    injection, an allergic reaction is to its product."""

    injection_id: str
    product_code: str
    product_name: str


class PainScore(_Model):
    type: Literal["pain"] = "pain"
    score: int = Field(ge=0, le=10, description="0-10 verbal numeric rating.")


class ReactionFinding(_Model):
    type: Literal["reaction"] = "reaction"
    reaction: Reaction
    site: BodySite | None = None
    adverse: bool = Field(default=False, description="Reported as an adverse event.")
    severity: Literal["mild", "moderate", "severe"] | None = None
    serious: bool | None = Field(
        default=None, description="For an adverse event: judged serious (or not) by the clinic."
    )
    outcome: (
        Literal["resolved", "recovering", "ongoing", "resolved-with-sequelae", "fatal", "unknown"]
        | None
    ) = Field(default=None, description="For an adverse event: its outcome when last known.")
    note: Note | None = None


class MeasurementFinding(_Model):
    type: Literal["measurement"] = "measurement"
    measurement: Measurement
    value: CircumferenceCM


class ScaleFinding(_Model):
    type: Literal["scale"] = "scale"
    scale: Scale
    score: int = Field(ge=0, le=100)


Finding = Annotated[
    PainScore | ReactionFinding | MeasurementFinding | ScaleFinding, Field(discriminator="type")
]


class SessionObservation(_Record):
    """Something observed at a session: pain, a reaction, a measurement or an outcome scale."""

    kind: Literal["observation"] = "observation"
    session_id: SourceId
    patient_id: SourceId
    observed_at: DateTime
    finding: Finding


Record = Annotated[
    Patient | Screening | Course | Session | SessionObservation, Field(discriminator="kind")
]

MODEL_OF_KIND: dict[str, type[_Record]] = {
    model.model_fields["kind"].default: model
    for model in (Patient, Screening, Course, Session, SessionObservation)
}


def record_day(record: _Record) -> dt.date | None:
    """The day a record is dated by (``kinds.DATE_FIELD``), as written: a time's own date."""
    name = _DATE_FIELD_OF.get(type(record))
    if name is None:
        return None
    value: dt.date = record.__dict__[name]
    return value.date() if isinstance(value, dt.datetime) else value


_DATE_FIELD_OF: Final[dict[type[_Record], str]] = {
    MODEL_OF_KIND[kind]: name for kind, name in DATE_FIELD.items()
}


class ClinicExport(_Model):
    """A whole clinic export as one JSON document (the JSON Lines form has one record a line)."""

    model_config = ConfigDict(frozen=False)
    patients: list[Patient] = Field(default_factory=list)
    screenings: list[Screening] = Field(default_factory=list)
    courses: list[Course] = Field(default_factory=list)
    sessions: list[Session] = Field(default_factory=list)
    observations: list[SessionObservation] = Field(default_factory=list)


_STRICT_NOTE = (
    " Types are strict: booleans are true or false, quantities and integers are JSON numbers,"
    " dates and date-times are ISO 8601 strings (a date-time's UTC offset within ±14:00);"
    " quantities lie within the plausible range their 'value' states; strings hold no"
    " control characters (notes may hold tab, line feed and carriage return)."
)


def json_schema() -> dict[str, Any]:
    """JSON Schema of the export: the document form, with the line form under ``$defs``."""
    schema = ClinicExport.model_json_schema()
    line = TypeAdapter(Record).json_schema(ref_template="#/$defs/{model}")
    schema.setdefault("$defs", {}).update(line.pop("$defs", {}))
    schema["$defs"]["Line"] = {
        "description": "One line of the JSON Lines form: any record with its 'kind'.",
        **line,
    }
    schema["description"] = schema.get("description", "") + _STRICT_NOTE
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"{codes.CANONICAL}/schema/clinic-export.json"
    return schema
