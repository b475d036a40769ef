"""What a sync run did: counts, typed failures, and the exit code a scheduler acts on."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import ExitCode, InputError
from ..model.kinds import RecordKey

# Where a record was stopped: its input was refused, it could not be mapped, the server refused
# it, a record it depends on failed, or (must-exist) its patient is not on the server.
Stage = Literal["input", "mapping", "server", "dependency", "patient"]


@dataclass(frozen=True, slots=True)
class Failure:
    """One record that did not land, and why.

    ``source_id`` is None for a problem that names no record (a line that is not JSON).
    ``field`` is set when the input was refused; ``status`` and ``at`` (the OperationOutcome's
    expressions) when the server refused it.
    """

    stage: Stage
    kind: str
    source_id: str | None
    reason: str
    field: str | None = None
    status: int | None = None
    at: tuple[str, ...] = ()

    @classmethod
    def from_input(cls, error: InputError) -> Failure:
        return cls("input", error.kind, error.source_id, error.message, field=error.field)

    @property
    def key(self) -> RecordKey:
        return RecordKey(self.kind, self.source_id or "")

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "source_id": self.source_id}
        if self.field is not None:
            data["field"] = self.field
        data["error"] = self.reason
        if self.stage == "server":
            data["status"] = self.status
        if self.at:
            data["at"] = list(self.at)
        return data

    def __str__(self) -> str:
        who = f"{self.kind} {self.source_id!r}" if self.source_id is not None else self.kind
        if self.stage == "input":
            return f"invalid: {who}: {self.field}: {self.reason}"
        return f"failed: {who}: {self.reason}"


@dataclass
class SyncReport:
    """What a sync run (or a dry run) did; ``as_dict`` is the JSON report."""

    server: str | None
    records: Counter[str] = field(default_factory=Counter)  # outcome -> count
    resources: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    failures: list[Failure] = field(default_factory=list)
    requests: int = 0
    bundles: int = 0
    aborted: str | None = None
    outbox: str | None = None

    def fail(self, failure: Failure) -> None:
        if failure.stage == "input":
            self.records["invalid"] += 1 if failure.source_id is not None else 0
        else:
            self.records["failed"] += 1
        self.failures.append(failure)

    @property
    def exit_code(self) -> ExitCode:
        if self.aborted:
            return ExitCode.SYNC_ABORTED
        if self.records["failed"]:
            return ExitCode.SYNC_FAILED_RECORDS
        if any(f.stage == "input" for f in self.failures):
            return ExitCode.INVALID_INPUT
        return ExitCode.OK

    def as_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "records": dict(sorted(self.records.items())),
            "resources": {t: dict(sorted(c.items())) for t, c in sorted(self.resources.items())},
            "requests": self.requests,
            "bundles": self.bundles,
            "aborted": self.aborted,
            "outbox": self.outbox,
            "failures": [f.as_dict() for f in self.failures],
        }
