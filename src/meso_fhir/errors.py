"""The errors meso-fhir raises, and the exit codes its command line ends with.

Every exception the library raises on purpose derives from ``MesoFhirError``::

    MesoFhirError
    ├── InputError            a clinic record that cannot be read or mapped (names kind, id, field)
    ├── LedgerError           the sync ledger cannot be opened, is not a ledger, or a write failed
    │   └── LedgerMismatch    the ledger belongs to another server or other identity settings
    └── FhirError             talking to a FHIR server; itself: the request could not be sent
        │                     at all (proxy refused, local protocol error)
        ├── TransientError    temporary: connection error, timeout, 408/429/500/502/503/504,
        │                     still failing after the retries (``attempts``) or the deadline
        ├── RequestRejected   fatal: the server refused the request (3xx, other 4xx/5xx)
        │   ├── AuthenticationFailed   401, 403
        │   ├── NotFound               404, 410
        │   └── VersionConflict        409, 412 (If-Match failed, concurrent update,
        │                              several conditional matches)
        └── MalformedResponse  fatal: body not JSON / not the FHIR resource expected

A ``FhirError`` keeps what a report needs and nothing secret: ``status``, ``method``, the URL
``path`` with query values removed (they can be patient identifiers), the server's
OperationOutcome as ``issues`` and a ``message`` that contains their text. ``temporary`` says
whether a later run may succeed without anything changing.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import Any, ClassVar, TypedDict


class ExitCode(IntEnum):
    """How a command ends: numbered once and never reused, so a scheduler can act on them.

    The library never exits: a job returns a report, and the command line turns it into one of
    these (``SyncReport.exit_code``).
    """

    OK = 0
    USAGE = 2  # bad option or argument
    INVALID_INPUT = 3  # some records were invalid; the valid ones were still mapped or sent
    NOT_CONFORMANT = 4  # validation found resources that do not conform
    SYNC_FAILED_RECORDS = 5  # some records failed on the server (in the ledger, with reasons)
    SYNC_ABORTED = 6  # stopped early: server unreachable, refused us, or the ledger failed
    UNREADABLE_INPUT = 7  # the input file could not be read at all
    LEDGER_BUSY = 8  # another sync holds the ledger (overlapping cron runs); nothing was done
    INTERRUPTED = 130  # Ctrl-C (SIGINT, the shell's 128 + 2) outside a sync's sending


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
        return {
            "kind": self.kind,
            "source_id": self.source_id,
            "field": self.field,
            "message": self.message,
        }


class LedgerError(MesoFhirError):
    """The ledger file cannot be opened, is not a meso-fhir ledger, or a write failed."""


class LedgerMismatch(LedgerError):
    """The ledger was first used with another server or other identity settings.

    Going on would write a second copy of every resource (other identifiers, other ids), so
    the job stops before sending anything; the message says what differs and what to do.
    """


class OutcomeIssue(TypedDict):
    """One ``OperationOutcome.issue``, flattened (see ``fhir_client.outcome_issues``)."""

    severity: str
    code: str
    diagnostics: str | None
    details: str | None  # details.text
    expression: list[str]  # expression, or the deprecated location when there is none


class FhirError(MesoFhirError):
    """Base of errors talking to a FHIR server."""

    temporary: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str | None = None,
        path: str | None = None,
        issues: Sequence[OutcomeIssue] = (),
    ) -> None:
        self.message = message
        self.status = status
        self.method = method
        self.path = path
        self.issues = list(issues)
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.method} {self.path}" if self.method else ""
        if self.status is not None:
            where = f"{where} -> {self.status}" if where else str(self.status)
        return f"{where}: {self.message}" if where else self.message

    def as_dict(self) -> dict[str, Any]:
        return {
            "error": type(self).__name__,
            "temporary": self.temporary,
            "status": self.status,
            "method": self.method,
            "path": self.path,
            "message": self.message,
            "issues": [dict(issue) for issue in self.issues],
        }


class TransientError(FhirError):
    """The server or the network failed in a way that may pass; ``attempts`` were made."""

    temporary: ClassVar[bool] = True

    def __init__(self, message: str, *, attempts: int = 1, **kwargs: Any) -> None:
        self.attempts = attempts
        super().__init__(message, **kwargs)

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "attempts": self.attempts}


class RequestRejected(FhirError):
    """The server refused the request; sending it again unchanged will not help."""


class AuthenticationFailed(RequestRejected):
    """401 or 403: missing, expired or insufficient credentials."""


class NotFound(RequestRejected):
    """404 or 410: no such resource (410: it was deleted)."""


class VersionConflict(RequestRejected):
    """409 or 412: If-Match failed, a concurrent update, or a conditional write matched several."""


class MalformedResponse(FhirError):
    """The server answered, but not with the JSON FHIR resource the request calls for."""
