"""The `meso-fhir` command line: a thin click layer over the library.

Exit codes (numbered once, never reused; a scheduler can act on them):

    0  everything done
    2  usage error (bad option or argument)
    3  some input records were invalid: the valid ones were still mapped/sent; see the report
    4  validation found resources that do not conform to base R4 or the project's profiles
    5  sync: some records failed on the server (recorded in the ledger with the server's reason)
    6  sync: stopped early: the server was unreachable or refused us (auth, deadline)
    7  the input file could not be read at all (missing, not JSON, not an export)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import orjson

from . import __version__
from .bundle import WRITE_STRATEGIES
from .errors import InputError
from .identity import ClinicConfig

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INVALID_INPUT = 3
EXIT_NOT_CONFORMANT = 4
EXIT_SYNC_FAILED_RECORDS = 5
EXIT_SYNC_ABORTED = 6
EXIT_UNREADABLE_INPUT = 7

CONTEXT = {
    "help_option_names": ["-h", "--help"],
    "auto_envvar_prefix": "MESO_FHIR",
    "max_content_width": 100,
}


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


def clinic_options(func: Any) -> Any:
    """Identity options shared by map and sync (also from MESO_FHIR_* environment variables)."""
    defaults = ClinicConfig()
    options = [
        click.option(
            "--mrn-system",
            default=defaults.mrn_system,
            show_default=True,
            help="The EHR's MRN identifier system (env MESO_FHIR_MRN_SYSTEM).",
        ),
        click.option(
            "--identifier-base",
            default=defaults.identifier_base,
            show_default=True,
            help="Base URI of the clinic's identifier systems: <base>/session, <base>/course, ...",
        ),
        click.option(
            "--timezone",
            default=defaults.timezone,
            show_default=True,
            help="IANA zone for times given without a UTC offset, e.g. Europe/Paris.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _config(mrn_system: str, identifier_base: str, timezone: str) -> ClinicConfig:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise click.BadParameter(
            f"unknown time zone {timezone!r}", param_hint="--timezone"
        ) from exc
    return ClinicConfig(mrn_system=mrn_system, identifier_base=identifier_base, timezone=timezone)


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="meso-fhir")
def main() -> None:
    """Map a mesotherapy clinic's records to profiled FHIR R4 and sync them with a FHIR server.

    \b
    Try it on the bundled example:
      meso-fhir map examples/clinic.json --out bundle.json
      meso-fhir validate bundle.json
      meso-fhir schema > clinic-export.schema.json

    Every option can also be set as MESO_FHIR_<OPTION> in the environment, e.g.
    MESO_FHIR_MRN_SYSTEM. Exit codes: 0 done; 2 usage; 3 invalid input records; 4 resources
    not conformant; 5 records failed on the server; 6 sync stopped early; 7 unreadable input.
    """


@main.command("map")
@click.argument("export", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("bundle.json"),
    show_default=True,
    help="Where to write the transaction Bundle.",
)
@click.option(
    "--write-strategy",
    type=click.Choice(WRITE_STRATEGIES),
    default="conditional",
    show_default=True,
    help="conditional: PUT Type?identifier=system|value (works where client ids are forbidden); "
    "id: PUT Type/<deterministic id>.",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a JSON report: counts per kind and resource type, and every input error.",
)
@clinic_options
def map_command(
    export: Path,
    out: Path,
    write_strategy: str,
    report: Path | None,
    mrn_system: str,
    identifier_base: str,
    timezone: str,
) -> None:
    """Map a clinic EXPORT (.json document or .jsonl lines) to one FHIR transaction Bundle.

    Invalid records are reported (kind, id, field, problem) and left out; every valid record
    is still mapped and the Bundle is written. Exit 0 when all records mapped, 3 when some
    were invalid, 7 when the file could not be read.

    \b
    Example:
      meso-fhir map examples/clinic.jsonl --out out/bundle.json --report out/map-report.json
    """
    from .load import load
    from .pipeline import MapSummary, mapped_records, write_bundle

    config = _config(mrn_system, identifier_base, timezone)
    summary = MapSummary()
    try:
        loaded = load(export)
        write_bundle(out, mapped_records(loaded, config, summary), write_strategy)  # type: ignore[arg-type]
    except InputError as exc:
        _echo_err(f"error: cannot read {export}: {exc}")
        sys.exit(EXIT_UNREADABLE_INPUT)
    for error in summary.errors:
        _echo_err(f"invalid: {error}")
    if report:
        _write_json(
            report,
            {"command": "map", "input": str(export), "output": str(out), **summary.as_dict()},
        )
    read = sum(summary.records_read.values())
    mapped = sum(summary.records_mapped.values())
    resources = ", ".join(f"{n} {t}" for t, n in sorted(summary.resources.items()))
    _echo_err(
        f"mapped {mapped} of {read} records to {sum(summary.resources.values())} resources"
        f" ({resources or 'none'}) -> {out}"
    )
    if summary.errors:
        _echo_err(
            f"{summary.records_failed} record(s) invalid: left out, listed above (exit {EXIT_INVALID_INPUT})"
        )
        sys.exit(EXIT_INVALID_INPUT)


@main.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--max-issues",
    type=int,
    default=200,
    show_default=True,
    help="Print at most this many (all are counted).",
)
def validate_command(files: tuple[Path, ...], fmt: str, max_issues: int) -> None:
    """Validate FHIR resources or Bundles offline against base R4 and the project's profiles.

    Lists every problem as resource, element path and rule. Exit 0 only when there are none,
    4 when there are, 7 when a file cannot be read.

    \b
    Example:
      meso-fhir map examples/clinic.json --out bundle.json && meso-fhir validate bundle.json
    """
    from .validation import Validator

    validator = Validator.load()
    problems: list[dict[str, Any]] = []
    checked = 0
    unreadable = False
    for path in files:
        try:
            data = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            _echo_err(f"error: cannot read {path}: {exc}")
            unreadable = True
            continue
        if not isinstance(data, dict) or "resourceType" not in data:
            _echo_err(f"error: {path}: not a FHIR resource (no resourceType)")
            unreadable = True
            continue
        if data["resourceType"] == "Bundle":
            issues = validator.validate_bundle(data)
            checked += len(data.get("entry") or [])
        else:
            issues = validator.validate(data)
            checked += 1
        for issue in issues:
            problems.append({"file": str(path), **issue.as_dict()})
            if fmt == "text" and len(problems) <= max_issues:
                click.echo(f"{path}: {issue}")
    errors = [p for p in problems if p.get("severity", "error") in ("error", "fatal")]
    if fmt == "json":
        click.echo(
            orjson.dumps(
                {"checked": checked, "errors": len(errors), "issues": problems},
                option=orjson.OPT_INDENT_2,
            ).decode()
        )
    else:
        if len(problems) > max_issues:
            click.echo(f"... {len(problems) - max_issues} more not shown")
        _echo_err(
            f"checked {checked} resource(s): {len(errors)} error(s), {len(problems) - len(errors)} warning(s)"
        )
    if unreadable:
        sys.exit(EXIT_UNREADABLE_INPUT)
    if errors:
        sys.exit(EXIT_NOT_CONFORMANT)


@main.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the clinic export format (JSON document and JSON Lines).

    \b
    Example:
      meso-fhir schema > clinic-export.schema.json
    """
    from .records import json_schema

    click.echo(
        orjson.dumps(json_schema(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
    )


if __name__ == "__main__":  # pragma: no cover
    main()
