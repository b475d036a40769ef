"""The sync job: a plan of what to send, sinks that send it, a ledger that remembers it.

plan.py     pure: content hashes, chunks of patients, packing records into bundles
sinks.py    where bundles go: Sender (a FHIR server, splitting rejected bundles) or
            Outbox (a folder: the dry run)
ledger.py   the SQLite ledger: what was sent where, with what result
report.py   SyncReport and Failure: what a run did, and its exit code
job.py      sync() and dry_run(): plan, send through a sink, record
"""

from .job import SyncOptions, dry_run, sync
from .ledger import Ledger
from .preview import Preview, preview
from .report import Failure, SyncReport

__all__ = [
    "Failure",
    "Ledger",
    "Preview",
    "SyncOptions",
    "SyncReport",
    "dry_run",
    "preview",
    "sync",
]
