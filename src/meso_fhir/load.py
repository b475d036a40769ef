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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from .errors import InputError
from .records import LIST_OF_KIND, MODEL_OF_KIND, Course, Record, Session

# (position among the file's records, line or list index, where, raw record or None, problem)
Raw = tuple[int, int, str, dict[str, Any] | None, str | None]
_KINDS = tuple(MODEL_OF_KIND)


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

    path: Path
    errors: list[InputError] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # records read per kind
    _index: dict[tuple[str, str], _Entry] = field(default_factory=dict, repr=False)

    def course_indication(self, course_id: str) -> str | None:
        entry = self._index.get(("course", course_id))
        return entry.indication if entry else None

    def digests(self) -> dict[tuple[str, str], bytes]:
        """Key → digest of the record as read, for every valid record."""
        return {key: e.digest for key, e in self._index.items() if e.valid}

    def patient_of(self, key: tuple[str, str]) -> str:
        """The clinic patient id a record belongs to."""
        return self._index[key].patient_id or key[1]

    def where(self, entry: _Entry) -> str:
        if self.path.suffix in _LINE_SUFFIXES:
            return f"line {entry.at}"
        return f"{LIST_OF_KIND[entry.kind]}[{entry.at}]"

    def references(self, key: tuple[str, str]) -> list[tuple[str, str]]:
        """The records this one refers to (patient first), as (kind, id)."""
        entry = self._index[key]
        return [
            (kind, ref)
            for (_, kind), ref in zip(REFERENCE_FIELDS[key[0]], entry.refs, strict=True)
            if ref
        ]

    def is_withdrawn(self, key: tuple[str, str]) -> bool:
        return self._index[key].withdrawn

    def records(self, only: set[tuple[str, str]] | None = None) -> Iterator[Record]:
        """The valid records (those among ``only``, if given), in file order."""
        # One byte per record of the file: 0 = leave out, else 1 + index of its kind.
        send = bytearray(max((e.position for e in self._index.values()), default=-1) + 1)
        for key, entry in self._index.items():
            if entry.valid and (only is None or key in only):
                send[entry.position] = 1 + _KINDS.index(entry.kind)
        if self.path.suffix in _LINE_SUFFIXES:
            # Lines left out are not even parsed: sync maps a large export a chunk at a time.
            with self.path.open("rb") as lines:
                position = 0
                for line in lines:
                    if not line.strip():
                        continue
                    if position < len(send) and send[position]:
                        raw = orjson.loads(line)
                        yield MODEL_OF_KIND[_KINDS[send[position] - 1]].model_validate(raw)  # type: ignore[misc]
                    position += 1
            return
        for position, _at, _where, raw, _problem in _read(self.path):
            if raw is not None and position < len(send) and send[position]:
                yield MODEL_OF_KIND[_KINDS[send[position] - 1]].model_validate(raw)  # type: ignore[misc]


def load(path: str | os.PathLike[str]) -> Export:
    """Read and check an export; never raises for bad records (see ``Export.errors``).

    Raises ``InputError`` only when the file itself cannot be read.
    """
    export = Export(Path(path))
    index = export._index
    mrns: dict[str, str] = {}
    injections: dict[int, str] = {}
    for position, at, where, raw, problem in _read(export.path):
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
                index[(kind, source_id)] = _Entry(kind, position, at, (), valid=False)
            continue
        key = (kind, record.id)
        if key in index:
            first = export.where(index[key])
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


# The fields through which each kind refers to other records, and the kind they refer to.
REFERENCE_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "patient": (),
    "screening": (("patient_id", "patient"),),
    "course": (("patient_id", "patient"), ("screening_id", "screening")),
    "session": (("patient_id", "patient"), ("course_id", "course")),
    "observation": (("patient_id", "patient"), ("session_id", "session")),
}


def _check_references(export: Export) -> None:
    """Every id a record refers to must exist, be valid, and belong to the same patient.

    Kinds are checked parents first, so a record whose parent failed fails too (its resources
    would point at resources that are not sent).
    """
    index = export._index
    for kind in ("patient", "screening", "course", "session", "observation"):
        for (entry_kind, source_id), entry in index.items():
            if entry_kind != kind or not entry.valid:
                continue
            for (field_name, target_kind), target_id in zip(
                REFERENCE_FIELDS[kind], entry.refs, strict=True
            ):
                if not target_id:
                    continue
                message = _reference_problem(index, entry, (target_kind, target_id))
                if message:
                    entry.valid = False
                    export.errors.append(InputError(kind, source_id, field_name, message))
                    break


def _reference_problem(
    index: dict[tuple[str, str], _Entry], entry: _Entry, target: tuple[str, str]
) -> str:
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


def _read(path: Path) -> Iterator[Raw]:
    """(where, raw record or None, JSON problem) for each record of the file."""
    if not path.exists():
        raise InputError("file", str(path.name), "(path)", "no such file")
    if path.suffix in _LINE_SUFFIXES:
        yield from _read_lines(path)
    else:
        yield from _read_document(path)


_LINE_SUFFIXES = (".jsonl", ".ndjson")


def _read_lines(path: Path) -> Iterator[Raw]:
    with path.open("rb") as lines:
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


def _read_document(path: Path) -> Iterator[Raw]:
    try:
        document = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InputError("file", path.name, "(json)", f"not valid JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise InputError(
            "file", path.name, "(document)", "expected a JSON object with lists of records"
        )
    unknown = sorted(set(document) - set(LIST_OF_KIND.values()) - {"$schema", "format"})
    if unknown:
        raise InputError(
            "file",
            path.name,
            unknown[0],
            f"unknown list; expected: {', '.join(LIST_OF_KIND.values())}",
        )
    position = 0
    for kind, list_name in LIST_OF_KIND.items():
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
