"""Reading a clinic export (JSON document or JSON Lines) into checked records.

Bad input never stops the batch: every problem becomes an ``InputError`` that names the record
kind, its source id and the field, and every valid record is still yielded. Reading is two
passes over the source: the first checks every record and keeps only a small index (kind, id,
the ids it refers to), so that references can be checked in any order; the second yields the
valid records. For JSON Lines the file is streamed both times, so memory grows with the index
(tens of bytes a record), not with the records.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from ..errors import InputError
from .kinds import KIND_RANK, LIST_NAME, RECORD_KINDS, REFERENCE_FIELDS, RecordKey
from .records import MODEL_OF_KIND, Course, Record, Session

# (position among the source's records, line or list index, where, raw record or None, problem)
Raw = tuple[int, int, str, dict[str, Any] | None, str | None]


@dataclass(slots=True)
class _Entry:
    """What the loader keeps of a record between its two passes: kept small on purpose, since
    it is the only thing that grows with the input (about 500 bytes a record, measured)."""

    kind: str
    position: int  # among the file's records: finds it again on the second pass
    at: int  # line number (JSON Lines) or index in its list (JSON document), for messages
    refs: tuple[str, ...]  # ids it refers to, in REFERENCE_FIELDS[kind] order ("" = none)
    indication: str | None = None  # a course's, which its sessions' Procedures carry
    valid: bool = True
    digest: bytes = b""  # of the record as read (sorted keys): what sync compares
    withdrawn: bool = False

    @property
    def patient_id(self) -> str | None:
        return self.refs[0] if self.refs else None


@dataclass
class Export:
    """A checked export: iterate ``records()`` for the valid ones; ``errors`` lists the rest."""

    source: _Source
    errors: list[InputError] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # records read per kind
    _index: dict[RecordKey, _Entry] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        """What the export was read from, for messages and reports."""
        return self.source.name

    def course_indication(self, course_id: str) -> str | None:
        entry = self._index.get(RecordKey("course", course_id))
        return entry.indication if entry else None

    def digests(self) -> dict[RecordKey, bytes]:
        """Key → digest of the record as read, for every valid record."""
        return {key: e.digest for key, e in self._index.items() if e.valid}

    def patient_of(self, key: RecordKey) -> str:
        """The clinic patient id a record belongs to."""
        return self._index[key].patient_id or key[1]

    def references(self, key: RecordKey) -> list[RecordKey]:
        """The records this one refers to (patient first)."""
        entry = self._index[key]
        return [
            RecordKey(kind, ref)
            for (_, kind), ref in zip(REFERENCE_FIELDS[key[0]], entry.refs, strict=True)
            if ref
        ]

    def is_withdrawn(self, key: RecordKey) -> bool:
        return self._index[key].withdrawn

    def records(self, only: set[RecordKey] | None = None) -> Iterator[Record]:
        """The valid records (those among ``only``, if given), in the source's order."""
        # One byte per record of the source: 0 = leave out, else 1 + index of its kind.
        send = bytearray(max((e.position for e in self._index.values()), default=-1) + 1)
        for key, entry in self._index.items():
            if entry.valid and (only is None or key in only):
                send[entry.position] = 1 + KIND_RANK[entry.kind]
        for position, raw in self.source.selected(send):
            yield MODEL_OF_KIND[RECORD_KINDS[send[position] - 1]].model_validate(raw)  # type: ignore[misc]


def load(source: str | os.PathLike[str] | Iterable[Mapping[str, Any]]) -> Export:
    """Read and check an export; never raises for bad records (see ``Export.errors``).

    ``source`` is a file (a JSON document, or JSON Lines when it ends in ``.jsonl`` or
    ``.ndjson``) or the records themselves: an iterable of dicts, each with its ``kind``, as a
    clinic system holding them in memory would pass them (they are kept, to be read twice).
    Raises ``InputError`` only when the file itself cannot be read.
    """
    export = Export(_source(source))
    index = export._index
    mrns: dict[str, str] = {}
    injections: dict[int, str] = {}
    for position, at, where, raw, problem in export.source.read():
        if raw is None:
            export.errors.append(InputError("record", None, "(json)", f"{where}: {problem}"))
            continue
        kind = raw.get("kind")
        source_id = raw.get("id") if isinstance(raw.get("id"), str) else None
        if kind not in MODEL_OF_KIND:
            field_msg = (
                f"{where}: unknown kind {kind!r}; expected one of: {', '.join(MODEL_OF_KIND)}"
            )
            export.errors.append(InputError("record", source_id, "kind", field_msg))
            continue
        export.counts[kind] = export.counts.get(kind, 0) + 1
        try:
            record = MODEL_OF_KIND[kind].model_validate(raw)
        except ValidationError as exc:
            export.errors.extend(_input_errors(kind, source_id, where, exc))
            if source_id is not None and (kind, source_id) not in index:
                # Keep the key so that records referring to it fail with the right reason.
                index[RecordKey(kind, source_id)] = _Entry(kind, position, at, (), valid=False)
            continue
        key = RecordKey(kind, record.id)
        if key in index:
            first = export.source.where(index[key].kind, index[key].at)
            export.errors.append(
                InputError(kind, record.id, "id", f"duplicate id; the record at {first} was kept")
            )
            continue
        values = record.__dict__
        entry = _Entry(
            kind,
            position,
            at,
            tuple(values[name] or "" for name, _ in REFERENCE_FIELDS[kind]),
            indication=record.indication if isinstance(record, Course) else None,
            withdrawn=record.withdrawn,
            # 128 bits are plenty to tell a changed record from an unchanged one.
            digest=hashlib.sha256(orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)).digest()[:16],
        )
        index[key] = entry
        problem_field, message = _unique_keys(record, mrns, injections)
        if problem_field:
            export.errors.append(InputError(kind, record.id, problem_field, message))
            entry.valid = False
    _check_references(export)
    return export


def _unique_keys(record: Any, mrns: dict[str, str], injections: dict[int, str]) -> tuple[str, str]:
    """MRNs and injection ids become business identifiers: they must be unique in the export.

    Injection ids are the most numerous ids of an export: they are kept as 64-bit digests.
    """
    if record.kind == "patient":
        if record.mrn in mrns:
            return "mrn", f"MRN already used by patient {mrns[record.mrn]!r}"
        mrns[record.mrn] = record.id
    elif isinstance(record, Session):
        digests = [_id_digest(injection.id) for injection in record.injections]
        for i, digest in enumerate(digests):
            if digest in injections:
                return (
                    f"injections[{i}].id",
                    f"injection id already used in session {injections[digest]!r}",
                )
        for digest in digests:
            injections[digest] = record.id
    return "", ""


def _id_digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _check_references(export: Export) -> None:
    """Every id a record refers to must exist, be valid, and belong to the same patient.

    Kinds are checked parents first, so a record whose parent failed fails too (its resources
    would point at resources that are not sent).
    """
    index = export._index
    for kind in RECORD_KINDS:
        for (entry_kind, source_id), entry in index.items():
            if entry_kind != kind or not entry.valid:
                continue
            for (field_name, target_kind), target_id in zip(
                REFERENCE_FIELDS[kind], entry.refs, strict=True
            ):
                if not target_id:
                    continue
                message = _reference_problem(index, entry, RecordKey(target_kind, target_id))
                if message:
                    entry.valid = False
                    export.errors.append(InputError(kind, source_id, field_name, message))
                    break


def _reference_problem(index: dict[RecordKey, _Entry], entry: _Entry, target: RecordKey) -> str:
    target_kind, target_id = target
    found = index.get(target)
    if found is None:
        return f"no {target_kind} with id {target_id!r} in this export"
    if not found.valid:
        return f"{target_kind} {target_id!r} has errors, so this record cannot be sent either"
    if target_kind != "patient" and found.patient_id != entry.patient_id:
        return f"{target_kind} {target_id!r} belongs to another patient"
    return ""


def _input_errors(
    kind: str, source_id: str | None, where: str, exc: ValidationError
) -> list[InputError]:
    errors = []
    for error in exc.errors(include_url=False, include_input=False):
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"]).lstrip(
            "."
        )
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "required field is missing"
        errors.append(
            InputError(
                kind, source_id, path or "(record)", message if source_id else f"{where}: {message}"
            )
        )
    return errors


def _source(source: str | os.PathLike[str] | Iterable[Mapping[str, Any]]) -> _Source:
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.exists():
            raise InputError("file", path.name, "(path)", "no such file")
        return _LinesFile(path) if path.suffix in _LINE_SUFFIXES else _DocumentFile(path)
    return _Records(list(source))


_LINE_SUFFIXES = (".jsonl", ".ndjson")


class _Source:
    """Where records come from; read twice (see the module docstring)."""

    name: str

    def read(self) -> Iterator[Raw]:
        raise NotImplementedError

    def where(self, kind: str, at: int) -> str:
        """Where a record is, for messages: its line, or its list and index."""
        return f"{LIST_NAME[kind]}[{at}]"

    def selected(self, send: bytearray) -> Iterator[tuple[int, dict[str, Any]]]:
        """(position, raw record) of the records whose byte in ``send`` is set."""
        for position, _at, _where, raw, _problem in self.read():
            if raw is not None and position < len(send) and send[position]:
                yield position, raw


class _LinesFile(_Source):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)

    def where(self, kind: str, at: int) -> str:
        return f"line {at}"

    def read(self) -> Iterator[Raw]:
        with self.path.open("rb") as lines:
            position = 0
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                where = f"line {number}"
                try:
                    raw = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    yield position, number, where, None, f"not valid JSON ({exc})"
                else:
                    if isinstance(raw, dict):
                        yield position, number, where, raw, None
                    else:
                        yield position, number, where, None, "a line must be one JSON object"
                position += 1

    def selected(self, send: bytearray) -> Iterator[tuple[int, dict[str, Any]]]:
        # Lines left out are not even parsed: sync maps a large export a chunk at a time.
        with self.path.open("rb") as lines:
            position = 0
            for line in lines:
                if not line.strip():
                    continue
                if position < len(send) and send[position]:
                    yield position, orjson.loads(line)
                position += 1


class _DocumentFile(_Source):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)

    def read(self) -> Iterator[Raw]:
        path = self.path
        try:
            document = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise InputError("file", path.name, "(json)", f"not valid JSON ({exc})") from exc
        if not isinstance(document, dict):
            raise InputError(
                "file", path.name, "(document)", "expected a JSON object with lists of records"
            )
        unknown = sorted(set(document) - set(LIST_NAME.values()) - {"$schema", "format"})
        if unknown:
            raise InputError(
                "file",
                path.name,
                unknown[0],
                f"unknown list; expected: {', '.join(LIST_NAME.values())}",
            )
        position = 0
        for kind, list_name in LIST_NAME.items():
            items = document.get(list_name, [])
            if not isinstance(items, list):
                raise InputError("file", path.name, list_name, "must be a list of records")
            for i, raw in enumerate(items):
                where = f"{list_name}[{i}]"
                if isinstance(raw, dict):
                    yield position, i, where, {**raw, "kind": raw.get("kind", kind)}, None
                else:
                    yield position, i, where, None, "a record must be a JSON object"
                position += 1


class _Records(_Source):
    """Records handed over in memory, each a dict with its ``kind``, like a JSON Lines line."""

    name = "(records)"

    def __init__(self, records: list[Mapping[str, Any]]) -> None:
        self.records = records

    def where(self, kind: str, at: int) -> str:
        return f"record {at}"

    def read(self) -> Iterator[Raw]:
        for i, raw in enumerate(self.records):
            where = f"record {i}"
            if isinstance(raw, Mapping):
                yield i, i, where, dict(raw), None
            else:
                yield i, i, where, None, "a record must be a mapping (a JSON object)"
