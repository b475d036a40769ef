"""The sync job: export → mapped records → ledger check → transaction bundles → server → ledger.

    load and check input → map → hash → skip what the ledger says is already on the server →
    group by patient (a patient's graph travels together, so references resolve inside the
    bundle) → pack groups into bundles of at most ``batch_size`` entries → send up to
    ``concurrency`` bundles at once → read the transaction-response → record ids, versions and
    outcomes in the ledger, one commit per bundle → report.

A transaction the server rejects as a whole is split in halves, recursively, until the failing
record is alone; the rest still land. Records of a record that failed fail too, with that
reason, without being sent. Transient failures are retried by the client; when they persist,
or authentication fails, the job stops early: what was not sent stays pending in the ledger
and the next run sends it (every write is conditional on the business identifier, so resending
is harmless).

HTTP happens in worker threads; the ledger is written only from the calling thread.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from . import __version__
from .bundle import WriteStrategy, transaction
from .errors import (
    AuthenticationFailed,
    FhirError,
    InputError,
    MalformedResponse,
    RequestRejected,
    VersionConflict,
)
from .fhir_client import (
    FhirClient,
    identifier_token,
    operation_outcome_text,
    parse_transaction_response,
)
from .identity import ClinicConfig, PatientPolicy, resource_id
from .ledger import Failed, Ledger, ResourceRef, Synced, Withdrawn
from .load import Export
from .mapping import Mapped
from .pipeline import MapSummary, mapped_records

logger = logging.getLogger("meso_fhir.sync")

KIND_ORDER = {"patient": 0, "screening": 1, "course": 2, "session": 3, "observation": 4}
Key = tuple[str, str]


@dataclass(frozen=True)
class SyncOptions:
    strategy: WriteStrategy = "conditional"
    patient_policy: PatientPolicy = "create-or-update"
    batch_size: int = 250
    concurrency: int = 2
    full: bool = False  # ignore the ledger's "already synced"
    retry_failed: bool = False  # send only what failed (or was left pending) last time


@dataclass
class Item:
    """One record on its way: its resources, their hash, the records it refers to."""

    key: Key
    resources: list[dict[str, Any]]
    content_hash: str
    depends_on: list[Key]
    withdrawn: bool
    patient_id: str


@dataclass
class SyncReport:
    """What a sync run did; ``as_dict`` is the JSON report."""

    server: str | None
    records: Counter[str] = field(default_factory=Counter)  # outcome -> count
    resources: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    failures: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    bundles: int = 0
    aborted: str | None = None
    outbox: str | None = None

    def fail(self, key: Key, error: str, details: Mapping[str, Any] | None = None) -> None:
        self.records["failed"] += 1
        self.failures.append(
            {"kind": key[0], "source_id": key[1], "error": error, **(details or {})}
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "records": dict(sorted(self.records.items())),
            "resources": {t: dict(sorted(c.items())) for t, c in sorted(self.resources.items())},
            "requests": self.requests,
            "bundles": self.bundles,
            "aborted": self.aborted,
            "outbox": self.outbox,
            "failures": self.failures,
        }


def identity_identifier(resource: Mapping[str, Any]) -> str:
    """``system|value`` of the identifier the resource's deterministic id derives from.

    The first identifier, except for the Patient, whose id derives from the clinic's patient
    id (its second identifier) while its first is the EHR's MRN.
    """
    identifier = resource["identifier"][1 if resource["resourceType"] == "Patient" else 0]
    return f"{identifier['system']}|{identifier['value']}"


def _local_reference(ref: ResourceRef) -> str:
    system, _, value = ref.identifier.partition("|")
    return f"{ref.resource_type}/{resource_id(system, value)}"


def mapping_fingerprint(config: ClinicConfig) -> str:
    """What besides a record's own content decides its resources.

    The mapping code and code tables, and the clinic's identity settings: a change to any of
    them resends every record on the next sync (harmless: every write is conditional).
    """
    from . import codes, mapping

    digest = hashlib.sha256(__version__.encode())
    for module in (mapping, codes):
        digest.update(Path(module.__file__ or "").read_bytes())
    digest.update(repr((config.mrn_system, config.identifier_base, config.timezone)).encode())
    return digest.hexdigest()


def record_hashes(export: Export, config: ClinicConfig) -> dict[Key, str]:
    """Content hash per valid record, from the record as read: unchanged records need no mapping.

    A session also hashes its course's indication, which its Procedure carries.
    """
    fingerprint = mapping_fingerprint(config)
    hashes = {}
    for key, digest in export.digests().items():
        extra = ""
        if key[0] == "session":
            course = next(ref for ref in export.references(key) if ref[0] == "course")
            extra = export.course_indication(course[1]) or ""
        hashes[key] = hashlib.sha256(f"{fingerprint}|{digest.hex()}|{extra}".encode()).hexdigest()
    return hashes


def _item(mapped: Mapped, export: Export, content_hash: str) -> Item:
    key = (mapped.kind, mapped.source_id)
    depends = export.references(key)
    patient = next((ref[1] for ref in depends if ref[0] == "patient"), mapped.source_id)
    return Item(key, mapped.resources, content_hash, depends, export.is_withdrawn(key), patient)


def pack(items: list[Item], batch_size: int) -> list[list[list[Item]]]:
    """Units of work: each a chain of bundles sent in order; units are independent.

    A patient's records stay together (parents first) so references resolve inside one
    bundle; small patients share a bundle; a patient larger than ``batch_size`` becomes a chain
    of bundles, sent one after the other so each can refer to what the previous one created.
    """
    by_patient: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_patient[item.patient_id].append(item)
    units: list[list[list[Item]]] = []
    current: list[Item] = []
    size = 0
    for group in by_patient.values():
        group.sort(key=lambda i: KIND_ORDER[i.key[0]])
        entries = sum(len(i.resources) for i in group)
        if entries > batch_size:
            chain: list[list[Item]] = [[]]
            chain_size = 0
            for item in group:
                if chain[-1] and chain_size + len(item.resources) > batch_size:
                    chain.append([])
                    chain_size = 0
                chain[-1].append(item)
                chain_size += len(item.resources)
            units.append(chain)
            continue
        if current and size + entries > batch_size:
            units.append([current])
            current, size = [], 0
        current.extend(group)
        size += entries
    if current:
        units.append([current])
    return units


@dataclass
class _Outcome:
    """What a worker learnt about one record (applied to the ledger by the main thread)."""

    item: Item
    ok: bool
    results: list[Any] = field(default_factory=list)  # EntryResult per resource
    error: str = ""
    details: dict[str, Any] = field(default_factory=dict)


class _Aborted(Exception):
    def __init__(self, reason: str, outcomes: list[_Outcome]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.outcomes = outcomes


class Sender:
    """Sends one unit (a chain of bundles) and isolates failing records by splitting."""

    def __init__(
        self, client: FhirClient, strategy: WriteStrategy, counter: Callable[[], None]
    ) -> None:
        self.client = client
        self.strategy = strategy
        self.count_request = counter

    def send_unit(self, chain: list[list[Item]], known: dict[str, str]) -> list[_Outcome]:
        outcomes: list[_Outcome] = []
        failed: set[Key] = set()
        try:
            for bundle_items in chain:
                outcomes.extend(self._send(bundle_items, known, failed))
        except FhirError as exc:
            # Temporary failures the client gave up on, refused credentials, or a request that
            # could not be sent at all: nothing more will get through; stop the job.
            raise _Aborted(str(exc), outcomes) from exc
        return outcomes

    def _send(self, items: list[Item], known: dict[str, str], failed: set[Key]) -> list[_Outcome]:
        outcomes: list[_Outcome] = []
        sendable = []
        for item in items:
            blocker = next((d for d in item.depends_on if d in failed), None)
            if blocker:
                failed.add(item.key)
                outcomes.append(
                    _Outcome(
                        item,
                        False,
                        error=f"not sent: depends on {blocker[0]} {blocker[1]!r}, which failed",
                    )
                )
            else:
                sendable.append(item)
        if not sendable:
            return outcomes
        resources = [r for item in sendable for r in item.resources]
        bundle = transaction(resources, self.strategy, known)
        try:
            self.count_request()
            try:
                response = self.client.transaction(bundle)
            except VersionConflict:
                # HAPI reports concurrent-update races as 409: one more try, then it is a failure.
                self.count_request()
                response = self.client.transaction(bundle)
            results = parse_transaction_response(response)
            if len(results) != len(resources):
                raise MalformedResponse(
                    f"transaction-response has {len(results)} entries for {len(resources)} sent",
                    method="POST",
                )
        except MalformedResponse as exc:
            # Not the records' fault (a proxy page, a cut body): fail them all, don't bisect.
            # The server may have applied the bundle; the next run resends, harmlessly.
            failed.update(item.key for item in sendable)
            return [*outcomes, *(_failure(item, exc) for item in sendable)]
        except AuthenticationFailed:
            raise  # the job's fault, not the records': stop (send_unit turns it into _Aborted)
        except RequestRejected as exc:
            if len(sendable) == 1:
                failed.add(sendable[0].key)
                return [*outcomes, _failure(sendable[0], exc)]
            half = len(sendable) // 2
            # Parents come first, so the first half never needs the second.
            outcomes.extend(self._send(sendable[:half], known, failed))
            outcomes.extend(self._send(sendable[half:], known, failed))
            return outcomes
        position = 0
        for item in sendable:
            mine = results[position : position + len(item.resources)]
            position += len(item.resources)
            for resource, result in zip(item.resources, mine, strict=True):
                if result.id:
                    known[f"{resource['resourceType']}/{resource['id']}"] = (
                        f"{resource['resourceType']}/{result.id}"
                    )
            outcomes.append(_Outcome(item, True, mine))
        return outcomes


def _failure(item: Item, exc: FhirError) -> _Outcome:
    issues = getattr(exc, "issues", []) or []
    text = operation_outcome_text(issues) if issues else str(exc)
    details: dict[str, Any] = {"status": getattr(exc, "status", None)}
    expressions = [e for issue in issues for e in (issue.get("expression") or [])]
    if expressions:
        details["at"] = expressions
    return _Outcome(item, False, error=text, details=details)


def _now() -> datetime:
    return datetime.now(UTC)


def sync(
    export: Export,
    config: ClinicConfig,
    options: SyncOptions,
    *,
    client: FhirClient | None,
    ledger: Ledger | None,
    server_url: str | None,
    outbox: Path | None = None,
    now: Callable[[], datetime] = _now,
    progress: Callable[[int, int], None] | None = None,
) -> SyncReport:
    """Run one sync. Without a client (no server configured) it writes bundles to ``outbox``."""
    report = SyncReport(server=server_url)
    hashes = record_hashes(export, config)
    dry_run = client is None or ledger is None or server_url is None
    run_id = 0
    if not dry_run:
        assert ledger is not None and server_url is not None
        run_id = ledger.start_run(
            now(),
            server_url,
            {
                "strategy": options.strategy,
                "patient_policy": options.patient_policy,
                "batch_size": options.batch_size,
                "concurrency": options.concurrency,
                "full": options.full,
                "retry_failed": options.retry_failed,
            },
        )
        _record_input_errors(ledger, export.errors, run_id, now())
    for error in export.errors:
        report.records["invalid"] += 1 if error.source_id is not None else 0
        report.failures.append(
            {
                "kind": error.kind,
                "source_id": error.source_id,
                "field": error.field,
                "error": error.message,
            }
        )

    selected = _select(export, hashes, options, ledger, server_url, report, run_id, now)
    total, done = len(selected), 0
    if dry_run:
        outbox = outbox or Path("meso-fhir-outbox")
        outbox.mkdir(parents=True, exist_ok=True)
        for old in outbox.glob("bundle-*.json"):
            old.unlink()
        report.outbox = str(outbox)
    lock = threading.Lock()

    def count_request() -> None:  # called from the worker threads
        with lock:
            report.requests += 1

    with ThreadPoolExecutor(max_workers=max(1, options.concurrency)) as pool:
        # A chunk of patients at a time: memory holds one chunk's resources, not the export's.
        for chunk in _chunks(export, selected, CHUNK_RECORDS):
            if report.aborted:
                break
            chunk_summary = MapSummary()
            to_send = [
                _item(mapped, export, hashes[(mapped.kind, mapped.source_id)])
                for mapped in mapped_records(export, config, chunk_summary, only=chunk)
            ]
            for error in chunk_summary.errors[len(export.errors) :]:  # failed to map
                report.fail((error.kind, error.source_id or ""), str(error))
                done += 1
            if dry_run:
                _write_outbox(to_send, options, Path(report.outbox or ""), report)
                continue
            assert client is not None and ledger is not None and server_url is not None
            known = _known_server_ids(ledger, server_url, to_send, config, options.strategy)
            if options.patient_policy == "must-exist":
                before = len(to_send)
                to_send = _existing_patients(
                    client, config, to_send, known, ledger, report, run_id, now
                )
                done += before - len(to_send)
            units = pack(to_send, options.batch_size)
            logger.info(
                "run %d: %d record(s) to send in %d unit(s), %d unchanged",
                run_id, len(to_send), len(units), report.records["unchanged"],
            )  # fmt: skip
            sender = Sender(client, options.strategy, count_request)
            for outcomes in _send_units(
                pool, sender, units, known, options, ledger, report, run_id, now
            ):
                done += len(outcomes)
                if progress:
                    progress(done, total)
    if dry_run:
        return report
    assert ledger is not None
    if report.aborted and total > done:
        report.records["pending"] += total - done
    ledger.finish_run(run_id, now(), report.as_dict()["records"], exit_code(report))
    return report


# MRNs looked up in one search under the must-exist patient policy.
MRN_SEARCH_BATCH = 50

# Records mapped and held in memory at once (whole patients, so it can be a little more).
# Measured: a sync's peak RSS is 204 MiB for 15,000 records and 253 MiB for 60,000 (at 20,000 it
# was 282 and 626 MiB); a chunk is still ~60 bundles, plenty to keep the workers busy.
CHUNK_RECORDS = 5_000


def _chunks(export: Export, keys: set[Key], size: int) -> Iterator[set[Key]]:
    """``keys`` in chunks of about ``size`` records, never splitting a patient's records."""
    by_patient: dict[str, list[Key]] = defaultdict(list)
    for key in keys:
        by_patient[export.patient_of(key)].append(key)
    chunk: set[Key] = set()
    for records in by_patient.values():
        chunk.update(records)
        if len(chunk) >= size:
            yield chunk
            chunk = set()
    if chunk:
        yield chunk


def _send_units(
    pool: ThreadPoolExecutor,
    sender: Sender,
    units: list[list[list[Item]]],
    known: dict[str, str],
    options: SyncOptions,
    ledger: Ledger,
    report: SyncReport,
    run_id: int,
    now: Callable[[], datetime],
) -> Iterator[list[_Outcome]]:
    """Send units with ``concurrency`` in flight; record each one's outcomes as it completes."""
    pending: dict[Future[list[_Outcome]], list[list[Item]]] = {}
    queue = list(reversed(units))
    while queue or pending:
        while queue and len(pending) < options.concurrency and not report.aborted:
            unit = queue.pop()
            ledger.mark_pending([i.key for b in unit for i in b], run_id, now())
            report.bundles += len(unit)
            pending[pool.submit(sender.send_unit, unit, dict(known))] = unit
        if not pending:
            break
        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in finished:
            pending.pop(future)
            try:
                outcomes = future.result()
            except _Aborted as aborted:
                outcomes = aborted.outcomes
                report.aborted = report.aborted or aborted.reason
            _apply(outcomes, ledger, report, run_id, now())
            yield outcomes


def exit_code(report: SyncReport) -> int:
    from .cli import EXIT_INVALID_INPUT, EXIT_OK, EXIT_SYNC_ABORTED, EXIT_SYNC_FAILED_RECORDS

    if report.aborted:
        return EXIT_SYNC_ABORTED
    if report.records["failed"]:
        return EXIT_SYNC_FAILED_RECORDS
    if report.records["invalid"] or any(f.get("source_id") is None for f in report.failures):
        return EXIT_INVALID_INPUT
    return EXIT_OK


def _record_input_errors(
    ledger: Ledger, errors: list[InputError], run_id: int, at: datetime
) -> None:
    by_key: dict[Key, list[str]] = defaultdict(list)
    for error in errors:
        if error.source_id is not None and error.kind in KIND_ORDER:
            by_key[(error.kind, error.source_id)].append(f"{error.field}: {error.message}")
    ledger.record_outcomes(
        [
            Failed(
                key,
                hashlib.sha256("\n".join(msgs).encode()).hexdigest(),
                "invalid input: " + "; ".join(msgs),
            )
            for key, msgs in by_key.items()
        ],
        run_id,
        at,
    )


def _select(
    export: Export,
    hashes: dict[Key, str],
    options: SyncOptions,
    ledger: Ledger | None,
    server_url: str | None,
    report: SyncReport,
    run_id: int,
    now: Callable[[], datetime],
) -> set[Key]:
    """The records to map and send: not those the ledger says are already on the server."""
    if ledger is None or server_url is None:
        return set(hashes)
    keys = set(hashes)
    if options.retry_failed:
        keys &= {tuple(k) for k in ledger.failed_keys()} | {tuple(k) for k in ledger.pending_keys()}
    unchanged: set[Key] = set()
    if not options.full:
        unchanged = ledger.unchanged({k: hashes[k] for k in keys}, server_url)
    report.records["unchanged"] += len(unchanged)
    for resource_type, count in ledger.resource_types(unchanged, server_url).items():
        report.resources[resource_type]["unchanged"] += count
    keys -= unchanged
    # A withdrawn record never sent has nothing on the server to withdraw: only note it.
    never_sent = {k for k in keys if export.is_withdrawn(k) and ledger.record(k) is None}
    if never_sent and not options.full:
        ledger.record_outcomes(
            [Withdrawn(k, hashes[k], []) for k in sorted(never_sent)], run_id, now()
        )
        report.records["withdrawn"] += len(never_sent)
        keys -= never_sent
    return keys


# The resource another record's resources refer to, per kind of record referred to:
# (resource type, identifier system kind, identifier value from the record id).
_REFERRED: dict[str, tuple[str, str, str]] = {
    "patient": ("Patient", "patient", "{}"),
    "screening": ("Observation", "screening", "{}/eligibility"),
    "course": ("CarePlan", "course", "{}"),
    "session": ("Procedure", "session", "{}"),
}


def _known_server_ids(
    ledger: Ledger,
    server_url: str,
    items: list[Item],
    config: ClinicConfig,
    strategy: WriteStrategy,
) -> dict[str, str]:
    """How to refer to records that are referred to but not sent now (synced earlier).

    Their server ids, from the ledger. With conditional writes, a target the ledger does not
    know (a new ledger against a server that has the data) becomes a conditional reference,
    ``Type?identifier=system|value``, which the server resolves in the transaction; with id
    writes, ``Type/<deterministic id>`` is right as it is.
    """
    sending = {i.key for i in items}
    needed = {d for i in items for d in i.depends_on if d not in sending}
    known: dict[str, str] = {}
    for key in needed:
        refs = [r for r in ledger.resources(key, server_url) if r.server_id]
        for ref in refs:
            known[_local_reference(ref)] = f"{ref.resource_type}/{ref.server_id}"
        if not refs and strategy == "conditional":
            resource_type, kind, template = _REFERRED[key[0]]
            system, value = config.system(kind), template.format(key[1])
            local = f"{resource_type}/{resource_id(system, value)}"
            known[local] = f"{resource_type}?identifier={identifier_token(system, value)}"
    return known


def _existing_patients(
    client: FhirClient,
    config: ClinicConfig,
    items: list[Item],
    known: dict[str, str],
    ledger: Ledger,
    report: SyncReport,
    run_id: int,
    now: Callable[[], datetime],
) -> list[Item]:
    """Must-exist policy: find each patient by MRN, never write one; unknown → records fail."""
    # Patients whose record is unchanged are known to the ledger already (see _known_server_ids).
    patients = {i.key[1]: i for i in items if i.key[0] == "patient"}
    by_mrn: dict[tuple[str, str], str] = {}
    for patient_id, item in patients.items():
        mrn = item.resources[0]["identifier"][0]
        by_mrn[(mrn["system"], mrn["value"])] = patient_id
    # One search for many MRNs (a token search ORs comma-separated values).
    matches: dict[str, set[str]] = defaultdict(set)
    mrns = sorted(by_mrn)
    for start in range(0, len(mrns), MRN_SEARCH_BATCH):
        batch = mrns[start : start + MRN_SEARCH_BATCH]
        report.requests += 1
        query = ",".join(identifier_token(system, value) for system, value in batch)
        for found in client.search("Patient", {"identifier": query, "_count": "200"}):
            for identifier in found.get("identifier") or []:
                owner = by_mrn.get((identifier.get("system"), identifier.get("value")))
                if owner is not None:
                    matches[owner].add(found["id"])
    missing: set[str] = set()
    outcomes: list[Synced | Failed | Withdrawn] = []
    for patient_id, item in sorted(patients.items()):
        found_ids = sorted(matches.get(patient_id, ()))
        if len(found_ids) == 1:
            local = f"Patient/{resource_id(config.system('patient'), patient_id)}"
            known[local] = f"Patient/{found_ids[0]}"
            identity = identity_identifier(item.resources[0])
            ref = ResourceRef("Patient", identity, found_ids[0], None)
            outcomes.append(Synced(item.key, item.content_hash, [ref]))
            report.records["matched"] += 1
            continue
        missing.add(patient_id)
        reason = (
            "no Patient with this MRN on the server"
            if not found_ids
            else "several Patients have this MRN on the server"
        )
        outcomes.append(
            Failed(item.key, item.content_hash, f"{reason} (patient policy must-exist)")
        )
        report.fail(item.key, f"{reason} (patient policy must-exist)")
    ledger.record_outcomes(outcomes, run_id, now())
    kept = []
    dependants = []
    for item in items:
        if item.key[0] == "patient":
            continue
        if item.patient_id in missing:
            dependants.append(
                Failed(
                    item.key,
                    item.content_hash,
                    f"not sent: patient {item.patient_id!r} is not on the server"
                    " (patient policy must-exist)",
                )
            )
            report.fail(item.key, dependants[-1].error_text)
        else:
            kept.append(item)
    ledger.record_outcomes(dependants, run_id, now())
    return kept


def _apply(
    outcomes: list[_Outcome],
    ledger: Ledger,
    report: SyncReport,
    run_id: int,
    at: datetime,
) -> None:
    rows: list[Synced | Failed | Withdrawn] = []
    for outcome in outcomes:
        item = outcome.item
        if not outcome.ok:
            # Keys and status only: the server's text can quote the record's values (PHI).
            logger.info("%s %r failed (status %s)", *item.key, outcome.details.get("status"))
            rows.append(Failed(item.key, item.content_hash, outcome.error, outcome.details or None))
            report.fail(item.key, outcome.error, outcome.details)
            for resource in item.resources:
                report.resources[resource["resourceType"]]["failed"] += 1
            continue
        refs = []
        for resource, result in zip(item.resources, outcome.results, strict=True):
            refs.append(
                ResourceRef(
                    resource["resourceType"],
                    identity_identifier(resource),
                    result.id,
                    result.version_id,
                )
            )
            report.resources[resource["resourceType"]][
                "created" if result.status == 201 else "updated"
            ] += 1
        rows.append((Withdrawn if item.withdrawn else Synced)(item.key, item.content_hash, refs))
        report.records["withdrawn" if item.withdrawn else "synced"] += 1
    ledger.record_outcomes(rows, run_id, at)
    logger.info(
        "recorded %d record outcome(s), %d failed", len(rows), sum(not o.ok for o in outcomes)
    )


def _write_outbox(
    items: list[Item], options: SyncOptions, outbox: Path, report: SyncReport
) -> None:
    """Dry run: the bundles that would be sent, one file each, numbered in sending order."""
    for unit in pack(items, options.batch_size):
        for bundle_items in unit:
            report.bundles += 1
            resources = [r for i in bundle_items for r in i.resources]
            (outbox / f"bundle-{report.bundles:05d}.json").write_bytes(
                orjson.dumps(transaction(resources, options.strategy), option=orjson.OPT_INDENT_2)
            )
            report.records["written"] += len(bundle_items)
