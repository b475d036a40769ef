"""Validating a file, as ``meso-fhir validate`` does: a Bundle is streamed, never held whole.

A Bundle as ``meso-fhir map`` writes it, one entry a line, is read once, a line at a time with
orjson: each entry is checked as it comes, with the index of the entries read so far; the few
that refer to a later entry are checked again at the end, with the whole index. Any other Bundle
file (pretty-printed, on one line, from another tool) is read twice with ijson (a streaming JSON
parser): a first pass builds the Bundle without its entries and the ``BundleIndex`` (resource
types by fullUrl, for references to later entries), a second validates the entries one by one,
in this process or in ``jobs`` worker processes (chunks of entries, a few chunks in flight:
memory stays flat). Both ways find the same issues; the first costs about a third of ijson's
reading. Any other resource is read whole (orjson), as it is small. The checking itself is
``Validator``'s; this module only reads and hands out.
"""

from __future__ import annotations

import itertools
import operator
import re
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO, Final

import ijson
import orjson

from .bundles import BundleIndex, EntrySummary
from .issues import Issue
from .validator import EntryIssues, Validator

__all__ = ["Unreadable", "validate_file"]

_CHUNK: Final = 200  # entries a worker gets at once: large enough to make the hand-over cheap

Progress = Callable[[int, int], None]  # (entries done, entries in all)


class Unreadable(Exception):
    """The file cannot be read as JSON, or is not a FHIR resource."""


def validate_file(
    path: Path, validator: Validator, jobs: int = 1, progress: Progress | None = None
) -> tuple[int, list[Issue]]:
    """The resources checked in ``path`` (a Bundle's entries, or 1) and every issue."""
    try:
        if jobs == 1:
            checked = _validate_lines(path, validator, progress)
        else:
            checked = _validate_lines_in_workers(path, validator, jobs, progress)
    except OSError as exc:
        raise Unreadable(f"cannot read {path}: {exc}") from exc
    if checked is not None:
        return checked
    try:
        with path.open("rb") as f:
            shell, index, count = _scan(f)
    except (OSError, ijson.JSONError) as exc:
        raise Unreadable(f"cannot read {path}: {exc}") from exc
    if "resourceType" not in shell:
        raise Unreadable(f"{path}: not a FHIR resource (no resourceType)")
    if shell["resourceType"] != "Bundle":
        # Not a Bundle: small, and the scan left out an "entry" it may have.
        return 1, validator.validate(orjson.loads(path.read_bytes()))
    if not isinstance(shell.get("entry", []), list):  # reported by the walk: no entry to check
        return 0, validator.validate(shell)
    with path.open("rb") as f:
        entries = ijson.items(f, "entry.item", use_float=True)
        if jobs > 1:
            summary = EntrySummary()
            chunks = _payloads(_chunks(entries), summary, index)
            found = _validate_in_workers(validator, shell, chunks, index, jobs, count, progress)
            return count, validator.bundle_issues(shell, summary, found)
        told = None if progress is None else (lambda done: progress(done, count))
        return count, validator.validate_entries(shell, enumerate(entries), index, told)


# The fields of an entry the index reads, by the parser's prefix of their value.
_INDEXED: Final = {
    "entry.item.fullUrl": "fullUrl",
    "entry.item.resource": "resource",
    "entry.item.resource.resourceType": "type",
    "entry.item.resource.id": "id",
}
_VALUE_STARTS: Final = frozenset(
    {"start_map", "start_array", "string", "number", "boolean", "null"}
)
# Inside the entries, the only prefixes the scan reads; the others (most events) are skipped
# first thing.
_SCANNED: Final = frozenset({"entry", "entry.item", *_INDEXED})


def _scan(f: BinaryIO) -> tuple[dict[str, Any], BundleIndex, int]:
    """The top-level object without the items of its ``entry`` array, the index of those items,
    and how many there are; from the parser's events, nothing of an entry kept but its fields
    of the index."""
    builder = ijson.ObjectBuilder()
    index = BundleIndex()
    count = 0
    held = False  # the top-level "entry" key was met: is its value an array?
    in_entries = saw_entries = False
    fields: dict[str, Any] = {}  # of the entry being read: a string, or whether an object
    for prefix, event, value in ijson.parse(f, use_float=True):
        if in_entries and prefix not in _SCANNED:
            continue
        if held:
            held = False
            in_entries = saw_entries = event == "start_array"
            if in_entries:
                continue
            builder.event("map_key", "entry")
        if not in_entries:
            held = prefix == "" and event == "map_key" and value == "entry"
            if not held:
                builder.event(event, value)
        elif prefix == "entry" and event == "end_array":
            in_entries = False
        elif event not in _VALUE_STARTS:
            if prefix == "entry.item" and event == "end_map":
                resource = fields.get("resource") is True
                index.add_fields(
                    fields.get("fullUrl"), resource, fields.get("type"), fields.get("id")
                )
        elif prefix == "entry.item":
            count += 1
            fields = {}
        elif prefix in _INDEXED:
            fields[_INDEXED[prefix]] = value if event == "string" else event == "start_map"
    shell = builder.value if isinstance(builder.value, dict) else {}
    if saw_entries and not count:
        shell["entry"] = []  # reported as an empty array, as it is
    return shell, index, count


# -- a Bundle one entry a line -----------------------------------------------------------------
# ``meso-fhir map`` writes ``{<the Bundle's elements>,"entry":[<entry>,`` then ``<entry>,`` a
# line and, last, ``<entry>]}``. Every piece that orjson reads whole is a JSON value, so the file
# is that JSON; anything else (a piece that does not parse, a line past _LONGEST) is read the
# general way, from the start.
_LONGEST: Final = 8 << 20  # bytes of a line read whole: one entry (a large attachment: ijson)
_WHITESPACE: Final = b" \t\r\n"  # JSON's; bytes.rstrip() would take more
_ENTRIES: Final = b'"entry":['
# orjson reads an integer beyond 64 bits as a float, ijson as the integer: a line with such a
# number (or 19 digits in a row anywhere, an identifier say) is left to ijson.
_LONG_NUMBER: Final = re.compile(rb"[0-9]{19}")


class _NotLines(Exception):
    """The file is not laid out one entry a line."""


def _validate_lines(
    path: Path, validator: Validator, progress: Progress | None
) -> tuple[int, list[Issue]] | None:
    """``validate_file`` in one pass, for a Bundle one entry a line; None for any other file,
    or one whose entries share a fullUrl (bdl-7 and "the last entry wins" need the whole
    index before the first entry is checked)."""
    total = _lines_in(path) if progress is not None else 0
    types = _TypesSoFar()
    index = BundleIndex(types=types)
    summary = EntrySummary()
    parts: list[tuple[int, EntryIssues]] = []
    later: set[int] = set()  # entries that refer to a fullUrl of no entry before them
    count = 0
    try:
        with path.open("rb") as f:
            shell, pieces = _lines_of(f)
            for i, entry in enumerate(_parsed(pieces)):
                index.add(entry)
                summary.add(entry, index.repeated)
                types.missed = False
                part = validator.check_entry(shell, i, entry, index)
                if types.missed:
                    later.add(i)
                elif part:
                    parts.append((i, part))
                count = i + 1
                if progress is not None:
                    progress(count, max(total, count))
        if index.repeated:
            return None
        if later:
            with path.open("rb") as f:
                # Only the lines checked again are parsed again.
                wanted = (p for i, p in enumerate(_lines_of(f)[1]) if i in later)
                for i, entry in zip(sorted(later), _parsed(wanted), strict=True):
                    if part := validator.check_entry(shell, i, entry, index):
                        parts.append((i, part))
            parts.sort(key=operator.itemgetter(0))
    except _NotLines:
        return None
    if progress is not None:
        progress(count, count)
    return count, validator.bundle_issues(shell, summary, [part for _, part in parts])


def _validate_lines_in_workers(
    path: Path, validator: Validator, jobs: int, progress: Progress | None
) -> tuple[int, list[Issue]] | None:
    """``validate_file`` over ``jobs`` processes, for a Bundle one entry a line: a first pass
    here reads each line for the index, the second hands the lines over as they are (the
    workers parse them); None as for ``_validate_lines``."""
    index = BundleIndex()
    summary = EntrySummary()
    count = 0
    try:
        with path.open("rb") as f:
            shell, pieces = _lines_of(f)
            for entry in _parsed(pieces):
                index.add(entry)
                summary.add(entry, index.repeated)
                count += 1
    except _NotLines:
        return None
    if index.repeated:  # summary saw only the repeats so far; ijson's way builds it after
        return None
    with path.open("rb") as f:
        chunks = (
            (start, start + len(chunk), b"[" + b",".join(chunk) + b"]")
            for start, chunk in _chunks(_lines_of(f)[1])
        )
        found = _validate_in_workers(validator, shell, chunks, index, jobs, count, progress)
    return count, validator.bundle_issues(shell, summary, found)


class _TypesSoFar(dict[str, str | None]):
    """``BundleIndex.types`` while the entries are read, noting when a check asks for a fullUrl
    that no entry read so far has (a later one may)."""

    missed = False

    def __contains__(self, url: object) -> bool:
        if dict.__contains__(self, url):
            return True
        self.missed = True
        return False


def _lines_of(f: BinaryIO) -> tuple[dict[str, Any], Iterator[bytes]]:
    """The Bundle without its entries, and its entries' JSON text as it is read; raises
    _NotLines, now or on the way, where the file is not laid out one entry a line."""
    first = _line(f)
    at = first.find(_ENTRIES)
    if at < 0 or b'"entry"' in first[:at] or _LONG_NUMBER.search(first, 0, at):
        raise _NotLines
    try:
        # A valid object only if ``"entry":[`` starts a key of the top-level object.
        shell = orjson.loads(first[:at] + b'"entry":[]}')
    except orjson.JSONDecodeError:
        raise _NotLines from None
    if not isinstance(shell, dict) or shell.get("resourceType") != "Bundle":
        raise _NotLines
    del shell["entry"]
    return shell, _pieces(f, first[at + len(_ENTRIES) :])


def _pieces(f: BinaryIO, line: bytes) -> Iterator[bytes]:
    while True:
        piece = line.rstrip(_WHITESPACE)
        last = piece.endswith(b"]}")
        if (not last and not piece.endswith(b",")) or _LONG_NUMBER.search(piece):
            raise _NotLines
        yield piece[: -2 if last else -1]
        if last:
            while rest := f.read(1 << 16):
                if rest.strip(_WHITESPACE):
                    raise _NotLines
            return
        line = _line(f)


def _parsed(pieces: Iterator[bytes]) -> Iterator[Any]:
    for piece in pieces:
        try:
            yield orjson.loads(piece)
        except orjson.JSONDecodeError:  # also lone surrogates, which ijson reads as '?'
            raise _NotLines from None


def _line(f: BinaryIO) -> bytes:
    line = f.readline(_LONGEST)
    if len(line) == _LONGEST and not line.endswith(b"\n"):
        raise _NotLines
    return line


def _lines_in(path: Path) -> int:
    """How many lines: the entries of a Bundle one entry a line, for progress."""
    lines = 0
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            lines += block.count(b"\n")
    return lines


# -- worker processes --------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _start_worker(shell: dict[str, Any], index: BundleIndex) -> None:
    _WORKER.update(validator=Validator.load(), shell=shell, index=index)


def _check_chunk(start: int, chunk: bytes | list[Any]) -> list[tuple[int, EntryIssues]]:
    entries = orjson.loads(chunk) if isinstance(chunk, bytes) else chunk
    validator: Validator = _WORKER["validator"]
    out = []
    for i, entry in enumerate(entries, start):
        part = validator.check_entry(_WORKER["shell"], i, entry, _WORKER["index"])
        if part:
            out.append((i, part))
    return out


def _validate_in_workers(
    validator: Validator,
    shell: dict[str, Any],
    chunks: Iterator[tuple[int, int, bytes | list[Any]]],
    index: BundleIndex,
    jobs: int,
    count: int,
    progress: Progress | None,
) -> list[EntryIssues]:
    """Chunks of entries (start, end, JSON text or the entries) to ``jobs`` processes, at most two
    chunks each in flight (memory stays flat), results taken in order: the same issues in the
    same order as in one process."""
    parts: list[EntryIssues] = []
    pending: deque[tuple[int, Future[list[tuple[int, EntryIssues]]]]] = deque()

    def take_one() -> None:
        end, future = pending.popleft()
        parts.extend(part for _, part in future.result())
        if progress is not None:
            progress(end, count)

    # The first chunk is checked here: the definitions it compiles and the values it remembers
    # are then the workers' too (forked from this process, where the platform forks).
    for start, _, chunk in itertools.islice(chunks, 1):
        entries = orjson.loads(chunk) if isinstance(chunk, bytes) else chunk
        for i, entry in enumerate(entries, start):
            part = validator.check_entry(shell, i, entry, index)
            if part:
                parts.append(part)
    with ProcessPoolExecutor(jobs, initializer=_start_worker, initargs=(shell, index)) as pool:
        for start, end, chunk in chunks:
            pending.append((end, pool.submit(_check_chunk, start, chunk)))
            if len(pending) >= 2 * jobs:
                take_one()
        while pending:
            take_one()
    return parts


def _payloads(
    chunks: Iterator[tuple[int, list[Any]]], summary: EntrySummary, index: BundleIndex
) -> Iterator[tuple[int, int, bytes | list[Any]]]:
    """Chunks of entries read here, each added to ``summary``, as JSON text (cheaper to hand
    over) where orjson can write them."""
    for start, chunk in chunks:
        for entry in chunk:
            summary.add(entry, index.repeated)
        end = start + len(chunk)
        try:
            yield start, end, orjson.dumps(chunk)
        except orjson.JSONEncodeError:  # integers beyond 64 bits
            yield start, end, chunk


def _chunks(entries: Iterator[Any]) -> Iterator[tuple[int, list[Any]]]:
    chunk: list[Any] = []
    start = 0
    for entry in entries:
        chunk.append(entry)
        if len(chunk) == _CHUNK:
            yield start, chunk
            start += len(chunk)
            chunk = []
    if chunk:
        yield start, chunk
