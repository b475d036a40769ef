"""Benchmark `meso-fhir map` beside its peer and its floor, in one run.

For each size, a generated JSON Lines export is mapped by the real CLI in a child process
pinned to one core (start-up included); its CPU seconds give resources/s. Then, on the same
core, in this process (CPU seconds, best of three):

* the peer: fhir.resources R4B, ``model_validate`` + ``model_dump_json`` of the resources the
  map wrote (a sample of every k-th one when there are more than ``PEER_SAMPLE``: the peer is
  two orders of magnitude slower), which is what building them through model objects costs;
* the floor: ``orjson.loads`` of every input line + ``orjson.dumps`` of every output entry,
  what reading the export and writing the bundle cost with no mapping at all.

Memory: the CLI's peak RSS at each size, and its growth per record between the two sizes
(what grows with a JSON Lines export is the loader's index; record content is streamed).

    .venv/bin/python bench/bench_map.py            # 100,000 and 200,000 records
    .venv/bin/python bench/bench_map.py 20000 40000
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson
from fhir.resources.R4B import get_fhir_model_class

sys.path.insert(0, str(Path(__file__).parent))
from generate import write_export
from timing import best

PEER_SAMPLE = 20_000
TARGET_RATE, TARGET_RATIO, TARGET_KB = 60_000, 30, 0.6  # issue 11


def cli_map(export: Path, out: Path, report: Path) -> tuple[float, float, int]:
    """(wall s, CPU s, peak RSS KiB) of ``meso-fhir map`` on one core."""
    cmd = [sys.executable, "-m", "meso_fhir.cli", "map", str(export), "--out", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", "taskset", "-c", "0", *cmd, "--report", str(report)],
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, int(done.stderr.split()[-1])


def peer(resources: list[dict[str, Any]]) -> float:
    """fhir.resources's resources/s: validate each resource into its model, dump it to JSON."""
    models = {r["resourceType"]: get_fhir_model_class(r["resourceType"]) for r in resources}

    def run() -> None:
        for r in resources:
            models[r["resourceType"]].model_validate(r).model_dump_json()

    return len(resources) / best(run)


def floor(export: Path, entries: list[dict[str, Any]]) -> float:
    """resources/s of only parsing the input and serialising the output (orjson)."""
    lines = export.read_bytes().splitlines()
    seconds = best(lambda: [orjson.loads(line) for line in lines]) + best(
        lambda: [orjson.dumps(e) for e in entries]
    )
    return len(entries) / seconds


def main(sizes: list[int]) -> None:
    os.sched_setaffinity(0, {0})  # the peers on the core the CLI ran on
    print(f"machine: {os.cpu_count()} cores, everything on core 0; CPU seconds")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            export, out, report = (Path(tmp) / n for n in ("export.jsonl", "b.json", "r.json"))
            records = write_export(export, size)
            wall, cpu, rss = cli_map(export, out, report)
            summary = orjson.loads(report.read_bytes())
            count = sum(summary["resources"].values())
            entries = orjson.loads(out.read_bytes())["entry"]
            sample = [e["resource"] for e in entries[:: max(1, len(entries) // PEER_SAMPLE)]]
            ours, theirs, least = count / cpu, peer(sample), floor(export, entries)
            rows.append((records, rss))
            print(
                f"records={records:>7}  resources={count:>7}  errors={summary['records_failed']}"
                f"  wall={wall:5.1f}s  cpu={cpu:5.1f}s  peak_rss={rss / 1024:4.0f} MiB"
                f"  bundle={out.stat().st_size >> 20} MiB"
            )
            print(f"  meso-fhir map (CLI, start-up included)  {ours:8.0f} resources/s")
            print(
                f"  fhir.resources validate + dump           {theirs:8.0f} resources/s"
                f"  ({len(sample)} of them)  meso-fhir {ours / theirs:.1f}x"
                f"  (target >= {TARGET_RATIO}x)"
            )
            print(
                f"  floor: orjson loads input + dumps output {least:8.0f} resources/s"
                f"  meso-fhir at {ours / least:.0%} of it  (target >= {TARGET_RATE} resources/s)"
            )
            for path in (export, out, report):
                path.unlink()
    for (small, rss_small), (large, rss_large) in pairwise(rows):
        growth = (rss_large - rss_small) * 1024 / (large - small) / 1000
        print(
            f"peak RSS growth {small} -> {large} records: {growth:.2f} KB per record"
            f"  (target <= {TARGET_KB})"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100_000, 200_000])
