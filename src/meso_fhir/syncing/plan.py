"""Deciding what a sync sends, and in which bundles: pure, testable without a server.

    hash every valid record → (the job asks the ledger which hashes are on the server) →
    chunk the rest by patient → map a chunk → one ``Item`` per record (with what the ledger
    lists for it that it no longer produces: ``stale``) → pack items into units of work, each
    a chain of bundles of at most ``batch_size`` entries.

Nothing here does I/O or reads a clock.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..mapping import MAPPING_VERSION, Mapped
from ..mapping.bundle import BY_ID_ONLY, WriteStrategy, conditional_url, transaction
from ..mapping.export import directory_keys
from ..mapping.identity import (
    ClinicConfig,
    full_url,
    id_of_identity,
    identifier_token,
    identifiers,
    resource_id,
)
from ..mapping.provenance import ACTIVITIES, provenance
from ..model.kinds import DIRECTORY_KINDS, KIND_RANK, RecordKey
from ..model.loader import Export

if TYPE_CHECKING:  # only the type: this module stays free of the ledger's SQLite
    from .ledger import ResourceRef

# Records mapped and held in memory at once (whole patients, so it can be a little more).
# Measured: a sync's peak RSS is 204 MiB for 15,000 records and 253 MiB for 60,000 (at 20,000 it
# was 282 and 626 MiB); a chunk is still ~60 bundles, plenty to keep the workers busy.
CHUNK_RECORDS = 5_000


@dataclass
class Item:
    """One record on its way: its resources, their hash, the records it refers to."""

    key: RecordKey
    resources: list[dict[str, Any]]
    content_hash: str
    depends_on: list[RecordKey]
    withdrawn: bool
    patient_id: str
    # Written as a conditional create (the EHR's Patient, if it has one, is left as it is).
    create_only: bool = False
    # What the record put on the server before and no longer produces (``stale``): deleted in
    # the record's own transaction.
    retract: list[ResourceRef] = field(default_factory=list)
    # The ledger lists resources of it on this server (the job says so; a dry run has none).
    on_server: bool = False

    @property
    def activity(self) -> str:
        """What sending it does, for its Provenance."""
        return "nullify" if self.withdrawn else "update" if self.on_server else "create"


@dataclass(frozen=True)
class Stamp:
    """What each transaction's Provenance needs besides its records: when, and for whom."""

    recorded: str  # the run's start, a FHIR instant
    config: ClinicConfig


# A unit of work: a chain of bundles sent one after the other; units are independent.
Unit = list[list[Item]]


def mapping_fingerprint(config: ClinicConfig) -> str:
    """What besides a record's own content decides its resources.

    The mapping version and the clinic's settings: a change to either resends every record on
    the next sync (harmless: every write is conditional). Editing the code without changing
    the output (a comment, a refactoring) resends nothing.
    """
    settings = (MAPPING_VERSION, config.mrn_system, config.identifier_base, config.timezone)
    return hashlib.sha256(repr(settings).encode()).hexdigest()


def record_hashes(export: Export, config: ClinicConfig) -> dict[RecordKey, str]:
    """Content hash per valid record, from the record as read: unchanged records need no mapping.

    A session also hashes its course's indication, which its Procedure carries; a reaction
    observation its session's injections, which its adverse event and allergies name.
    """
    fingerprint = mapping_fingerprint(config)
    hashes = {
        key: hashlib.sha256(
            f"{fingerprint}|{_described(key, export, config)!r}".encode()
        ).hexdigest()
        for key in directory_keys(export, config)
    }
    for key, digest in export.digests().items():
        extra = ""
        if key.kind == "session":
            course = next(ref for ref in export.references(key) if ref.kind == "course")
            extra = export.course_indication(course.source_id) or ""
        elif export.names_injections(key):
            session = next(ref for ref in export.references(key) if ref.kind == "session")
            extra = repr(export.session_given(session.source_id))
        hashes[key] = hashlib.sha256(f"{fingerprint}|{digest.hex()}|{extra}".encode()).hexdigest()
    return hashes


def _described(key: RecordKey, export: Export, config: ClinicConfig) -> object:
    """What the clinic's or a practitioner's resource is made of, besides the settings."""
    return config.clinic_name if key.kind == "clinic" else export.practitioners[key.source_id]


def items(mapped: Iterable[Mapped], export: Export, hashes: dict[RecordKey, str]) -> list[Item]:
    """An ``Item`` per mapped record, with its content hash."""
    return [item(m, export, hashes[RecordKey(m.kind, m.source_id)]) for m in mapped]


def item(mapped: Mapped, export: Export, content_hash: str) -> Item:
    key = RecordKey(mapped.kind, mapped.source_id)
    if key.kind in DIRECTORY_KINDS:  # refers to nothing, belongs to no patient
        return Item(key, mapped.resources, content_hash, [], False, "")
    depends = export.references(key)
    patient = next((ref.source_id for ref in depends if ref.kind == "patient"), mapped.source_id)
    return Item(key, mapped.resources, content_hash, depends, export.is_withdrawn(key), patient)


def bundle(
    items: list[Item],
    strategy: WriteStrategy,
    known: dict[str, str],
    stamp: Stamp | None = None,
    *,
    serialised: bool = False,
) -> dict[str, Any]:
    """The transaction Bundle of ``items``, references to others resolved through ``known``;
    with a ``stamp``, a Provenance per activity of the items. ``serialised``: the resources
    as JSON text, to send (see ``transaction``)."""
    resources = [r for one in items for r in one.resources]
    create_only = {
        f"{r['resourceType']}/{r['id']}" for one in items if one.create_only for r in one.resources
    }
    result = transaction(resources, strategy, known, create_only, serialised=serialised)
    # After every resource entry: the sink reads the response by position, resources first,
    # then the deletes; the Provenance entries come last and their answers are not needed.
    result["entry"].extend(retraction(ref) for one in items for ref in one.retract)
    if stamp is not None:
        result["entry"].extend(provenance_entries(items, stamp))
    return result


def provenance_entries(items: list[Item], stamp: Stamp) -> list[dict[str, Any]]:
    """A ``PUT Provenance/<id>`` per activity: its targets, the resources of those records.

    A Patient written as a conditional create is left out: it may be the EHR's own Patient,
    which this transaction neither created nor changed.
    """
    entries = []
    for activity in ACTIVITIES:
        mine = [i for i in items if i.activity == activity and i.resources and not i.create_only]
        if not mine:
            continue
        targets = [r for one in mine for r in one.resources]
        sources = [one.key for one in mine]
        body = provenance(activity, targets, sources, stamp.recorded, stamp.config)
        # By its deterministic id, like AdverseEvent (Provenance has no identifier search): a
        # replay after a dropped connection writes the same Provenance again, not a second one.
        reference = f"Provenance/{body['id']}"
        entries.append(
            {
                "fullUrl": full_url(reference),
                "resource": body,
                "request": {"method": "PUT", "url": reference},
            }
        )
    return entries


def stale(previous: Iterable[ResourceRef], resources: list[dict[str, Any]]) -> list[ResourceRef]:
    """What a record owned on the server (``previous``, from the ledger) that its mapping now,
    ``resources``, no longer produces: a medicine dropped from a screening, an injection from
    a session, an injection's laterality (its BodyStructure).

    Compared by type and identity identifier, not the identifier alone: one system serves
    every resource type of a record kind, so a value need not be unique across types.
    """
    previous = list(previous)
    if not previous:  # a record new to this server (most of a first sync): nothing is stale
        return []
    current = {(r["resourceType"], identity_identifier(r)) for r in resources}
    return [ref for ref in previous if (ref.resource_type, ref.identifier) not in current]


def retraction(ref: ResourceRef) -> dict[str, Any]:
    """The transaction entry that deletes a stale resource: ``DELETE Type?identifier=s|v``.

    Conditional on the identifier, as every write is, rather than ``Type/<server id>``: a
    delete of nothing succeeds on HAPI and on Medplum's router alike, while a second delete by
    id is 410 Gone on the latter, failing the whole transaction, so a record resent after a
    run was killed between the server applying it and the ledger recording it would fail for
    good. It needs no server id either (a response may not have said one).
    """
    system, _, value = ref.identifier.partition("|")
    if ref.resource_type in BY_ID_ONLY:
        # No identifier search exists for these (they are written by id): delete by id.
        target_id = ref.server_id or id_of_identity(system, value)
        return {"request": {"method": "DELETE", "url": f"{ref.resource_type}/{target_id}"}}
    target = {"resourceType": ref.resource_type, "identifier": [{"system": system, "value": value}]}
    return {"request": {"method": "DELETE", "url": conditional_url(target)}}


def chunks(export: Export, keys: set[RecordKey], size: int) -> Iterator[set[RecordKey]]:
    """``keys`` (clinic records) in chunks of about ``size`` records, never splitting a
    patient's records."""
    by_patient: dict[str, list[RecordKey]] = defaultdict(list)
    for key in keys:
        by_patient[export.patient_of(key)].append(key)
    chunk: set[RecordKey] = set()
    for records in by_patient.values():
        chunk.update(records)
        if len(chunk) >= size:
            yield chunk
            chunk = set()
    if chunk:
        yield chunk


def pack(items: list[Item], batch_size: int, provenance: bool = False) -> list[Unit]:
    """Units of work: each a chain of bundles sent in order; units are independent.

    A patient's records stay together (parents first) so references resolve inside one
    bundle; small patients share a bundle; a patient larger than ``batch_size`` becomes a chain
    of bundles, sent one after the other so each can refer to what the previous one created.
    With ``provenance``, a bundle's Provenance entries (one per activity) count too.
    """
    by_patient: dict[str, list[Item]] = defaultdict(list)
    for one in items:
        by_patient[one.patient_id].append(one)
    units: list[Unit] = []
    current = _Bundle(provenance)
    for group in by_patient.values():
        group.sort(key=lambda i: KIND_RANK[i.key.kind])
        if _Bundle(provenance).with_(group) > batch_size:
            units.append(_chain(group, batch_size, provenance))
            continue
        if current.items and current.with_(group) > batch_size:
            units.append([current.items])
            current = _Bundle(provenance)
        current.add(group)
    if current.items:
        units.append([current.items])
    return units


class _Bundle:
    """Items packed so far into one bundle, and how many entries that bundle will have."""

    def __init__(self, provenance: bool) -> None:
        self.items: list[Item] = []
        self.resources = 0
        self.activities: set[str] = set()
        self.provenance = provenance

    def with_(self, more: list[Item]) -> int:
        """Entries of the bundle with ``more`` added."""
        activities = self.activities | {i.activity for i in more} if self.provenance else set()
        return self.resources + sum(len(i.resources) for i in more) + len(activities)

    def add(self, more: list[Item]) -> None:
        self.items.extend(more)
        self.resources += sum(len(i.resources) for i in more)
        self.activities.update(i.activity for i in more)


def _chain(group: list[Item], batch_size: int, provenance: bool) -> Unit:
    chain: Unit = []
    current = _Bundle(provenance)
    for one in group:
        if current.items and current.with_([one]) > batch_size:
            chain.append(current.items)
            current = _Bundle(provenance)
        current.add([one])
    chain.append(current.items)
    return chain


# The resource other records' resources refer to, per kind of record referred to:
# (resource type, identifier system kind, identifier value from the record id).
_REFERRED: dict[str, tuple[str, str, str]] = {
    "clinic": ("Organization", "clinic", "{}"),  # the identifier base, as a URI
    "practitioner": ("Practitioner", "practitioner", "{}"),
    "patient": ("Patient", "patient", "{}"),
    "screening": ("Observation", "screening", "{}/eligibility"),
    "course": ("CarePlan", "course", "{}"),
    "session": ("Procedure", "session", "{}"),
}


def conditional_reference(key: RecordKey, config: ClinicConfig) -> tuple[str, str]:
    """(``Type/<deterministic id>``, ``Type?identifier=system|value``) of what refers to ``key``.

    For a target the server has but the ledger does not know: the server resolves the
    conditional reference inside the transaction.
    """
    resource_type, kind, template = _REFERRED[key.kind]
    system, value = config.system(kind), template.format(key.source_id)
    local = f"{resource_type}/{resource_id(system, value)}"
    return local, f"{resource_type}?identifier={identifier_token(system, value)}"


def identity_identifier(resource: dict[str, Any]) -> str:
    """``system|value`` of the identifier the resource's deterministic id derives from.

    The first identifier, except for the Patient, whose id derives from the clinic's patient
    id (its second identifier) while its first is the EHR's MRN. A Binary has no identifier:
    it is known by its id, as ``|<id>`` (``id_of_identity``).
    """
    found = identifiers(resource)
    if not found:
        return f"|{resource['id']}"
    identifier = found[1 if resource["resourceType"] == "Patient" else 0]
    return f"{identifier['system']}|{identifier['value']}"
