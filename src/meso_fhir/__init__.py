"""meso-fhir: a mesotherapy clinic's records as profiled FHIR R4, synced with any FHIR R4 server.

The Python API, in the order a job uses it::

    from meso_fhir import ClinicConfig, FhirClient, load, map_records, sync

    config = ClinicConfig(mrn_system="https://ehr.example-hospital.org/mrn",
                          identifier_base="https://clinic.example.org/ids")
    export = load("clinic.jsonl")              # a file, or an iterable of record dicts
    for mapped in map_records(export, config): # the FHIR resources of each valid record
        ...
    with FhirClient("https://ehr.example.org/fhir") as client:
        report = sync(export, client, config, ledger="state.sqlite")

Layers, each importing only those above it::

    errors, codes            the error tree and exit codes; the code tables
    model/                   the clinic export: record kinds, input model, loader
    mapping/                 pure mapping: records → FHIR resources → transaction Bundles
    validation/              offline validation against base R4 and the project's profiles
    fhir/                    the FHIR client (httpx) and what servers answer
    syncing/                 plan, sinks, ledger (sqlite), report: the sync job
    cli                      the command line (click), which nothing imports

Names are imported on first use, so ``import meso_fhir`` stays cheap and the pure layers can
be used without loading httpx, sqlite3 or click.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_names
from ._version import __version__

if TYPE_CHECKING:
    from .errors import (
        AuthenticationFailed,
        ExitCode,
        FhirError,
        InputError,
        LedgerError,
        LedgerMismatch,
        MalformedResponse,
        MesoFhirError,
        NotFound,
        RequestRejected,
        TransientError,
        VersionConflict,
    )
    from .fhir import BearerToken, ClientSecretAuth, FhirClient, RetryPolicy, SmartBackendAuth
    from .mapping import (
        ClinicConfig,
        Mapped,
        MapSummary,
        map_record,
        map_records,
        transaction,
        write_bundle,
    )
    from .model import Export, RecordKey, load
    from .syncing import Failure, Ledger, SyncOptions, SyncReport, dry_run, sync
    from .validation import Issue, Validator

# Public name → the module that defines it.
_EXPORTS = {
    "ClinicConfig": "mapping",
    "MapSummary": "mapping",
    "Mapped": "mapping",
    "map_record": "mapping",
    "map_records": "mapping",
    "transaction": "mapping",
    "write_bundle": "mapping",
    "Export": "model",
    "RecordKey": "model",
    "load": "model",
    "Issue": "validation",
    "Validator": "validation",
    "BearerToken": "fhir",
    "FhirClient": "fhir",
    "RetryPolicy": "fhir",
    "SmartBackendAuth": "fhir",
    "ClientSecretAuth": "fhir",
    "Failure": "syncing",
    "Ledger": "syncing",
    "SyncOptions": "syncing",
    "SyncReport": "syncing",
    "dry_run": "syncing",
    "sync": "syncing",
    "AuthenticationFailed": "errors",
    "ExitCode": "errors",
    "FhirError": "errors",
    "InputError": "errors",
    "LedgerError": "errors",
    "LedgerMismatch": "errors",
    "MalformedResponse": "errors",
    "MesoFhirError": "errors",
    "NotFound": "errors",
    "RequestRejected": "errors",
    "TransientError": "errors",
    "VersionConflict": "errors",
}

__all__ = [
    "AuthenticationFailed",
    "BearerToken",
    "ClientSecretAuth",
    "ClinicConfig",
    "ExitCode",
    "Export",
    "Failure",
    "FhirClient",
    "FhirError",
    "InputError",
    "Issue",
    "Ledger",
    "LedgerError",
    "LedgerMismatch",
    "MalformedResponse",
    "MapSummary",
    "Mapped",
    "MesoFhirError",
    "NotFound",
    "RecordKey",
    "RequestRejected",
    "RetryPolicy",
    "SmartBackendAuth",
    "SyncOptions",
    "SyncReport",
    "TransientError",
    "Validator",
    "VersionConflict",
    "__version__",
    "dry_run",
    "load",
    "map_record",
    "map_records",
    "sync",
    "transaction",
    "write_bundle",
]


__getattr__, __dir__ = lazy_names(__name__, _EXPORTS, globals(), __all__)
