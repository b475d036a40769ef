"""Pure mapping: clinic records in, FHIR R4 resources (plain dicts) and transaction Bundles out.

    identity.py    ClinicConfig, business identifiers, deterministic ids, urn:uuid full URLs
    resources.py   one clinic record → its FHIR resources (map_record)
    bundle.py      resources → transaction Bundle entries (conditional or id PUTs)
    export.py      a whole export → mapped records (map_records) → one bundle file

Nothing here reads a clock, the network or a database; ``write_bundle`` writes the one file
it is given.

Names load their module on first use: the command line reads ``bundle`` and ``identity`` for
its options, and ``meso-fhir validate`` should not pay for the input model (pydantic) the
other modules import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from .bundle import WriteStrategy, transaction
    from .export import MapSummary, fewer_collections, map_records, write_bundle
    from .identity import ClinicConfig
    from .resources import MAPPING_VERSION, Mapped, map_record

# Public name → the module that defines it.
_EXPORTS = {
    "WriteStrategy": "bundle",
    "transaction": "bundle",
    "MapSummary": "export",
    "fewer_collections": "export",
    "map_records": "export",
    "write_bundle": "export",
    "ClinicConfig": "identity",
    "MAPPING_VERSION": "resources",
    "Mapped": "resources",
    "map_record": "resources",
}

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


__getattr__, __dir__ = lazy_names(__name__, _EXPORTS, globals(), __all__)
