"""Where `meso-fhir map`'s time goes: CPU µs per resource of each stage, in one process.

On a generated JSON Lines export, with the collector set as the CLI sets it, each stage is
timed alone (CPU seconds, least of three) and shown per resource written, beside the budget a
resource has at issue 11's 60,000 resources/s:

* loader, first pass: ``load()`` (read, parse, pydantic's checks, digest, index);
* loader, second pass: ``Export.records()`` (read, parse and validate each valid record again);
* building the resources: ``map_records`` less the second pass, narrative included, and the
  narrative alone (each resource's ``text`` built again on a copy, less the copy);
* building and serialising the entries: ``entry_json`` of each record's resources as it is
  mapped (as ``write_bundle`` does it: mapped resources are still in the CPU's caches);
* writing: ``write_bundle`` less the stages above;
* start-up: the CLI mapping a one-record export, spread over the export's resources.

Then the floor of this stack: what any design spends that checks each record with pydantic
once and writes the bundle with orjson, whatever it does in between: one validating read
(``orjson.loads`` + ``model_validate`` of every line), ``orjson.dumps`` of every entry already
built, and the start-up; what is left of the budget is all a design has for the rest (ids,
digests and the index the sync and the reference checks need, the resources, their narratives).

    .venv/bin/python bench/bench_stages.py           # 20,000 records
    .venv/bin/python bench/bench_stages.py 100000
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from generate import write_export
from timing import best

from meso_fhir.mapping import map_records
from meso_fhir.mapping.bundle import entry_json
from meso_fhir.mapping.export import fewer_collections, write_bundle
from meso_fhir.mapping.identity import ClinicConfig
from meso_fhir.mapping.narrative import TEXT_SLOT, with_narrative
from meso_fhir.model import load
from meso_fhir.model.records import MODEL_OF_KIND

BUDGET_US = 1e6 / 60_000  # issue 11: 60,000 resources/s


def startup(tmp: Path) -> float:
    """CPU seconds of the CLI mapping a one-record export (imports, set-up, exit)."""
    export = tmp / "one.jsonl"
    write_export(export, 1)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [sys.executable, "-m", "meso_fhir.cli", "map", str(export), "--out", str(tmp / "o.json")],
        check=True,
        capture_output=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(size: int) -> None:
    os.sched_setaffinity(0, {0})
    config = ClinicConfig()
    with tempfile.TemporaryDirectory() as name, fewer_collections():
        tmp = Path(name)
        path = tmp / "export.jsonl"
        records = write_export(path, size)
        export = load(path)
        resources = [r for m in map_records(export, config) for r in m.resources]
        count = len(resources)

        def stream(per_resource: bool) -> None:
            for m in map_records(export, config):
                if per_resource:
                    for r in m.resources:
                        entry_json(r)

        first = best(lambda: load(path))
        second = best(lambda: sum(1 for _ in export.records()))
        mapping = best(lambda: stream(False))
        entries = best(lambda: stream(True)) - mapping
        copies = best(lambda: [dict(r, text=TEXT_SLOT) for r in resources])
        narrative = best(lambda: [with_narrative(dict(r, text=TEXT_SLOT)) for r in resources])
        written = best(lambda: write_bundle(tmp / "b.json", map_records(export, config)))
        start = startup(tmp)

        lines = [line for line in path.read_bytes().splitlines() if line.strip()]
        models = [MODEL_OF_KIND[orjson.loads(line)["kind"]] for line in lines]
        built = [orjson.loads(entry_json(r)) for r in resources]

        def validating_read() -> None:
            for model, line in zip(models, lines, strict=True):
                model.model_validate(orjson.loads(line))

        checked_once = best(validating_read)
        dumped = best(lambda: [orjson.dumps(e) for e in built])

    stages = [
        ("loader, first pass (read, parse, check, digest, index)", first),
        ("loader, second pass (read, parse, validate again)", second),
        ("building the resources", mapping - second),
        ("  of which the narrative", narrative - copies),
        ("building and serialising the entries", entries),
        ("writing the bundle", written - mapping - entries),
        ("start-up (one CLI run, spread over the export)", start),
    ]
    total = sum(seconds for label, seconds in stages if not label.startswith(" "))
    print(f"{records} records, {count} resources; CPU µs per resource, least of 3, one core")
    for label, seconds in stages:
        print(f"  {label:<56} {seconds / count * 1e6:6.1f}")
    print(f"  {'total':<56} {total / count * 1e6:6.1f}  ({count / total:,.0f} resources/s)")
    print(f"  {'budget at 60,000 resources/s (issue 11)':<56} {BUDGET_US:6.1f}")
    floor = [
        ("one validating read (orjson.loads + model_validate)", checked_once),
        ("orjson.dumps of the built entries", dumped),
        ("start-up", start),
    ]
    least = sum(seconds for _, seconds in floor)
    print("the floor of this stack (checked once, written with orjson), µs per resource")
    for label, seconds in floor:
        print(f"  {label:<56} {seconds / count * 1e6:6.1f}")
    print(f"  {'total':<56} {least / count * 1e6:6.1f}  ({count / least:,.0f} resources/s)")
    left = BUDGET_US - least / count * 1e6
    print(f"  {'left of the budget for everything else':<56} {left:6.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
