"""Benchmark offline validation (meso_fhir.validation) on mapped resources: resources/s.

Maps a generated export with the real CLI, then validates the bundle in-process, one core:
the whole bundle, its Observations alone, and the same with every invariant evaluated by
fhirpathpy (what the FHIRPath subset saves) and with fhir.resources alone (its share).
Best of three runs each; the first, untimed run compiles the profiles.

    .venv/bin/python bench/bench_validation.py          # 3,000 records
    .venv/bin/python bench/bench_validation.py 15000
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from generate import write_export

from meso_fhir.validation import Validator, r4b


def best(run: Callable[[], object], times: int = 3) -> float:
    timings = []
    for _ in range(times):
        start = time.perf_counter()
        run()
        timings.append(time.perf_counter() - start)
    return min(timings)


def main(records: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        export, out = Path(tmp) / "export.jsonl", Path(tmp) / "bundle.json"
        write_export(export, records)
        cmd = [sys.executable, "-m", "meso_fhir.cli", "map", str(export), "--out", str(out)]
        subprocess.run(cmd, check=True, capture_output=True)
        bundle: dict[str, Any] = orjson.loads(out.read_bytes())
    resources = [e["resource"] for e in bundle["entry"]]
    observations = [r for r in resources if r["resourceType"] == "Observation"]

    start = time.perf_counter()
    validator = Validator.load()
    issues = validator.validate_bundle(bundle)
    print(f"load + first run: {time.perf_counter() - start:.2f} s, {len(issues)} issue(s)")

    slow = Validator.from_resources(*_project(), fast_fhirpath=False)
    slow.validate_bundle(bundle)
    rows = [
        ("bundle, all resources", len(resources), lambda: validator.validate_bundle(bundle)),
        ("Observations", len(observations), lambda: [validator.validate(o) for o in observations]),
        (
            "Observations, invariants by fhirpathpy only",
            len(observations),
            lambda: [slow.validate(o) for o in observations],
        ),
        (
            "Observations, fhir.resources R4B alone",
            len(observations),
            lambda: [r4b.structure_errors(o) for o in observations],
        ),
    ]
    for name, count, run in rows:
        seconds = best(run)
        print(f"{name:45s} {count:6d} resources  {count / seconds:8.0f} resources/s")


def _project() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from importlib import resources

    data = orjson.loads(
        resources.files("meso_fhir").joinpath("data", "meso-package.json").read_bytes()
    )
    return data["resources"], data["expansions"]


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000)
