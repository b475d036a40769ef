"""The five kinds of clinic record, defined once: their order, how they refer to each other.

    patient      ← screening (patient_id)
    patient      ← course (patient_id, screening_id optional)
    course       ← session (course_id, patient_id) with its injections nested
    session      ← observation (session_id, patient_id)

``RECORD_KINDS`` is in dependency order: a record's parents come before it, which is the order
the loader checks references in and the order a bundle carries a patient's records in.

Two more kinds are synced but never read as records: the clinic (an Organization, from the
configuration) and its practitioners (from the sessions' ``performer``). ``DIRECTORY_KINDS``
are shared by every patient's records, so they are sent before them, in a bundle of their own.
"""

from __future__ import annotations

from typing import Final, Literal, NamedTuple

RecordKind = Literal["patient", "screening", "course", "session", "observation"]
RECORD_KINDS: Final[tuple[RecordKind, ...]] = (
    "patient",
    "screening",
    "course",
    "session",
    "observation",
)
INPUT_RANK: Final[dict[str, int]] = {kind: rank for rank, kind in enumerate(RECORD_KINDS)}

DirectoryKind = Literal["clinic", "practitioner"]
DIRECTORY_KINDS: Final[tuple[DirectoryKind, ...]] = ("clinic", "practitioner")
# Every kind a sync sends and a ledger records, in the order they are sent.
SYNCED_KINDS: Final[tuple[str, ...]] = (*DIRECTORY_KINDS, *RECORD_KINDS)
KIND_RANK: Final[dict[str, int]] = {kind: rank for rank, kind in enumerate(SYNCED_KINDS)}

# The JSON document form keeps each kind in a list of its own.
LIST_NAME: Final[dict[str, str]] = {
    "patient": "patients",
    "screening": "screenings",
    "course": "courses",
    "session": "sessions",
    "observation": "observations",
}

# The fields through which each kind refers to other records, and the kind each refers to.
# The patient comes first wherever there is one: a record's patient is its first reference.
REFERENCE_FIELDS: Final[dict[str, tuple[tuple[str, RecordKind], ...]]] = {
    "patient": (),
    "screening": (("patient_id", "patient"),),
    "course": (("patient_id", "patient"), ("screening_id", "screening")),
    "session": (("patient_id", "patient"), ("course_id", "course")),
    "observation": (("patient_id", "patient"), ("session_id", "session")),
}

# The field each kind of record is dated by: no record of a patient predates the patient's birth.
DATE_FIELD: Final[dict[str, str]] = {
    "screening": "screened_at",
    "course": "start_date",
    "session": "performed_at",
    "observation": "observed_at",
}


class RecordKey(NamedTuple):
    """A clinic record: its kind and its id in the clinic system.

    A plain ``(kind, source_id)`` tuple compares and hashes equal to it.
    """

    kind: str
    source_id: str

    def __str__(self) -> str:
        return f"{self.kind} {self.source_id!r}"
