"""Named server profiles: settings from a TOML file, overridden by variables and flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from meso_fhir.cli import main
from meso_fhir.errors import ExitCode

from .helpers import EXAMPLE

PROFILE = """
[profiles.staging]
server = "https://ehr-staging.example-hospital.org/fhir"
token_env = "STAGING_EHR_TOKEN"
mrn_system = "https://ehr.example-hospital.org/fhir/sid/mrn"
identifier_base = "https://clinic.example.org/fhir/sid"
batch_size = 100
state = "staging.sqlite"
"""


def show(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    (tmp_path / "meso-fhir.toml").write_text(PROFILE)
    result = CliRunner().invoke(main, [*args, "config", "show", "--json"], env=env)
    assert result.exit_code == 0, result.output
    return {row["setting"]: (row["value"], row["from"]) for row in orjson.loads(result.stdout)}


def test_a_profile_fills_what_flags_and_variables_leave_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    rows = show(
        tmp_path,
        "--profile",
        "staging",
        env={"MESO_FHIR_BATCH_SIZE": "50", "STAGING_EHR_TOKEN": "s3cr3t-T0KEN"},
    )
    where = "profile staging in meso-fhir.toml"
    assert rows["server"] == ("https://ehr-staging.example-hospital.org/fhir", where)
    assert rows["batch_size"] == (50, "environment MESO_FHIR_BATCH_SIZE")  # the variable wins
    assert rows["state"] == ("staging.sqlite", where)
    assert rows["timeout"] == (60.0, "default")
    assert rows["token_env"] == ("STAGING_EHR_TOKEN (set)", where)
    assert "s3cr3t-T0KEN" not in str(rows)


def test_a_flag_beats_the_profile_for_sync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "meso-fhir.toml").write_text(PROFILE)
    # --server from the command line wins over the profile's: a dry run of the same export
    result = CliRunner().invoke(
        main,
        ["--profile", "staging", "sync", str(EXAMPLE), "--server", "ftp://nowhere"],
        env={"STAGING_EHR_TOKEN": "t0ken"},
    )
    assert result.exit_code == ExitCode.USAGE
    assert "base_url must be an absolute http(s) URL" in result.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[profiles.staging]\nbatch_size = 'many'\n", "batch_size: expected a int, got 'many'"),
        ("[profiles.staging]\nsrever = 'x'\n", "srever: unknown setting"),
        ("[profiles.other]\n", "has no [profiles.staging] (profiles: other)"),
        ("[profiles.staging\n", "meso-fhir.toml:"),
    ],
)
def test_a_bad_config_file_is_a_usage_error_naming_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "meso-fhir.toml").write_text(text)
    result = CliRunner().invoke(main, ["--profile", "staging", "config", "show"])
    assert result.exit_code == ExitCode.USAGE
    assert message in result.output


def test_syncing_to_a_server_needs_the_identity_settings_spelled_out(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "sync",
            str(EXAMPLE),
            "--server",
            "https://ehr.example/fhir",
            "--state",
            str(tmp_path / "s"),
        ],
    )
    assert result.exit_code == ExitCode.USAGE
    assert "syncing with a server needs --mrn-system, --identifier-base" in result.output
    # a dry run (no server) keeps the example defaults
    dry = CliRunner().invoke(main, ["sync", str(EXAMPLE), "--outbox", str(tmp_path / "out")])
    assert dry.exit_code == ExitCode.OK


def test_verbose_is_accepted_after_the_command_too(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["map", str(EXAMPLE), "--out", str(tmp_path / "b.json"), "-v"]
    )
    assert result.exit_code == ExitCode.OK, result.output
