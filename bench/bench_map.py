"""Benchmark `meso-fhir map` on a generated JSON Lines export: resources/s and peak memory.

Runs the real CLI in a child process (one core) for each size, so peak RSS is the whole
process's. Memory should not grow with the input: compare the sizes.

    .venv/bin/python bench/bench_map.py            # 100,000 and 200,000 records
    .venv/bin/python bench/bench_map.py 20000      # one smaller size
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from generate import write_export


def run(records: int, workdir: Path) -> None:
    export = workdir / f"export-{records}.jsonl"
    written = write_export(export, records)
    out = workdir / f"bundle-{records}.json"
    report = workdir / f"report-{records}.json"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    cmd = [
        sys.executable,
        "-m",
        "meso_fhir.cli",
        "map",
        str(export),
        "--out",
        str(out),
        "--report",
        str(report),
    ]
    subprocess.run(["taskset", "-c", "0", *cmd], check=True, capture_output=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = orjson.loads(report.read_bytes())
    resources = sum(summary["resources"].values())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(
        f"records={written:>8}  resources={resources:>8}  wall={elapsed:6.1f}s  cpu={cpu:6.1f}s  "
        f"resources/s={resources / elapsed:>8.0f}  peak_rss={after.ru_maxrss / 1024:6.0f} MiB  "
        f"bundle={out.stat().st_size / 2**20:6.0f} MiB  errors={summary['records_failed']}"
    )
    for path in (export, out, report):
        path.unlink()


if __name__ == "__main__":
    sizes = [int(a) for a in sys.argv[1:]] or [100_000, 200_000]
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            run(size, Path(tmp))
