"""Benchmark sync against the in-memory FHIR server: requests, time, client vs server CPU.

For each write strategy: a first sync of a generated export (default batch size), a re-sync of
the unchanged export, and the naive way (one request per resource) for comparison. The client's
CPU is this process's; the server's is read from /proc for the node process, so the two are
reported apart (the in-memory server's search is a linear scan: conditional writes get slower
as it fills, which is the server's cost, not the client's).

    .venv/bin/python bench/bench_sync.py            # 10,000 records
    .venv/bin/python bench/bench_sync.py 2000       # quicker
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).parent))
from generate import write_export

from meso_fhir.fhir import FhirClient
from meso_fhir.mapping import MapSummary, map_records
from meso_fhir.mapping.bundle import WriteStrategy, entry
from meso_fhir.mapping.identity import ClinicConfig
from meso_fhir.model import load
from meso_fhir.syncing import SyncOptions, SyncReport, sync

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")
T = TypeVar("T")


@contextmanager
def server() -> Iterator[tuple[str, int]]:
    """A fresh in-memory server (validation off: this measures sync, not Medplum's validator)."""
    process = subprocess.Popen(
        [
            "node",
            str(ROOT / "tests" / "fhir_server" / "server.mjs"),
            "--port",
            "0",
            "--no-validate",
            "--watch-stdin",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    port = int(line.split()[1])
    try:
        yield f"http://127.0.0.1:{port}/fhir", process.pid
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
        if process.stdin:
            process.stdin.close()


def server_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def measure(pid: int, job: Callable[[], T]) -> tuple[T, float, float, float]:
    s0, c0, w0 = server_cpu(pid), time.process_time(), time.perf_counter()
    result = job()
    return result, time.perf_counter() - w0, time.process_time() - c0, server_cpu(pid) - s0


def bench(records: int, strategy: WriteStrategy, workdir: Path) -> None:
    export_path = workdir / "export.jsonl"
    written = write_export(export_path, records)
    config = ClinicConfig()
    summary = MapSummary()
    resources = sum(len(m.resources) for m in map_records(load(export_path), config, summary))
    options = SyncOptions(strategy=strategy)
    with server() as (base, pid), FhirClient(base, timeout=600) as client:
        state = workdir / f"state-{strategy}.sqlite"

        def run() -> SyncReport:
            return sync(load(export_path), client, config, state, options)

        first, wall, cpu, srv = measure(pid, run)
        assert not first.failures, first.failures[:3]
        print(
            f"{strategy:>11} first sync: {written} records, {resources} resources, "
            f"{first.requests} requests = {first.requests / written:.4f}/record, {wall:.1f} s wall, "
            f"client CPU {cpu:.1f} s = {1000 * cpu / resources:.3f} s/1,000 resources, server CPU {srv:.1f} s"
        )
        again, wall, cpu, srv = measure(pid, run)
        print(
            f"{strategy:>11} re-sync unchanged: {again.requests} requests, {wall:.2f} s wall, "
            f"client CPU {cpu:.2f} s, server CPU {srv:.2f} s"
        )


def naive(records: int, workdir: Path) -> None:
    """One PUT Type/id per resource, in dependency order: what a simple script would do."""
    export_path = workdir / "export.jsonl"
    written = write_export(export_path, records)
    config = ClinicConfig()
    with server() as (base, pid), FhirClient(base, timeout=600) as client:

        def run() -> int:
            count = 0
            for mapped in map_records(load(export_path), config, MapSummary()):
                for resource in mapped.resources:
                    client.update(entry(resource, "id", lambda _ref: None)["resource"])
                    count += 1
            return count

        count, wall, cpu, srv = measure(pid, run)
        print(
            f"      naive: {written} records, {count} requests = {count / written:.2f}/record, "
            f"{wall:.1f} s wall, client CPU {cpu:.1f} s = {1000 * cpu / count:.3f} s/1,000 resources, "
            f"server CPU {srv:.1f} s"
        )


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        strategies: tuple[WriteStrategy, ...] = ("conditional", "id")
        for strategy in strategies:
            bench(size, strategy, Path(tmp))
        naive(size, Path(tmp))
