"""Will this server work? A read-only check before anything is written (``meso-fhir check``).

Reads the CapabilityStatement (what the server says it supports) and makes a few searches
(what it really allows: an authorised search, a known MRN, the project's profiles). Nothing is
written. ``assess`` is pure: statement in, findings out; ``check_server`` makes the requests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import AuthenticationFailed, FhirError
from ..mapping.identity import identifier_token
from .client import FhirClient

# None: the server does not say (a CapabilityStatement may leave out what it supports).
Verdict = bool | None


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing checked: what, whether it holds (None: the server does not say), and why."""

    name: str
    ok: Verdict
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


@dataclass
class ServerCheck:
    """Every finding about one server; ``ok`` when nothing found says sync cannot work."""

    server: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.ok is not False for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "ok": self.ok,
            "findings": [f.as_dict() for f in self.findings],
        }


def assess(
    statement: Mapping[str, Any],
    resource_types: Sequence[str],
    create_only: Iterable[str] = (),
    by_id: Iterable[str] = (),
    deletes: Iterable[str] = (),
) -> list[Finding]:
    """What the CapabilityStatement says about the interactions meso-fhir needs.

    ``resource_types`` are written by conditional update (``PUT Type?identifier=``) or by id;
    those in ``create_only`` (the Patient, by default) by conditional create; those in
    ``by_id`` always by id, an update that creates (``updateCreate``); those in ``deletes``
    may be deleted (conditionally, or by id for those in ``by_id``).
    """
    version = str(statement.get("fhirVersion") or "")
    findings = [
        Finding(
            "FHIR version",
            version.startswith("4.0"),
            f"{version or 'not stated'} (meso-fhir sends R4, 4.0.x)",
        )
    ]
    rest = next((r for r in statement.get("rest") or [] if r.get("mode") == "server"), None)
    if rest is None:
        return [*findings, Finding("REST server", False, "the statement has no rest mode=server")]
    system = {i.get("code") for i in rest.get("interaction") or []}
    findings.append(
        Finding(
            "transactions",
            "transaction" in system or None,
            "supported" if "transaction" in system else "not stated: sync sends transactions",
        )
    )
    resources = {r.get("type"): r for r in rest.get("resource") or []}
    creates, ids, deleted = set(create_only), set(by_id), set(deletes)
    for resource_type in resource_types:
        resource = resources.get(resource_type)
        findings.append(_resource_finding(resource_type, resource, creates, ids, deleted))
    return findings


def _resource_finding(
    resource_type: str,
    resource: Mapping[str, Any] | None,
    creates: set[str],
    ids: set[str],
    deletes: set[str],
) -> Finding:
    if resource is None:
        return Finding(resource_type, False, "not among the server's resource types")
    interactions = {i.get("code") for i in resource.get("interaction") or []}
    if resource_type in creates:
        needs, flag, why = ("create", "conditionalCreate", "meso-fhir writes conditionally")
    elif resource_type in ids:
        needs, flag, why = ("update", "updateCreate", "meso-fhir writes it by its own id")
    else:
        needs, flag, why = ("update", "conditionalUpdate", "meso-fhir writes conditionally")
    if interactions and needs not in interactions:
        return Finding(resource_type, False, f"no {needs} interaction")
    said = resource.get(flag)
    if said is False:
        return Finding(resource_type, False, f"{flag} is false: {why}")
    detail = f"{needs}, {flag}: {said or 'not stated'}"
    if resource_type in deletes:
        # sync deletes what a changed record no longer produces: by identifier, or by id
        # for a type without an identifier search.
        refused = (interactions and "delete" not in interactions) or (
            resource_type not in ids and resource.get("conditionalDelete") == "not-supported"
        )
        if refused:
            return Finding(
                resource_type,
                None,
                f"{detail}; no {'delete' if resource_type in ids else 'conditional delete'}:"
                " a record that no longer produces one will fail",
            )
    return Finding(resource_type, True if said else None, detail)


def check_server(
    client: FhirClient,
    resource_types: Sequence[str],
    *,
    create_only: Iterable[str] = (),
    by_id: Iterable[str] = (),
    deletes: Iterable[str] = (),
    profiles: Sequence[str] = (),
    mrn: tuple[str, str] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ServerCheck:
    """Check the server behind ``client``: reachable, FHIR R4, what it supports, auth, an MRN."""
    result = ServerCheck(client.public_url)
    started = clock()
    try:
        statement = client.capabilities()
    except FhirError as exc:
        result.findings.append(Finding("reachable", False, str(exc)))
        return result
    result.findings.append(
        Finding("reachable", True, f"CapabilityStatement in {clock() - started:.2f} s")
    )
    result.findings.extend(assess(statement, resource_types, create_only, by_id, deletes))
    result.findings.append(_search_finding(client, "authorised search", "Patient", {"_count": "1"}))
    if profiles:
        result.findings.append(_profiles_finding(client, profiles))
    if mrn is not None:
        result.findings.append(_mrn_finding(client, mrn))
    return result


def _search_finding(
    client: FhirClient, name: str, resource_type: str, params: dict[str, str]
) -> Finding:
    try:
        next(iter(client.search(resource_type, params)), None)
    except AuthenticationFailed as exc:
        return Finding(name, False, f"refused: {exc}")
    except FhirError as exc:
        return Finding(name, False, str(exc))
    return Finding(name, True, f"GET {resource_type} allowed")


def _profiles_finding(client: FhirClient, profiles: Sequence[str]) -> Finding:
    try:
        known = [
            p
            for p in profiles
            if next(iter(client.search("StructureDefinition", {"url": p})), None)
        ]
    except FhirError as exc:
        return Finding("project profiles", None, f"could not tell: {exc}")
    if len(known) == len(profiles):
        return Finding("project profiles", True, f"all {len(profiles)} known to the server")
    # Informational: a server validates against profiles it knows; others it stores as is.
    return Finding(
        "project profiles",
        None,
        f"{len(known)} of {len(profiles)} known (load the project's package to validate on write)",
    )


def _mrn_finding(client: FhirClient, mrn: tuple[str, str]) -> Finding:
    try:
        found = list(client.search("Patient", {"identifier": identifier_token(*mrn)}))
    except FhirError as exc:
        return Finding("MRN", False, str(exc))
    if len(found) == 1:
        return Finding("MRN", True, "one Patient has it")
    if not found:
        return Finding("MRN", False, "no Patient has it under this MRN system: check --mrn-system")
    return Finding("MRN", False, f"{len(found)} Patients have it: the EHR has duplicates")
