"""Provenance of a sync's writes: one Provenance per activity in each transaction.

Pure: the resources a transaction writes and the clinic records they come from in, the
Provenance out. It says that meso-fhir (the assembler, a Device named by its URI) wrote them
on behalf of the clinic (an Organization named by its identifier base), when, what kind of
write it was (create, update, or nullify for a withdrawn record), and from which clinic
records. Both agents are logical references (``Reference.identifier``): the EHR needs no
Device or Organization resource for them, and nothing has to exist before the first sync.

The targets are logical references too, by each resource's business identifier: a literal
reference would make the resource undeletable on a server that keeps referential integrity on
delete (HAPI refuses with 409), and sync deletes what a changed record no longer produces.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import codes
from .._version import __version__
from ..model.kinds import RecordKey
from .identity import ClinicConfig, business_identifier, resource_id
from .narrative import with_narrative
from .resources import concept

Resource = dict[str, Any]

ACTIVITIES = tuple(codes.PROVENANCE_ACTIVITY)  # the order a transaction lists them in


def provenance(
    activity: str,
    targets: Iterable[Resource],
    sources: Iterable[RecordKey],
    recorded: str,
    config: ClinicConfig,
) -> Resource:
    """The Provenance of the resources ``targets`` (written in the same transaction) written
    from the clinic records ``sources``."""
    # A Binary has no identifier to name it by: the Media that points at it is a target.
    written = [r for r in targets if r["resourceType"] != "Binary"]
    first = f"{written[0]['resourceType']}/{written[0]['id']}"
    clinic = {
        "type": "Organization",
        "identifier": {"system": codes.URI, "value": config.identifier_base},
    }
    resource: Resource = {
        "resourceType": "Provenance",
        # Deterministic: the run's time, the activity and the first target name it.
        "id": resource_id(f"{config.identifier_base}/provenance", f"{recorded}|{activity}|{first}"),
        "meta": {"profile": [codes.PROFILE_PROVENANCE]},
        "target": [
            {"type": r["resourceType"], "identifier": business_identifier(r)} for r in written
        ],
        "recorded": recorded,
        "activity": concept([codes.PROVENANCE_ACTIVITY[activity]]),
        "agent": [
            {
                "type": concept([codes.ASSEMBLER]),
                "who": {
                    "type": "Device",
                    "identifier": {"system": codes.URI, "value": codes.CANONICAL},
                    "display": f"meso-fhir {__version__}",
                },
                "onBehalfOf": clinic,
            },
            {"type": concept([codes.AUTHOR]), "who": clinic},
        ],
        "entity": [
            {
                "role": "source",
                "what": {
                    "identifier": {"system": config.system(key.kind), "value": key.source_id},
                    "display": f"clinic {key.kind} record",
                },
            }
            for key in sources
        ],
    }
    return with_narrative(resource)
