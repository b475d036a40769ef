"""Exceptions raised by meso-fhir.

Every exception the library raises on purpose derives from ``MesoFhirError``::

    MesoFhirError
    ├── InputError            a clinic record that cannot be read or mapped (names kind, id, field)
    ├── ValidationFailed      resources that do not conform to base R4 or the project's profiles
    └── FhirError             talking to a FHIR server (fhir_client.py adds its subclasses)
"""

from __future__ import annotations


class MesoFhirError(Exception):
    """Base of every error meso-fhir raises on purpose."""


class InputError(MesoFhirError):
    """A clinic record that cannot be read or mapped.

    ``kind`` and ``source_id`` name the record, ``field`` the offending field (dotted path).
    The message never carries patient data, only keys.
    """

    def __init__(self, kind: str, source_id: str | None, field: str, message: str) -> None:
        self.kind = kind
        self.source_id = source_id
        self.field = field
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        who = f"{self.kind} {self.source_id!r}" if self.source_id is not None else self.kind
        return f"{who}: {self.field}: {self.message}"

    def as_dict(self) -> dict[str, str | None]:
        return {"kind": self.kind, "source_id": self.source_id, "field": self.field, "message": self.message}


class ValidationFailed(MesoFhirError):
    """Resources that failed validation; ``issues`` lists every problem."""


class FhirError(MesoFhirError):
    """Base of errors talking to a FHIR server."""
