"""What a sync would do, record by record, without a single write (``sync --dry-run``).

Reads the ledger and, read-only, the server: its CapabilityStatement and the patient look-ups
the patient policy makes (a search by MRN). Writes neither. Without a server, ``dry_run``
writes the bundles to a folder instead.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import FhirError
from ..fhir.client import FhirClient
from ..mapping import ClinicConfig, MapSummary, map_records
from ..mapping.export import directory
from ..model.kinds import DIRECTORY_KINDS, KIND_RANK, RecordKey
from ..model.loader import Export
from . import plan
from .job import SyncOptions, _patients_by_mrn, _preflight, _select
from .ledger import Ledger, ResourceRef
from .plan import Item
from .report import Failure, SyncReport

# What would happen to a record.
CREATE, UPDATE, EXISTING, WITHDRAW, LEAVE, FAIL = (
    "create",
    "update",
    "existing",
    "withdraw",
    "leave as it is",
    "fail",
)


@dataclass
class Preview:
    """A sync's plan: per record what it would do; ``report`` has the totals and failures."""

    report: SyncReport
    actions: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        key: RecordKey,
        action: str,
        reason: str | None = None,
        retract: Sequence[ResourceRef] = (),
    ) -> None:
        self.actions.append({"kind": key.kind, "source_id": key.source_id, "action": action})
        if reason:
            self.actions[-1]["reason"] = reason
        if key.kind not in DIRECTORY_KINDS:  # counted by their resources, as sync does
            self.report.records[f"would {action}"] += 1
        if retract:  # by type and identifier value: the ledger's words, no patient data
            self.actions[-1]["delete"] = [
                {"resourceType": ref.resource_type, "identifier": ref.identifier.partition("|")[2]}
                for ref in retract
            ]
            for ref in retract:
                self.report.resources[ref.resource_type]["would delete"] += 1

    def as_dict(self) -> dict[str, Any]:
        return {**self.report.as_dict(), "preview": self.actions}


def preview(
    export: Export,
    client: FhirClient,
    config: ClinicConfig,
    ledger: Ledger | str | os.PathLike[str],
    options: SyncOptions | None = None,
) -> Preview:
    """What ``sync`` would do now with these arguments; reads, never writes."""
    if not isinstance(ledger, Ledger):
        with Ledger.open(ledger) as opened:
            return preview(export, client, config, opened, options)
    options = options or SyncOptions()
    ledger.check_binding(
        client.public_url, {**config.identity(), "write_strategy": options.strategy}
    )
    result = Preview(SyncReport(server=client.public_url))
    report = result.report
    for error in export.errors:
        report.fail(Failure.from_input(error))
    hashes = plan.record_hashes(export, config)
    selected, _never_sent = _select(export, hashes, options, ledger, client.public_url, report)
    if selected:
        problem = _preflight(client)
        if problem:
            report.aborted = problem
            return result
    shared = {key for key in selected if key.kind in DIRECTORY_KINDS}
    for chunk in plan.chunks(export, selected - shared, options.chunk_records):
        items = plan.items(map_records(export, config, MapSummary(), only=chunk), export, hashes)
        try:
            _plan_chunk(items, client, ledger, options, result)
        except FhirError as exc:
            report.aborted = str(exc)
            break
    # The clinic and its practitioners, listed first: sync sends them before the first record it
    # writes, and not at all when it writes none.
    writes = any(a["action"] in (CREATE, UPDATE, WITHDRAW) for a in result.actions)
    if shared and not report.aborted and (writes or selected == shared):
        records = result.actions
        result.actions = []
        items = plan.items(directory(export, config, shared), export, hashes)
        _plan_chunk(items, client, ledger, options, result)
        result.actions.extend(records)
    return result


def _plan_chunk(
    items: list[Item], client: FhirClient, ledger: Ledger, options: SyncOptions, result: Preview
) -> None:
    server = client.public_url
    patients = {one.key.source_id: one for one in items if one.key.kind == "patient"}
    found: dict[str, set[str]] = {}
    if options.patient_policy != "replace" and patients:
        found = _patients_by_mrn(client, patients, result.report)
    missing = {p for p in patients if len(found.get(p, ())) != 1}
    for one in sorted(items, key=lambda i: (KIND_RANK[i.key.kind], i.key.source_id)):
        if one.key.kind == "patient" and options.patient_policy != "replace":
            _plan_patient(one, found.get(one.key.source_id, set()), options, result)
        elif options.patient_policy == "must-exist" and one.patient_id in missing:
            result.add(one.key, FAIL, f"patient {one.patient_id!r} is not on the server")
        else:
            previous = ledger.resources(one.key, server)
            retract = plan.stale(previous, one.resources)
            known = any(r.server_id for r in previous)
            action = WITHDRAW if one.withdrawn else UPDATE if known else CREATE
            result.add(one.key, action, retract=retract)


def _plan_patient(one: Item, found: set[str], options: SyncOptions, result: Preview) -> None:
    if len(found) > 1:
        result.add(one.key, FAIL, "several Patients have this MRN on the server")
    elif found:
        result.add(one.key, LEAVE if one.withdrawn else EXISTING)
    elif options.patient_policy == "must-exist":
        result.add(one.key, FAIL, "no Patient with this MRN on the server")
    elif one.withdrawn:
        result.add(one.key, LEAVE, "withdrawn, and not on the server: nothing to do")
    else:
        result.add(one.key, CREATE)
