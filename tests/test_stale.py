"""Stale resources: what the ledger lists for a record that its mapping no longer produces, and
the DELETE entries that retract them (pure: no server, no ledger file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from meso_fhir.mapping import map_records
from meso_fhir.mapping.identity import ClinicConfig, resource_id
from meso_fhir.model import RecordKey, load
from meso_fhir.syncing import plan
from meso_fhir.syncing.ledger import ResourceRef
from meso_fhir.syncing.plan import Item

from .helpers import Change, Document, example_export

CONFIG = ClinicConfig()


def _mapped(tmp_path: Path, key: RecordKey, change: Change | None = None) -> list[dict[str, Any]]:
    export = load(example_export(tmp_path, change, patients={"P001"}))
    [mapped] = map_records(export, CONFIG, only={key})
    return mapped.resources


def _refs(resources: list[dict[str, Any]]) -> list[ResourceRef]:
    """The ledger's list after a sync of ``resources`` (server ids made up)."""
    return [
        ResourceRef(r["resourceType"], plan.identity_identifier(r), f"s{i}", "1")
        for i, r in enumerate(resources)
    ]


def _no_aspirin(doc: Document) -> None:
    doc["screenings"][0]["medications"] = []
    del doc["screenings"][0]["vital_signs"]["heart_rate"]


def test_what_a_changed_record_no_longer_produces_is_stale(tmp_path: Path) -> None:
    key = RecordKey("screening", "S001")
    before = _refs(_mapped(tmp_path, key))
    after = _mapped(tmp_path, key, _no_aspirin)
    stale = plan.stale(before, after)
    assert [(r.resource_type, r.identifier.rpartition("/")[2]) for r in stale] == [
        ("Observation", "heart-rate"),
        ("MedicationStatement", "medication-aspirin"),
    ]
    assert {r.server_id for r in stale} <= {r.server_id for r in before}
    assert len(after) == len(before) - 2  # the rest is current, so not stale


def test_nothing_is_stale_for_a_new_unchanged_or_withdrawn_record(tmp_path: Path) -> None:
    key = RecordKey("session", "C001-S1")
    resources = _mapped(tmp_path, key)
    assert plan.stale([], resources) == []  # never synced
    assert plan.stale(_refs(resources), resources) == []

    def withdraw(doc: Document) -> None:
        doc["sessions"][0]["withdrawn"] = True  # same resources, entered-in-error

    assert plan.stale(_refs(resources), _mapped(tmp_path, key, withdraw)) == []


def test_the_type_counts_not_only_the_identifier() -> None:
    """One identifier system serves every type of a record kind: an AllergyIntolerance for a
    positive answer may carry the value of the answer's Observation."""
    observation = {
        "resourceType": "Observation",
        "identifier": [{"system": "urn:s", "value": "S1/allergy"}],
    }
    allergy = ResourceRef("AllergyIntolerance", "urn:s|S1/allergy", "a1", "1")
    answer = ResourceRef("Observation", "urn:s|S1/allergy", "o1", "1")
    assert plan.stale([answer, allergy], [observation]) == [allergy]


def test_deletes_follow_every_resource_entry_and_are_conditional_on_the_identifier() -> None:
    def item(source_id: str, retract: list[ResourceRef]) -> Item:
        resource = {
            "resourceType": "Procedure",
            "id": f"mf-{source_id}",
            "identifier": [{"system": "urn:s", "value": source_id}],
        }
        return Item(
            RecordKey("session", source_id), [resource], "h", [], False, "P1", False, retract
        )

    one = item("A", [ResourceRef("BodyStructure", "https://c.example/sid|A-I1/site", "7", "1")])
    # A stale resource the response never gave an id: deleted all the same.
    two = item(
        "B", [ResourceRef("MedicationAdministration", "https://c.example/sid|B I2", None, None)]
    )
    entries = plan.bundle([one, two], "id", {})["entry"]
    assert [e["request"]["method"] for e in entries] == ["PUT", "PUT", "DELETE", "DELETE"]
    assert [e["request"]["url"] for e in entries[2:]] == [
        "BodyStructure?identifier=https://c.example/sid|A-I1/site",
        "MedicationAdministration?identifier=https://c.example/sid|B%20I2",  # as a PUT escapes it
    ]
    assert all("resource" not in e for e in entries[2:])


def test_an_adverse_event_is_deleted_by_id_having_no_identifier_search() -> None:
    # R4 defines no identifier search parameter for AdverseEvent: it is written and deleted by id.
    known = ResourceRef("AdverseEvent", "https://c.example/sid|O1/adverse-event", "ae-7", "1")
    assert plan.retraction(known)["request"] == {"method": "DELETE", "url": "AdverseEvent/ae-7"}
    unsaid = ResourceRef("AdverseEvent", "https://c.example/sid|O1/adverse-event", None, None)
    deterministic = resource_id("https://c.example/sid", "O1/adverse-event")
    assert plan.retraction(unsaid)["request"]["url"] == f"AdverseEvent/{deterministic}"


def test_a_withdrawn_adverse_report_leaves_its_adverse_event_stale(tmp_path: Path) -> None:
    # R4's AdverseEvent has no status: withdrawing the observation drops it, and sync deletes it.
    key = RecordKey("observation", "C005-S2-O2")

    def withdraw(doc: Document) -> None:
        next(o for o in doc["observations"] if o["id"] == key.source_id)["withdrawn"] = True

    def mapped(change: Change | None) -> list[dict[str, Any]]:
        export = load(example_export(tmp_path, change, patients={"P005"}))
        [one] = map_records(export, CONFIG, only={key})
        return one.resources

    before = mapped(None)
    [gone] = plan.stale(_refs(before), mapped(withdraw))
    assert gone.resource_type == "AdverseEvent"
