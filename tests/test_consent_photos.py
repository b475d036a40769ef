"""Consent and photos: what the input must hold for a photo to be sent, and how a photo file,
which the mapping never reads, reaches its Binary."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from meso_fhir.errors import InputError
from meso_fhir.mapping import MapSummary, map_records
from meso_fhir.mapping.identity import ClinicConfig
from meso_fhir.model import RECORD_KINDS, RecordKey, load
from meso_fhir.syncing import plan
from meso_fhir.syncing.ledger import ResourceRef

from .helpers import Change, Document, example_export, invoke

CONFIG = ClinicConfig()
# P001's records: its session C001-S1 has a photo file and a photo on the clinic's server.
RECORDS_OF_P001 = 13


def _session(doc: Document) -> dict[str, Any]:
    return next(s for s in doc["sessions"] if s["id"] == "C001-S1")


def _course(doc: Document) -> dict[str, Any]:
    return next(c for c in doc["courses"] if c["id"] == "C001")


def _errors(tmp_path: Path, change: Change, **options: Any) -> tuple[list[tuple[str, ...]], int]:
    """(kind, id, field, message) of every input error, and how many records still map."""
    export = load(example_export(tmp_path, change, patients={"P001"}), **options)
    # the clinic records mapped (not the clinic's Organization and Practitioners)
    mapped = [m for m in map_records(export, CONFIG) if m.kind in RECORD_KINDS]
    return [(e.kind, e.source_id or "", e.field, e.message) for e in export.errors], len(mapped)


def _observations_fail() -> list[tuple[str, ...]]:
    reason = "session 'C001-S1' has errors, so this record cannot be sent either"
    return [
        ("observation", "C001-S1-O1", "session_id", reason),
        ("observation", "C001-S1-O2", "session_id", reason),
    ]


def test_the_example_maps_with_its_consents_and_photos(tmp_path: Path) -> None:
    errors, mapped = _errors(tmp_path, lambda doc: None)
    assert (errors, mapped) == ([], RECORDS_OF_P001)


def _missing_file(doc: Document) -> None:
    # a clinic system may name the file after the patient: no message may show it
    _session(doc)["photos"][0]["file"] = "photos/Laurent Amelie 1978-04-12.png"


def _not_an_image(doc: Document) -> None:
    _session(doc)["photos"][0]["file"] = "clinic.json"


def _no_photo_consent(doc: Document) -> None:
    del _course(doc)["photo_consent"]


def _consent_after_the_photo(doc: Document) -> None:
    _course(doc)["photo_consent"]["date"] = "2025-02-11"


def _bad_view(doc: Document) -> None:
    _session(doc)["photos"][1]["view"] = "side"


def _file_and_url(doc: Document) -> None:
    _session(doc)["photos"][1]["file"] = "photos/C001-S1-frontal.png"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (_missing_file, "photos[0].file", "cannot be read (No such file or directory)"),
        (_not_an_image, "photos[0].file", "not a JPEG or PNG image"),
        (
            _no_photo_consent,
            "photos",
            "course 'C001' records no photo_consent: a photo is kept only with the patient's"
            " consent to photography",
        ),
        (
            _consent_after_the_photo,
            "photos[0].taken_at",
            "taken before the photo_consent of course 'C001' (2025-02-11)",
        ),
        (
            _bad_view,
            "photos[1].view",
            "unknown view 'side'; expected one of: frontal, left-lateral, left-oblique, oblique,"
            " right-lateral, right-oblique, submentovertical, vertex",
        ),
        (_file_and_url, "photos[1]", "a photo has either a file or a url"),
    ],
    ids=["missing", "not-an-image", "no-consent", "before-consent", "bad-view", "file-and-url"],
)
def test_a_photo_that_cannot_be_sent_refuses_its_session_alone(
    tmp_path: Path, change: Change, field: str, message: str
) -> None:
    errors, mapped = _errors(tmp_path, change)
    assert errors == [("session", "C001-S1", field, message), *_observations_fail()]
    assert mapped == RECORDS_OF_P001 - 3  # the rest of the batch maps


def test_a_photo_over_the_size_limit_is_refused_with_both_sizes(tmp_path: Path) -> None:
    errors, mapped = _errors(tmp_path, lambda doc: None, max_photo_bytes=512)
    message = "0.0 MiB (977 bytes) is over the limit of 0.0 MiB (512 bytes) for a photo"
    assert errors == [("session", "C001-S1", "photos[0].file", message), *_observations_fail()]
    assert mapped == RECORDS_OF_P001 - 3


def test_no_message_or_report_shows_the_photo_path(tmp_path: Path) -> None:
    export = example_export(tmp_path, _missing_file, patients={"P001"})
    report = tmp_path / "report.json"
    result = invoke("map", str(export), "--out", str(tmp_path / "b.json"), "--report", str(report))
    assert result.exit_code == 3
    assert "photos[0].file: cannot be read" in result.stderr
    for text in (result.stderr, result.stdout, report.read_text()):
        assert "Laurent" not in text and "1978" not in text


def test_a_jpeg_is_told_by_its_first_bytes_whatever_its_name(tmp_path: Path) -> None:
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(100)

    def as_jpeg(doc: Document) -> None:
        (tmp_path / "photo.png").write_bytes(jpeg)  # the name says png: the bytes say jpeg
        _session(doc)["photos"][0]["file"] = "photo.png"

    export = load(example_export(tmp_path, as_jpeg, patients={"P001"}))
    [session] = map_records(export, CONFIG, only={RecordKey("session", "C001-S1")})
    [binary] = [r for r in session.resources if r["resourceType"] == "Binary"]
    [media] = [
        r
        for r in session.resources
        if r["resourceType"] == "Media" and r["content"]["url"] == f"Binary/{binary['id']}"
    ]
    assert binary["contentType"] == media["content"]["contentType"] == "image/jpeg"
    assert base64.b64decode(binary["data"]) == jpeg
    assert media["content"]["size"] == len(jpeg)


def test_a_photo_file_gone_after_the_check_is_an_input_error_not_a_crash(tmp_path: Path) -> None:
    export = load(example_export(tmp_path, patients={"P001"}))
    (tmp_path / "photos" / "C001-S1-frontal.png").unlink()
    summary = MapSummary()
    mapped = [m for m in map_records(export, CONFIG, summary) if m.kind in RECORD_KINDS]
    assert len(mapped) == RECORDS_OF_P001 - 1
    assert [(e.kind, e.source_id, e.field) for e in summary.errors] == [
        ("session", "C001-S1", "photos[0].file")
    ]
    assert isinstance(summary.errors[0], InputError)


def test_a_changed_photo_file_resends_its_session(tmp_path: Path) -> None:
    path = example_export(tmp_path, patients={"P001"})
    before = plan.record_hashes(load(path), CONFIG)
    photo = tmp_path / "photos" / "C001-S1-frontal.png"
    photo.write_bytes(photo.read_bytes() + b"\x00")
    after = plan.record_hashes(load(path), CONFIG)
    changed = {key for key in before if before[key] != after[key]}
    assert changed == {RecordKey("session", "C001-S1")}


def test_a_dropped_photo_deletes_its_media_and_its_binary_by_id(tmp_path: Path) -> None:
    key = RecordKey("session", "C001-S1")
    [before] = map_records(load(example_export(tmp_path, patients={"P001"})), CONFIG, only={key})

    def no_photos(doc: Document) -> None:
        del _session(doc)["photos"]

    [after] = map_records(
        load(example_export(tmp_path, no_photos, patients={"P001"})), CONFIG, only={key}
    )
    refs = [
        ResourceRef(r["resourceType"], plan.identity_identifier(r), None, None)
        for r in before.resources
    ]
    stale = plan.stale(refs, after.resources)
    [binary] = [r for r in before.resources if r["resourceType"] == "Binary"]
    assert sorted((r.resource_type, r.identifier) for r in stale) == [
        ("Binary", f"|{binary['id']}"),  # no identifier: known by its id
        ("Media", f"{CONFIG.system('session')}|C001-S1/photo-before-frontal"),
        ("Media", f"{CONFIG.system('session')}|C001-S1/photo-before-left"),
    ]
    deletes = [plan.retraction(r)["request"] for r in stale]
    assert deletes[0] == {"method": "DELETE", "url": f"Binary/{binary['id']}"}
    assert all(d["url"].startswith("Media?identifier=") for d in deletes[1:])


def test_a_withdrawn_course_withdraws_its_consents(tmp_path: Path) -> None:
    def withdraw(doc: Document) -> None:
        _course(doc)["withdrawn"] = True

    export = load(example_export(tmp_path, withdraw, patients={"P001"}))
    [course] = map_records(export, CONFIG, only={RecordKey("course", "C001")})
    consents = [r for r in course.resources if r["resourceType"] == "Consent"]
    assert [c["status"] for c in consents] == ["entered-in-error", "entered-in-error"]
