"""Reading what a FHIR server answers: OperationOutcomes and transaction-responses.

Pure: parsed JSON in, flat values out. The client (``client.py``) and the sync job read server
answers through these functions only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from ..errors import MalformedResponse, OutcomeIssue

__all__ = ["EntryResult", "operation_outcome_text", "outcome_issues", "parse_transaction_response"]

_RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")
# What servers put in a transaction-response entry's location: Type/id/_history/vid, relative.
# Read by this pattern, a 20th of the cost of parsing it as a URL; anything else (an absolute
# URL, a query) takes the general way.
_RELATIVE_LOCATION = re.compile(
    r"([A-Z][A-Za-z]{1,63})/([A-Za-z0-9\-.]{1,64})(?:/_history/([A-Za-z0-9\-.]{1,64}))?"
)


@dataclass(frozen=True)
class EntryResult:
    """The outcome of one transaction/batch-response entry, or of a create/update.

    ``status`` is the HTTP status as an int (servers send "201 Created" or just "201");
    ``resource_type``/``id``/``version_id`` come from the location (``.../_history/N``), the
    ETag (``W/"N"``) or the returned resource, whichever has them.
    """

    status: int
    location: str | None = None
    resource_type: str | None = None
    id: str | None = None
    version_id: str | None = None
    issues: list[OutcomeIssue] = field(default_factory=list)
    resource: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def outcome_issues(outcome: Mapping[str, Any] | None) -> list[OutcomeIssue]:
    """The issues of an OperationOutcome, flattened; [] for anything else."""
    if not isinstance(outcome, Mapping) or outcome.get("resourceType") != "OperationOutcome":
        return []
    issues: list[OutcomeIssue] = []
    for issue in outcome.get("issue") or []:
        if not isinstance(issue, Mapping):
            continue
        details = issue.get("details")
        details_text = details.get("text") if isinstance(details, Mapping) else None
        where = issue.get("expression") or issue.get("location") or []
        issues.append(
            {
                "severity": str(issue.get("severity", "")),
                "code": str(issue.get("code", "")),
                "diagnostics": issue.get("diagnostics"),
                "details": details_text,
                "expression": [str(w) for w in where] if isinstance(where, list) else [],
            }
        )
    return issues


def _issue_text(issue: OutcomeIssue) -> str:
    words = [w for w in (issue["diagnostics"], issue["details"]) if w]
    if len(words) == 2 and words[1] in words[0]:
        words = words[:1]
    text = f"{issue['severity']} {issue['code']}".strip()
    if words:
        text += ": " + " / ".join(words)
    if issue["expression"]:
        text += f" (at {', '.join(issue['expression'])})"
    return text


def operation_outcome_text(outcome: Mapping[str, Any] | Sequence[OutcomeIssue] | None) -> str:
    """One line for an OperationOutcome (or its flattened issues): ``severity code: text (at x)``
    per issue, joined by ``; ``. Empty when there is nothing to say."""
    issues = outcome_issues(outcome) if isinstance(outcome, Mapping) or outcome is None else outcome
    return "; ".join(_issue_text(issue) for issue in issues)


def status_code(status: Any) -> int | None:
    """The HTTP status of a response entry's ``status`` as an int, ``None`` if it has none."""
    # "201 Created" or "201", as servers send it, without the regex
    if isinstance(status, str) and status[3:4] in ("", " "):
        code = status[:3]
        if len(code) == 3 and code.isascii() and code.isdigit():
            return int(code)
    match = re.match(r"\s*(\d{3})\b", str(status)) if status is not None else None
    return int(match.group(1)) if match else None


def _etag_version(etag: str | None) -> str | None:
    if not etag:
        return None
    value = etag.strip().removeprefix("W/").strip('"')
    return value or None


def _location_parts(location: str | None) -> tuple[str | None, str | None, str | None]:
    """(type, id, version) from ``[base/]Type/id[/_history/vid]``."""
    if not location:
        return None, None, None
    relative = _RELATIVE_LOCATION.fullmatch(location)
    if relative:
        resource_type, resource_id, version = relative.groups()
        return resource_type, resource_id, version
    segments = [s for s in urlsplit(location).path.split("/") if s]
    version = None
    if len(segments) >= 4 and segments[-2] == "_history":
        version = segments[-1]
        segments = segments[:-2]
    if len(segments) >= 2 and _RESOURCE_TYPE.fullmatch(segments[-2]):
        return segments[-2], segments[-1], version
    return None, None, version


def entry_result(
    status: int,
    location: str | None,
    etag: str | None,
    body: Any,
    outcome: Any = None,
) -> EntryResult:
    resource = body if isinstance(body, dict) and "resourceType" in body else None
    if resource is not None and resource["resourceType"] == "OperationOutcome":
        outcome, resource = outcome or resource, None
    resource_type, resource_id, version = _location_parts(location)
    if resource is not None:
        resource_type = resource_type or resource.get("resourceType")
        resource_id = resource_id or resource.get("id")
        meta = resource.get("meta")
        version = version or _etag_version(etag) or (meta or {}).get("versionId")
    else:
        version = version or _etag_version(etag)
    return EntryResult(
        status=status,
        location=location,
        resource_type=resource_type,
        id=resource_id,
        version_id=version,
        issues=[] if outcome is None else outcome_issues(outcome),  # most entries have none
        resource=resource,
    )


# dict first: a Mapping check alone goes through the ABC, and parse_transaction_response makes
# two for every entry of every transaction.
_MAPPINGS: Final = (dict, Mapping)


def parse_transaction_response(bundle: Mapping[str, Any]) -> list[EntryResult]:
    """One ``EntryResult`` per entry of a transaction- or batch-response, in order."""
    if bundle.get("resourceType") != "Bundle":
        raise MalformedResponse(f"expected a Bundle, got {bundle.get('resourceType')!r}")
    results = []
    for index, entry in enumerate(bundle.get("entry") or []):
        response = entry.get("response") if isinstance(entry, _MAPPINGS) else None
        status = status_code(response.get("status")) if isinstance(response, _MAPPINGS) else None
        if response is None or status is None:
            raise MalformedResponse(f"entry {index} has no response.status")
        results.append(
            entry_result(
                status,
                response.get("location"),
                response.get("etag"),
                entry.get("resource"),
                response.get("outcome"),
            )
        )
    return results
