"""Properties: any valid export maps deterministically to resources that validate."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, TypeVar

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meso_fhir import codes
from meso_fhir.mapping import MapSummary, map_records
from meso_fhir.mapping.identity import ClinicConfig
from meso_fhir.model import load
from meso_fhir.model.records import PLAUSIBLE

T = TypeVar("T")

text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=20
).filter(lambda s: s.strip() == s and s.strip())
ident = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,11}", fullmatch=True)
# Every record of a patient is dated after the birth date, as the input requires.
birth_dates = st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(1999, 12, 31))
dates = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 12, 31))
aware = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),
    max_value=dt.datetime(2030, 12, 31),
    timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30))]),
)
naive = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2030, 12, 31))


def qty(unit: str, plausible: str) -> st.SearchStrategy[dict[str, Any]]:
    """A quantity in ``unit`` within the range the input accepts for ``plausible``."""
    low, high = PLAUSIBLE[plausible]
    return st.builds(
        lambda v: {"value": v, "unit": unit},
        st.floats(min_value=low, max_value=high, allow_nan=False).map(lambda v: round(v, 2)),
    )


# The diastolic below the systolic, as the input requires.
blood_pressure = st.fixed_dictionaries(
    {"systolic": qty("mm[Hg]", "systolic"), "diastolic": qty("mm[Hg]", "diastolic")}
).filter(lambda bp: bp["diastolic"]["value"] < bp["systolic"]["value"])


def optional(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.one_of(st.none(), strategy)


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


@st.composite
def exports(draw: st.DrawFn) -> dict[str, Any]:
    pid = draw(ident)
    patient = _drop_none({
        "id": pid, "mrn": draw(ident), "family": draw(text), "given": draw(st.lists(text, min_size=1, max_size=2)),
        "gender": draw(st.sampled_from(["male", "female", "other", "unknown"])), "birth_date": draw(birth_dates).isoformat(),
        "phone": draw(optional(text)), "withdrawn": draw(st.booleans()),
    })  # fmt: skip
    vitals = _drop_none({
        "blood_pressure": draw(optional(blood_pressure)),
        "heart_rate": draw(optional(qty("/min", "heart_rate"))), "body_temperature": draw(optional(qty("Cel", "body_temperature"))),
        "body_weight": draw(optional(qty("kg", "body_weight"))), "body_height": draw(optional(qty("cm", "body_height"))),
        "bmi": draw(optional(qty("kg/m2", "bmi"))),
    })  # fmt: skip
    screening = _drop_none({
        "id": "S-" + pid, "patient_id": pid, "screened_at": draw(st.one_of(aware, naive, dates)).isoformat(),
        "vital_signs": vitals, "pregnancy": draw(optional(st.sampled_from(list(codes.PREGNANCY_ANSWER)))),
        "fitzpatrick": draw(optional(st.sampled_from(list(codes.FITZPATRICK_TYPE)))),
        "glogau": draw(optional(st.sampled_from(list(codes.GLOGAU_GRADE)))),
        "contraindications": draw(st.dictionaries(st.sampled_from(list(codes.CONTRAINDICATION)), st.booleans())),
        "medications": [
            _drop_none({"medicine": m, "status": draw(st.sampled_from(["active", "stopped", "not-taken"])),
                        "stopped_on": draw(optional(dates.map(dt.date.isoformat))), "note": draw(optional(text))})
            for m in draw(st.lists(st.sampled_from(list(codes.MEDICATION)), unique=True, max_size=3))
        ],
        "eligibility": draw(st.sampled_from(list(codes.ELIGIBILITY_ANSWER))), "withdrawn": draw(st.booleans()),
    })  # fmt: skip
    course = {
        "id": "C-" + pid, "patient_id": pid, "screening_id": screening["id"],
        "indication": draw(st.sampled_from(list(codes.INDICATION))),
        "areas": draw(st.lists(st.sampled_from(list(codes.BODY_SITE)), min_size=1, max_size=3)),
        "planned_sessions": draw(st.integers(3, 5)), "interval_weeks": draw(st.integers(1, 8)),
        "start_date": draw(dates).isoformat(), "status": draw(st.sampled_from(["draft", "active", "on-hold", "completed", "revoked"])),
    }  # fmt: skip
    sessions, observations = [], []
    for n in range(1, draw(st.integers(1, 3)) + 1):
        sid = f"{course['id']}-S{n}"
        injections = [
            _drop_none({
                "id": f"{sid}-I{i}",
                "product": {"code": draw(ident), "name": draw(text),
                            "ingredients": [{"substance": s} for s in draw(st.lists(st.sampled_from(list(codes.SUBSTANCE)), unique=True, max_size=2))]},
                "volume": draw(qty("mL", "volume")), "site": draw(st.sampled_from(list(codes.BODY_SITE))),
                "laterality": draw(optional(st.sampled_from(list(codes.LATERALITY)))),
                "route": draw(st.sampled_from(list(codes.ROUTE))), "technique": draw(optional(st.sampled_from(list(codes.TECHNIQUE)))),
                "depth": draw(optional(qty("mm", "depth"))), "needle": draw(optional(text)), "lot": draw(optional(ident)),
            })
            for i in range(draw(st.integers(0, 3)))
        ]  # fmt: skip
        sessions.append(_drop_none({
            "id": sid, "course_id": course["id"], "patient_id": pid, "number": n, "performed_at": draw(st.one_of(aware, naive)).isoformat(),
            "status": draw(st.sampled_from(["completed", "in-progress", "not-done", "stopped"])),
            "performer": draw(optional(st.builds(lambda i, name: _drop_none({"id": i, "name": name}), ident, optional(text)))),
            "areas": draw(st.lists(st.sampled_from(list(codes.BODY_SITE)), min_size=1, max_size=2)), "injections": injections,
            "complications": draw(st.lists(st.sampled_from(list(codes.REACTION)), max_size=2)), "withdrawn": draw(st.booleans()),
        }))  # fmt: skip
        finding = draw(st.one_of(
            st.builds(lambda s: {"type": "pain", "score": s}, st.integers(0, 10)),
            st.builds(lambda r, a: {"type": "reaction", "reaction": r, "adverse": a}, st.sampled_from(list(codes.REACTION)), st.booleans()),
            st.builds(lambda m, v: {"type": "measurement", "measurement": m, "value": v}, st.sampled_from(list(codes.MEASUREMENT)), qty("cm", "circumference")),
            st.builds(lambda s, v: {"type": "scale", "scale": s, "score": v}, st.sampled_from(list(codes.SCALE)), st.integers(0, 100)),
        ))  # fmt: skip
        observations.append(
            {
                "id": f"{sid}-O1",
                "session_id": sid,
                "patient_id": pid,
                "observed_at": draw(aware).isoformat(),
                "finding": finding,
            }
        )
    return {
        "patients": [patient],
        "screenings": [screening],
        "courses": [course],
        "sessions": sessions,
        "observations": observations,
    }


CONFIG = ClinicConfig(timezone="America/Sao_Paulo")


def _map(path: Path) -> list[bytes]:
    summary = MapSummary()
    out = [orjson.dumps(m.resources) for m in map_records(load(path), CONFIG, summary)]
    assert summary.errors == []
    return out


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(export=exports())
def test_any_valid_export_maps_deterministically_to_valid_resources(
    export: dict[str, Any], tmp_path: Path
) -> None:
    from meso_fhir.validation import Validator

    path = tmp_path / "export.json"
    path.write_bytes(orjson.dumps(export))
    first, second = _map(path), _map(path)
    assert first == second  # same input, same bytes
    validator = Validator.load()
    for chunk in first:
        for resource in orjson.loads(chunk):
            assert [
                str(i) for i in validator.validate(resource) if i.severity in ("error", "fatal")
            ] == []
