"""A ledger belongs to one server and one set of identity settings; the mapping has a version.

Changing the identifier base (even by one trailing "/") against the same server and ledger
used to re-send every record as new resources: a second copy of each on the EHR.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from meso_fhir import ClinicConfig, FhirClient, LedgerMismatch, SyncOptions, load, sync
from meso_fhir.cli import main
from meso_fhir.errors import ExitCode
from meso_fhir.mapping import resources
from meso_fhir.syncing import Ledger, plan

from .helpers import EXAMPLE, ROOT

GOLDEN = ROOT / "tests" / "golden"

# The golden files as they were when MAPPING_VERSION took its value. Regenerating them
# (UPDATE_GOLDEN=1) changes the digest: bump MAPPING_VERSION and record the new pair here.
GOLDEN_AT_VERSION = (6, "a4cc322a9d6f8ccf3ceee8227061db39f061fdcd4f3fb2e1bc228e6020d67402")


def golden_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(GOLDEN.glob("*.json")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def test_the_mapping_version_changes_with_the_golden_files_and_only_then() -> None:
    assert (resources.MAPPING_VERSION, golden_digest()) == GOLDEN_AT_VERSION


def test_record_hashes_follow_the_mapping_version_and_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    export = load(EXAMPLE)
    config = ClinicConfig(identifier_base="https://clinic.example.org/ids")
    first = plan.record_hashes(export, config)
    assert plan.record_hashes(load(EXAMPLE), config) == first  # deterministic
    # One spelling per URI: a trailing "/" or an upper-case host is the same clinic.
    same = ClinicConfig(identifier_base=" https://Clinic.EXAMPLE.org/ids/ ")
    assert same.system("course") == "https://clinic.example.org/ids/course"
    assert plan.record_hashes(export, same) == first
    other = ClinicConfig(identifier_base="https://clinic.example.org/ids2")
    assert set(plan.record_hashes(export, other).values()).isdisjoint(first.values())
    monkeypatch.setattr(plan, "MAPPING_VERSION", resources.MAPPING_VERSION + 1)
    assert set(plan.record_hashes(export, config).values()).isdisjoint(first.values())


@pytest.mark.server
def test_a_ledger_refuses_other_identity_settings_before_sending_anything(
    fhir_server: Any, tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite"
    config = ClinicConfig(identifier_base="https://clinic.example.org/ids-bound")
    with FhirClient(fhir_server.base_url) as client:
        first = sync(load(EXAMPLE), client, config, state, SyncOptions(full=False))
        assert first.failures == []
        other = ClinicConfig(identifier_base="https://clinic.example.org/ids-other")
        with pytest.raises(LedgerMismatch) as caught:
            sync(load(EXAMPLE), client, other, state)
        with pytest.raises(LedgerMismatch, match="write_strategy: the ledger has 'conditional'"):
            sync(load(EXAMPLE), client, config, state, SyncOptions(strategy="id"))
    assert str(caught.value) == (
        f"ledger {state} belongs to another server or identity settings (identifier_base: the"
        " ledger has 'https://clinic.example.org/ids-bound', this run"
        " 'https://clinic.example.org/ids-other'). Going on would create a second copy of every"
        " record on the server. Run with the ledger's settings, or, for another server, use a"
        " new ledger (--state) of its own."
    )
    with Ledger.open(state) as ledger:
        assert len(ledger.runs()) == 1  # the refused runs did not even start


@pytest.mark.server
def test_the_cli_stops_with_exit_2_for_another_server_on_the_same_ledger(
    fhir_server: Any, tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite"
    common = [str(EXAMPLE), "--state", str(state), "--identifier-base", "https://c.example/ids-cli"]
    common += ["--mrn-system", "https://h.example/mrn"]
    first = CliRunner().invoke(main, ["sync", *common, "--server", fhir_server.base_url])
    assert first.exit_code == ExitCode.OK, first.output
    elsewhere = fhir_server.base_url.replace("127.0.0.1", "localhost")
    second = CliRunner().invoke(main, ["sync", *common, "--server", elsewhere])
    assert second.exit_code == ExitCode.USAGE
    assert "server: the ledger has" in second.output and "second copy" in second.output
    status = CliRunner().invoke(main, ["status", "--state", str(state)])
    assert status.stdout.splitlines()[0] == f"ledger {state} for {fhir_server.base_url}"
