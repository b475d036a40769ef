"""Benchmark offline validation (meso_fhir.validation) on mapped resources, beside its peer.

Maps a generated export with the real CLI, then, on one core, in CPU seconds (process_time),
best of three:

* meso-fhir validate in-process: the whole mapped Bundle, every check (``validate_bundle``).
  Each run starts with the remembered values and invariant results forgotten (a Bundle is
  seen once in real use; the definitions stay compiled, as in a long-running process);
* fhir.resources R4B ``model_validate`` of every resource, the structure-only peer;
* the real CLI, ``meso-fhir validate`` (start-up, reading the file map wrote), in a child process
  pinned to one core, then with ``--jobs 2`` (wall time and CPU of all processes);
* the CLI on the same entries pretty-printed (read the general way: two ijson passes, not a
  line at a time as ``map`` writes them), and on a one-entry bundle (its fixed start-up);
* the CLI, one core, on a bundle four times the size, where its fixed start-up weighs less;
* peak memory (max RSS) of the CLI for this bundle and for one four times its size: the
  Bundle is streamed, so it should barely grow.

    .venv/bin/python bench/bench_validation.py          # 3,000 and 12,000 records
    .venv/bin/python bench/bench_validation.py 15000
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from generate import write_export
from timing import best

from meso_fhir.validation import Validator, r4b


def mapped_bundle(tmp: Path, records: int) -> Path:
    export, out = tmp / f"export-{records}.jsonl", tmp / f"bundle-{records}.json"
    write_export(export, records)
    cmd = [sys.executable, "-m", "meso_fhir.cli", "map", str(export), "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


def cli(bundle: Path, *options: str) -> tuple[float, float, int]:
    """(wall s, CPU s of the CLI and its workers, peak RSS MiB of the largest process)."""
    cmd = [sys.executable, "-m", "meso_fhir.cli", "validate", str(bundle), *options]
    if not options:  # one core: the figure the target is about
        cmd = ["taskset", "-c", "0", *cmd]
    # GNU time: a small parent, so the peak RSS is the CLI's own (a child forked from this
    # large process would count this process's pages); its workers' CPU is included.
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%e %U %S %M", *cmd], capture_output=True, text=True, check=True
    )
    wall, user, system, rss_kib = done.stderr.split()[-4:]
    return float(wall), float(user) + float(system), int(rss_kib) // 1024


def forget(validator: Validator) -> None:
    """Empty what a validator remembers of values it has seen (see structure, invariants)."""
    validator._walker._clean.clear()
    validator._walker._invariants._results.clear()
    r4b._PRIMITIVE_VERDICTS.clear()


def main(records: int) -> None:
    print(f"machine: {os.cpu_count()} cores; CPU seconds (process_time), best of three")
    with tempfile.TemporaryDirectory() as tmp:
        small = mapped_bundle(Path(tmp), records)
        large = mapped_bundle(Path(tmp), records * 4)
        bundle: dict[str, Any] = orjson.loads(small.read_bytes())
        resources = [e["resource"] for e in bundle["entry"]]
        count = len(resources)

        validator = Validator.load()
        start = time.process_time()
        issues = validator.validate_bundle(bundle)
        print(f"load + first run: {time.process_time() - start:.2f} s, {len(issues)} issue(s)")

        ours = count / best(lambda: validator.validate_bundle(bundle), lambda: forget(validator))
        peer = count / best(lambda: [r4b.structure_errors(r) for r in resources])
        print(f"{records} records, {count} resources")
        print(f"  meso-fhir validate, all checks, in-process     {ours:8.0f} resources/s")
        print(f"  fhir.resources model_validate, structure only  {peer:8.0f} resources/s")
        print(f"  ratio                                          {ours / peer:8.2f}x")

        for name, options in (("CLI, one core", ()), ("CLI --jobs 2", ("--jobs", "2"))):
            wall, cpu, rss = min(cli(small, *options) for _ in range(3))
            print(
                f"  {name:14s} {count / wall:8.0f} resources/s wall, {count / cpu:8.0f} per CPU s,"
                f" peak RSS {rss} MiB"
            )
        # The same entries pretty-printed: read the general way (two ijson passes), not a line
        # at a time as map writes them.
        pretty = Path(tmp) / "pretty.json"
        pretty.write_bytes(orjson.dumps(bundle, option=orjson.OPT_INDENT_2))
        wall, cpu, _ = min(cli(pretty) for _ in range(3))
        print(
            f"  CLI, one core, pretty-printed (two ijson passes) {count / wall:8.0f} resources/s"
            f" wall, {count / cpu:8.0f} per CPU s"
        )
        tiny = Path(tmp) / "tiny.json"
        tiny.write_bytes(orjson.dumps({**bundle, "entry": bundle["entry"][:1]}))
        start_up = min(cli(tiny)[0] for _ in range(3))
        large_count = len(orjson.loads(large.read_bytes())["entry"])
        wall, cpu, rss_large = min(cli(large) for _ in range(3))
        rate = large_count / wall
        print(
            f"  CLI, one core, {large_count} resources {rate:8.0f} resources/s wall,"
            f" {large_count / cpu:8.0f} per CPU s (start-up, a one-entry bundle: {start_up:.2f} s)"
        )
        print(
            f"  target >= 6,000 resources/s on one core, faster than fhir.resources:"
            f" {'met' if rate >= 6000 and rate > peer else 'not met'}"
        )
        _, _, rss_small = cli(small)
        print(
            f"  peak RSS of the CLI: {rss_small} MiB for {count} resources"
            f" ({small.stat().st_size >> 20} MiB), {rss_large} MiB for {large_count}"
            f" ({large.stat().st_size >> 20} MiB)"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000)
