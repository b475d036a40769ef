"""Shared test helpers: the example export and slices of it, a fake clock for FhirClient, the CLI.

Fixtures built on these live in tests/conftest.py (``fake_time``, ``make_client``).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Collection
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import orjson
from click.testing import CliRunner, Result
from pytest_httpx import HTTPXMock

from meso_fhir.cli import main
from meso_fhir.fhir import FhirClient, RetryPolicy
from meso_fhir.mapping import ClinicConfig
from meso_fhir.model import load
from meso_fhir.syncing import Ledger, SyncOptions, SyncReport, sync

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "clinic.json"
EXAMPLE_LINES = ROOT / "examples" / "clinic.jsonl"
EXAMPLE_PHOTOS = ROOT / "examples" / "photos"

# A clinic export as JSON: list name ("patients", "sessions", ...) -> records.
Document = dict[str, Any]
Change = Callable[[Document], None]

# The lists of an export document, and the field naming each record's patient.
PATIENT_FIELD = {
    "patients": "id",
    "screenings": "patient_id",
    "courses": "patient_id",
    "sessions": "patient_id",
    "observations": "patient_id",
}

# A frozen wall clock in a non-UTC zone, for the ledger's timestamps.
FROZEN_NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5)))


def example_document() -> Document:
    document: Document = orjson.loads(EXAMPLE.read_bytes())
    return document


def write_document(path: Path, document: Document) -> Path:
    path.write_bytes(orjson.dumps(document))
    with_example_photos(path.parent)
    return path


def write_lines(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    with_example_photos(path.parent)
    return path


def with_example_photos(folder: Path) -> None:
    """The example's photo files beside an export written to ``folder`` (its paths are
    relative to the export's folder)."""
    target = folder / "photos"
    if not target.exists():
        shutil.copytree(EXAMPLE_PHOTOS, target)


def example_export(
    tmp_path: Path,
    change: Change | None = None,
    *,
    patients: Collection[str] | None = None,
    name: str = "clinic.json",
) -> Path:
    """The example as a file in ``tmp_path``: only ``patients``' records if given, then changed."""
    document = example_document()
    if patients is not None:
        for list_name, field in PATIENT_FIELD.items():
            document[list_name] = [r for r in document[list_name] if r[field] in patients]
    if change is not None:
        change(document)
    return write_document(tmp_path / name, document)


def unique_config() -> ClinicConfig:
    """Identifier systems of their own: a test sees only its own resources on a shared server."""
    run = uuid.uuid4().hex[:12]
    return ClinicConfig(
        mrn_system=f"https://hospital.example.org/fhir/sid/mrn-{run}",
        identifier_base=f"https://clinic.example.org/fhir/sid/{run}",
    )


def transaction_response(request: httpx.Request) -> httpx.Response:
    """A pytest-httpx callback answering a transaction: every entry created, ids s0, s1, ..."""
    bundle = orjson.loads(request.content)
    entries = [
        {
            "response": {
                "status": "201 Created",
                "location": f"{e['request']['url'].split('?')[0]}/s{i}/_history/1",
            }
        }
        for i, e in enumerate(bundle["entry"])
    ]
    return httpx.Response(
        200, json={"resourceType": "Bundle", "type": "transaction-response", "entry": entries}
    )


def answer_the_directory(httpx_mock: HTTPXMock, url: str) -> None:
    """Answer the first transaction of a first sync as written: the clinic's Organization and
    its Practitioners, which go before any patient's records (one request)."""
    httpx_mock.add_callback(transaction_response, method="POST", url=url)


def sync_file(
    export: Path,
    client: FhirClient,
    config: ClinicConfig,
    ledger: Ledger | Path,
    options: SyncOptions | None = None,
    *,
    now: Callable[[], datetime] = lambda: FROZEN_NOW,
) -> SyncReport:
    """``sync`` of an export file, with the frozen clock."""
    return sync(load(export), client, config, ledger, options, now=now)


def invoke(*args: str, env: dict[str, str] | None = None, stdin: bytes | None = None) -> Result:
    """Run the CLI in-process; ``result.stdout`` and ``result.stderr`` are apart (click 8.2+).

    A traceback is never an answer: only a ``sys.exit`` may end the command.
    """
    result = CliRunner(env=env).invoke(main, list(args), input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr
    return result


class FakeTime:
    """The monotonic clock and ``sleep`` of a FhirClient: sleeping moves the clock, instantly."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# 07:28 UTC, given in a non-UTC zone so that a naive comparison would be off by two hours.
WALL_CLOCK = datetime(2015, 10, 21, 9, 28, tzinfo=timezone(timedelta(hours=2)))
CLIENT_BASE = "https://ehr.example/fhir"
CLIENT_RETRY = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=30.0, deadline=None)


class ClientFactory:
    """FhirClients on ``FakeTime``, ``WALL_CLOCK`` and a fixed jitter of 0.5; ``close()`` ends
    every client it made."""

    def __init__(self, time: FakeTime, transport: httpx.BaseTransport) -> None:
        self.time = time
        self.transport = transport
        self.clients: list[FhirClient] = []

    def __call__(
        self,
        base_url: str = CLIENT_BASE,
        *,
        auth: httpx.Auth | tuple[str, str] | None = None,
        retry: RetryPolicy = CLIENT_RETRY,
        random: Callable[[], float] = lambda: 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> FhirClient:
        client = FhirClient(
            base_url,
            auth=auth,
            retry=retry,
            transport=transport or self.transport,
            clock=self.time.clock,
            sleep=self.time.sleep,
            now=lambda: WALL_CLOCK,
            random=random,
        )
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()
