"""The sync ledger: schema, decisions, crash safety, the status queries."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meso_fhir.syncing.ledger import (
    _UPSERT_RECORD,
    KINDS,
    OUTCOMES,
    SCHEMA_VERSION,
    Failed,
    Ledger,
    LedgerError,
    RecordKey,
    RecordOutcome,
    RecordState,
    ResourceRef,
    Run,
    Synced,
    Withdrawn,
    _one_of,
)

# A frozen clock in a non-UTC zone: the ledger stores and returns UTC.
CET = timezone(timedelta(hours=1))
T1 = datetime(2026, 3, 2, 9, 30, tzinfo=CET)
T2 = datetime(2026, 3, 3, 9, 30, tzinfo=CET)
T3 = datetime(2026, 3, 4, 9, 30, tzinfo=CET)

SERVER = "https://fhir.example.org/r4"
OTHER_SERVER = "https://other.example.org/fhir"

PATIENT = RecordKey("patient", "P1")
SESSION = RecordKey("session", "S1")
SCREENING = RecordKey("screening", "SC1")

HASH_A = "a1" * 32
HASH_B = "b2" * 32

PATIENT_RESOURCES = (ResourceRef("Patient", "urn:mrn|123", "pat-1", "1"),)
SESSION_RESOURCES = (
    ResourceRef("Procedure", "https://clinic.example/session|S1", "proc-9", "1"),
    ResourceRef("MedicationAdministration", "https://clinic.example/injection|S1-1", "ma-4", "1"),
)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    with Ledger.open(":memory:") as opened:
        yield opened


Snapshot = tuple[
    dict[str, dict[str, int]],
    list[Run],
    list[RecordState],
    list[RecordKey],
    list[tuple[RecordState | None, list[ResourceRef]]],
]
History = Callable[[Ledger, int], None]


def snapshot(ledger: Ledger, keys: tuple[RecordKey, ...]) -> Snapshot:
    """Everything the ledger answers about ``keys``, to compare before and after."""
    return (
        ledger.counts(),
        ledger.runs(),
        ledger.failures(),
        ledger.pending_keys(),
        [(ledger.record(key), ledger.resources(key, SERVER)) for key in keys],
    )


# -- schema ----------------------------------------------------------------------------------


def test_a_new_file_gets_the_schema_its_version_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    Ledger.open(path).close()

    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA user_version").fetchone() == (4,)
        assert db.execute("PRAGMA application_id").fetchone() == (0x4D45534F,)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        assert tables.fetchall() == [("binding",), ("record",), ("resource",), ("run",)]
    finally:
        db.close()
    assert SCHEMA_VERSION == 4


def test_a_version_1_ledger_gains_its_binding_and_keeps_its_records(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with Ledger.open(path) as ledger:
        run_id = ledger.start_run(T1, SERVER, {})
        ledger.record_outcomes([Synced(PATIENT, HASH_A, PATIENT_RESOURCES)], run_id, T1)
    db = sqlite3.connect(path)
    db.execute("DROP TABLE binding")  # what version 1 wrote
    db.execute("PRAGMA user_version = 1")
    db.close()
    with Ledger.open(path) as ledger:
        assert ledger.binding() is None  # bound on its next run
        assert ledger.unchanged({PATIENT: HASH_A}, SERVER) == {PATIENT}
        ledger.bind(SERVER, {"identifier_base": "https://c.example/ids"}, T2)
        assert ledger.binding() == {"server": SERVER, "identifier_base": "https://c.example/ids"}


def _as_version(path: Path, version: int) -> None:
    """Give the ledger at ``path`` the record table ``version`` had: its CHECKs as IN lists
    (before 4), no clinic or practitioner (before 3)."""
    kinds = KINDS if version == 3 else ("patient", "screening", "course", "session", "observation")
    db = sqlite3.connect(path, isolation_level=None)
    (table,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'record'").fetchone()
    for now, then in (
        (_one_of("kind", KINDS), f"kind IN {kinds}"),
        (_one_of("outcome", OUTCOMES), f"outcome IN {OUTCOMES}"),
    ):
        assert now in table
        table = table.replace(now, then)
    db.execute("BEGIN")
    db.execute(table.replace("TABLE record", "TABLE old", 1))
    db.execute("INSERT INTO old SELECT * FROM record")
    db.execute("DROP TABLE record")  # foreign keys are off in this connection: no cascade
    db.execute("ALTER TABLE old RENAME TO record")
    db.execute(f"PRAGMA user_version = {version}")
    db.execute("COMMIT")
    db.close()


def test_a_version_2_ledger_takes_practitioners_and_keeps_its_records(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    practitioner = RecordKey("practitioner", "DR-07")
    with Ledger.open(path) as ledger:
        run_id = ledger.start_run(T1, SERVER, {})
        ledger.record_outcomes([Synced(PATIENT, HASH_A, PATIENT_RESOURCES)], run_id, T1)
    _as_version(path, 2)
    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError):  # what version 2 could not hold
        db.execute(
            "INSERT INTO record VALUES ('practitioner', 'x', 'pending', NULL, NULL, NULL, 1,"
            " 't', 't', 1)"
        )
    db.close()

    with Ledger.open(path) as ledger:
        assert ledger.unchanged({PATIENT: HASH_A}, SERVER) == {PATIENT}
        assert ledger.resources(PATIENT, SERVER) == list(PATIENT_RESOURCES)
        run_id = ledger.start_run(T2, SERVER, {})
        ledger.record_outcomes([Synced(practitioner, HASH_B, [])], run_id, T2)
        assert ledger.unchanged({practitioner: HASH_B, PATIENT: HASH_A}, SERVER) == {
            practitioner,
            PATIENT,
        }
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone() == (4,)
    indexes = db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
    assert sorted(indexes.fetchall()) == [("record_failed",), ("record_pending",)]
    db.close()


def test_a_version_3_ledger_is_rebuilt_without_in_lists_and_keeps_its_records(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.sqlite"
    with Ledger.open(path) as ledger:
        run_id = ledger.start_run(T1, SERVER, {})
        ledger.record_outcomes([Synced(PATIENT, HASH_A, PATIENT_RESOURCES)], run_id, T1)
    _as_version(path, 3)
    with Ledger.open(path) as ledger:
        assert ledger.unchanged({PATIENT: HASH_A}, SERVER) == {PATIENT}
        assert ledger.resources(PATIENT, SERVER) == list(PATIENT_RESOURCES)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone() == (4,)
    (table,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'record'").fetchone()
    assert " IN (" not in table
    db.close()


def test_writing_a_record_builds_no_table_on_the_way(tmp_path: Path) -> None:
    # A CHECK (x IN (...)) of constants made SQLite build an ephemeral table for every row
    # written: a tenth of a first sync's instructions.
    with Ledger.open(tmp_path / "state.sqlite") as ledger:
        row = ("patient", "P1", "pending", None, None, None, "t", "t", 1)
        opcodes = [op for _, op, *_ in ledger._db.execute("EXPLAIN " + _UPSERT_RECORD, row)]
    assert "Insert" in opcodes
    assert "OpenEphemeral" not in opcodes


def test_reopening_a_ledger_keeps_its_schema(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with Ledger.open(path) as ledger:
        ledger.start_run(T1, SERVER, {})
    with Ledger.open(path) as ledger:
        assert [run.run_id for run in ledger.runs()] == [1]


def test_a_ledger_from_a_newer_meso_fhir_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    Ledger.open(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 5")
    db.close()

    with pytest.raises(LedgerError) as caught:
        Ledger.open(path)
    assert str(caught.value) == (
        f"ledger {path} has schema version 5, written by a newer meso-fhir;"
        " this one reads up to version 4: upgrade meso-fhir"
    )


def test_another_programs_sqlite_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE invoices (id INTEGER)")
    db.commit()
    db.close()

    with pytest.raises(LedgerError) as caught:
        Ledger.open(path)
    assert str(caught.value) == f"{path} is an SQLite file but not a meso-fhir ledger"
    db = sqlite3.connect(path)
    assert db.execute("SELECT name FROM sqlite_master").fetchall() == [("invoices",)]
    db.close()


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"not a database at all\n" * 100)

    with pytest.raises(LedgerError) as caught:
        Ledger.open(path)
    assert str(caught.value) == f"cannot open ledger {path}: file is not a database"


def test_the_clock_must_carry_a_time_zone(ledger: Ledger) -> None:
    with pytest.raises(ValueError) as caught:
        ledger.start_run(datetime(2026, 3, 2, 9, 30), SERVER, {})
    assert str(caught.value) == "a ledger timestamp needs a time zone: 2026-03-02T09:30:00"


# -- decisions -------------------------------------------------------------------------------


def _new(ledger: Ledger, run_id: int) -> None:
    """Nothing known about the record."""


def _synced_a(ledger: Ledger, run_id: int) -> None:
    ledger.record_outcomes([Synced(PATIENT, HASH_A, PATIENT_RESOURCES)], run_id, T1)


def _synced_b(ledger: Ledger, run_id: int) -> None:
    ledger.record_outcomes([Synced(PATIENT, HASH_B, PATIENT_RESOURCES)], run_id, T1)


def _failed_a(ledger: Ledger, run_id: int) -> None:
    ledger.record_outcomes([Failed(PATIENT, HASH_A, "HAPI-0450: bad")], run_id, T1)


def _synced_a_then_pending(ledger: Ledger, run_id: int) -> None:
    _synced_a(ledger, run_id)
    ledger.mark_pending([PATIENT], run_id, T2)


def _synced_a_elsewhere(ledger: Ledger, run_id: int) -> None:
    other_run = ledger.start_run(T1, OTHER_SERVER, {})
    ledger.record_outcomes([Synced(PATIENT, HASH_A, PATIENT_RESOURCES)], other_run, T1)


def _withdrawn_a(ledger: Ledger, run_id: int) -> None:
    ledger.record_outcomes([Withdrawn(PATIENT, HASH_A, PATIENT_RESOURCES)], run_id, T1)


@pytest.mark.parametrize(
    ("history", "server_url", "expected"),
    [
        (_new, SERVER, True),
        (_synced_a, SERVER, False),
        # Another spelling of the same server, credentials included, is the same server.
        (_synced_a, "HTTPS://user:secret@FHIR.example.org/r4/?token=x", False),
        (_synced_b, SERVER, True),
        (_failed_a, SERVER, True),
        (_synced_a_then_pending, SERVER, True),
        (_synced_a_elsewhere, SERVER, True),
        (_synced_a, OTHER_SERVER, True),
        (_withdrawn_a, SERVER, False),
    ],
)
def test_unchanged_follows_the_truth_table(
    ledger: Ledger, history: History, server_url: str, expected: bool
) -> None:
    run_id = ledger.start_run(T1, SERVER, {})
    history(ledger, run_id)

    assert ledger.unchanged({PATIENT: HASH_A}, server_url) == (set() if expected else {PATIENT})


def test_unchanged_returns_the_callers_own_keys(ledger: Ledger) -> None:
    run_id = ledger.start_run(T1, SERVER, {})
    ledger.record_outcomes(
        [Synced(PATIENT, HASH_A, PATIENT_RESOURCES), Synced(SESSION, HASH_A, SESSION_RESOURCES)],
        run_id,
        T1,
    )
    hashes = {("patient", "P1"): HASH_A, ("session", "S1"): HASH_B, ("course", "C1"): HASH_A}

    assert ledger.unchanged(hashes, SERVER) == {("patient", "P1")}


# -- writes ----------------------------------------------------------------------------------


def test_an_outcome_records_everything_about_the_attempt(ledger: Ledger) -> None:
    run_id = ledger.start_run(T1, SERVER, {})
    ledger.mark_pending([SESSION], run_id, T1)
    ledger.record_outcomes(
        [Failed(SESSION, HASH_A, "Procedure.subject: unknown patient", {"entry": 3})],
        run_id,
        T2,
    )

    assert ledger.record(SESSION) == RecordState(
        key=SESSION,
        outcome="failed",
        content_hash=HASH_A,
        error_text="Procedure.subject: unknown patient",
        error_details={"entry": 3},
        attempts=1,
        first_attempt_at=utc(T1),
        last_attempt_at=utc(T2),
        run_id=run_id,
        server_url=SERVER,
    )
    assert ledger.record(PATIENT) is None


def test_attempts_count_runs_not_calls(ledger: Ledger) -> None:
    first = ledger.start_run(T1, SERVER, {})
    ledger.mark_pending([SESSION], first, T1)
    # A rejected transaction split and resent within the run: still one attempt.
    ledger.record_outcomes([Failed(SESSION, HASH_A, "timeout")], first, T1)
    ledger.mark_pending([SESSION], first, T1)
    ledger.record_outcomes([Failed(SESSION, HASH_A, "HAPI-0450: bad")], first, T1)
    second = ledger.start_run(T2, SERVER, {"retry_failed": True})
    ledger.mark_pending([SESSION], second, T2)
    ledger.record_outcomes([Synced(SESSION, HASH_A, SESSION_RESOURCES)], second, T3)

    assert ledger.record(SESSION) == RecordState(
        key=SESSION,
        outcome="synced",
        content_hash=HASH_A,
        error_text=None,
        error_details=None,
        attempts=2,
        first_attempt_at=utc(T1),
        last_attempt_at=utc(T3),
        run_id=second,
        server_url=SERVER,
    )


def test_pending_keeps_the_last_hash_and_drops_the_last_error(ledger: Ledger) -> None:
    first = ledger.start_run(T1, SERVER, {})
    ledger.record_outcomes([Failed(PATIENT, HASH_A, "HAPI-0450: bad")], first, T1)
    second = ledger.start_run(T2, SERVER, {})
    ledger.mark_pending([PATIENT, SESSION], second, T2)

    patient = ledger.record(PATIENT)
    session = ledger.record(SESSION)
    assert patient is not None and session is not None
    assert (patient.outcome, patient.content_hash, patient.error_text) == ("pending", HASH_A, None)
    assert (session.outcome, session.content_hash, session.attempts) == ("pending", None, 1)


def test_resources_of_many_records_are_replaced_in_one_batch(ledger: Ledger) -> None:
    # More records of a kind than one DELETE takes (and a second kind): each keeps only what
    # its last outcome says, and records outside the batch keep theirs.
    sessions = [RecordKey("session", f"S{i}") for i in range(123)]
    kept = RecordKey("session", "S-other")

    def owned(key: RecordKey, version: str) -> list[ResourceRef]:
        return [ResourceRef("Procedure", f"https://c.example/session|{key[1]}", "p", version)]

    run_id = ledger.start_run(T1, SERVER, {})
    everything = [*sessions, PATIENT, kept]
    ledger.record_outcomes([Synced(k, HASH_A, owned(k, "1")) for k in everything], run_id, T1)
    ledger.record_outcomes(
        [Synced(k, HASH_B, owned(k, "2")) for k in [*sessions, PATIENT]], run_id, T2
    )
    found = ledger.resources_of(everything, SERVER)
    assert found == {k: owned(k, "2") for k in [*sessions, PATIENT]} | {kept: owned(kept, "1")}


def test_resources_are_replaced_on_sync_and_kept_on_failure(ledger: Ledger) -> None:
    run_id = ledger.start_run(T1, SERVER, {})
    ledger.record_outcomes([Synced(SESSION, HASH_A, SESSION_RESOURCES)], run_id, T1)
    ledger.record_outcomes([Failed(SESSION, HASH_B, "HAPI-0450: bad")], run_id, T2)
    assert ledger.resources(SESSION, SERVER) == [
        ResourceRef(
            "MedicationAdministration", "https://clinic.example/injection|S1-1", "ma-4", "1"
        ),
        ResourceRef("Procedure", "https://clinic.example/session|S1", "proc-9", "1"),
    ]

    # One injection fewer: the ledger now knows exactly what the caller says it owns.
    procedure_v2 = ResourceRef("Procedure", "https://clinic.example/session|S1", "proc-9", "2")
    ledger.record_outcomes([Synced(SESSION, HASH_B, [procedure_v2])], run_id, T2)
    assert ledger.resources(SESSION, SERVER) == [procedure_v2]

    # Withdrawn: entered-in-error with the same identity, a new version.
    procedure_v3 = ResourceRef("Procedure", "https://clinic.example/session|S1", "proc-9", "3")
    ledger.record_outcomes([Withdrawn(SESSION, HASH_A, [procedure_v3])], run_id, T3)
    assert ledger.resources(SESSION, SERVER) == [procedure_v3]


def test_resources_of_many_records_are_those_of_each(ledger: Ledger) -> None:
    run_id = ledger.start_run(T1, SERVER, {})
    sessions = [RecordKey("session", f"S{n}") for n in range(1, 1202)]  # several queries
    ledger.record_outcomes(
        [Synced(PATIENT, HASH_A, PATIENT_RESOURCES)]
        + [Synced(key, HASH_A, SESSION_RESOURCES) for key in sessions],
        run_id,
        T1,
    )
    unknown = RecordKey("screening", "SC404")
    asked = [unknown, *sessions, PATIENT]

    found = ledger.resources_of(asked, SERVER)

    assert list(found) == asked
    assert found == {key: ledger.resources(key, SERVER) for key in asked}
    assert found[unknown] == []
    assert found[sessions[-1]] == sorted(SESSION_RESOURCES, key=lambda r: r.resource_type)
    assert ledger.resources_of(asked, OTHER_SERVER) == {key: [] for key in asked}


def test_server_ids_are_only_given_for_the_server_that_issued_them(ledger: Ledger) -> None:
    run_id = ledger.start_run(T1, SERVER, {})
    ledger.record_outcomes([Synced(PATIENT, HASH_A, PATIENT_RESOURCES)], run_id, T1)
    other_run = ledger.start_run(T2, OTHER_SERVER, {})
    ledger.record_outcomes([Failed(PATIENT, HASH_A, "HAPI-1094: no patient")], other_run, T2)

    assert ledger.resources(PATIENT, SERVER) == list(PATIENT_RESOURCES)
    assert ledger.resources(PATIENT, OTHER_SERVER) == []


@pytest.mark.parametrize(
    ("bad_outcome", "error"),
    [
        (Synced(("invoice", "I1"), HASH_A, ()), ValueError),
        # Not JSON: found only while writing the batch.
        (Failed(SCREENING, HASH_A, "bad", {"entry": object()}), TypeError),
        (Synced(SCREENING, "NOT-HEX", ()), ValueError),
        (Synced(SCREENING, HASH_A, [PATIENT_RESOURCES[0], PATIENT_RESOURCES[0]]), ValueError),
        (Failed(SCREENING, HASH_A, ""), ValueError),
    ],
)
def test_a_batch_that_fails_midway_writes_nothing(
    ledger: Ledger, bad_outcome: RecordOutcome, error: type[Exception]
) -> None:
    first = ledger.start_run(T1, SERVER, {})
    ledger.record_outcomes(
        [Failed(PATIENT, HASH_A, "HAPI-0450: bad"), Synced(SESSION, HASH_A, SESSION_RESOURCES)],
        first,
        T1,
    )
    second = ledger.start_run(T2, SERVER, {})
    before = snapshot(ledger, (PATIENT, SESSION, SCREENING))

    with pytest.raises(error):
        ledger.record_outcomes(
            [
                Synced(PATIENT, HASH_B, PATIENT_RESOURCES),
                Synced(SESSION, HASH_B, SESSION_RESOURCES[:1]),
                bad_outcome,
                Synced(RecordKey("course", "C1"), HASH_B, ()),
            ],
            second,
            T2,
        )

    assert snapshot(ledger, (PATIENT, SESSION, SCREENING)) == before
    # The ledger is still usable.
    ledger.record_outcomes([Synced(PATIENT, HASH_B, PATIENT_RESOURCES)], second, T2)
    assert ledger.unchanged({PATIENT: HASH_B}, SERVER) == {PATIENT}


def test_a_caller_crashing_midway_through_a_batch_writes_nothing(ledger: Ledger) -> None:
    run_id = ledger.start_run(T1, SERVER, {})
    before = snapshot(ledger, (PATIENT, SESSION))

    def outcomes() -> Iterator[RecordOutcome]:
        yield Synced(PATIENT, HASH_A, PATIENT_RESOURCES)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ledger.record_outcomes(outcomes(), run_id, T1)
    with pytest.raises(KeyboardInterrupt):
        ledger.mark_pending((key for key in (PATIENT, SESSION) if not _interrupt(key)), run_id, T1)

    assert snapshot(ledger, (PATIENT, SESSION)) == before


def _interrupt(key: RecordKey) -> bool:
    if key == SESSION:
        raise KeyboardInterrupt
    return False


def test_a_write_against_an_unknown_run_is_a_ledger_error(ledger: Ledger) -> None:
    with pytest.raises(LedgerError) as caught:
        ledger.mark_pending([PATIENT], 42, T1)
    assert str(caught.value) == "ledger :memory:: FOREIGN KEY constraint failed"
    assert ledger.record(PATIENT) is None


# -- crash and resume ------------------------------------------------------------------------


def test_pending_records_survive_a_reopen_and_are_resent(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with Ledger.open(path) as ledger:
        run_id = ledger.start_run(T1, SERVER, {})
        ledger.record_outcomes([Synced(PATIENT, HASH_A, PATIENT_RESOURCES)], run_id, T1)
        ledger.mark_pending([PATIENT, SESSION], run_id, T2)

    with Ledger.open(path) as ledger:
        assert ledger.pending_keys() == [PATIENT, SESSION]
        assert ledger.unchanged({PATIENT: HASH_A, SESSION: HASH_A}, SERVER) == set()
        # The server ids of what was synced before are still known.
        assert ledger.resources(PATIENT, SERVER) == list(PATIENT_RESOURCES)


def test_opening_a_ledger_while_another_process_creates_it_fails_neither(tmp_path: Path) -> None:
    """A status command (or a test) opening the file the moment a sync job creates it.

    SQLite does not wait for the locks taken by the switch to WAL, so either side could fail
    with "database is locked" (the sync job with exit 6). Many fresh files, so that the moments
    of creation and first opening overlap often.
    """
    count = 150
    creator = textwrap.dedent(
        """
        import sys, time
        from datetime import UTC, datetime
        from meso_fhir.syncing.ledger import Ledger

        errors = 0
        for i in range(int(sys.argv[2])):
            try:
                with Ledger.open(f"{sys.argv[1]}-{i}") as ledger:
                    ledger.start_run(datetime(2026, 3, 2, tzinfo=UTC), "https://f.example/r4", {})
            except Exception as exc:
                errors += 1
                print(exc, file=sys.stderr)
            time.sleep(0.005)
        sys.exit(min(errors, 100))
        """
    )
    watcher = textwrap.dedent(
        """
        import os, sys, time
        from meso_fhir.syncing.ledger import Ledger

        errors = 0
        for i in range(int(sys.argv[2])):
            path = f"{sys.argv[1]}-{i}"
            deadline = time.monotonic() + 30
            while not os.path.exists(path) and time.monotonic() < deadline:
                pass
            try:
                with Ledger.open(path) as ledger:
                    ledger.counts()
            except Exception as exc:
                errors += 1
                print(exc, file=sys.stderr)
        sys.exit(min(errors, 100))
        """
    )
    base = str(tmp_path / "state")
    watching = subprocess.Popen(
        [sys.executable, "-c", watcher, base, str(count)], stderr=subprocess.PIPE, text=True
    )
    created = subprocess.run(
        [sys.executable, "-c", creator, base, str(count)],
        stderr=subprocess.PIPE, text=True, check=False, timeout=120,
    )  # fmt: skip
    _, watch_errors = watching.communicate(timeout=120)
    assert (created.returncode, created.stderr) == (0, "")
    assert (watching.returncode, watch_errors) == (0, "")
    for i in range(count):
        with Ledger.open(f"{base}-{i}") as ledger:
            assert len(ledger.runs()) == 1


def test_a_killed_process_leaves_its_records_pending(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    script = textwrap.dedent(
        """
        import os, sys
        from datetime import UTC, datetime
        from meso_fhir.syncing.ledger import Ledger, ResourceRef, Synced

        now = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
        ledger = Ledger.open(sys.argv[1])
        run_id = ledger.start_run(now, "https://fhir.example.org/r4", {"batch_size": 2})
        ref = ResourceRef("Patient", "urn:mrn|123", "pat-1", "1")
        ledger.record_outcomes([Synced(("patient", "P1"), "a1" * 32, [ref])], run_id, now)
        ledger.mark_pending([("session", "S1"), ("patient", "P2")], run_id, now)
        os._exit(9)  # killed while the bundle is in flight: no close, no cleanup
        """
    )
    done = subprocess.run([sys.executable, "-c", script, str(path)], check=False)
    assert done.returncode == 9

    with Ledger.open(path) as ledger:
        assert ledger.pending_keys() == [RecordKey("patient", "P2"), RecordKey("session", "S1")]
        assert ledger.unchanged({PATIENT: HASH_A}, SERVER) == {PATIENT}
        [run] = ledger.runs()
        assert (run.run_id, run.finished_at, run.exit_code) == (1, None, None)


def test_a_reopened_file_answers_exactly_as_before(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    keys = (PATIENT, SESSION, SCREENING)
    with Ledger.open(path) as ledger:
        first = ledger.start_run(T1, SERVER, {"full": False})
        ledger.mark_pending(keys, first, T1)
        ledger.record_outcomes(
            [
                Synced(PATIENT, HASH_A, PATIENT_RESOURCES),
                Synced(SESSION, HASH_A, SESSION_RESOURCES),
                Failed(SCREENING, HASH_B, "Observation.code: required", {"entry": 7}),
            ],
            first,
            T2,
        )
        ledger.finish_run(first, T2, {"synced": 2, "failed": 1}, 3)
        before = snapshot(ledger, keys)

    # A fresh connection, as the next process would open it.
    with Ledger.open(path) as ledger:
        assert snapshot(ledger, keys) == before
        assert ledger.unchanged({PATIENT: HASH_A, SESSION: HASH_A}, SERVER) == {PATIENT, SESSION}


# -- status and retry ------------------------------------------------------------------------


def _status_fixture(ledger: Ledger) -> int:
    run_id = ledger.start_run(T1, SERVER, {})
    ledger.mark_pending(
        [RecordKey("observation", "O1"), RecordKey("observation", "O2")], run_id, T1
    )
    ledger.record_outcomes(
        [
            Synced(PATIENT, HASH_A, PATIENT_RESOURCES),
            Synced(RecordKey("patient", "P2"), HASH_A, ()),
            Failed(SESSION, HASH_A, "Procedure.performed[x]: required", {"entry": 2}),
            Failed(SCREENING, HASH_B, "HAPI-1094: unknown patient", {"entry": 0}),
            Withdrawn(RecordKey("course", "C1"), HASH_A, ()),
            Synced(RecordKey("observation", "O1"), HASH_A, ()),
        ],
        run_id,
        T2,
    )
    return run_id


def test_counts_per_kind_and_outcome(ledger: Ledger) -> None:
    _status_fixture(ledger)

    assert ledger.counts() == {
        "clinic": {"pending": 0, "synced": 0, "failed": 0, "withdrawn": 0},
        "practitioner": {"pending": 0, "synced": 0, "failed": 0, "withdrawn": 0},
        "patient": {"pending": 0, "synced": 2, "failed": 0, "withdrawn": 0},
        "screening": {"pending": 0, "synced": 0, "failed": 1, "withdrawn": 0},
        "course": {"pending": 0, "synced": 0, "failed": 0, "withdrawn": 1},
        "session": {"pending": 0, "synced": 0, "failed": 1, "withdrawn": 0},
        "observation": {"pending": 1, "synced": 1, "failed": 0, "withdrawn": 0},
    }


def test_failures_in_kind_order_with_the_servers_words(ledger: Ledger) -> None:
    run_id = _status_fixture(ledger)

    assert ledger.failures() == [
        RecordState(
            key=SCREENING,
            outcome="failed",
            content_hash=HASH_B,
            error_text="HAPI-1094: unknown patient",
            error_details={"entry": 0},
            attempts=1,
            first_attempt_at=utc(T2),
            last_attempt_at=utc(T2),
            run_id=run_id,
            server_url=SERVER,
        ),
        RecordState(
            key=SESSION,
            outcome="failed",
            content_hash=HASH_A,
            error_text="Procedure.performed[x]: required",
            error_details={"entry": 2},
            attempts=1,
            first_attempt_at=utc(T2),
            last_attempt_at=utc(T2),
            run_id=run_id,
            server_url=SERVER,
        ),
    ]
    assert ledger.failed_keys() == [SCREENING, SESSION]
    assert ledger.pending_keys() == [RecordKey("observation", "O2")]


# -- runs ------------------------------------------------------------------------------------


def test_the_run_log_is_newest_first_without_credentials(ledger: Ledger) -> None:
    first = ledger.start_run(T1, "https://sync:s3cret@fhir.example.org/r4/", {"full": True})
    ledger.finish_run(first, T1 + timedelta(minutes=5), {"synced": 10}, 0)
    second = ledger.start_run(T2, SERVER + "?_token=abc", {"retry_failed": True})
    ledger.finish_run(second, T2 + timedelta(minutes=1), {"synced": 3, "failed": 1}, 3)
    third = ledger.start_run(T3, OTHER_SERVER, {})

    run_three = Run(
        run_id=third,
        started_at=utc(T3),
        finished_at=None,
        server_url=OTHER_SERVER,
        options={},
        counts=None,
        exit_code=None,
    )
    assert ledger.runs() == [
        run_three,
        Run(
            run_id=second,
            started_at=utc(T2),
            finished_at=utc(T2 + timedelta(minutes=1)),
            server_url=SERVER,
            options={"retry_failed": True},
            counts={"synced": 3, "failed": 1},
            exit_code=3,
        ),
        Run(
            run_id=first,
            started_at=utc(T1),
            finished_at=utc(T1 + timedelta(minutes=5)),
            server_url=SERVER,
            options={"full": True},
            counts={"synced": 10},
            exit_code=0,
        ),
    ]
    assert ledger.runs(limit=1) == [run_three]


def test_a_run_finishes_once(ledger: Ledger) -> None:
    run_id = ledger.start_run(T1, SERVER, {})
    ledger.finish_run(run_id, T2, {}, 0)

    with pytest.raises(LedgerError) as caught:
        ledger.finish_run(run_id, T3, {}, 1)
    assert str(caught.value) == f"run {run_id} does not exist or is already finished"
    assert ledger.runs()[0].exit_code == 0


# -- property --------------------------------------------------------------------------------

record_keys = st.builds(RecordKey, st.sampled_from(KINDS), st.sampled_from(["1", "2", "3"]))
content_hashes = st.sampled_from(["aa", "bb"])
operations = st.one_of(
    st.tuples(st.just("pending"), st.lists(record_keys, max_size=3)),
    st.tuples(st.just("synced"), record_keys, content_hashes),
    st.tuples(st.just("failed"), record_keys, content_hashes),
    st.tuples(st.just("withdrawn"), record_keys, content_hashes),
    st.tuples(st.just("new run")),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(operations, max_size=30))
def test_counts_always_add_up_to_the_distinct_keys(script: list[tuple[object, ...]]) -> None:
    model: dict[RecordKey, tuple[str, str | None]] = {}
    with Ledger.open(":memory:") as ledger:
        run_id = ledger.start_run(T1, SERVER, {})
        for step in script:
            match step:
                case ("new run",):
                    run_id = ledger.start_run(T2, SERVER, {})
                case ("pending", list() as keys):
                    ledger.mark_pending(keys, run_id, T2)
                    for key in keys:
                        model[key] = ("pending", model.get(key, ("", None))[1])
                case ("synced", RecordKey() as key, str() as digest):
                    ledger.record_outcomes([Synced(key, digest, ())], run_id, T2)
                    model[key] = ("synced", digest)
                case ("failed", RecordKey() as key, str() as digest):
                    ledger.record_outcomes([Failed(key, digest, "rejected")], run_id, T2)
                    model[key] = ("failed", digest)
                case ("withdrawn", RecordKey() as key, str() as digest):
                    ledger.record_outcomes([Withdrawn(key, digest, ())], run_id, T2)
                    model[key] = ("withdrawn", digest)

        counts = ledger.counts()
        assert sum(sum(per_outcome.values()) for per_outcome in counts.values()) == len(model)
        assert counts == {
            kind: {
                outcome: sum(
                    1 for key, (state, _) in model.items() if key.kind == kind and state == outcome
                )
                for outcome in OUTCOMES
            }
            for kind in KINDS
        }
        for key, (state, last_hash) in model.items():
            on_server = state in ("synced", "withdrawn")
            assert (key in ledger.unchanged({key: "aa"}, SERVER)) is (
                on_server and last_hash == "aa"
            )
