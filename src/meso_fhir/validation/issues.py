"""What a check reports: ``Issue``, its severities, and the state of one resource's validation
that every checker records its issues in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["ERROR", "INFORMATION", "WARNING", "Issue", "Run", "dedupe"]

ERROR: Final = "error"
WARNING: Final = "warning"
INFORMATION: Final = "information"


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in one resource.

    ``path`` is FHIRPath-like, with array indices and the JSON name of a choice element
    (``Observation.component[1].valueQuantity.system``); a slice is named after a colon
    (``Procedure.extension:sessionNumber``), a choice element as a whole ends in ``[x]``.
    ``rule``: cardinality, fixed-value, pattern, binding, type, format, unknown-element,
    empty-array, empty-element, invariant:<key>, slice, reference-format, reference-target,
    reference-unresolved, unknown-code, unknown-extension, unknown-profile, profile-type,
    structure. ``profile`` is the canonical URL of the profile whose rule failed (None: base R4);
    ``source`` the checker that found it (fhir.resources, fhirpath, meso-fhir).
    """

    severity: str
    rule: str
    path: str
    message: str
    resource_type: str | None = None
    resource_id: str | None = None
    entry_index: int | None = None
    profile: str | None = None
    source: str = "meso-fhir"

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "entry_index": self.entry_index,
            "path": self.path,
            "rule": self.rule,
            "message": self.message,
            "profile": self.profile,
            "source": self.source,
        }

    def __str__(self) -> str:
        who = self.resource_type or "?"
        if self.resource_id:
            who = f"{who}/{self.resource_id}"
        if self.entry_index is not None:
            who = f"entry[{self.entry_index}] {who}"
        rule = self.rule if self.severity == ERROR else f"{self.rule} ({self.severity})"
        return f"{who} {self.path}: {rule}: {self.message}"


@dataclass(slots=True)
class Run:
    """The validation of one resource: what the checkers need to know about it, and what they
    found. ``profile`` is set while a profile's rules are checked, so that issues name it."""

    root: dict[str, Any]
    resource_type: str
    resource_id: str | None
    entry_index: int | None
    full_urls: Mapping[str, str | None] | None  # entries' resource types by fullUrl and Type/id
    issues: list[Issue] = field(default_factory=list)
    profile: str | None = None
    contained: dict[str, str] = field(default_factory=dict)  # "#id" -> resourceType
    # The walker's share of what fhir.resources used to report (unknown elements, primitive
    # formats): kept apart so that it follows the walker's own issues, in the order it always had.
    structure: list[Issue] = field(default_factory=list)
    # The walker met JSON it does not model (primitive extensions ``_x``, ``fhir_comments``,
    # a contained resource of an unpackaged type, ...): fhir.resources checks the resource.
    needs_model: bool = False

    def add(
        self, severity: str, rule: str, path: str, message: str, source: str = "meso-fhir"
    ) -> None:
        self.issues.append(
            Issue(
                severity,
                rule,
                path,
                message,
                self.resource_type,
                self.resource_id,
                self.entry_index,
                self.profile,
                source,
            )
        )


def dedupe(issues: list[Issue]) -> list[Issue]:
    """The first issue of each (bundle entry, path, rule): several checkers see the same miss
    (fhir.resources and the walker both report a missing 1..1 element)."""
    seen: set[tuple[int | None, str, str]] = set()
    out = []
    for issue in issues:
        key = (issue.entry_index, issue.path, issue.rule)
        if key not in seen:
            seen.add(key)
            out.append(issue)
    return out
