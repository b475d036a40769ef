"""The `meso-fhir` command line: a thin click layer over the library, which never imports it.

Commands import what they need when they run, so `--help` and `map` do not pay for httpx and
sqlite3. Exit codes are ``meso_fhir.errors.ExitCode``; a job returns a report and this layer
turns it into one.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click
import orjson

from .._version import __version__
from ..errors import ExitCode, InputError
from ..mapping.bundle import WRITE_STRATEGIES
from ..mapping.identity import PATIENT_POLICIES, ClinicConfig

if TYPE_CHECKING:
    from ..model import Export
    from ..model.loader import Form

# Every option can come from MESO_FHIR_<OPTION> (e.g. MESO_FHIR_BATCH_SIZE), whatever the command:
# each command sets the prefix itself, or click would read MESO_FHIR_<COMMAND>_<OPTION>.
ENV = {"auto_envvar_prefix": "MESO_FHIR"}
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
        click.option(
            "--clinic-name",
            help="The clinic's name on its Organization (identified by --identifier-base); "
            "unset, the Organization has no name.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


write_strategy_option = click.option(
    "--write-strategy",
    type=click.Choice(WRITE_STRATEGIES),
    default="conditional",
    show_default=True,
    help="conditional: PUT Type?identifier=system|value (for EHRs that forbid client ids); "
    "id: PUT Type/<deterministic id> (no search per write; the server must allow client ids).",
)


# The loader's FORMS (model/loader.py), written out: importing the model costs every command
# start-up time (tests/test_cli.py holds the two together).
EXPORT_FORMATS = ("json", "jsonl")

export_format_option = click.option(
    "--format",
    "export_format",
    type=click.Choice(EXPORT_FORMATS),
    help="json: one JSON document with lists of records; jsonl: JSON Lines, one record a line. "
    "Default: from the name (.json, .jsonl, .ndjson), else from the first line. EXPORT '-' "
    "reads standard input.",
)


def photo_options(func: Any) -> Any:
    """Where a session's photo files are, and how large one may be (map and sync)."""
    options = [
        click.option(
            "--photo-dir",
            type=click.Path(file_okay=False, path_type=Path),
            help="Folder that photo file paths are relative to. Default: the export's folder "
            "(the current one for standard input).",
        ),
        click.option(
            "--max-photo-size",
            type=click.FloatRange(min=0, min_open=True),
            default=5.0,
            show_default=True,
            help="Largest photo file accepted, in MiB: a larger one refuses its session "
            "(it travels base64-encoded in the session's transaction).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


patient_policy_option = click.option(
    "--patient-policy",
    type=click.Choice(PATIENT_POLICIES),
    default="create-if-missing",
    show_default=True,
    help="Whose Patient it is. create-if-missing: create a Patient only when the EHR has none "
    "with the MRN (a conditional create), else refer to the EHR's as it is, never changing it; "
    "must-exist: find the EHR's Patient by MRN and never create one (records of an unknown "
    "patient fail); replace: overwrite the EHR's Patient with the clinic's - a conditional "
    "update replaces the whole resource, so the EHR's addresses, other identifiers and links "
    "are lost, and a withdrawn clinic patient sets active=false on it.",
)


def _config(
    mrn_system: str, identifier_base: str, timezone: str, clinic_name: str | None
) -> ClinicConfig:
    from zoneinfo import ZoneInfoNotFoundError

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise click.BadParameter(
            f"unknown time zone {timezone!r}", param_hint="--timezone"
        ) from exc
    return ClinicConfig(
        mrn_system=mrn_system,
        identifier_base=identifier_base,
        timezone=timezone,
        clinic_name=clinic_name or None,
    )


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")


class _Commands(click.Group):
    """Ctrl-C ends any command with a line and a documented exit code, not click's 'Aborted!'.

    A sync that is sending handles Ctrl-C itself (exit 6, what was in flight left pending).
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # -v/-vv belong to the group, but people type them after the command too.
        verbose = [a for a in args if a in ("-v", "-vv", "-vvv", "--verbose")]
        rest = [a for a in args if a not in verbose]
        return super().parse_args(ctx, [*verbose, *rest])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            _echo_err(
                f"interrupted: stopped before finishing; nothing half-written was kept, and a"
                f" rerun starts again (exit {ExitCode.INTERRUPTED})"
            )
            sys.exit(ExitCode.INTERRUPTED)


@click.group(cls=_Commands, context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="meso-fhir")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log what happens (-v: runs and bundles, -vv: every HTTP request). Logs carry record "
    "keys and counts, never patient data. Before or after the command.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="MESO_FHIR_CONFIG",
    help="The config file with the [profiles.NAME] tables (default: ./meso-fhir.toml, then"
    " ~/.config/meso-fhir/config.toml).",
)
@click.option(
    "--profile",
    envvar="MESO_FHIR_PROFILE",
    help="Take the settings of [profiles.NAME] (flags and MESO_FHIR_* variables still win).",
)
@click.pass_context
def main(ctx: click.Context, verbose: int, config_file: Path | None, profile: str | None) -> None:
    """Map a mesotherapy clinic's records to profiled FHIR R4 and sync them with a FHIR server.

    \b
    Try it on the bundled example:
      meso-fhir map examples/clinic.json --out bundle.json
      meso-fhir validate bundle.json
      meso-fhir schema > clinic-export.schema.json

    Every option can also be set as MESO_FHIR_<OPTION> in the environment, e.g.
    MESO_FHIR_MRN_SYSTEM, or in a named profile of a config file (meso-fhir config --help).
    Shell completion: eval "$(_MESO_FHIR_COMPLETE=bash_source meso-fhir)" (zsh_source,
    fish_source for those shells).

    Exit codes: 0 done; 2 usage (also: a ledger bound to another server or identity
    settings); 3 invalid input records; 4 resources not conformant; 5 records failed on the
    server; 6 sync stopped early (server down or not FHIR R4, auth refused, --max-time,
    Ctrl-C while sending, the ledger unusable); 7 unreadable input; 8 another sync holds the
    ledger; 130 interrupted (Ctrl-C) before sending.
    """
    import logging

    # Only meso-fhir's own loggers speak up with -v: they log keys and counts, never patient
    # data, while httpx's request log quotes whole URLs (a must-exist search holds MRNs).
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.getLogger("meso_fhir").setLevel(level)
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    from . import config

    path = config.find(config_file) if (config_file or profile) else None
    settings = config.profile(path, profile)
    ctx.meta["meso_fhir.profile"] = (path, profile, settings)
    ctx.default_map = config.default_map(settings, main.list_commands(ctx))


@main.command("map", context_settings=ENV)
@click.argument("export", type=click.Path(dir_okay=False, path_type=Path))
@export_format_option
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("bundle.json"),
    show_default=True,
    help="Where to write the transaction Bundle.",
)
@write_strategy_option
@patient_policy_option
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a JSON report: counts per kind and resource type, and every input error.",
)
@photo_options
@clinic_options
def map_command(
    export: Path,
    export_format: Form | None,
    out: Path,
    write_strategy: str,
    patient_policy: str,
    report: Path | None,
    photo_dir: Path | None,
    max_photo_size: float,
    mrn_system: str,
    identifier_base: str,
    timezone: str,
    clinic_name: str | None,
) -> None:
    """Map a clinic EXPORT (.json document or .jsonl lines) to one FHIR transaction Bundle.

    Invalid records are reported (kind, id, field, problem) and left out; every valid record
    is still mapped and the Bundle is written. Exit 0 when all records mapped, 3 when some
    were invalid, 7 when the file could not be read.

    \b
    Example:
      meso-fhir map examples/clinic.jsonl --out out/bundle.json --report out/map-report.json
    """
    from ..mapping import Mapped, MapSummary, fewer_collections, map_records, write_bundle

    config = _config(mrn_system, identifier_base, timezone, clinic_name)
    summary = MapSummary()
    # The loader's index and a record's resources are long-lived; a collection every
    # 700 allocations rescans them again and again (see fewer_collections).
    with fewer_collections():
        try:
            loaded = _load(export, export_format, config, photo_dir, max_photo_size)
            total = sum(loaded.counts.values())
            progress = _Progress()

            def with_progress(records: Iterator[Mapped]) -> Iterator[Mapped]:
                for done, mapped in enumerate(records, start=1):
                    progress(done, total)
                    yield mapped

            write_bundle(
                out,
                with_progress(map_records(loaded, config, summary)),
                write_strategy,  # type: ignore[arg-type]
                patient_policy,  # type: ignore[arg-type]
            )
            progress.close()
        except InputError as exc:
            _echo_err(f"error: cannot read {export}: {exc}")
            sys.exit(ExitCode.UNREADABLE_INPUT)
    _print_problems(
        [
            (("input", e.kind, e.field, e.message), _who(e.kind, e.source_id))
            for e in summary.errors
        ],
        "invalid",
    )
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
            f"{summary.records_failed} record(s) invalid: left out, listed above"
            f" (exit {ExitCode.INVALID_INPUT})"
        )
        sys.exit(ExitCode.INVALID_INPUT)


@main.command("validate", context_settings=ENV)
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
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Processes that validate a Bundle's entries.",
)
@click.option(
    "--progress",
    is_flag=True,
    help="Report progress on stderr even when it is not a terminal (a bar when it is).",
)
def validate_command(
    files: tuple[Path, ...], fmt: str, max_issues: int, jobs: int, progress: bool
) -> None:
    """Validate FHIR resources or Bundles offline against base R4 and the project's profiles.

    Lists every problem as resource, element path and rule. Exit 0 only when there are none,
    4 when there are, 7 when a file cannot be read. A Bundle is streamed entry by entry
    (memory does not grow with its size); --jobs spreads its entries over processes.

    \b
    Example:
      meso-fhir map examples/clinic.json --out bundle.json && meso-fhir validate bundle.json
    """
    from ..validation import Validator
    from ..validation.files import Unreadable, validate_file

    validator = Validator.load()
    problems: list[dict[str, Any]] = []
    checked = 0
    unreadable = False
    for path in files:
        bar = _Progress("resources", lines=progress)
        try:
            # Not asked for, and no terminal to draw on: no progress to count (a file one entry
            # a line is read once more for its length).
            shown = bar if bar.tty or bar.lines else None
            count, issues = validate_file(path, validator, jobs, shown)
        except Unreadable as exc:
            _echo_err(f"error: {exc}")
            unreadable = True
            continue
        finally:
            bar.close()
        checked += count
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
            f"checked {checked} resource(s): {len(errors)} error(s),"
            f" {len(problems) - len(errors)} warning(s)"
        )
    if unreadable:
        sys.exit(ExitCode.UNREADABLE_INPUT)
    if errors:
        sys.exit(ExitCode.NOT_CONFORMANT)


def server_options(func: Any) -> Any:
    """Where the server is and how to authenticate: shared by sync and check."""
    options = [
        click.option(
            "--server",
            envvar="MESO_FHIR_SERVER",
            help="FHIR R4 base URL, e.g. https://ehr.example.org/fhir (env MESO_FHIR_SERVER).",
        ),
        click.option(
            "--auth",
            type=click.Choice(["none", "bearer", "basic", "smart", "client-secret"]),
            help="How to authenticate. Default: bearer when a token variable is set, basic with"
            " --basic-user, else none. smart: SMART Backend Services (a JWT signed with"
            " --key-file, RS384/ES384; Epic, Oracle Health, Azure, Medplum); client-secret: OAuth"
            " client_credentials with the secret from --client-secret-env.",
        ),
        click.option(
            "--token-env",
            metavar="NAME",
            help="Name of the environment variable holding a bearer token"
            " (default: MESO_FHIR_TOKEN).",
        ),
        click.option(
            "--basic-user",
            help="User for HTTP basic auth; the password comes from MESO_FHIR_BASIC_PASSWORD.",
        ),
        click.option("--client-id", help="smart / client-secret: the client id the EHR issued."),
        click.option(
            "--key-file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="smart: the private key, PEM or JWK/JWKS (RSA ≥ 2048 for RS384, P-384 for ES384).",
        ),
        click.option(
            "--kid", help="smart: the key id registered with the EHR (a JWK has its own)."
        ),
        click.option(
            "--scopes",
            help="smart / client-secret: the scopes to ask for (default: system/<Type>.crus for"
            " each resource type meso-fhir writes).",
        ),
        click.option(
            "--token-url",
            help="smart / client-secret: the token endpoint (default: discovered from"
            " .well-known/smart-configuration or the CapabilityStatement).",
        ),
        click.option(
            "--client-secret-env",
            metavar="NAME",
            default="MESO_FHIR_CLIENT_SECRET",
            show_default=True,
            help="client-secret: the environment variable holding the client secret.",
        ),
        click.option(
            "--client-secret-method",
            type=click.Choice(["basic", "post"]),
            default="basic",
            show_default=True,
            help="client-secret: client_secret_basic or client_secret_post.",
        ),
        click.option(
            "--timeout",
            type=float,
            default=60.0,
            show_default=True,
            help="Seconds to wait for the server to connect or to send the next bytes"
            " (per read; at most --request-timeout).",
        ),
        click.option(
            "--request-timeout",
            type=click.FloatRange(min=1),
            default=300.0,
            show_default=True,
            help="Seconds one request may take in all, however slowly the server sends: a"
            " stalled server is a temporary failure, retried, not a hang.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _require_explicit(names: list[str]) -> None:
    """Settings that decide which patient data lands on must be given, not defaulted."""
    from click.core import ParameterSource

    ctx = click.get_current_context()
    missing = [n for n in names if ctx.get_parameter_source(n) is ParameterSource.DEFAULT]
    if missing:
        flags = ", ".join("--" + n.replace("_", "-") for n in missing)
        raise click.UsageError(
            f"syncing with a server needs {flags} (or MESO_FHIR_{missing[0].upper()}, or a"
            " --profile): the example.org defaults are only for map, validate and dry runs,"
            " and the wrong MRN system puts records on the wrong patients or on none"
        )


def _client(server: str, timeout: float, auth: dict[str, Any]) -> Any:
    request_timeout = auth.pop("request_timeout")
    """A FhirClient for the options, or a usage error naming the option (never the secret)."""
    import httpx

    from ..fhir import FhirClient

    try:
        return FhirClient(
            server,
            auth=_auth(server, auth),
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            request_timeout=request_timeout,
        )
    except ValueError as exc:
        raise click.BadParameter(
            f"{exc}, e.g. https://ehr.example.org/fhir", param_hint="--server"
        ) from exc


def _auth(server: str, options: dict[str, Any]) -> Any:
    import os

    from ..fhir import BearerToken, ClientSecretAuth, SmartBackendAuth

    token_env = options["token_env"] or "MESO_FHIR_TOKEN"
    method = options["auth"] or (
        "bearer"
        if options["token_env"] or os.environ.get("MESO_FHIR_TOKEN")
        else ("basic" if options["basic_user"] else "none")
    )
    oauth = {"token_url": options["token_url"], "fhir_base_url": server}
    if options["scopes"]:
        oauth["scopes"] = options["scopes"]
    try:
        if method == "bearer":
            token = os.environ.get(token_env)
            if not token:
                raise click.BadParameter(
                    f"environment variable {token_env} is empty or not set",
                    param_hint="--token-env",
                )
            try:
                return BearerToken(token)
            except ValueError as exc:  # the message names no part of the token
                raise click.BadParameter(f"{token_env}: {exc}", param_hint="--token-env") from exc
        if method == "basic":
            return (options["basic_user"] or "", os.environ.get("MESO_FHIR_BASIC_PASSWORD", ""))
        if method == "smart":
            return SmartBackendAuth(
                _needed(options, "client_id"),
                _needed(options, "key_file"),
                kid=options["kid"],
                **oauth,
            )
        if method == "client-secret":
            name = options["client_secret_env"]
            secret = os.environ.get(name)
            if not secret:
                raise click.BadParameter(f"environment variable {name} is empty or not set")
            return ClientSecretAuth(
                _needed(options, "client_id"),
                secret,
                method=(
                    "client_secret_post"
                    if options["client_secret_method"] == "post"
                    else "client_secret_basic"
                ),
                **oauth,
            )
    except ValueError as exc:  # the messages name files and options, never key material
        raise click.BadParameter(str(exc), param_hint=f"--auth {method}") from exc
    return None


def _needed(options: dict[str, Any], name: str) -> Any:
    if not options[name]:
        flag = "--" + name.replace("_", "-")
        raise click.BadParameter(f"--auth {options['auth']} needs {flag}", param_hint=flag)
    return options[name]


DEFAULT_STATE = "meso-fhir-state.sqlite"
state_option = click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(DEFAULT_STATE),
    show_default=True,
    help="The sync ledger (SQLite file; env MESO_FHIR_STATE).",
)


@main.command("sync", context_settings=ENV)
@click.argument("export", type=click.Path(dir_okay=False, path_type=Path))
@export_format_option
@server_options
@state_option
@click.option(
    "--batch-size",
    type=click.IntRange(1, 5000),
    default=250,
    show_default=True,
    help="Entries per transaction Bundle.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 32),
    default=2,
    show_default=True,
    help="Bundles in flight at once.",
)
@write_strategy_option
@patient_policy_option
@click.option(
    "--full", is_flag=True, help="Ignore what the ledger says is already synced; send everything."
)
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Send only the records that failed (or were left pending) before.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="With --server: print what the sync would do, per record and in totals (create, update,"
    " existing, withdraw, fail with the reason), reading the ledger and the server and writing"
    " nothing to either. Without a server every sync is a dry run into --outbox.",
)
@click.option(
    "--max-time",
    type=click.FloatRange(min=1),
    metavar="SECONDS",
    help="Stop sending after this long (for cron: the next run must not overlap this one). "
    "What was not sent stays pending for the next run; exit 6.",
)
@click.option(
    "--provenance/--no-provenance",
    default=True,
    show_default=True,
    help="Add a Provenance to each transaction (meso-fhir, on behalf of the clinic, created or"
    " updated these resources from these records, at the run's time). --no-provenance for a"
    " server that refuses Provenance.",
)
@click.option(
    "--outbox",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("meso-fhir-outbox"),
    show_default=True,
    help="Dry run: where the bundles are written.",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a JSON report of the run.",
)
@photo_options
@clinic_options
def sync_command(
    export: Path,
    export_format: Form | None,
    server: str | None,
    state: Path,
    batch_size: int,
    concurrency: int,
    write_strategy: str,
    patient_policy: str,
    full: bool,
    retry_failed: bool,
    timeout: float,
    dry_run: bool,
    max_time: float | None,
    provenance: bool,
    outbox: Path,
    report: Path | None,
    photo_dir: Path | None,
    max_photo_size: float,
    mrn_system: str,
    identifier_base: str,
    timezone: str,
    clinic_name: str | None,
    **auth: Any,
) -> None:
    """Sync a clinic EXPORT with a FHIR R4 server: idempotent, resumable, failures isolated.

    Unchanged records (per the ledger) are skipped without a request; a killed run resumes on
    the next; failures are recorded with the server's reason (see `meso-fhir status`). With no
    server configured, writes the bundles it would send to --outbox and touches nothing.
    Exit 0 when every record synced; 3 invalid input (the rest was sent); 5 records failed on
    the server; 6 stopped early (server down, auth refused); 7 unreadable input; 8 another
    sync holds the ledger.

    \b
    Examples:
      meso-fhir sync examples/clinic.json --server http://localhost:8080/fhir
      EHR_TOKEN=... meso-fhir sync export.jsonl --server https://ehr/fhir --token-env EHR_TOKEN \\
          --patient-policy must-exist --report sync-report.json
      meso-fhir sync examples/clinic.json           # dry run: writes meso-fhir-outbox/
    """
    from ..errors import LedgerError, LedgerMismatch
    from ..syncing import Ledger, SyncOptions, sync
    from ..syncing import dry_run as write_outbox

    config = _config(mrn_system, identifier_base, timezone, clinic_name)
    options = SyncOptions(
        strategy=write_strategy,  # type: ignore[arg-type]
        patient_policy=patient_policy,  # type: ignore[arg-type]
        batch_size=batch_size,
        concurrency=concurrency,
        full=full,
        retry_failed=retry_failed,
        max_time=max_time,
        provenance=provenance,
    )
    if server:
        _require_explicit(["mrn_system", "identifier_base"])
    client = _client(server, timeout, auth) if server else None
    try:
        loaded = _load(export, export_format, config, photo_dir, max_photo_size)
    except InputError as exc:
        _echo_err(f"error: cannot read {export}: {exc}")
        sys.exit(ExitCode.UNREADABLE_INPUT)
    progress = _Progress()
    if client is None:
        result = write_outbox(loaded, config, outbox, options, progress=progress)
        progress.close()
        _echo_err("no server configured (--server or MESO_FHIR_SERVER): dry run, nothing sent")
        _echo_err(
            f"wrote {result.bundles} bundle(s) with {result.records['written']} record(s)"
            f" to {outbox}/"
        )
    elif dry_run:
        _preview(loaded, client, config, state, options, report, export)
    else:
        lock = _lock(state)
        try:
            ledger = Ledger.open(state)
        except LedgerError as exc:
            lock.close()
            client.close()
            _echo_err(f"error: {exc}")
            sys.exit(ExitCode.SYNC_ABORTED)
        with lock, ledger, client:
            try:
                result = sync(loaded, client, config, ledger, options, progress=progress)
            except LedgerMismatch as exc:  # nothing was sent
                _echo_err(f"error: {exc} (exit {ExitCode.USAGE})")
                sys.exit(ExitCode.USAGE)
            except LedgerError as exc:  # e.g. the disk is full: what was recorded stays
                progress.close()
                _echo_err(f"error: {exc}; stopped (exit {ExitCode.SYNC_ABORTED})")
                sys.exit(ExitCode.SYNC_ABORTED)
        progress.close()
    _print_problems(
        [
            ((f.stage, f.kind, f.field, f.reason), _who(f.kind, f.source_id))
            for f in result.failures
        ],
        "failed",
    )
    _print_hints(result)
    _print_sync_summary(result.as_dict())
    if report:
        _write_json(report, {"command": "sync", "input": str(export), **result.as_dict()})
    if result.aborted:
        pending = result.records["pending"]
        resume = f"; {pending} record(s) left pending: the next run sends them" if pending else ""
        _echo_err(f"stopped early: {result.aborted}{resume}")
    sys.exit(result.exit_code)


# A terminal shows each problem reason once, with this many example records: a run with
# 100,000 failures must not print 100,000 lines (the report has them all).
MAX_REASONS = 20
EXAMPLES = 3
_QUOTED = re.compile(r"'[^']*'")


def _load(
    export: Path,
    export_format: Form | None,
    config: ClinicConfig,
    photo_dir: Path | None = None,
    max_photo_size: float = 5.0,
) -> Export:
    """Load EXPORT; '-' is standard input, spooled to a temporary file first: records are
    read twice (checked, then mapped a chunk at a time), and a pipe can be read once. Photo
    paths are relative to ``photo_dir``, else the export's folder (standard input: the current
    one)."""
    from ..model import load

    if str(export) == "-":
        photo_dir = photo_dir or Path.cwd()
        folder = click.get_current_context().with_resource(
            tempfile.TemporaryDirectory(prefix="meso-fhir-stdin-")
        )
        spooled = Path(folder) / "export"
        stdin = sys.stdin.buffer
        with spooled.open("wb") as out:
            while chunk := stdin.read(1 << 20):
                out.write(chunk)
        export = spooled
    return load(
        export,
        today=_today(config),
        form=export_format,
        photo_dir=photo_dir,
        max_photo_bytes=int(max_photo_size * 2**20),
    )


def _today(config: ClinicConfig) -> dt.date:
    """The clinic's date now: a birth date after it is refused (the loader reads no clock)."""
    return dt.datetime.now(ZoneInfo(config.timezone)).date()


def _who(kind: str, source_id: str | None) -> str:
    return f"{kind} {source_id!r}" if source_id is not None else kind


def _print_problems(
    problems: list[tuple[tuple[str, str, str | None, str], str]], verb: str
) -> None:
    """One line per reason: alone as it is, shared as 'N records: reason (e.g. ...)'.

    ``problems`` holds ((stage, kind, field, reason), who). Quoted names in a reason (the
    patient or parent a record depends on) do not make it another reason: 'depends on
    session 'S1'' and '... 'S2'' are one line.
    """
    groups: dict[tuple[str, str | None, str], list[tuple[str, str]]] = {}
    for (stage, _kind, field, text), who in problems:
        key = (stage, field, _QUOTED.sub("'…'", text))
        groups.setdefault(key, []).append((who, text))
    ordered = sorted(groups.items(), key=lambda group: -len(group[1]))
    for (stage, field, text), members in ordered[:MAX_REASONS]:
        label = "invalid" if stage == "input" else verb
        where = f"{field}: " if field else ""
        if len(members) == 1:
            who, own_text = members[0]
            _echo_err(f"{label}: {who}: {where}{own_text}")
            continue
        # in the order of their names, not of arrival: bundles in flight finish in any order
        examples = ", ".join(sorted(who for who, _ in members)[:EXAMPLES])
        more = f" and {len(members) - EXAMPLES} more" if len(members) > EXAMPLES else ""
        _echo_err(f"{label}: {len(members)} records: {where}{text} (e.g. {examples}{more})")
    if len(ordered) > MAX_REASONS:
        rest = sum(len(members) for _, members in ordered[MAX_REASONS:])
        _echo_err(
            f"... {rest} more record(s) for {len(ordered) - MAX_REASONS} other reason(s):"
            " the --report JSON lists every one"
        )


def _print_hints(result: Any) -> None:
    """When one reason covers every patient, say what is likely wrong with the settings."""
    missing = [
        f
        for f in result.failures
        if f.stage == "patient" and f.kind == "patient" and f.reason.startswith("no Patient")
    ]
    if missing and not result.records["matched"]:
        _echo_err(
            f"hint: 0 of {len(missing)} MRNs found on the server: check --mrn-system, the EHR's"
            " identifier system for MRNs (the hospital tells you)"
        )


# Per-record lines a preview prints before it only counts (the --report has every record).
MAX_PREVIEW_LINES = 50


def _preview(
    loaded: Any,
    client: Any,
    config: ClinicConfig,
    state: Path,
    options: Any,
    report: Path | None,
    export: Path,
) -> None:
    """sync --dry-run with a server: the plan, read-only; exits like a sync would not send."""
    from collections import Counter

    from ..errors import LedgerError, LedgerMismatch
    from ..syncing import Ledger, preview

    try:
        with Ledger.open(state) as ledger, client:
            result = preview(loaded, client, config, ledger, options)
    except LedgerMismatch as exc:
        _echo_err(f"error: {exc} (exit {ExitCode.USAGE})")
        sys.exit(ExitCode.USAGE)
    except LedgerError as exc:
        _echo_err(f"error: {exc} (exit {ExitCode.SYNC_ABORTED})")
        sys.exit(ExitCode.SYNC_ABORTED)
    for action in result.actions[:MAX_PREVIEW_LINES]:
        reason = f": {action['reason']}" if "reason" in action else ""
        deletes = ", ".join(
            f"{d['resourceType']} {d['identifier']!r}" for d in action.get("delete", [])
        )
        if deletes:
            reason += f"; would delete {deletes}"
        click.echo(f"{action['action']:<15} {action['kind']} {action['source_id']!r}{reason}")
    if len(result.actions) > MAX_PREVIEW_LINES:
        click.echo(f"... {len(result.actions) - MAX_PREVIEW_LINES} more (every one in --report)")
    counts = Counter(a["action"] for a in result.actions)
    summary = ", ".join(f"{n} {action}" for action, n in sorted(counts.items())) or "nothing"
    deleted = sum(len(a.get("delete", [])) for a in result.actions)
    if deleted:
        summary += f", delete {deleted} stale resource(s)"
    unchanged = result.report.records["unchanged"]
    _echo_err(f"dry run, nothing written: would {summary}; {unchanged} unchanged")
    if report:
        _write_json(report, {"command": "sync --dry-run", "input": str(export), **result.as_dict()})
    if result.report.aborted:
        _echo_err(f"stopped: {result.report.aborted}")
    sys.exit(result.report.exit_code)


def _lock(state: Path) -> Any:
    """Hold ``<state>.lock`` for the run: two jobs on one ledger could send the same records."""
    import fcntl

    # The resolved file: a symlink or another spelling of the path must find the same lock.
    resolved = state.resolve()
    try:
        resolved.parent.mkdir(parents=True, exist_ok=True)
        handle = open(resolved.with_name(resolved.name + ".lock"), "w")  # noqa: SIM115 - held for the run
    except OSError as exc:
        _echo_err(
            f"error: cannot use the ledger {state}: {exc.strerror} (a folder this job can write"
            f" to is needed; exit {ExitCode.SYNC_ABORTED})"
        )
        sys.exit(ExitCode.SYNC_ABORTED)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        _echo_err(
            f"error: another meso-fhir sync is using {state}; nothing done"
            f" (exit {ExitCode.LEDGER_BUSY})"
        )
        sys.exit(ExitCode.LEDGER_BUSY)
    return handle


class _Progress:
    """A progress bar on a terminal; otherwise (cron, CI) a plain line every 10% of a long job,
    unless ``lines`` is False (``validate`` prints them only when asked)."""

    def __init__(self, unit: str = "records", *, lines: bool = True) -> None:
        self.tty = sys.stderr.isatty()
        self.last = -1
        self.unit = unit
        self.lines = lines

    def __call__(self, done: int, total: int) -> None:
        if total <= 0 or (not self.tty and (total < 1000 or not self.lines)):
            return  # a short job needs no progress lines in a log
        percent = done * 100 // total
        if percent == self.last:
            return  # called per record on long runs: draw only when the figure moves
        if self.tty:
            width = 30
            filled = width * done // total
            click.echo(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {self.unit}",
                err=True,
                nl=False,
            )
        elif percent // 10 > self.last // 10:
            _echo_err(f"progress: {done}/{total} {self.unit} ({percent}%)")
        self.last = percent

    def close(self) -> None:
        if self.tty and self.last >= 0:
            click.echo("", err=True)


def _print_sync_summary(data: dict[str, Any]) -> None:
    records = ", ".join(f"{n} {k}" for k, n in data["records"].items() if n) or "nothing to do"
    _echo_err(f"records: {records}")
    for resource_type, counts in data["resources"].items():
        _echo_err(f"  {resource_type}: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    _echo_err(f"{data['requests']} request(s) in {data['bundles']} bundle(s)")


@main.command("check", context_settings=ENV)
@server_options
@click.option(
    "--mrn-system",
    default=ClinicConfig().mrn_system,
    show_default=True,
    help="The EHR's MRN identifier system (env MESO_FHIR_MRN_SYSTEM), for --mrn.",
)
@click.option("--mrn", help="An MRN the EHR has: checks that one Patient is found by it.")
@patient_policy_option
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def check_command(
    server: str | None,
    timeout: float,
    mrn_system: str,
    mrn: str | None,
    patient_policy: str,
    as_json: bool,
    **auth: Any,
) -> None:
    """Check, read-only, that a FHIR server will work before anything is written to it.

    Reachable (a TLS certificate problem is named as one), FHIR 4.0.x, transactions,
    conditional create and update for every resource type meso-fhir writes (as the server's
    CapabilityStatement states them), an authorised search, whether the server knows the
    project's profiles, and with --mrn whether one Patient has that MRN. Exit 0 when sync can
    work, 6 when it cannot, with the reason.

    \b
    Example:
      meso-fhir check --server https://ehr.example.org/fhir --token-env EHR_TOKEN \\
          --mrn-system https://ehr.example.org/mrn --mrn MRN-40021
    """
    from ..codes import PROFILES
    from ..fhir.check import check_server
    from ..mapping.bundle import BY_ID_ONLY
    from ..mapping.identity import normalised_uri
    from ..mapping.resources import NEVER_DELETED, RESOURCE_TYPES

    if not server:
        raise click.UsageError("check needs --server (or MESO_FHIR_SERVER)")
    client = _client(server, timeout, auth)
    creates = ("Patient",) if patient_policy == "create-if-missing" else ()
    mapped = RESOURCE_TYPES if patient_policy != "must-exist" else RESOURCE_TYPES[1:]
    with client:
        result = check_server(
            client,
            [*mapped, "Provenance"],  # a Provenance per transaction (sync --no-provenance: none)
            create_only=creates,
            by_id=BY_ID_ONLY,
            deletes=[t for t in mapped if t not in NEVER_DELETED],
            profiles=PROFILES,
            mrn=(normalised_uri(mrn_system), mrn) if mrn else None,
        )
    if as_json:
        click.echo(orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(f"server: {result.server}")
        marks = {True: "ok", False: "FAIL", None: "?"}
        for finding in result.findings:
            click.echo(f"  {marks[finding.ok]:<4} {finding.name:<26} {finding.detail}")
        verdict = "sync can work" if result.ok else "sync cannot work: see FAIL above"
        click.echo(f"{verdict} ('?': the server does not say)")
    sys.exit(ExitCode.OK if result.ok else ExitCode.SYNC_ABORTED)


@main.group("config")
def config_group() -> None:
    """Named server profiles: the settings of each server, written once in a TOML file.

    \b
    Example:
      meso-fhir --profile staging config show

    \b
    A profile in ./meso-fhir.toml (or ~/.config/meso-fhir/config.toml, or --config PATH):
      [profiles.staging]
      server = "https://ehr-staging.example-hospital.org/fhir"
      token_env = "STAGING_EHR_TOKEN"
      mrn_system = "https://ehr.example-hospital.org/fhir/sid/mrn"
      identifier_base = "https://clinic.example.org/fhir/sid"
      state = "staging.sqlite"
    then: meso-fhir --profile staging sync export.jsonl

    Settings: server, token_env, basic_user, timeout, mrn_system, identifier_base, timezone,
    clinic_name, patient_policy, write_strategy, batch_size, concurrency, max_time, state.
    Secrets never go into the file: it names the environment variable that holds them.
    """


@config_group.command("show", context_settings=ENV)
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
@click.pass_context
def config_show_command(ctx: click.Context, as_json: bool) -> None:
    """The effective settings of a sync and where each comes from; secrets masked.

    \b
    Example:
      meso-fhir --profile staging config show
    """
    rows = _effective_settings(ctx)
    if as_json:
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    for row in rows:
        click.echo(f"{row['setting']:<24} {row['value']!s:<50} {row['from']}")


def _effective_settings(ctx: click.Context) -> list[dict[str, Any]]:
    """What sync would take, from where: parsed by the sync command itself, so it cannot differ."""
    import os

    from click.core import ParameterSource

    from . import config

    root = ctx.find_root()
    path, name, _settings = root.meta["meso_fhir.profile"]
    sync_ctx = sync_command.make_context("sync", ["EXPORT"], parent=root, resilient_parsing=True)
    origin = {
        ParameterSource.COMMANDLINE: "command line",
        ParameterSource.ENVIRONMENT: "environment",
        ParameterSource.DEFAULT_MAP: f"profile {name} in {path}",
        ParameterSource.DEFAULT: "default",
    }
    rows: list[dict[str, Any]] = []
    for key in config.SETTINGS:
        value = sync_ctx.params.get(key)
        source = sync_ctx.get_parameter_source(key)
        where = origin.get(source, "default") if source else "default"
        if source is ParameterSource.ENVIRONMENT:
            where = f"environment MESO_FHIR_{key.upper()}"
        if key in config.SECRET_SOURCES and value:
            value = f"{value} ({'set' if os.environ.get(str(value)) else 'NOT SET'})"
        elif isinstance(value, Path):
            value = str(value)
        rows.append({"setting": key, "value": value, "from": where})
    for secret in ("MESO_FHIR_TOKEN", "MESO_FHIR_BASIC_PASSWORD"):
        shown = "set (not shown)" if os.environ.get(secret) else "not set"
        rows.append({"setting": secret, "value": shown, "from": "environment"})
    return rows


@main.command("status", context_settings=ENV)
@state_option
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--runs", type=int, default=5, show_default=True, help="How many recent runs to list."
)
def status_command(state: Path, fmt: str, runs: int) -> None:
    """What the ledger knows: records synced, failed (with the server's reason), pending.

    \b
    Example:
      meso-fhir status --state meso-fhir-state.sqlite
    """
    from ..errors import LedgerError
    from ..syncing import Ledger

    if not state.exists():
        _echo_err(f"no ledger at {state}: nothing synced yet (run `meso-fhir sync` first)")
        sys.exit(ExitCode.USAGE)
    try:
        ledger = Ledger.open(state)
    except LedgerError as exc:
        _echo_err(f"error: {exc}")
        sys.exit(ExitCode.SYNC_ABORTED)
    try:
        with ledger:
            counts = ledger.counts()
            failures = ledger.failures()
            recent = ledger.runs(runs)
            pending = ledger.pending_keys()
            binding = ledger.binding()
    except LedgerError as exc:  # damaged pages show when they are read
        _echo_err(f"error: {exc} (exit {ExitCode.SYNC_ABORTED})")
        sys.exit(ExitCode.SYNC_ABORTED)
    if fmt == "json":
        click.echo(
            orjson.dumps(
                {
                    "ledger": str(state),
                    "bound_to": binding,
                    "counts": counts,
                    "failed": [
                        {
                            "kind": f.key.kind,
                            "source_id": f.key.source_id,
                            "error": f.error_text,
                            "details": f.error_details,
                            "attempts": f.attempts,
                            "last_attempt_at": f.last_attempt_at.isoformat(),
                        }
                        for f in failures
                    ],
                    "pending": [list(k) for k in pending],
                    "runs": [
                        {
                            "run_id": r.run_id,
                            "started_at": r.started_at.isoformat(),
                            "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                            "server": r.server_url,
                            "counts": r.counts,
                            "exit_code": r.exit_code,
                        }
                        for r in recent
                    ],
                },
                option=orjson.OPT_INDENT_2,
            ).decode()
        )
        return
    server = binding["server"] if binding else "no server yet"
    click.echo(f"ledger {state} for {server}")
    click.echo(f"{'kind':<12} {'synced':>8} {'failed':>8} {'pending':>8} {'withdrawn':>9}")
    for kind, by_outcome in counts.items():
        cells = [by_outcome.get(o, 0) for o in ("synced", "failed", "pending", "withdrawn")]
        click.echo(f"{kind:<12} {cells[0]:>8} {cells[1]:>8} {cells[2]:>8} {cells[3]:>9}")
    if failures:
        click.echo("\nfailed:")
        for f in failures:
            click.echo(
                f"  {f.key.kind} {f.key.source_id!r} (attempts {f.attempts}): {f.error_text}"
            )
    for r in recent:
        state_text = f"exit {r.exit_code}" if r.finished_at else "did not finish"
        click.echo(f"run {r.run_id}: {r.started_at:%Y-%m-%d %H:%M:%S} {r.server_url} {state_text}")


@main.command("schema", context_settings=ENV)
def schema_command() -> None:
    """Print the JSON Schema of the clinic export format (JSON document and JSON Lines).

    \b
    Example:
      meso-fhir schema > clinic-export.schema.json
    """
    from ..model import json_schema

    click.echo(
        orjson.dumps(json_schema(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
    )


if __name__ == "__main__":  # pragma: no cover
    main()
