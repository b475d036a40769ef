"""Generate a synthetic clinic export of about N records as JSON Lines (no real patient data).

Each synthetic patient has 15 records: the patient, a screening, a course, 4 sessions (3
injections each) and 8 session observations; records are written patient by patient.

    python bench/generate.py 100000 /tmp/export.jsonl
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson

RECORDS_PER_PATIENT = 15


def patient_records(n: int) -> list[dict[str, object]]:
    pid, sid, cid = f"P{n:07d}", f"S{n:07d}", f"C{n:07d}"
    records: list[dict[str, object]] = [
        {
            "kind": "patient",
            "id": pid,
            "mrn": f"MRN{n:08d}",
            "family": f"Family{n}",
            "given": ["Given"],
            "gender": "female" if n % 2 else "male",
            "birth_date": f"{1950 + n % 50}-0{1 + n % 9}-1{n % 10}",
        },
        {
            "kind": "screening",
            "id": sid,
            "patient_id": pid,
            "screened_at": "2025-03-03T10:00:00+01:00",
            "vital_signs": {
                "blood_pressure": {
                    "systolic": {"value": 118 + n % 20, "unit": "mm[Hg]"},
                    "diastolic": {"value": 76, "unit": "mm[Hg]"},
                },
                "heart_rate": {"value": 70, "unit": "/min"},
                "body_weight": {"value": 70.5, "unit": "kg"},
                "body_height": {"value": 168, "unit": "cm"},
                "bmi": {"value": 25.0, "unit": "kg/m2"},
            },
            "pregnancy": "not-pregnant",
            "fitzpatrick": "III",
            "glogau": "II",
            # the same questions as the bundled example's screenings
            "contraindications": {
                c: False
                for c in (
                    "pregnancy",
                    "breastfeeding",
                    "bleeding-disorder",
                    "anticoagulants",
                    "active-skin-infection",
                    "herpes",
                    "keloid",
                    "component-allergy",
                    "autoimmune-disease",
                )
            },
            "eligibility": "eligible",
        },
        {
            "kind": "course",
            "id": cid,
            "patient_id": pid,
            "screening_id": sid,
            "indication": "skin-rejuvenation",
            "areas": ["face", "neck"],
            "planned_sessions": 4,
            "interval_weeks": 2,
            "start_date": "2025-03-10",
        },
    ]
    for s in range(1, 5):
        session_id = f"{cid}-S{s}"
        records.append(
            {
                "kind": "session",
                "id": session_id,
                "course_id": cid,
                "patient_id": pid,
                "number": s,
                "performed_at": f"2025-0{3 + s}-10T10:00:00+02:00",
                "areas": ["face", "neck"],
                "performer": {"id": "DR-07"},
                "injections": [
                    {
                        "id": f"{session_id}-I{i}",
                        "product": {
                            "code": "GLOW",
                            "name": "Glow cocktail",
                            "ingredients": [{"substance": "hyaluronic-acid"}],
                        },
                        "volume": {"value": 0.5, "unit": "mL"},
                        "site": site,
                        "technique": "nappage",
                        "depth": {"value": 1, "unit": "mm"},
                        "lot": "LOT-1",
                    }
                    for i, site in enumerate(("forehead", "cheek", "neck"), start=1)
                ],
            }
        )
        records.append(
            {
                "kind": "observation",
                "id": f"{session_id}-O1",
                "session_id": session_id,
                "patient_id": pid,
                "observed_at": f"2025-0{3 + s}-10T10:30:00+02:00",
                "finding": {"type": "pain", "score": s % 10},
            }
        )
        records.append(
            {
                "kind": "observation",
                "id": f"{session_id}-O2",
                "session_id": session_id,
                "patient_id": pid,
                "observed_at": f"2025-0{3 + s}-10T10:30:00+02:00",
                "finding": {"type": "scale", "scale": "global-aesthetic-improvement", "score": 2},
            }
        )
    return records


def write_export(path: Path, records: int) -> int:
    """Write about ``records`` records (whole patients); return how many were written."""
    written = 0
    with path.open("wb") as out:
        n = 0
        while written < records:
            for record in patient_records(n):
                out.write(orjson.dumps(record) + b"\n")
                written += 1
            n += 1
    return written


if __name__ == "__main__":
    count = write_export(Path(sys.argv[2]), int(sys.argv[1]))
    print(f"wrote {count} records to {sys.argv[2]}")
