"""Named server profiles in a TOML file: the settings a deployment writes down once.

Found at ``--config PATH`` (env ``MESO_FHIR_CONFIG``), else ``./meso-fhir.toml``, else
``$XDG_CONFIG_HOME/meso-fhir/config.toml`` (``~/.config/meso-fhir/config.toml``)::

    [profiles.staging]
    server = "https://ehr-staging.example-hospital.org/fhir"
    token_env = "STAGING_EHR_TOKEN"        # the variable's name; the token never goes here
    mrn_system = "https://ehr.example-hospital.org/fhir/sid/mrn"
    identifier_base = "https://clinic.example.org/fhir/sid"
    patient_policy = "must-exist"
    state = "staging.sqlite"

A profile fills in options the command line and ``MESO_FHIR_*`` variables leave unset (click's
``default_map``), so a flag or a variable always wins, and ``config show`` can say where each
value came from.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

# Every setting a profile may hold: its type, and the commands that take it.
SETTINGS: dict[str, tuple[type, tuple[str, ...]]] = {
    "server": (str, ("sync", "check")),
    "auth": (str, ("sync", "check")),
    "token_env": (str, ("sync", "check")),
    "basic_user": (str, ("sync", "check")),
    "client_id": (str, ("sync", "check")),
    "key_file": (str, ("sync", "check")),
    "kid": (str, ("sync", "check")),
    "scopes": (str, ("sync", "check")),
    "token_url": (str, ("sync", "check")),
    "client_secret_env": (str, ("sync", "check")),
    "client_secret_method": (str, ("sync", "check")),
    "timeout": (float, ("sync", "check")),
    "request_timeout": (float, ("sync", "check")),
    "mrn_system": (str, ("sync", "check", "map")),
    "identifier_base": (str, ("sync", "map")),
    "timezone": (str, ("sync", "map")),
    "clinic_name": (str, ("sync", "map")),
    "patient_policy": (str, ("sync", "check", "map")),
    "write_strategy": (str, ("sync", "map")),
    "batch_size": (int, ("sync",)),
    "concurrency": (int, ("sync",)),
    "max_time": (float, ("sync",)),
    "state": (str, ("sync", "status")),
}
# Settings that name where a secret is, never the secret: shown as set or not set.
SECRET_SOURCES = {"token_env", "client_secret_env"}
FILE_NAME = "meso-fhir.toml"


def find(explicit: Path | None) -> Path | None:
    """The config file in use: the one named, else the first of the usual places that exists."""
    if explicit is not None:
        if not explicit.is_file():
            raise click.BadParameter(f"no config file at {explicit}", param_hint="--config")
        return explicit
    home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    for candidate in (Path(FILE_NAME), home / "meso-fhir" / "config.toml"):
        if candidate.is_file():
            return candidate
    return None


def profile(path: Path | None, name: str | None) -> dict[str, Any]:
    """The named profile's settings, checked; {} when no profile is asked for."""
    if name is None:
        return {}
    if path is None:
        raise click.BadParameter(
            f"profile {name!r} asked for, but there is no config file (--config, ./{FILE_NAME}"
            " or ~/.config/meso-fhir/config.toml)",
            param_hint="--profile",
        )
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise click.BadParameter(f"{path}: {exc}", param_hint="--config") from exc
    profiles = document.get("profiles")
    if not isinstance(profiles, dict) or name not in profiles:
        known = ", ".join(sorted(profiles)) if isinstance(profiles, dict) else "none"
        raise click.BadParameter(
            f"{path} has no [profiles.{name}] (profiles: {known})", param_hint="--profile"
        )
    settings = profiles[name]
    if not isinstance(settings, dict):
        raise click.BadParameter(f"{path}: [profiles.{name}] is not a table")
    return {key: _checked(path, name, key, value) for key, value in settings.items()}


def _checked(path: Path, name: str, key: str, value: Any) -> Any:
    if key not in SETTINGS:
        raise click.BadParameter(
            f"{path}: [profiles.{name}] {key}: unknown setting; known: {', '.join(SETTINGS)}"
        )
    kind = SETTINGS[key][0]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise click.BadParameter(
            f"{path}: [profiles.{name}] {key}: expected a {kind.__name__}, got {value!r}"
        )
    return value


def default_map(settings: dict[str, Any], commands: Iterable[str]) -> dict[str, dict[str, Any]]:
    """click's default_map: for each command, the profile's settings it takes."""
    return {
        command: {k: v for k, v in settings.items() if command in SETTINGS[k][1]}
        for command in commands
    }
