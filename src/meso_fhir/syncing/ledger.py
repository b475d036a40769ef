"""The sync ledger: what was sent to which FHIR server, with what result.

This is the only module that touches SQLite. A ledger file remembers, per clinic record
(``kind``, ``source_id``): the hash of the content last sent, the outcome, the server's error
text, how often it was attempted, and the server ids and versions of the record's resources.
It also keeps a log of runs. It stores no patient data: keys, hashes, server ids and the
server's error text only.

How the sync job uses it::

    with Ledger.open("meso-fhir-state.sqlite") as ledger:
        run_id = ledger.start_run(now, server_url, {"batch_size": 100})
        skip = ledger.unchanged(hashes, server_url)      # one query, no request for these
        for bundle in bundles:
            ledger.mark_pending(bundle.keys, run_id, now) # committed before sending
            ...send...
            ledger.record_outcomes([Synced(...), Failed(...)], run_id, now)  # one transaction
        ledger.finish_run(run_id, now, counts, exit_code)

A job killed between ``mark_pending`` and ``record_outcomes`` leaves its records pending; the
next run resends them, which is harmless because every write is conditional on the business
identifier. A job killed inside ``record_outcomes`` commits nothing of that bundle: its records
stay pending, and every bundle before it is kept.

``--full`` needs nothing from the ledger: the caller skips :meth:`Ledger.unchanged` and still
records outcomes. Wiping the ledger instead would forget the server ids that withdrawals need.

A ``Ledger`` is used from the thread that opened it; several processes may read a ledger
while one writes it (WAL mode).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit, urlunsplit

from ..errors import LedgerError, LedgerMismatch
from ..model.kinds import KIND_RANK, SYNCED_KINDS, RecordKey

__all__ = [
    "KINDS",
    "OUTCOMES",
    "SCHEMA_VERSION",
    "Failed",
    "Ledger",
    "LedgerError",
    "LedgerMismatch",
    "RecordKey",
    "RecordOutcome",
    "RecordState",
    "ResourceRef",
    "Run",
    "Synced",
    "Withdrawn",
]

KINDS: Final = SYNCED_KINDS
"""Record kinds, in the order they are sent (a patient before what refers to it)."""

OUTCOMES: Final = ("pending", "synced", "failed", "withdrawn")

SCHEMA_VERSION: Final = 4
"""Stored in ``PRAGMA user_version``; a ledger written by a newer meso-fhir is refused."""

# "MESO" in ASCII, stored in PRAGMA application_id so that another program's SQLite file is
# recognised as such instead of being written into.
_APPLICATION_ID: Final = 0x4D45534F

_KIND_RANK: Final = KIND_RANK
_HEX: Final = re.compile(r"[0-9a-f]+")

# Version 2: the ledger is bound to one server and one set of identity settings.
_BINDING: Final = """
    CREATE TABLE binding (
        one           INTEGER PRIMARY KEY CHECK (one = 1),
        server_url    TEXT NOT NULL,
        settings_json TEXT NOT NULL,
        bound_at      TEXT NOT NULL
    )
"""


def _one_of(column: str, values: tuple[str, ...]) -> str:
    """``column IN values`` as SQLite checks it fast: for a constant IN list (7 kinds, 4
    outcomes) it built an ephemeral table each time a row was written, about a tenth of a
    first sync's instructions (callgrind, 2,010 records)."""
    return " OR ".join(f"{column} = '{value}'" for value in values)


_RECORD_TABLE: Final = f"""
    CREATE TABLE record (
        kind               TEXT NOT NULL CHECK ({_one_of("kind", KINDS)}),
        source_id          TEXT NOT NULL,
        outcome            TEXT NOT NULL CHECK ({_one_of("outcome", OUTCOMES)}),
        content_hash       TEXT,
        error_text         TEXT,
        error_details_json TEXT,
        attempts           INTEGER NOT NULL,
        first_attempt_at   TEXT NOT NULL,
        last_attempt_at    TEXT NOT NULL,
        run_id             INTEGER NOT NULL REFERENCES run (run_id),
        PRIMARY KEY (kind, source_id),
        CHECK ((outcome = 'failed') = (error_text IS NOT NULL)),
        CHECK (outcome = 'pending' OR content_hash IS NOT NULL)
    ) WITHOUT ROWID
    """
# Partial indexes: the failed and pending records are few among many synced ones.
_RECORD_INDEXES: Final = (
    "CREATE INDEX record_failed ON record (kind, source_id) WHERE outcome = 'failed'",
    "CREATE INDEX record_pending ON record (kind, source_id) WHERE outcome = 'pending'",
)

_SCHEMA: Final = (
    """
    CREATE TABLE run (
        run_id       INTEGER PRIMARY KEY,
        started_at   TEXT NOT NULL,
        finished_at  TEXT,
        server_url   TEXT NOT NULL,
        options_json TEXT NOT NULL,
        counts_json  TEXT,
        exit_code    INTEGER
    )
    """,
    _RECORD_TABLE,
    *_RECORD_INDEXES,
    """
    CREATE TABLE resource (
        kind          TEXT NOT NULL,
        source_id     TEXT NOT NULL,
        resource_type TEXT NOT NULL,
        identifier    TEXT NOT NULL,
        server_id     TEXT,
        version_id    TEXT,
        run_id        INTEGER NOT NULL REFERENCES run (run_id),
        PRIMARY KEY (kind, source_id, resource_type, identifier),
        FOREIGN KEY (kind, source_id) REFERENCES record (kind, source_id) ON DELETE CASCADE
    ) WITHOUT ROWID
    """,
)

# One statement for every write to a record. An attempt is one run sending the record: the
# count goes up when a different run touches it, so mark_pending followed by the outcome, or a
# bundle split and resent within the run, count once. A pending mark keeps the last hash.
_UPSERT_RECORD: Final = """
    INSERT INTO record (kind, source_id, outcome, content_hash, error_text, error_details_json,
                        attempts, first_attempt_at, last_attempt_at, run_id)
    VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)
    ON CONFLICT (kind, source_id) DO UPDATE SET
        outcome = excluded.outcome,
        content_hash = coalesce(excluded.content_hash, content_hash),
        error_text = excluded.error_text,
        error_details_json = excluded.error_details_json,
        attempts = attempts + (run_id <> excluded.run_id),
        last_attempt_at = excluded.last_attempt_at,
        run_id = excluded.run_id
"""

# The resources of up to _KEYS_PER_DELETE records of one kind at once, the list padded with
# NULLs (which match nothing): a DELETE from a table with foreign keys first collects its rows
# in an ephemeral table, and one per record was a twentieth of a ledger's work.
_KEYS_PER_DELETE: Final = 50
_DELETE_RESOURCES: Final = (
    "DELETE FROM resource WHERE kind = ? AND source_id IN ("
    + ", ".join(["?"] * _KEYS_PER_DELETE)
    + ")"
)

# Server ids and hashes are meaningful for one server only. As a subquery rather than a join,
# the plan stays "scan the records once" however long the run log grows.
_ON_SERVER: Final = "run_id IN (SELECT run_id FROM run WHERE server_url = ?)"

_RECORD_COLUMNS: Final = """
    record.kind, record.source_id, outcome, content_hash, error_text, error_details_json,
    attempts, first_attempt_at, last_attempt_at, record.run_id, run.server_url
"""


@dataclass(frozen=True)
class ResourceRef:
    """One FHIR resource a record owns on the server.

    ``identifier`` is the business identifier as ``system|value``; ``server_id`` and
    ``version_id`` are what the transaction-response reported (``None`` if it did not say).
    """

    resource_type: str
    identifier: str
    server_id: str | None
    version_id: str | None


@dataclass(frozen=True)
class Synced:
    """The server accepted the record; ``resources`` replaces what the ledger knew of them."""

    key: tuple[str, str]
    content_hash: str
    resources: Sequence[ResourceRef]


@dataclass(frozen=True)
class Failed:
    """The server rejected the record: its OperationOutcome text, and e.g. the bundle entry.

    The resources the ledger knew of stay as they were: a failed update leaves the last
    synced version on the server.
    """

    key: tuple[str, str]
    content_hash: str
    error_text: str
    error_details: Mapping[str, object] | None = None


@dataclass(frozen=True)
class Withdrawn:
    """The record's resources were marked entered-in-error on the server.

    ``content_hash`` is the hash of what was sent (the entered-in-error resources), so a
    record that comes back with its live content is resent.
    """

    key: tuple[str, str]
    content_hash: str
    resources: Sequence[ResourceRef]


RecordOutcome = Synced | Failed | Withdrawn


@dataclass(frozen=True)
class RecordState:
    """What the ledger knows of a record. Timestamps are in UTC."""

    key: RecordKey
    outcome: str
    content_hash: str | None
    error_text: str | None
    error_details: dict[str, Any] | None
    attempts: int
    first_attempt_at: datetime
    last_attempt_at: datetime
    run_id: int
    server_url: str


@dataclass(frozen=True)
class Run:
    """One sync run; ``finished_at`` is ``None`` while it runs or if it was killed."""

    run_id: int
    started_at: datetime
    finished_at: datetime | None
    server_url: str
    options: dict[str, Any]
    counts: dict[str, Any] | None
    exit_code: int | None


_K = TypeVar("_K", bound=tuple[str, str])

# Source ids bound in one query of ``resources_of`` (SQLite allowed 999 variables before 3.32).
_KEYS_PER_QUERY: Final = 500

# How long opening a ledger waits for another process that is creating it (seconds), and the
# SQLite result codes that mean "another connection holds it".
_OPEN_WAIT: Final = 5.0
_BUSY: Final = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


class Ledger:
    """A sync ledger in one SQLite file (or ``":memory:"``). Open it with :meth:`open`."""

    def __init__(self, connection: sqlite3.Connection, path: str) -> None:
        self._db = connection
        self._path = path

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Ledger:
        """Open the ledger at ``path``, creating the file and its schema if needed."""
        where = os.fspath(path)
        try:
            connection = sqlite3.connect(where, isolation_level=None)
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot open ledger {where}: {exc}") from exc
        ledger = cls(connection, where)
        try:
            ledger._prepare()
        except BaseException:
            connection.close()
            raise
        return ledger

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- binding ---------------------------------------------------------------------------

    def check_binding(self, server_url: str, settings: Mapping[str, str]) -> None:
        """Raise ``LedgerMismatch`` if the ledger is bound to another server or other settings.

        What a ledger remembers (hashes, server ids) is only true for the server and the
        identifiers it was written with: a run against another server, or with another MRN
        system, identifier base or write strategy, would send every record again as new
        resources. Writes nothing.
        """
        bound = self.binding()
        if bound is None:
            return
        asked = {"server": _public_url(server_url), **settings}
        differs = [
            f"{name}: the ledger has {bound.get(name)!r}, this run {value!r}"
            for name, value in asked.items()
            if bound.get(name) != value
        ]
        if differs:
            raise LedgerMismatch(
                f"ledger {self._path} belongs to another server or identity settings"
                f" ({'; '.join(differs)}). Going on would create a second copy of every record"
                " on the server. Run with the ledger's settings, or, for another server, use a"
                " new ledger (--state) of its own."
            )

    def bind(self, server_url: str, settings: Mapping[str, str], now: datetime) -> None:
        """Bind the ledger to a server and identity settings on first use; refuse others."""
        self.check_binding(server_url, settings)
        if self.binding() is None:
            with self._write() as db:
                db.execute(
                    "INSERT INTO binding (one, server_url, settings_json, bound_at)"
                    " VALUES (1, ?, ?, ?)",
                    (_public_url(server_url), _to_json(settings), _timestamp(now)),
                )

    def binding(self) -> dict[str, str] | None:
        """The server and identity settings the ledger is bound to, if it has been used."""
        rows = self._read("SELECT server_url, settings_json FROM binding", ())
        if not rows:
            return None
        ((server, settings),) = rows
        return {"server": server, **json.loads(settings)}

    # -- runs --------------------------------------------------------------------------------

    def start_run(self, now: datetime, server_url: str, options: Mapping[str, object]) -> int:
        """Log the start of a run and return its id.

        The server URL is stored without user info, query or fragment, where credentials
        hide; ``options`` must not carry any either.
        """
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO run (started_at, server_url, options_json) VALUES (?, ?, ?)",
                (_timestamp(now), _public_url(server_url), _to_json(options)),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def finish_run(
        self, run_id: int, now: datetime, counts: Mapping[str, object], exit_code: int
    ) -> None:
        with self._write() as db:
            cursor = db.execute(
                "UPDATE run SET finished_at = ?, counts_json = ?, exit_code = ?"
                " WHERE run_id = ? AND finished_at IS NULL",
                (_timestamp(now), _to_json(counts), exit_code, run_id),
            )
            if cursor.rowcount != 1:
                raise LedgerError(f"run {run_id} does not exist or is already finished")

    def runs(self, limit: int | None = None) -> list[Run]:
        """The run log, newest first."""
        rows = self._read(
            "SELECT run_id, started_at, finished_at, server_url, options_json, counts_json,"
            " exit_code FROM run ORDER BY run_id DESC LIMIT ?",
            (-1 if limit is None else limit,),
        )
        return [_run(row) for row in rows]

    # -- decisions ---------------------------------------------------------------------------

    def unchanged(self, hashes: Mapping[_K, str], server_url: str) -> set[_K]:
        """The keys of ``hashes`` (key → content hash) whose very content is on this server already.

        That is: the last outcome is synced (or withdrawn) with the same hash, in a run against
        the same server. New, pending, failed and changed records need a sync.

        One scan of the ledger: fast enough for millions of records.
        """
        on_server = set(
            self._read(
                "SELECT kind, source_id, content_hash FROM record"
                f" WHERE outcome IN ('synced', 'withdrawn') AND {_ON_SERVER}",
                (_public_url(server_url),),
            )
        )
        return {key for key, digest in hashes.items() if (key[0], key[1], digest) in on_server}

    # -- writes ------------------------------------------------------------------------------

    def mark_pending(self, keys: Iterable[tuple[str, str]], run_id: int, now: datetime) -> None:
        """Mark records as being sent, in one transaction committed before the request."""
        at = _timestamp(now)
        rows = ((*_checked_key(key), "pending", None, None, None, at, at, run_id) for key in keys)
        with self._write() as db:
            db.executemany(_UPSERT_RECORD, rows)

    def record_outcomes(
        self, outcomes: Iterable[RecordOutcome], run_id: int, now: datetime
    ) -> None:
        """Record what the server said about one bundle's records, all or nothing.

        Call it once per bundle: one transaction, one commit. If anything in the batch is
        invalid nothing of the batch is written.
        """
        at = _timestamp(now)
        records: list[tuple[str, str, str, str, str | None, str | None]] = []
        # A record's resources as its last outcome in the batch left them: a failure keeps
        # what the ledger knew.
        owned: dict[tuple[str, str], Sequence[ResourceRef]] = {}
        for outcome in outcomes:
            kind, source_id = _checked_key(outcome.key)
            digest = _checked_hash(outcome.content_hash)
            if isinstance(outcome, Failed):
                if not outcome.error_text:
                    raise ValueError(f"{kind} {source_id!r}: a failure needs the error text")
                details = None if outcome.error_details is None else _to_json(outcome.error_details)
                records.append((kind, source_id, "failed", digest, outcome.error_text, details))
                continue
            state = "synced" if isinstance(outcome, Synced) else "withdrawn"
            records.append((kind, source_id, state, digest, None, None))
            owned[kind, source_id] = _checked_resources(kind, source_id, outcome.resources)
        # Three statements for the whole batch, not three per record.
        with self._write() as db:
            db.executemany(_UPSERT_RECORD, [(*row, at, at, run_id) for row in records])
            db.executemany(_DELETE_RESOURCES, _padded_keys(owned))
            db.executemany(
                "INSERT INTO resource (kind, source_id, resource_type, identifier,"
                " server_id, version_id, run_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (kind, source_id, ref.resource_type, ref.identifier, ref.server_id,
                     ref.version_id, run_id)
                    for (kind, source_id), resources in owned.items()
                    for ref in resources
                ],
            )  # fmt: skip

    # -- queries -----------------------------------------------------------------------------

    def counts(self) -> dict[str, dict[str, int]]:
        """Number of records per kind and outcome, every kind and outcome present."""
        table: dict[str, dict[str, int]] = {kind: dict.fromkeys(OUTCOMES, 0) for kind in KINDS}
        for kind, outcome, number in self._read(
            "SELECT kind, outcome, count(*) FROM record GROUP BY kind, outcome", ()
        ):
            table[kind][outcome] = number
        return table

    def record(self, key: tuple[str, str]) -> RecordState | None:
        rows = self._read(
            f"SELECT {_RECORD_COLUMNS} FROM record JOIN run USING (run_id)"
            " WHERE kind = ? AND source_id = ?",
            (key[0], key[1]),
        )
        return _record_state(rows[0]) if rows else None

    def failures(self) -> list[RecordState]:
        """The failed records with the server's error, in kind order then by source id."""
        rows = self._read(
            f"SELECT {_RECORD_COLUMNS} FROM record JOIN run USING (run_id)"
            " WHERE outcome = 'failed'",
            (),
        )
        return sorted(map(_record_state, rows), key=lambda state: _sort_key(state.key))

    def failed_keys(self) -> list[RecordKey]:
        """For ``--retry-failed``."""
        return self._keys("SELECT kind, source_id FROM record WHERE outcome = 'failed'", ())

    def pending_keys(self) -> list[RecordKey]:
        """Records a killed run sent (or was about to send) without hearing back."""
        return self._keys("SELECT kind, source_id FROM record WHERE outcome = 'pending'", ())

    def resources(self, key: tuple[str, str], server_url: str) -> list[ResourceRef]:
        """The record's resources as last recorded against this server.

        Server ids are only meaningful on the server that issued them, so resources recorded
        against another server are not returned.
        """
        return self.resources_of([key], server_url)[key]

    def resources_of(self, keys: Iterable[_K], server_url: str) -> dict[_K, list[ResourceRef]]:
        """``resources`` of many records, each key's list ([] for none) in one dict.

        A query per few hundred records of a kind, not one per record: a sync asks this for
        every record of a chunk.
        """
        found: dict[_K, list[ResourceRef]] = {}
        by_kind: dict[str, dict[str, _K]] = {}
        for key in keys:
            found[key] = []
            by_kind.setdefault(key[0], {})[key[1]] = key
        url = _public_url(server_url)
        for kind, by_id in by_kind.items():
            ids = list(by_id)
            for start in range(0, len(ids), _KEYS_PER_QUERY):
                batch = ids[start : start + _KEYS_PER_QUERY]
                marks = ", ".join("?" * len(batch))
                rows = self._read(
                    "SELECT source_id, resource_type, identifier, server_id, version_id"
                    f" FROM resource WHERE kind = ? AND source_id IN ({marks})"
                    f" AND {_ON_SERVER} ORDER BY source_id, resource_type, identifier",
                    (kind, *batch, url),
                )
                for source_id, *ref in rows:
                    found[by_id[source_id]].append(ResourceRef(*ref))
        return found

    def resource_types(self, keys: Iterable[tuple[str, str]], server_url: str) -> dict[str, int]:
        """How many resources of each type these records own on this server (for a summary)."""
        wanted = set(keys)
        counts: dict[str, int] = {}
        # One scan instead of a query per record: a re-sync of 100,000 records stays fast.
        for kind, source_id, resource_type in self._read(
            f"SELECT kind, source_id, resource_type FROM resource WHERE {_ON_SERVER}",
            (_public_url(server_url),),
        ):
            if (kind, source_id) in wanted:
                counts[resource_type] = counts.get(resource_type, 0) + 1
        return counts

    # -- SQLite ------------------------------------------------------------------------------

    def _prepare(self) -> None:
        # While one process creates the file, a second one opening it (a status command, a
        # monitoring script) can get "database is locked" at once: switching to WAL and the
        # first look at a new WAL file take locks that SQLite does not wait for. Each side
        # retries briefly, so neither a sync job nor its observer fails on the other.
        deadline = time.monotonic() + _OPEN_WAIT
        while True:
            try:
                self._set_modes()
                return
            except (sqlite3.Error, LedgerError) as exc:
                # _read and _write wrap SQLite's errors; the cause says whether it was a lock.
                cause = exc if isinstance(exc, sqlite3.Error) else exc.__cause__
                busy = isinstance(cause, sqlite3.Error) and cause.sqlite_errorcode & 0xFF in _BUSY
                if not busy or time.monotonic() > deadline:
                    if isinstance(exc, LedgerError):
                        raise
                    raise LedgerError(f"cannot open ledger {self._path}: {exc}") from exc
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            time.sleep(0.01)

    def _set_modes(self) -> None:
        # WAL: a status command can read while a sync job writes. It is kept in the file, so
        # only the first opener switches (which needs the file to itself). synchronous=NORMAL
        # keeps the file consistent through a killed process and only risks the last commits
        # on power loss, and losing those means resending, which is harmless.
        ((mode,),) = self._db.execute("PRAGMA journal_mode").fetchall()
        if mode != "wal":
            self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        if not self._schema_is_current():
            self._create_or_upgrade()
        # Only now: with foreign keys on, rebuilding the record table would cascade into the
        # resource table (SQLite deletes a dropped table's rows first).
        self._db.execute("PRAGMA foreign_keys = ON")

    def _create_or_upgrade(self) -> None:
        with self._write() as db:
            if self._schema_is_current():  # another process created it meanwhile
                return
            ((version,),) = db.execute("PRAGMA user_version").fetchall()
            if version == 0:
                for statement in _SCHEMA:
                    db.execute(statement)
            if version < 2:
                db.execute(_BINDING)  # new, or a version 1 ledger: binds on its next run
            if 0 < version < 4:
                # Version 3 added the clinic and practitioner kinds to the record table's CHECK,
                # version 4 wrote its CHECKs as ORs (see _one_of); SQLite cannot alter a
                # CHECK: the table is rebuilt, its rows kept.
                db.execute(_RECORD_TABLE.replace("TABLE record", "TABLE record_new", 1))
                db.execute("INSERT INTO record_new SELECT * FROM record")
                db.execute("DROP TABLE record")
                db.execute("ALTER TABLE record_new RENAME TO record")
                for statement in _RECORD_INDEXES:
                    db.execute(statement)
            db.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _schema_is_current(self) -> bool:
        """True if the schema exists, False if the file is empty; else refuse the file."""
        # One statement, so one snapshot: another process may commit the schema in between.
        ((application_id, version, empty),) = self._read(
            "SELECT (SELECT application_id FROM pragma_application_id),"
            " (SELECT user_version FROM pragma_user_version),"
            " NOT EXISTS (SELECT 1 FROM sqlite_master)",
            (),
        )
        if application_id == _APPLICATION_ID:
            if version > SCHEMA_VERSION:
                raise LedgerError(
                    f"ledger {self._path} has schema version {version}, written by a newer"
                    f" meso-fhir; this one reads up to version {SCHEMA_VERSION}: upgrade meso-fhir"
                )
            return bool(version == SCHEMA_VERSION)
        if application_id == 0 and empty:
            return False
        raise LedgerError(f"{self._path} is an SQLite file but not a meso-fhir ledger")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction; rolled back on any exception, SQLite's own ones as LedgerError."""
        try:
            # IMMEDIATE takes the write lock now, so a second writer waits (up to sqlite3's
            # default 5 s timeout) instead of failing halfway through.
            self._db.execute("BEGIN IMMEDIATE")
            yield self._db
            self._db.execute("COMMIT")
        except BaseException as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise LedgerError(f"ledger {self._path}: {exc}") from exc
            raise

    def _read(self, sql: str, parameters: Sequence[object]) -> list[Any]:
        try:
            return self._db.execute(sql, parameters).fetchall()
        except sqlite3.Error as exc:
            raise LedgerError(f"ledger {self._path}: {exc}") from exc

    def _keys(self, sql: str, parameters: Sequence[object]) -> list[RecordKey]:
        keys = [RecordKey(kind, source_id) for kind, source_id in self._read(sql, parameters)]
        return sorted(keys, key=_sort_key)


def _padded_keys(keys: Iterable[tuple[str, str]]) -> Iterator[tuple[str | None, ...]]:
    """The parameters of _DELETE_RESOURCES for ``keys``: a kind, then _KEYS_PER_DELETE of its
    source ids."""
    by_kind: dict[str, list[str]] = {}
    for kind, source_id in keys:
        by_kind.setdefault(kind, []).append(source_id)
    for kind, ids in by_kind.items():
        for start in range(0, len(ids), _KEYS_PER_DELETE):
            chunk = ids[start : start + _KEYS_PER_DELETE]
            yield (kind, *chunk, *[None] * (_KEYS_PER_DELETE - len(chunk)))


def _checked_key(key: tuple[str, str]) -> tuple[str, str]:
    kind, source_id = key
    if kind not in _KIND_RANK:
        raise ValueError(f"unknown record kind {kind!r}; expected one of {', '.join(KINDS)}")
    if not isinstance(source_id, str) or not source_id:
        raise ValueError(f"{kind}: the source id must be a non-empty string, not {source_id!r}")
    return kind, source_id


def _checked_hash(content_hash: str) -> str:
    if not isinstance(content_hash, str) or not _HEX.fullmatch(content_hash):
        raise ValueError(f"a content hash is a lowercase hex string, not {content_hash!r}")
    return content_hash


def _checked_resources(
    kind: str, source_id: str, resources: Sequence[ResourceRef]
) -> Sequence[ResourceRef]:
    identities = {(ref.resource_type, ref.identifier) for ref in resources}
    if len(identities) != len(resources):
        raise ValueError(f"{kind} {source_id!r}: a resource is listed twice")
    return resources


def _sort_key(key: tuple[str, str]) -> tuple[int, str]:
    return _KIND_RANK[key[0]], key[1]


def _record_state(row: Sequence[Any]) -> RecordState:
    (
        kind,
        source_id,
        outcome,
        content_hash,
        error_text,
        details,
        attempts,
        first_at,
        last_at,
        run_id,
        server_url,
    ) = row
    return RecordState(
        key=RecordKey(kind, source_id),
        outcome=outcome,
        content_hash=content_hash,
        error_text=error_text,
        error_details=None if details is None else json.loads(details),
        attempts=attempts,
        first_attempt_at=_datetime(first_at),
        last_attempt_at=_datetime(last_at),
        run_id=run_id,
        server_url=server_url,
    )


def _run(row: Sequence[Any]) -> Run:
    run_id, started_at, finished_at, server_url, options_json, counts_json, exit_code = row
    return Run(
        run_id=run_id,
        started_at=_datetime(started_at),
        finished_at=None if finished_at is None else _datetime(finished_at),
        server_url=server_url,
        options=json.loads(options_json),
        counts=None if counts_json is None else json.loads(counts_json),
        exit_code=exit_code,
    )


def _timestamp(now: datetime) -> str:
    """UTC, fixed width. The ledger never reads the clock: the caller passes ``now``."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"a ledger timestamp needs a time zone: {now.isoformat()}")
    return now.astimezone(UTC).isoformat(timespec="microseconds")


def _datetime(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _to_json(value: Mapping[str, object]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _public_url(url: str) -> str:
    """The server's base URL without credentials, as stored and compared.

    User info, query and fragment go (tokens hide there, and a FHIR base has none); scheme and
    host are lower-cased and a trailing slash dropped, so one server has one spelling.
    """
    parts = urlsplit(url.strip())
    host = parts.netloc.rpartition("@")[2].lower()
    return urlunsplit((parts.scheme.lower(), host, parts.path.rstrip("/"), "", ""))
