"""Reading a clinic export (JSON document or JSON Lines) into checked records.

Bad input never stops the batch: every problem becomes an ``InputError`` that names the record
kind, its source id and the field, and every valid record is still yielded. Any JSON value in
any place gives such an error, never another exception; only a file that cannot be read at all
raises ``InputError``. Reading is two passes over the source: the first checks every record and
keeps only a small index (kind, id, the ids it refers to), so that references can be checked in
any order; the second yields the valid records. For JSON Lines the file is streamed both times,
so memory grows with the index (tens of bytes a record), not with the records.

Conflicts do not depend on the order of the records: when two records share a kind and id, two
patients an MRN, or two sessions an injection id, every record in the conflict is refused, each
naming the others, and the records depending on them fail with it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Final, Literal

import orjson
from pydantic import ValidationError

from .. import codes
from ..errors import InputError
from .kinds import DATE_FIELD, INPUT_RANK, LIST_NAME, RECORD_KINDS, REFERENCE_FIELDS, RecordKey
from .records import (
    FORM_ERRORS,
    MODEL_OF_KIND,
    PATTERN_MESSAGES,
    Course,
    Given,
    Patient,
    PhotoContent,
    Practitioner,
    ReactionFinding,
    Record,
    Session,
    SessionObservation,
    form_problem,
    record_day,
    shown,
)

# The largest photo file accepted (``load(max_photo_bytes=)``, ``--max-photo-size``): a photo
# travels base64-encoded in its session's transaction, a third larger, and FHIR servers cap
# request sizes (a phone camera's full-resolution JPEG is 3 to 8 MiB).
MAX_PHOTO_BYTES: Final = 5 * 1024 * 1024

# (position among the source's records, line or list index, where, raw record or None, problem).
# A problem with a raw record is one with its "kind"; without a record, the record is unreadable.
Raw = tuple[int, int, str, dict[str, Any] | None, str | None]


@dataclass(slots=True)
class _Entry:
    """What the loader keeps of a record between its two passes: kept small on purpose, since
    it is the only thing that grows with the input (about 490 bytes a record, measured with
    tracemalloc on a generated 100,000-record export)."""

    kind: str  # one of MODEL_OF_KIND's own strings, not a copy per record
    position: int  # among the file's records: finds it again on the second pass
    # ``at`` - ``position``: for JSON Lines 1 + the blank lines before it, a small int Python
    # keeps one object of (an int of its own per record was 28 bytes of every entry).
    lead: int
    refs: tuple[str, ...]  # ids it refers to, in REFERENCE_FIELDS[kind] order ("" = none)
    # What the records referring to this one need of it: a course's indication (its sessions'
    # Procedures carry it), a session's injections (its observations' adverse events and
    # allergies name them) as one flat tuple of (id, product code, product name) triples
    # (a tuple per injection cost 64 bytes each).
    context: str | tuple[str, ...] | None = None
    # An observation whose resources name its session's injections (a reaction's adverse event
    # and allergies): its hash follows them.
    names_injections: bool = False
    valid: bool = True
    digest: bytes = b""  # of the record as read (sorted keys): what sync compares
    withdrawn: bool = False

    @property
    def patient_id(self) -> str | None:
        return self.refs[0] if self.refs else None

    @property
    def at(self) -> int:
        """Its line number (JSON Lines) or index in its list (JSON document), for messages."""
        return self.position + self.lead


@dataclass
class Export:
    """A checked export: iterate ``records()`` for the valid ones; ``errors`` lists the rest."""

    source: _Source
    errors: list[InputError] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # records read per kind
    # The practitioners the valid sessions name, by id, as the latest sessions describe them.
    practitioners: dict[str, Practitioner] = field(default_factory=dict)
    _index: dict[RecordKey, _Entry] = field(default_factory=dict, repr=False)
    # Where photo files are found (relative paths), and the largest accepted.
    photo_dir: Path = field(default_factory=Path)
    max_photo_bytes: int = MAX_PHOTO_BYTES

    @property
    def name(self) -> str:
        """What the export was read from, for messages and reports."""
        return self.source.name

    def course_indication(self, course_id: str) -> str | None:
        entry = self._index.get(RecordKey("course", course_id))
        return entry.context if entry and isinstance(entry.context, str) else None

    def names_injections(self, key: RecordKey) -> bool:
        """Whether the record's resources name its session's injections (a reaction's)."""
        return self._index[key].names_injections

    def session_given(self, session_id: str) -> tuple[Given, ...]:
        """The injections of a session (none if it is not a valid record of this export)."""
        entry = self._index.get(RecordKey("session", session_id))
        if entry is None or not isinstance(entry.context, tuple):
            return ()
        flat = entry.context
        return tuple(Given(*flat[i : i + 3]) for i in range(0, len(flat), 3))

    @cached_property
    def has_valid_records(self) -> bool:
        # Asked for every chunk a sync maps; the index is final once load() returns.
        return any(e.valid for e in self._index.values())

    def session_photos(self, session: Session) -> dict[str, PhotoContent]:
        """The photo files of a session, read (photo id → content): the mapping reads none.

        Raises ``InputError`` naming the session and the photo's field if a file can no longer
        be read as it was when the export was checked.
        """
        contents = {}
        for i, photo in enumerate(session.photos):
            if photo.file is not None:
                try:
                    contents[photo.id] = read_photo(
                        self.photo_dir, photo.file, self.max_photo_bytes
                    )
                except ValueError as exc:
                    raise InputError("session", session.id, f"photos[{i}].file", str(exc)) from None
        return contents

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
                send[entry.position] = 1 + INPUT_RANK[entry.kind]
        for position, raw in self.source.selected(send):
            yield MODEL_OF_KIND[RECORD_KINDS[send[position] - 1]].model_validate(raw)  # type: ignore[misc]


def load(
    source: str | os.PathLike[str] | Iterable[Mapping[str, Any]],
    *,
    today: dt.date | None = None,
    form: Form | None = None,
    photo_dir: str | os.PathLike[str] | None = None,
    max_photo_bytes: int = MAX_PHOTO_BYTES,
) -> Export:
    """Read and check an export; never raises for bad records (see ``Export.errors``).

    ``source`` is a file (``form`` "json", a JSON document, or "jsonl", JSON Lines; without
    ``form``, JSON Lines when the name ends in ``.jsonl`` or ``.ndjson``, a document when it
    ends in ``.json``, else whichever the first line shows; either may start with a UTF-8 byte
    order mark) or the records themselves: an
    iterable of dicts, each with its ``kind``, as a clinic system holding them in memory would
    pass them (they are kept, to be read twice). A patient's birth date is never after the date
    of one of the patient's records; given ``today`` (the loader reads no clock), it is never
    after ``today`` either. Raises ``InputError`` only when the file itself cannot be read.

    A session's photo files are read here (checked, and hashed with the record), relative to
    ``photo_dir``: by default the export file's folder (the current one for records in memory).
    One over ``max_photo_bytes``, missing, unreadable or neither JPEG nor PNG refuses its
    session, naming the photo's field (never the path: a file name may hold a patient's name).
    """
    found = _source(source, form)
    if photo_dir is None:
        photo_dir = found.path.parent if isinstance(found, _LinesFile | _DocumentFile) else "."
    export = Export(found, photo_dir=Path(photo_dir), max_photo_bytes=max_photo_bytes)
    checks = _Checks(export, today)
    for position, at, where, raw, problem in export.source.read():
        checks.add(position, at, where, raw, problem)
    checks.finish()
    _check_references(export)
    return export


# Injection ids are the most numerous ids of an export, and MRNs are kept only to be compared:
# both are kept as 64-bit digests (a collision refuses two records, it never lets one through).
_CLAIMS = {"patient": "MRN", "session": "injection id"}


_KINDS = {kind: kind for kind in MODEL_OF_KIND}


def _claims(kind: str, raw: Mapping[str, Any]) -> list[tuple[int, int]]:
    """The values of a record that become business identifiers, so must be unique in the export,
    read from the record as given, valid or not: (injection index, or -1 for the MRN; digest)."""
    if kind == "patient":
        mrn = raw.get("mrn")
        if isinstance(mrn, str) and mrn.strip():
            return [(-1, _digest(b"mrn", mrn.strip()))]
    elif kind == "session":
        injections = raw.get("injections")
        if isinstance(injections, list):
            return [
                (i, _digest(b"injection", source_id.strip()))
                for i, injection in enumerate(injections)
                if isinstance(injection, Mapping)
                and isinstance(source_id := injection.get("id"), str)
                and source_id.strip()
            ]
    return []


def _claim_field(index: int) -> str:
    return "mrn" if index < 0 else f"injections[{index}].id"


def _digest(what: bytes, text: str) -> int:
    try:
        data = text.encode()
    except UnicodeEncodeError:  # a lone surrogate, from records in memory
        data = text.encode(errors="surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8, person=what).digest(), "big")


_NAMEABLE = re.compile(r"[^\x00-\x1f\ud800-\udfff]{1,200}")


def _nameable(value: object) -> str | None:
    """A record's id as errors name it: any short printable string (valid or not)."""
    if isinstance(value, str):
        if 0 < len(value) <= 200 and value.isprintable() and value[0] != " " != value[-1]:
            return value  # the usual case, quickly
        value = value.strip()
        if _NAMEABLE.fullmatch(value):
            return value
    return None


_DESCRIBED: Final = ("name", "qualification")


class _Checks:
    """The first pass: each record checked alone, then what needs all of them (conflicts, birth
    dates), independent of the order the records come in."""

    def __init__(self, export: Export, today: dt.date | None) -> None:
        self.export = export
        self.today = today
        # Positions and places of every record of a key seen more than once.
        self.repeated: dict[RecordKey, list[tuple[int, int]]] = {}
        # Claimed value digest → the first key claiming it; the keys of values claimed by more.
        self.claimed: dict[int, RecordKey] = {}
        self.clashes: dict[int, set[RecordKey]] = {}
        # Per patient id: the birth date, and the patient's earliest dated record.
        self.births: dict[str, dt.date] = {}
        self.earliest: dict[str, tuple[dt.date, RecordKey]] = {}
        self.future_births: set[RecordKey] = set()  # given today
        self.strings: dict[str, str] = {}  # one copy of each product code and name
        # Per practitioner id and field: (performed_at, session id, value) of the latest session
        # giving it, so that the description does not depend on the order of the sessions.
        self.performers: dict[str, dict[str, tuple[str, str, str]]] = {}
        # The day of each course's photo consent; per session with photos, its course and its
        # first photo (index, day taken): a photo needs the consent on or before that day.
        self.photo_consents: dict[str, dt.date] = {}
        self.photographed: dict[RecordKey, tuple[str, int, dt.date]] = {}

    def add(
        self, position: int, at: int, where: str, raw: dict[str, Any] | None, problem: str | None
    ) -> None:
        export, index = self.export, self.export._index
        if raw is None:
            export.errors.append(InputError("record", None, "(json)", f"{where}: {problem}"))
            return
        kind = raw.get("kind")
        source_id = _nameable(raw.get("id"))
        if not (isinstance(kind, str) and kind in MODEL_OF_KIND):
            message = (
                f"{where}: unknown kind {shown(kind)}; expected one of: {', '.join(MODEL_OF_KIND)}"
            )
            export.errors.append(InputError("record", source_id, "kind", message))
            return
        kind = _KINDS[kind]  # the index keeps one string per kind, not one per record
        export.counts[kind] = export.counts.get(kind, 0) + 1
        record: Any = None
        if problem is not None:
            export.errors.append(InputError(kind, source_id, "kind", f"{where}: {problem}"))
        else:
            try:
                record = MODEL_OF_KIND[kind].model_validate(raw)
            except ValidationError as exc:
                export.errors.extend(_input_errors(kind, source_id, where, exc))
        photo_digests = b""
        if isinstance(record, Session) and record.photos:
            photo_digests, problems = self._photos(record, source_id, where)
            if problems:
                export.errors.extend(problems)
                record = None
        if source_id is None:
            return  # cannot be referred to, nor conflict: nothing to keep
        # A valid record's own id: pydantic hands out one string object per id, shared with the
        # records referring to it, which keeps the index small.
        key = RecordKey(kind, source_id if record is None else record.id)
        if record is not None:
            self._dates(key, record)
            self._consents(key, record)
        known = index.get(key)
        if known is not None:
            self.repeated.setdefault(key, [(known.position, known.at)]).append((position, at))
            known.valid = False
        elif record is None:
            # Kept so that records referring to it fail with the right reason.
            index[key] = _Entry(kind, position, at - position, (), valid=False)
        else:
            try:
                # 128 bits are plenty to tell a changed record from an unchanged one.
                data = orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)
                # A photo file is part of the record: changed, the record is sent again.
                digest = hashlib.sha256(data + photo_digests).digest()
            except TypeError:  # records in memory holding what JSON cannot
                export.errors.append(InputError(kind, source_id, "(record)", "not JSON data"))
                index[key] = _Entry(kind, position, at - position, (), valid=False)
                return
            values = record.__dict__
            index[key] = _Entry(
                kind,
                position,
                at - position,
                tuple(values[name] or "" for name, _ in REFERENCE_FIELDS[kind]),
                context=self._context(record),
                names_injections=isinstance(record, SessionObservation)
                and isinstance(record.finding, ReactionFinding),
                withdrawn=record.withdrawn,
                digest=digest[:16],
                valid=key not in self.future_births,
            )
        if kind in _CLAIMS:
            for _, claim in _claims(kind, raw):
                owner = self.claimed.setdefault(claim, key)
                if owner is not key and owner != key:
                    self.clashes.setdefault(claim, {owner}).add(key)

    def _context(self, record: Any) -> str | tuple[str, ...] | None:
        if isinstance(record, Course):
            return str(record.indication)
        if isinstance(record, Session):
            self._performer(record)
            # Product codes and names repeat across sessions: keep one copy of each.
            shared = self.strings
            return tuple(
                value
                for i in record.injections
                for value in (
                    i.id,
                    shared.setdefault(i.product.code, i.product.code),
                    shared.setdefault(i.product.name, i.product.name),
                )
            )
        return None

    def _performer(self, session: Session) -> None:
        if session.performer is None:
            return
        described = self.performers.setdefault(session.performer.id, {})
        when = (session.performed_at.isoformat(), session.id)
        for name in _DESCRIBED:
            value = getattr(session.performer, name)
            if value is not None and (name not in described or when > described[name][:2]):
                described[name] = (*when, value)

    def _dates(self, key: RecordKey, record: Any) -> None:
        """Keep what the birth date checks need: every valid record counts, repeated or not."""
        if isinstance(record, Patient):
            if self.today is not None and record.birth_date > self.today:
                self.export.errors.append(
                    InputError(
                        "patient", key[1], "birth_date", f"after today ({self.today.isoformat()})"
                    )
                )
                self.future_births.add(key)
            self.births[key[1]] = record.birth_date
            return
        day = record_day(record)
        if day is not None:
            earliest = self.earliest.get(record.patient_id)
            # (day, key): the same record is named whatever the order
            if earliest is None or (day <= earliest[0] and (day, key) < earliest):
                self.earliest[record.patient_id] = (day, key)

    def _photos(
        self, session: Session, source_id: str | None, where: str
    ) -> tuple[bytes, list[InputError]]:
        """Each photo file of a session read and checked: (their digests, the problems)."""
        export = self.export
        digests, problems = [], []
        for i, photo in enumerate(session.photos):
            if photo.file is None:
                continue
            try:
                content = read_photo(export.photo_dir, photo.file, export.max_photo_bytes)
            except ValueError as exc:
                message = str(exc) if source_id else f"{where}: {exc}"
                problems.append(InputError("session", source_id, f"photos[{i}].file", message))
                continue
            digests.append(hashlib.sha256(content.data).digest())
        return b"".join(digests), problems

    def _consents(self, key: RecordKey, record: Any) -> None:
        """What the photo consent check needs: each course's consent, each session's photos."""
        if isinstance(record, Course) and record.photo_consent is not None:
            self.photo_consents[record.id] = record.photo_consent.date
        elif isinstance(record, Session) and record.photos:
            first = min(
                (p.taken_at.date(), i) for i, p in enumerate(record.photos)
            )  # the day as written
            self.photographed[key] = (record.course_id, first[1], first[0])

    def finish(self) -> None:
        """The checks that need every record: births against dates, photos against consents,
        then conflicts; the practitioners the sessions name."""
        export, index = self.export, self.export._index
        for practitioner_id, described in sorted(self.performers.items()):
            name, qualification = (described.get(f, ("", "", None))[2] for f in _DESCRIBED)
            export.practitioners[practitioner_id] = Practitioner(
                practitioner_id, name, qualification
            )
        for key, (course_id, i, day) in self.photographed.items():
            course = index.get(RecordKey("course", course_id))
            if course is None or not course.valid or not index[key].valid:
                continue  # the reference check says why
            consented = self.photo_consents.get(course_id)
            if consented is None:
                problem = (
                    f"course {course_id!r} records no photo_consent: a photo is kept only with"
                    " the patient's consent to photography"
                )
                field_name = "photos"
            elif day < consented:
                problem = (
                    f"taken before the photo_consent of course {course_id!r}"
                    f" ({consented.isoformat()})"
                )
                field_name = f"photos[{i}].taken_at"
            else:
                continue
            index[key].valid = False
            export.errors.append(InputError("session", key.source_id, field_name, problem))
        for patient_id, born in self.births.items():
            entry = index[RecordKey("patient", patient_id)]
            first = self.earliest.get(patient_id)
            if entry.valid and first is not None and first[0] < born:
                kind, source_id = first[1]
                entry.valid = False
                export.errors.append(
                    InputError(
                        "patient",
                        patient_id,
                        "birth_date",
                        f"after the {DATE_FIELD[kind]} of {kind} {source_id!r}"
                        f" ({self._where(first[1])}), a record of this patient",
                    )
                )
        for key, places in self.repeated.items():
            for n, (_position, at) in enumerate(places):
                others = ", ".join(
                    self.export.source.where(key[0], other)
                    for m, (_, other) in enumerate(places)
                    if m != n
                )
                here = self.export.source.where(key[0], at)
                export.errors.append(
                    InputError(
                        key[0],
                        key[1],
                        "id",
                        f"{here}: the same id as the {key[0]} at {others};"
                        f" {'neither' if len(places) == 2 else 'none of them'} is sent",
                    )
                )
        if self.clashes:
            self._report_clashes()

    def _where(self, key: RecordKey) -> str:
        """Where a record is, or each of the records sharing its key."""
        places = self.repeated.get(key) or [(0, self.export._index[key].at)]
        return ", ".join(self.export.source.where(key[0], at) for _, at in places)

    def _report_clashes(self) -> None:
        """Every record claiming a value another record claims is refused, naming the others.

        The index does not keep which field claimed what: the records in a clash (few) are read
        again for it.
        """
        export, index = self.export, self.export._index
        keys = set().union(*self.clashes.values())
        positions = [
            position
            for key in keys
            for position, _ in (self.repeated.get(key) or [(index[key].position, 0)])
        ]
        send = bytearray(max(positions) + 1)
        for position in positions:
            send[position] = 1
        for _position, raw in export.source.selected(send):
            kind = raw.get("kind")
            source_id = _nameable(raw.get("id"))
            if not isinstance(kind, str) or source_id is None:
                continue  # the file changed since the first pass
            key = RecordKey(kind, source_id)
            for claimed_at, claim in _claims(kind, raw):
                if key in self.clashes.get(claim, ()):
                    others = sorted(self.clashes[claim] - {key})
                    named = ", ".join(f"{k[0]} {k[1]!r} ({self._where(k)})" for k in others)
                    export.errors.append(
                        InputError(
                            kind,
                            source_id,
                            _claim_field(claimed_at),
                            f"{_CLAIMS[kind]} also used by {named}; none of them is sent",
                        )
                    )
            if key in index:
                index[key].valid = False


def read_photo(folder: Path, path: str, limit: int) -> PhotoContent:
    """A photo file (``path`` relative to ``folder``, or absolute) as JPEG or PNG bytes.

    Raises ``ValueError`` saying what is wrong, without the path (a file name may hold a
    patient's name).
    """
    try:
        with (folder / path).open("rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ValueError("not a file")
            if info.st_size > limit:
                raise ValueError(_too_large(info.st_size, limit))
            data = file.read(limit + 1)
    except OSError as exc:
        raise ValueError(f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    if len(data) > limit:  # grew since fstat
        raise ValueError(_too_large(len(data), limit))
    for magic, content_type in codes.PHOTO_FORMAT.items():
        if data.startswith(magic):
            return PhotoContent(content_type, data)
    raise ValueError("not a JPEG or PNG image" if data else "the file is empty")


def _too_large(size: int, limit: int) -> str:
    return (
        f"{size / 2**20:.1f} MiB ({size} bytes) is over the limit of {limit / 2**20:.1f} MiB"
        f" ({limit} bytes) for a photo"
    )


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


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


def _path(loc: tuple[int | str, ...]) -> str:
    """A field path for messages: ``injections[1].site``; a key from the input is quoted."""
    parts = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif part == "[key]":  # pydantic: the error is in the key itself
            parts.append("[key]")
        elif _PLAIN_KEY.fullmatch(part):
            parts.append(f".{part}")
        else:
            parts.append(f"[{shown(part)}]")
    return "".join(parts).lstrip(".")


def _message(error: Any) -> str:
    """Pydantic's message, in the export's words, never quoting more than a short value."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return "required field is missing"
    if kind in FORM_ERRORS:
        return form_problem(kind, error.get("input"))
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in PATTERN_MESSAGES:
        return PATTERN_MESSAGES[ctx["pattern"]]
    if kind == "union_tag_invalid":
        expected = str(ctx.get("expected_tags", "")).replace("'", "")
        return (
            f"unknown {str(ctx.get('discriminator', '')).strip(chr(39))} {shown(ctx.get('tag'))};"
            f" expected one of: {expected}"
        )
    message: str = error["msg"].removeprefix("Value error, ")
    return message if message.isprintable() else shown(message, 300)


def _input_errors(
    kind: str, source_id: str | None, where: str, exc: ValidationError
) -> list[InputError]:
    errors = []
    for error in exc.errors(include_url=False):  # the input: only to say why a date was refused
        message = _message(error)
        errors.append(
            InputError(
                kind,
                source_id,
                _path(error["loc"]) or "(record)",
                message if source_id else f"{where}: {message}",
            )
        )
    return errors


Form = Literal["json", "jsonl"]
FORMS: Final[tuple[Form, ...]] = ("json", "jsonl")


def _source(
    source: str | os.PathLike[str] | Iterable[Mapping[str, Any]], form: Form | None
) -> _Source:
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            found = path.is_file()
        except (OSError, ValueError) as exc:  # e.g. a NUL in the name, a path too long
            raise InputError("file", path.name, "(path)", f"cannot be read ({exc})") from exc
        if not found:
            problem = "not a file" if path.exists() else "no such file"
            raise InputError("file", path.name, "(path)", problem)
        form = form or _form_of(path)
        return _LinesFile(path) if form == "jsonl" else _DocumentFile(path)
    return _Records(list(source))


def _form_of(path: Path) -> Form:
    """The form a file's name says, or else its first line: one JSON object with a ``kind``
    is a line of JSON Lines; anything else (``{`` alone, a document on one line) a document."""
    if path.suffix in _LINE_SUFFIXES:
        return "jsonl"
    if path.suffix == ".json":
        return "json"
    try:
        with path.open("rb") as file:
            first = file.readline(1 << 20).removeprefix(_BOM)
            while first and not first.strip():
                first = file.readline(1 << 20)
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    try:
        value = _parse(first)
    except (orjson.JSONDecodeError, RecursionError):
        return "json"
    return "jsonl" if isinstance(value, dict) and "kind" in value else "json"


_LINE_SUFFIXES = (".jsonl", ".ndjson")
_BOM = b"\xef\xbb\xbf"


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _parse(data: bytes) -> Any:
    """JSON text → Python. orjson refuses some valid JSON (a number beyond a double, such as
    1e400): the standard library reads what orjson cannot, so such a value is refused with its
    field named instead of costing the whole line or file."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        try:
            return json.loads(data, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            raise exc from None


def _unreadable(path: Path, exc: OSError) -> InputError:
    return InputError("file", path.name, "(path)", f"cannot be read ({exc.strerror or exc})")


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

    def _lines(self) -> Iterator[tuple[int, bytes]]:
        """(line number, line) of the lines that are not blank."""
        try:
            with self.path.open("rb") as lines:
                for number, line in enumerate(lines, start=1):
                    if number == 1 and line.startswith(_BOM):
                        line = line[len(_BOM) :]
                    if line.strip():
                        yield number, line
        except OSError as exc:
            raise _unreadable(self.path, exc) from exc

    def read(self) -> Iterator[Raw]:
        for position, (number, line) in enumerate(self._lines()):
            where = f"line {number}"
            try:
                raw = _parse(line)
            except orjson.JSONDecodeError as exc:
                yield position, number, where, None, f"not valid JSON ({exc})"
            else:
                if isinstance(raw, dict):
                    yield position, number, where, raw, None
                else:
                    yield position, number, where, None, "a line must be one JSON object"

    def selected(self, send: bytearray) -> Iterator[tuple[int, dict[str, Any]]]:
        # Lines left out are not even parsed: sync maps a large export a chunk at a time.
        for position, (_number, line) in enumerate(self._lines()):
            if position >= len(send):
                return
            if send[position]:
                yield position, _parse(line)


class _DocumentFile(_Source):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)

    def read(self) -> Iterator[Raw]:
        path = self.path
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise _unreadable(path, exc) from exc
        try:
            document = _parse(data.removeprefix(_BOM))
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
                _path((unknown[0],)),
                f"unknown list; expected: {', '.join(LIST_NAME.values())}",
            )
        position = 0
        for kind, list_name in LIST_NAME.items():
            items = document.get(list_name, [])
            if not isinstance(items, list):
                raise InputError("file", path.name, list_name, "must be a list of records")
            for i, raw in enumerate(items):
                where = f"{list_name}[{i}]"
                if not isinstance(raw, dict):
                    yield position, i, where, None, "a record must be a JSON object"
                elif raw.get("kind", kind) == kind:
                    yield position, i, where, {**raw, "kind": kind}, None
                else:  # refused, but known by its list's kind
                    problem = f"a record in {list_name} has kind {kind!r}, not {shown(raw['kind'])}"
                    yield position, i, where, {**raw, "kind": kind}, problem
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
