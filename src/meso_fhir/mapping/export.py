"""A whole export → mapped records → one bundle file: the library behind ``meso-fhir map``.

``write_bundle`` is the mapping layer's only I/O: it writes the file it is given, atomically.
"""

from __future__ import annotations

import gc
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..model.kinds import RecordKey
from ..model.loader import Export
from ..model.records import Session, SessionObservation
from .bundle import WriteStrategy, entry_json
from .identity import ClinicConfig, PatientPolicy
from .resources import Mapped, map_clinic, map_practitioner, map_record


@dataclass
class MapSummary:
    """What a map run did: counts for the report, and every input problem."""

    records_read: dict[str, int] = field(default_factory=dict)
    records_mapped: Counter[str] = field(default_factory=Counter)
    resources: Counter[str] = field(default_factory=Counter)
    errors: list[InputError] = field(default_factory=list)

    @property
    def records_failed(self) -> int:
        named = {(e.kind, e.source_id) for e in self.errors if e.source_id is not None}
        return len(named) + sum(1 for e in self.errors if e.source_id is None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "records_read": dict(sorted(self.records_read.items())),
            "records_mapped": dict(sorted(self.records_mapped.items())),
            "records_failed": self.records_failed,
            "resources": dict(sorted(self.resources.items())),
            "errors": [e.as_dict() for e in self.errors],
        }


# Allocations between two youngest-generation collections while a large job runs (CPython's
# default: 700). A map or a sync holds the export's index and a mapped chunk, a million objects,
# none in a cycle, and allocates as many while it builds bundles; at the default, the older
# generations holding them were scanned again and again, in vain: a third of a sync's CPU
# (5,000 records: 1.6 s of 4.7 s in the collector, 0.07 s with this). Nothing mapped is cyclic:
# reference counting frees it, so memory is not held longer.
GC_THRESHOLD = 50_000


@contextmanager
def fewer_collections() -> Iterator[None]:
    """The cyclic garbage collector at ``GC_THRESHOLD`` while a job runs, as it was after."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], GC_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def map_records(
    export: Export,
    config: ClinicConfig,
    summary: MapSummary | None = None,
    *,
    only: set[RecordKey] | None = None,
) -> Iterator[Mapped]:
    """Map every valid record of ``export`` (or those in ``only``); never raises for a record.

    Counts, the export's input errors and any record that fails to map go into ``summary``.
    """
    summary = summary if summary is not None else MapSummary()
    summary.records_read = dict(export.counts)
    summary.errors.extend(export.errors)
    for mapped in directory(export, config, only):  # not records read: counted as resources only
        summary.resources[mapped.resources[0]["resourceType"]] += 1
        yield mapped
    for record in export.records(only):
        indication = (
            export.course_indication(record.course_id) if isinstance(record, Session) else None
        )
        given = (
            export.session_given(record.session_id)
            if isinstance(record, SessionObservation)
            else ()
        )
        try:
            photos = export.session_photos(record) if isinstance(record, Session) else None
            mapped = map_record(record, config, indication, given, photos)
        except InputError as exc:  # a photo file changed since the export was checked
            summary.errors.append(exc)
            continue
        except (KeyError, ValueError) as exc:  # a gap between input checks and mapping: record it
            summary.errors.append(InputError(record.kind, record.id, "(mapping)", str(exc)))
            continue
        summary.records_mapped[record.kind] += 1
        for resource in mapped.resources:
            summary.resources[resource["resourceType"]] += 1
        yield mapped


def directory_keys(export: Export, config: ClinicConfig) -> list[RecordKey]:
    """The clinic (when the export has a valid record, each visit refers to it) and the
    practitioners the sessions name: what every patient's records may refer to."""
    clinic = [RecordKey("clinic", config.identifier_base)] if export.has_valid_records else []
    return clinic + [RecordKey("practitioner", pid) for pid in export.practitioners]


def directory(
    export: Export, config: ClinicConfig, only: set[RecordKey] | None = None
) -> Iterator[Mapped]:
    """The clinic's Organization and its Practitioners (those among ``only``, if given)."""
    for key in directory_keys(export, config):
        if only is not None and key not in only:
            continue
        if key.kind == "clinic":
            yield Mapped(key.kind, key.source_id, [map_clinic(config)])
        else:
            practitioner = export.practitioners[key.source_id]
            yield Mapped(key.kind, key.source_id, [map_practitioner(practitioner, config)])


def write_bundle(
    path: str | os.PathLike[str],
    records: Iterator[Mapped],
    strategy: WriteStrategy = "conditional",
    patient_policy: PatientPolicy = "create-if-missing",
) -> None:
    """Stream one transaction Bundle to ``path``, atomically (a crash leaves no half file).

    Patients are conditional creates on their MRN unless ``patient_policy`` is ``replace``,
    as sync would send them.
    """
    create_patients = patient_policy != "replace"
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        # A large buffer: a bundle is hundreds of MiB, written in 8 KiB pieces it took a
        # system call per few entries.
        with os.fdopen(fd, "wb", buffering=1 << 20) as out:
            out.write(b'{"resourceType":"Bundle","type":"transaction","entry":[')
            separator = b""
            for mapped in records:
                create_only = create_patients and mapped.kind == "patient"
                for resource in mapped.resources:
                    out.write(separator + entry_json(resource, strategy, create_only))
                    separator = b",\n"
            out.write(b"]}\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
