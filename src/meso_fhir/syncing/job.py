"""The sync job: export → mapped records → ledger check → transaction bundles → sink → ledger.

    load and check input → hash → skip what the ledger says is already on the server →
    chunk by patient → map → what the ledger lists for a record that its mapping no longer
    produces is stale, deleted in the record's transaction → pack into bundles
    (``plan.py``) → send up to ``concurrency`` units
    at once through a sink (``sinks.py``: the server, or a folder for a dry run) → record ids,
    versions and outcomes in the ledger, one commit per unit → report.

A transaction the server rejects as a whole is split in halves, recursively, until the failing
record is alone; the rest still land. Records of a record that failed fail too, with that
reason, without being sent. Transient failures are retried by the client; when they persist,
or authentication fails, the job stops early: what was not sent stays pending in the ledger
and the next run sends it (every write is conditional on the business identifier, so resending
is harmless).

HTTP happens in worker threads; the ledger is written only from the calling thread.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import AuthenticationFailed, FhirError
from ..fhir.client import FhirClient
from ..mapping import MapSummary, fewer_collections, map_records
from ..mapping.bundle import WriteStrategy
from ..mapping.export import directory, directory_keys
from ..mapping.identity import (
    ClinicConfig,
    PatientPolicy,
    id_of_identity,
    identifier_token,
    resource_id,
)
from ..model.kinds import DIRECTORY_KINDS, KIND_RANK, RecordKey
from ..model.loader import Export
from . import plan
from .ledger import Failed, Ledger, RecordOutcome, ResourceRef, Synced, Withdrawn
from .plan import Item, Unit, identity_identifier
from .report import Failure, SyncReport
from .sinks import Aborted, Outbox, Outcome, Sender, Sink

logger = logging.getLogger("meso_fhir.sync")

# MRNs looked up in one search under the must-exist patient policy.
MRN_SEARCH_BATCH = 50


Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SyncOptions:
    """How a sync sends; the defaults suit a first try against a test server."""

    strategy: WriteStrategy = "conditional"
    patient_policy: PatientPolicy = "create-if-missing"
    batch_size: int = 250
    concurrency: int = 2
    full: bool = False  # ignore the ledger's "already synced"
    retry_failed: bool = False  # send only what failed (or was left pending) last time
    chunk_records: int = plan.CHUNK_RECORDS  # records mapped and held in memory at once
    # Seconds the job may run (cron): then it sends nothing more, waits for what is in flight,
    # and stops (exit 6); what it did not send stays pending for the next run.
    max_time: float | None = None
    # A Provenance per activity in each transaction (meso-fhir on behalf of the clinic); off for
    # servers that refuse Provenance.
    provenance: bool = True


def _now() -> datetime:
    return datetime.now(UTC)


def sync(
    export: Export,
    client: FhirClient,
    config: ClinicConfig,
    ledger: Ledger | str | os.PathLike[str],
    options: SyncOptions | None = None,
    *,
    now: Callable[[], datetime] = _now,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> SyncReport:
    """Sync ``export`` with the server behind ``client``; returns what happened.

    ``ledger`` is an open ``Ledger`` or the path of its file (opened and closed here). Never
    raises for a record: failures are in the report and the ledger. Raises ``LedgerMismatch``
    before sending anything when the ledger belongs to another server or other identity
    settings, ``LedgerError`` when it cannot be written (what was recorded before stays).
    """
    if not isinstance(ledger, Ledger):
        with Ledger.open(ledger) as opened:
            return sync(
                export, client, config, opened, options, now=now, progress=progress, clock=clock
            )
    options = options or SyncOptions()
    settings = {**config.identity(), "write_strategy": options.strategy}
    ledger.check_binding(client.public_url, settings)  # before anything is written or sent
    report = SyncReport(server=client.public_url)
    for error in export.errors:
        report.fail(Failure.from_input(error))
    hashes = plan.record_hashes(export, config)
    selected, never_sent = _select(export, hashes, options, ledger, client.public_url, report)
    if selected:
        problem = _preflight(client)
        if problem:  # nothing was written: the ledger is not even bound to this URL
            report.aborted = problem
            report.records["pending"] += _records(selected)
            return report
    ledger.bind(client.public_url, settings, now())
    journal = _Journal(ledger, client.public_url, now)
    journal.start(options)
    journal.record(_input_failures(export))
    journal.record([Withdrawn(k, hashes[k], []) for k in sorted(never_sent)])
    lock = threading.Lock()
    everyones = directory_keys(export, config)  # what any record's resources may refer to

    def count_request() -> None:  # called from the worker threads
        with lock:
            report.requests += 1

    def prepare(items: list[Item]) -> tuple[list[Item], dict[str, str]]:
        _find_stale(journal, items)
        known = _known_references(journal, items, config, options.strategy, everyones)
        if options.patient_policy == "must-exist":
            items = _existing_patients(client, config, items, known, journal, report)
        elif options.patient_policy == "create-if-missing":
            items = _leave_withdrawn_patients(items, journal, report)
        return items, known

    sender = Sender(client, options.strategy, count_request, _stamp(options, config, now()))
    started = clock()

    def out_of_time() -> bool:
        return options.max_time is not None and clock() - started >= options.max_time

    with _fewer_collections() as holding:
        done = _run(
            export,
            config,
            selected,
            hashes,
            options,
            sender,
            prepare,
            journal,
            report,
            progress,
            out_of_time,
            holding,
        )
    if report.aborted and _records(selected) > done:
        report.records["pending"] += _records(selected) - done
    journal.finish(report)
    return report


def dry_run(
    export: Export,
    config: ClinicConfig,
    outbox: str | os.PathLike[str],
    options: SyncOptions | None = None,
    *,
    progress: Progress | None = None,
) -> SyncReport:
    """What ``sync`` would send, written to ``outbox`` as numbered bundles; nothing is sent.

    The folder is created if needed; bundles a previous dry run left there are replaced.
    """
    options = options or SyncOptions()
    report = SyncReport(server=None, outbox=str(outbox))
    for error in export.errors:
        report.fail(Failure.from_input(error))
    hashes = plan.record_hashes(export, config)
    sink = Outbox(Path(outbox), options.strategy, _stamp(options, config, _now()))

    # The clinic and its practitioners travel in the first bundle: the later ones refer to them
    # as a server would have them (no ledger: by identifier, or by id with id writes).
    known = {}
    if options.strategy == "conditional":
        known = dict(plan.conditional_reference(k, config) for k in directory_keys(export, config))

    def prepare(items: list[Item]) -> tuple[list[Item], dict[str, str]]:
        if options.patient_policy == "replace":
            return items, known
        # As sync would: a withdrawn patient is not written (the EHR's Patient stays as it is).
        return [i for i in items if not (i.key.kind == "patient" and i.withdrawn)], known

    with _fewer_collections() as holding:
        _run(
            export, config, set(hashes), hashes, options, sink, prepare, None, report, progress,
            _never, holding,
        )  # fmt: skip
    return report


def _records(keys: Iterable[RecordKey]) -> int:
    """How many clinic records: the clinic and its practitioners, which a sync sends and the
    ledger keeps like records, are counted by their resources only, in reports and progress."""
    return sum(1 for key in keys if key.kind not in DIRECTORY_KINDS)


def _stamp(options: SyncOptions, config: ClinicConfig, started: datetime) -> plan.Stamp | None:
    if not options.provenance:
        return None
    return plan.Stamp(started.astimezone(UTC).isoformat(timespec="seconds"), config)


@contextmanager
def _fewer_collections() -> Iterator[Callable[[], AbstractContextManager[None]]]:
    """The collector while a job runs: ``fewer_collections``, the export frozen, and
    ``holding`` to map each chunk in.

    What is alive when the job starts (the export) is frozen (``gc.freeze``): the collector
    skips it until the job ends. Yields ``holding``, for mapping a chunk, which makes no
    cycles: the cycles left so far are collected (a cheap pass, over what is not frozen),
    the block runs without the collector, and what is alive at its end (the chunk) is frozen
    too. Otherwise each collection scanned the growing chunk again (10,000 records: 0.35 s of
    a 3.5 s sync). Reference counting frees frozen objects as ever. A freeze made before the
    job (a server that freezes before it forks) is left as it was, neither joined nor undone,
    and a collector switched off stays off.
    """
    own = gc.get_freeze_count() == 0 and gc.isenabled()

    @contextmanager
    def holding() -> Iterator[None]:
        if not own:
            yield
            return
        gc.collect()
        gc.disable()
        try:
            yield
        finally:
            gc.freeze()
            gc.enable()

    with fewer_collections():
        if own:
            gc.freeze()
        try:
            yield holding
        finally:
            if own:
                gc.unfreeze()


def _never() -> bool:
    return False


def _run(
    export: Export,
    config: ClinicConfig,
    selected: set[RecordKey],
    hashes: dict[RecordKey, str],
    options: SyncOptions,
    sink: Sink,
    prepare: Callable[[list[Item]], tuple[list[Item], dict[str, str]]],
    journal: _Journal | None,
    report: SyncReport,
    progress: Progress | None,
    out_of_time: Callable[[], bool] = _never,
    holding: Callable[[], AbstractContextManager[None]] = nullcontext,
) -> int:
    """Map, pack and send ``selected`` a chunk at a time; returns how many records are done.

    Ctrl-C stops it cleanly: nothing more is sent, and what was in flight stays pending in the
    ledger (its outcome is not recorded), so the next run sends it again, harmlessly.
    """
    total, done = _records(selected), 0
    pool = ThreadPoolExecutor(max_workers=max(1, options.concurrency))
    interrupted = False
    # The clinic and its practitioners, when they changed: sent once, in a bundle of their own,
    # before the first records that go out (every record may refer to them). Not before the
    # patient look-ups: a sync that sends no record writes nothing of the clinic's either.
    shared = {key for key in selected if key.kind in DIRECTORY_KINDS}

    def send_shared() -> dict[str, str]:
        """Send the clinic's bundle; its resources' server ids, to refer to them by."""
        items = plan.items(directory(export, config, shared), export, hashes)
        shared.clear()
        units = plan.pack(prepare(items)[0], options.batch_size, options.provenance)
        dispatch = _dispatch(pool, sink, units, {}, options, journal, report, out_of_time)
        return _server_ids(o for outcomes in dispatch for o in outcomes)

    try:
        # A chunk of patients at a time: memory holds one chunk's resources, not the export's.
        records = selected - shared
        for chunk in plan.chunks(export, records, options.chunk_records):
            if report.aborted:
                break
            with holding():  # the chunk's resources stay until it is sent: frozen
                items = _mapped_items(export, config, chunk, hashes, options, report)
            done += len(chunk) - len(items)  # failed to map
            before = len(items)
            try:
                items, known = prepare(items)
            except FhirError as exc:  # the patient look-up could not be made: stop, as a send would
                report.aborted = str(exc)
                break
            done += before - len(items)
            if shared and items:
                known.update(send_shared())
                if report.aborted:
                    break
            units = plan.pack(items, options.batch_size, options.provenance)
            logger.info(
                "%d record(s) to send in %d unit(s), %d unchanged, %d stale resource(s) to delete",
                len(items), len(units), report.records["unchanged"],
                sum(len(one.retract) for one in items),
            )  # fmt: skip
            dispatch = _dispatch(pool, sink, units, known, options, journal, report, out_of_time)
            for outcomes in dispatch:
                done += len(outcomes)
                if progress:
                    progress(done, total)
        if shared and not records and not report.aborted:  # only the clinic's bundle changed
            send_shared()
    except KeyboardInterrupt:
        interrupted = True
        report.aborted = "interrupted (Ctrl-C)"
    finally:
        # After Ctrl-C, do not wait for requests in flight to record them: they stay pending.
        pool.shutdown(wait=not interrupted, cancel_futures=True)
    return done


def _mapped_items(
    export: Export,
    config: ClinicConfig,
    chunk: set[RecordKey],
    hashes: dict[RecordKey, str],
    options: SyncOptions,
    report: SyncReport,
) -> list[Item]:
    """The chunk's records mapped; a record that fails to map is in the report, not the list."""
    summary = MapSummary()
    items = plan.items(map_records(export, config, summary, only=chunk), export, hashes)
    if options.patient_policy == "create-if-missing":
        for one in items:
            one.create_only = one.key.kind == "patient"
    for error in summary.errors[len(export.errors) :]:  # failed to map
        report.fail(Failure("mapping", error.kind, error.source_id or "", str(error)))
    return items


def _server_ids(outcomes: Iterable[Outcome]) -> dict[str, str]:
    """``Type/<deterministic id>`` → ``Type/<server id>`` of what the outcomes wrote."""
    written: dict[str, str] = {}
    for one in outcomes:
        for resource, result in zip(one.item.resources, one.results, strict=False):
            if result.id:
                kind = resource["resourceType"]
                written[f"{kind}/{resource['id']}"] = f"{kind}/{result.id}"
    return written


def _dispatch(
    pool: ThreadPoolExecutor,
    sink: Sink,
    units: list[Unit],
    known: dict[str, str],
    options: SyncOptions,
    journal: _Journal | None,
    report: SyncReport,
    out_of_time: Callable[[], bool],
) -> Iterator[list[Outcome]]:
    """Send units with ``concurrency`` in flight; record each one's outcomes as it completes."""
    pending: dict[Future[list[Outcome]], Unit] = {}
    queue = list(reversed(units))
    while queue or pending:
        if queue and not report.aborted and out_of_time():
            report.aborted = f"the time limit of {options.max_time:g} s was reached (--max-time)"
        while queue and len(pending) < options.concurrency and not report.aborted:
            unit = queue.pop()
            if journal:
                journal.pending([one.key for bundle in unit for one in bundle])
            report.bundles += len(unit)
            pending[pool.submit(sink.send, unit, dict(known))] = unit
        if not pending:
            break
        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in finished:
            pending.pop(future)
            try:
                outcomes = future.result()
            except Aborted as aborted:
                outcomes = aborted.outcomes
                report.aborted = report.aborted or aborted.reason
            rows = _apply(outcomes, report)
            if journal:
                journal.record(rows)
            yield outcomes


def _apply(outcomes: list[Outcome], report: SyncReport) -> list[RecordOutcome]:
    """Count outcomes into the report; the ledger rows that record them."""
    rows: list[RecordOutcome] = []
    for outcome in outcomes:
        one = outcome.item
        if outcome.failure is not None:
            failure = outcome.failure
            # Keys and status only: the server's text can quote the record's values (PHI).
            logger.info("%s %r failed (status %s)", *one.key, failure.status)
            rows.append(Failed(one.key, one.content_hash, failure.reason, _details(failure)))
            report.fail(failure)
            for resource in one.resources:
                report.resources[resource["resourceType"]]["failed"] += 1
            continue
        if outcome.status == "written":
            report.records["written"] += one.key.kind not in DIRECTORY_KINDS  # as in _select
            continue
        refs = []
        for resource, result in zip(one.resources, outcome.results, strict=True):
            refs.append(
                ResourceRef(
                    resource["resourceType"],
                    identity_identifier(resource),
                    result.id,
                    result.version_id,
                )
            )
            report.resources[resource["resourceType"]][_counted_as(one, result.status)] += 1
        for ref in one.retract:
            report.resources[ref.resource_type]["deleted"] += 1
        rows.append((Withdrawn if one.withdrawn else Synced)(one.key, one.content_hash, refs))
        if one.key.kind not in DIRECTORY_KINDS:  # as in _select
            report.records["withdrawn" if one.withdrawn else "synced"] += 1
    return rows


def _counted_as(one: Item, status: int) -> str:
    if status == 201:
        return "created"
    # A conditional create that found the resource (the EHR's Patient) did not change it.
    return "existing" if one.create_only else "updated"


def _details(failure: Failure) -> dict[str, Any] | None:
    if failure.stage != "server":
        return None
    details: dict[str, Any] = {"status": failure.status}
    if failure.at:
        details["at"] = list(failure.at)
    return details


class _Journal:
    """The run's ledger, bound to the server and the run: what the job reads and writes."""

    def __init__(self, ledger: Ledger, server_url: str, now: Callable[[], datetime]) -> None:
        self.ledger = ledger
        self.server_url = server_url
        self.now = now
        self.run_id = 0

    def start(self, options: SyncOptions) -> None:
        self.run_id = self.ledger.start_run(
            self.now(),
            self.server_url,
            {
                "strategy": options.strategy,
                "patient_policy": options.patient_policy,
                "batch_size": options.batch_size,
                "concurrency": options.concurrency,
                "full": options.full,
                "retry_failed": options.retry_failed,
            },
        )

    def pending(self, keys: list[RecordKey]) -> None:
        self.ledger.mark_pending(keys, self.run_id, self.now())

    def record(self, rows: list[RecordOutcome]) -> None:
        self.ledger.record_outcomes(rows, self.run_id, self.now())
        if rows:
            failed = sum(isinstance(row, Failed) for row in rows)
            logger.info("recorded %d record outcome(s), %d failed", len(rows), failed)

    def finish(self, report: SyncReport) -> None:
        counts = report.as_dict()["records"]
        self.ledger.finish_run(self.run_id, self.now(), counts, int(report.exit_code))


def _input_failures(export: Export) -> list[RecordOutcome]:
    """Ledger rows for the records the input refused, one per record with all its problems."""
    by_key: dict[RecordKey, list[str]] = defaultdict(list)
    for error in export.errors:
        if error.source_id is not None and error.kind in KIND_RANK:
            by_key[RecordKey(error.kind, error.source_id)].append(f"{error.field}: {error.message}")
    return [
        Failed(
            key,
            hashlib.sha256("\n".join(msgs).encode()).hexdigest(),
            "invalid input: " + "; ".join(msgs),
        )
        for key, msgs in by_key.items()
    ]


def _select(
    export: Export,
    hashes: dict[RecordKey, str],
    options: SyncOptions,
    ledger: Ledger,
    server_url: str,
    report: SyncReport,
) -> tuple[set[RecordKey], set[RecordKey]]:
    """The records to map and send, and the withdrawn ones never sent (nothing to withdraw).

    Not those the ledger says are already on the server. Reads the ledger, writes nothing.
    """
    keys = set(hashes)
    if options.retry_failed:
        keys &= set(ledger.failed_keys()) | set(ledger.pending_keys())
    unchanged: set[RecordKey] = set()
    if not options.full:
        unchanged = ledger.unchanged({k: hashes[k] for k in keys}, server_url)
    # The clinic and its practitioners are not clinic records: counted as resources only.
    report.records["unchanged"] += _records(unchanged)
    for resource_type, count in ledger.resource_types(unchanged, server_url).items():
        report.resources[resource_type]["unchanged"] += count
    keys -= unchanged
    # A withdrawn record never sent has nothing on the server to withdraw: only note it.
    never_sent: set[RecordKey] = set()
    if not options.full:
        never_sent = {
            k
            for k in keys
            if k.kind not in DIRECTORY_KINDS and export.is_withdrawn(k) and ledger.record(k) is None
        }
    if never_sent:
        report.records["withdrawn"] += len(never_sent)
    return keys - never_sent, never_sent


def _preflight(client: FhirClient) -> str | None:
    """One request before the first write: is this a FHIR R4 server? The problem, if not.

    A wrong base URL (the server's root, not its /fhir) used to be bisected as a rejected
    transaction: dozens of requests and every record failed. Now it stops the job untouched.
    """
    try:
        version = client.fhir_version() or ""
    except AuthenticationFailed as exc:  # a token endpoint refused us, or the server did
        return f"credentials refused: {exc}"
    except FhirError as exc:
        return f"{client.public_url} does not answer as a FHIR server (GET metadata: {exc})"
    if not version.startswith("4.0"):
        stated = f"FHIR {version}" if version else "no FHIR version"
        return f"{client.public_url} states {stated}; meso-fhir sends FHIR R4 (4.0.x)"
    return None


def _find_stale(journal: _Journal, items: list[Item]) -> None:
    """Set each record's ``retract``, what the ledger says it has on this server and its
    mapping no longer produces, and ``on_server``. ``--full`` changes nothing here: the lists
    are still read."""
    previous_of = journal.ledger.resources_of([one.key for one in items], journal.server_url)
    for one in items:
        previous = previous_of[one.key]
        one.retract = plan.stale(previous, one.resources)
        one.on_server = bool(previous)


def _known_references(
    journal: _Journal,
    items: list[Item],
    config: ClinicConfig,
    strategy: WriteStrategy,
    shared: list[RecordKey],
) -> dict[str, str]:
    """How to refer to records that are referred to but not sent now (synced earlier).

    Their server ids, from the ledger. With conditional writes, a target the ledger does not
    know (a new ledger against a server that has the data) becomes a conditional reference,
    ``Type?identifier=system|value``, which the server resolves in the transaction; with id
    writes, ``Type/<deterministic id>`` is right as it is. The clinic and its practitioners
    (``shared``, sent first) may be referred to by any record.
    """
    sending = {one.key for one in items}
    needed = {d for one in items for d in one.depends_on if d not in sending}
    needed.update(key for key in shared if key not in sending)
    known: dict[str, str] = {}
    for key, resources in journal.ledger.resources_of(needed, journal.server_url).items():
        refs = [r for r in resources if r.server_id]
        for ref in refs:
            system, _, value = ref.identifier.partition("|")
            local = f"{ref.resource_type}/{id_of_identity(system, value)}"
            known[local] = f"{ref.resource_type}/{ref.server_id}"
        if not refs and strategy == "conditional":
            local, conditional = plan.conditional_reference(key, config)
            known[local] = conditional
    return known


def _leave_withdrawn_patients(
    items: list[Item], journal: _Journal, report: SyncReport
) -> list[Item]:
    """A patient withdrawn at the clinic leaves the EHR's Patient as it is: the hospital owns it.

    Only ``replace`` may write a Patient with an existing MRN, so only it withdraws one.
    """
    rows: list[RecordOutcome] = []
    kept = []
    for one in items:
        if one.key.kind == "patient" and one.withdrawn:
            known = journal.ledger.resources(one.key, journal.server_url)
            rows.append(Withdrawn(one.key, one.content_hash, known))
            report.records["withdrawn"] += 1
            report.resources["Patient"]["left as it is"] += 1
        else:
            kept.append(one)
    journal.record(rows)
    return kept


def _existing_patients(
    client: FhirClient,
    config: ClinicConfig,
    items: list[Item],
    known: dict[str, str],
    journal: _Journal,
    report: SyncReport,
) -> list[Item]:
    """Must-exist policy: find each patient by MRN, never write one; unknown → records fail."""
    # Patients whose record is unchanged are known to the ledger already (_known_references).
    patients = {one.key.source_id: one for one in items if one.key.kind == "patient"}
    matches = _patients_by_mrn(client, patients, report)
    missing: set[str] = set()
    rows: list[RecordOutcome] = []
    for patient_id, one in sorted(patients.items()):
        found_ids = sorted(matches.get(patient_id, ()))
        if len(found_ids) == 1:
            local = f"Patient/{resource_id(config.system('patient'), patient_id)}"
            known[local] = f"Patient/{found_ids[0]}"
            ref = ResourceRef("Patient", identity_identifier(one.resources[0]), found_ids[0], None)
            rows.append(Synced(one.key, one.content_hash, [ref]))
            report.records["matched"] += 1
            continue
        missing.add(patient_id)
        reason = (
            "no Patient with this MRN on the server"
            if not found_ids
            else "several Patients have this MRN on the server"
        )
        failure = Failure("patient", *one.key, f"{reason} (patient policy must-exist)")
        rows.append(Failed(one.key, one.content_hash, failure.reason))
        report.fail(failure)
    kept = []
    for one in items:
        if one.key.kind == "patient":
            continue
        if one.patient_id not in missing:
            kept.append(one)
            continue
        reason = (
            f"not sent: patient {one.patient_id!r} is not on the server (patient policy must-exist)"
        )
        rows.append(Failed(one.key, one.content_hash, reason))
        report.fail(Failure("patient", *one.key, reason))
    journal.record(rows)
    return kept


def _patients_by_mrn(
    client: FhirClient, patients: dict[str, Item], report: SyncReport
) -> dict[str, set[str]]:
    """Clinic patient id → ids of the server's Patients carrying that patient's MRN."""
    by_mrn: dict[tuple[str, str], str] = {}
    for patient_id, one in patients.items():
        mrn = one.resources[0]["identifier"][0]
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
    return matches
