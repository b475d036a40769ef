"""What decides that a record is unchanged: its content as read, its course's indication, the
mapping code and the clinic's identity settings; and nothing else."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from meso_fhir.mapping.identity import ClinicConfig, resource_id
from meso_fhir.model import RecordKey, load
from meso_fhir.syncing.job import _Journal, _known_references
from meso_fhir.syncing.ledger import Ledger, ResourceRef, Synced
from meso_fhir.syncing.plan import Item, pack, record_hashes

from .helpers import EXAMPLE_LINES, Change, Document, example_export


def _hashes(
    tmp_path: Path, change: Change | None = None, config: ClinicConfig | None = None
) -> dict[RecordKey, str]:
    return record_hashes(load(example_export(tmp_path, change)), config or ClinicConfig())


def test_hash_ignores_key_order_and_form(tmp_path: Path) -> None:
    before = _hashes(tmp_path)
    reordered = _hashes(
        tmp_path,
        lambda d: d["patients"].__setitem__(0, dict(reversed(list(d["patients"][0].items())))),
    )
    assert reordered == before
    assert record_hashes(load(EXAMPLE_LINES), ClinicConfig()) == before
    # 68 records, the clinic and its 2 practitioners
    assert len(before) == 71 and all(len(h) == 64 for h in before.values())


def test_a_changed_record_changes_only_its_own_hash(tmp_path: Path) -> None:
    before = _hashes(tmp_path)
    after = _hashes(tmp_path, lambda d: d["observations"][0]["finding"].update(score=9))
    assert {k for k in before if before[k] != after[k]} == {("observation", "C001-S1-O1")}


def test_a_new_course_indication_changes_its_sessions_too(tmp_path: Path) -> None:
    before = _hashes(tmp_path)
    after = _hashes(tmp_path, lambda d: d["courses"][0].update(indication="wrinkles"))
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {("course", "C001")} | {("session", f"C001-S{n}") for n in range(1, 5)}


def test_a_sessions_injections_change_its_reactions_too(tmp_path: Path) -> None:
    # A reaction's adverse event suspects the injections and its allergies name the products.
    def one_injection_less(doc: Document) -> None:
        next(s for s in doc["sessions"] if s["id"] == "C005-S2")["injections"].pop()

    before = _hashes(tmp_path)
    after = _hashes(tmp_path, one_injection_less)
    changed = {k for k in before if before[k] != after[k]}
    # the pain score of that session (C005-S2-O1) names no injection: unchanged
    assert changed == {("session", "C005-S2"), ("observation", "C005-S2-O2")}


def test_other_identity_settings_change_every_hash(tmp_path: Path) -> None:
    before = _hashes(tmp_path)
    after = _hashes(tmp_path, config=ClinicConfig(identifier_base="https://other.example.org/sid"))
    # the clinic is another one (named by its identifier base); every other record changes
    assert [k.kind for k in set(before) ^ set(after)] == ["clinic", "clinic"]
    assert all(before[k] != after[k] for k in before if k.kind != "clinic")


def test_a_clinic_name_changes_the_clinics_hash_alone(tmp_path: Path) -> None:
    before = _hashes(tmp_path)
    after = _hashes(tmp_path, config=ClinicConfig(clinic_name="Clinique du Parc"))
    assert {k.kind for k in before if before[k] != after[k]} == {"clinic"}


def test_a_practitioner_is_described_by_the_latest_session_giving_a_value(
    tmp_path: Path,
) -> None:
    """DR-07's qualification is given by C006-S3, its latest session: one given by an earlier
    session (C001-S1) changes that session's hash, not the practitioner's."""

    def qualified(session_id: str) -> Callable[[Document], None]:
        def edit(doc: Document) -> None:
            session = next(s for s in doc["sessions"] if s["id"] == session_id)
            session["performer"]["qualification"] = "RN"

        return edit

    before = _hashes(tmp_path)
    earlier = _hashes(tmp_path, qualified("C001-S1"))
    assert {k for k in before if before[k] != earlier[k]} == {("session", "C001-S1")}
    latest = _hashes(tmp_path, qualified("C006-S3"))
    assert {k for k in before if before[k] != latest[k]} == {
        ("session", "C006-S3"),
        ("practitioner", "DR-07"),
    }


def test_ledger_counts_resource_types_of_unchanged_records(tmp_path: Path) -> None:
    now = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    with Ledger.open(tmp_path / "l.sqlite") as ledger:
        run = ledger.start_run(now, "http://s/fhir", {})
        refs = [ResourceRef("Observation", f"sys|S1/{i}", f"o{i}", "1") for i in range(3)]
        ledger.record_outcomes(
            [
                Synced(
                    ("screening", "S1"),
                    "a" * 64,
                    [*refs, ResourceRef("MedicationStatement", "sys|S1/m", "m1", "1")],
                ),
                Synced(("patient", "P1"), "b" * 64, [ResourceRef("Patient", "sys|P1", "p1", "1")]),
            ],
            run,
            now,
        )
        assert ledger.resource_types({("screening", "S1")}, "http://s/fhir") == {
            "Observation": 3,
            "MedicationStatement": 1,
        }
        assert ledger.resource_types({("screening", "S1")}, "http://other/fhir") == {}


def test_pack_keeps_a_patient_together_and_chains_an_oversized_one() -> None:
    def item(kind: str, sid: str, patient: str, size: int) -> Item:
        return Item(RecordKey(kind, sid), [{}] * size, "h", [], False, patient)

    small = [
        item("patient", "A", "A", 1),
        item("screening", "SA", "A", 5),
        item("patient", "B", "B", 1),
    ]
    big = [item("session", f"S{i}", "C", 4) for i in range(5)] + [item("patient", "C", "C", 1)]
    units = pack(small + big, batch_size=10)
    assert [[[i.key[1] for i in b] for b in unit] for unit in units] == [
        [["C", "S0", "S1"], ["S2", "S3"], ["S4"]],  # parents first, in order, each bundle <= 10
        [["A", "SA", "B"]],  # small patients share a bundle
    ]


def test_targets_unknown_to_the_ledger_become_conditional_references(tmp_path: Path) -> None:
    config = ClinicConfig(identifier_base="https://c.example.org/sid")
    now = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    observation = Item(
        RecordKey("observation", "O1"),
        [{}],
        "h",
        [RecordKey("patient", "P1"), RecordKey("session", "S1")],
        False,
        "P1",
    )
    with Ledger.open(tmp_path / "l.sqlite") as ledger:
        run = ledger.start_run(now, "http://s/fhir", {})
        identity = "https://c.example.org/sid/patient|P1"
        ledger.record_outcomes(
            [Synced(("patient", "P1"), "a" * 64, [ResourceRef("Patient", identity, "123", "1")])],
            run,
            now,
        )
        journal = _Journal(ledger, "http://s/fhir", lambda: now)
        shared = [RecordKey("practitioner", "DR-1")]  # the clinic's, referred to by any record
        known = _known_references(journal, [observation], config, "conditional", shared)
        by_id = _known_references(journal, [observation], config, "id", shared)
    patient = f"Patient/{resource_id('https://c.example.org/sid/patient', 'P1')}"
    session = f"Procedure/{resource_id('https://c.example.org/sid/session', 'S1')}"
    practitioner = f"Practitioner/{resource_id('https://c.example.org/sid/practitioner', 'DR-1')}"
    assert (
        known
        == {
            patient: "Patient/123",  # from the ledger
            session: "Procedure?identifier=https://c.example.org/sid/session|S1",  # resolved by the server
            practitioner: "Practitioner?identifier=https://c.example.org/sid/practitioner|DR-1",
        }
    )
    assert by_id == {patient: "Patient/123"}  # Procedure/<deterministic id> is right as it is
