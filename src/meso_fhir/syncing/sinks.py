"""Where a sync's bundles go: a FHIR server (``Sender``) or a folder (``Outbox``, the dry run).

Both take one unit of work (a chain of bundles) and return one ``Outcome`` per record; the job
does not know which it has. Sinks run in worker threads and never touch the ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import orjson

from ..errors import (
    AuthenticationFailed,
    FhirError,
    MalformedResponse,
    RequestRejected,
    VersionConflict,
)
from ..fhir.client import FhirClient
from ..fhir.outcome import EntryResult, operation_outcome_text
from ..mapping.bundle import WriteStrategy
from ..model.kinds import RecordKey
from .plan import Item, Stamp, Unit, bundle
from .report import Failure

# A POST of a transaction to the base answered "no such endpoint", "method not allowed" or
# "unsupported media type": the URL or the server is wrong, not any record in the bundle.
ENDPOINT_REFUSED = frozenset({404, 405, 415})

# A delete answered "not found" or "gone": what it was to achieve is already so.
GONE = frozenset({404, 410})


def _endpoint_refused(exc: FhirError) -> bool:
    # HAPI answers 404 with an OperationOutcome (HAPI-1091) when a conditional reference in
    # the bundle matches nothing: that is a record's fault, and bisection finds it.
    return exc.status in ENDPOINT_REFUSED and not (exc.status == 404 and exc.issues)


@dataclass
class Outcome:
    """What became of one record: sent (with a result per resource), written, or failed."""

    item: Item
    status: Literal["sent", "written", "failed"]
    results: list[EntryResult] = field(default_factory=list)
    failure: Failure | None = None


class Aborted(Exception):
    """Nothing more will get through (the server is down, or refused our credentials)."""

    def __init__(self, reason: str, outcomes: list[Outcome]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.outcomes = outcomes


class Sink(Protocol):
    def send(self, unit: Unit, known: dict[str, str]) -> list[Outcome]:
        """Send a unit; ``known`` maps ``Type/<id>`` of records not in it to what to say instead.

        Raises ``Aborted`` (with the outcomes so far) when the job must stop.
        """
        ...


class Sender:
    """Sends units to a FHIR server and isolates failing records by splitting bundles."""

    def __init__(
        self,
        client: FhirClient,
        strategy: WriteStrategy,
        count_request: Callable[[], None],
        stamp: Stamp | None = None,
    ) -> None:
        self.client = client
        self.strategy = strategy
        self.count_request = count_request
        self.stamp = stamp  # None: no Provenance

    def send(self, unit: Unit, known: dict[str, str]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        failed: set[RecordKey] = set()
        try:
            for bundle_items in unit:
                outcomes.extend(self._send(bundle_items, known, failed))
        except FhirError as exc:
            # Temporary failures the client gave up on, refused credentials, or a request that
            # could not be sent at all: nothing more will get through; stop the job.
            raise Aborted(str(exc), outcomes) from exc
        return outcomes

    def _send(
        self, items: list[Item], known: dict[str, str], failed: set[RecordKey]
    ) -> list[Outcome]:
        outcomes, sendable = _blocked(items, failed)
        if not sendable:
            return outcomes
        transaction = bundle(sendable, self.strategy, known, self.stamp, serialised=True)
        try:
            results = self._transaction(transaction, len(transaction["entry"]))
        except MalformedResponse as exc:
            # Not the records' fault (a proxy page, a cut body): fail them all, don't bisect.
            # The server may have applied the bundle; the next run resends, harmlessly.
            failed.update(one.key for one in sendable)
            return [*outcomes, *(_failure(one, exc) for one in sendable)]
        except AuthenticationFailed:
            raise  # the job's fault, not the records': stop (send turns it into Aborted)
        except RequestRejected as exc:
            if _endpoint_refused(exc):
                raise  # the transaction endpoint itself said no: no record is to blame
            if len(sendable) == 1:
                failed.add(sendable[0].key)
                return [*outcomes, _failure(sendable[0], exc)]
            half = len(sendable) // 2
            # Parents come first, so the first half never needs the second.
            outcomes.extend(self._send(sendable[:half], known, failed))
            outcomes.extend(self._send(sendable[half:], known, failed))
            return outcomes
        # The bundle holds every item's resources first, then every item's retractions.
        position, deletes = 0, sum(len(one.resources) for one in sendable)
        for one in sendable:
            mine = results[position : position + len(one.resources)]
            position += len(one.resources)
            answers = zip(one.retract, results[deletes : deletes + len(one.retract)], strict=True)
            deletes += len(one.retract)
            refused = next(((s, r) for s, r in answers if not (r.ok or r.status in GONE)), None)
            if refused is not None:
                # Not deleted: fail the record, so that the ledger keeps the stale resource
                # and the next run deletes it again.
                stale, result = refused
                failed.add(one.key)
                text = operation_outcome_text(result.issues) or f"{stale.resource_type} not deleted"
                failure = Failure("server", *one.key, text, status=result.status)
                outcomes.append(Outcome(one, "failed", failure=failure))
                continue
            for resource, result in zip(one.resources, mine, strict=True):
                if result.id:
                    known[f"{resource['resourceType']}/{resource['id']}"] = (
                        f"{resource['resourceType']}/{result.id}"
                    )
            outcomes.append(Outcome(one, "sent", mine))
        return outcomes

    def _transaction(self, bundle: dict[str, object], sent: int) -> list[EntryResult]:
        self.count_request()
        try:
            results = self.client.transaction_results(bundle)
        except VersionConflict:
            # HAPI reports concurrent-update races as 409: one more try, then it is a failure.
            self.count_request()
            results = self.client.transaction_results(bundle)
        if len(results) != sent:
            results = _fanned_out(bundle, results, sent, urlsplit(self.client.public_url).path)
        return results


class Outbox:
    """The dry run: writes each bundle to ``folder/bundle-NNNNN.json``, numbered in order."""

    def __init__(self, folder: Path, strategy: WriteStrategy, stamp: Stamp | None = None) -> None:
        self.folder = folder
        self.strategy = strategy
        self.stamp = stamp
        self.written = 0
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("bundle-*.json"):
            old.unlink()

    def send(self, unit: Unit, known: dict[str, str]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for bundle_items in unit:
            self.written += 1
            (self.folder / f"bundle-{self.written:05d}.json").write_bytes(
                orjson.dumps(
                    bundle(bundle_items, self.strategy, known, self.stamp),
                    option=orjson.OPT_INDENT_2,
                )
            )
            outcomes.extend(Outcome(one, "written") for one in bundle_items)
        return outcomes


def _blocked(items: list[Item], failed: set[RecordKey]) -> tuple[list[Outcome], list[Item]]:
    """Items that depend on a failed record fail unsent; the others are returned to send."""
    outcomes: list[Outcome] = []
    sendable = []
    for one in items:
        blocker = next((d for d in one.depends_on if d in failed), None)
        if blocker is None:
            sendable.append(one)
            continue
        failed.add(one.key)
        reason = f"not sent: depends on {blocker.kind} {blocker.source_id!r}, which failed"
        failure = Failure("dependency", *one.key, reason)
        outcomes.append(Outcome(one, "failed", failure=failure))
    return outcomes, sendable


def _failure(one: Item, exc: FhirError) -> Outcome:
    issues = exc.issues
    text = operation_outcome_text(issues) if issues else str(exc)
    at = tuple(e for issue in issues for e in (issue.get("expression") or []))
    failure = Failure("server", *one.key, text, status=exc.status, at=at)
    return Outcome(one, "failed", failure=failure)


def _fanned_out(
    bundle: Mapping[str, Any], results: list[EntryResult], sent: int, path: str | None = None
) -> list[EntryResult]:
    """One result per entry sent, from a response that merged entries.

    HAPI merges the entries of a transaction that write through one conditional URL (the same
    method, URL and ``ifNoneExist``) and answers once for them, in the order of their first
    occurrence. Each merged entry gets that one answer; any other shortfall is malformed.
    """
    keys: list[object] = []
    for index, entry in enumerate(bundle["entry"]):  # the bundle this sink built
        request = entry["request"]
        url, if_none_exist = request["url"], request.get("ifNoneExist")
        conditional = "?" in url or bool(if_none_exist)
        keys.append((request["method"], url, if_none_exist) if conditional else index)
    first: dict[object, int] = {}
    for key in keys:
        first.setdefault(key, len(first))
    if len(keys) != sent or len(first) != len(results):
        raise MalformedResponse(
            f"transaction-response has {len(results)} entries for {sent} sent",
            method="POST",
            path=path,
        )
    return [results[first[key]] for key in keys]
