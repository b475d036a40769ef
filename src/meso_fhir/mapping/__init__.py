"""Pure mapping: clinic records in, FHIR R4 resources (plain dicts) and transaction Bundles out.

    identity.py    ClinicConfig, business identifiers, deterministic ids, urn:uuid full URLs
    resources.py   one clinic record → its FHIR resources (map_record)
    bundle.py      resources → transaction Bundle entries (conditional or id PUTs)
    export.py      a whole export → mapped records (map_records) → one bundle file

Nothing here reads a clock, the network or a database; ``write_bundle`` writes the one file
it is given.
"""

from .bundle import WriteStrategy, transaction
from .export import MapSummary, fewer_collections, map_records, write_bundle
from .identity import ClinicConfig
from .resources import MAPPING_VERSION, Mapped, map_record

__all__ = [
    "MAPPING_VERSION",
    "ClinicConfig",
    "MapSummary",
    "Mapped",
    "WriteStrategy",
    "fewer_collections",
    "map_record",
    "map_records",
    "transaction",
    "write_bundle",
]
