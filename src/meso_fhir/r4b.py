"""The one module that imports ``fhir.resources.R4B``.

fhir.resources 8 ships R5 at its top level, R4B and STU3, but no plain R4. R4B is
wire-compatible with R4 4.0.1 for the resource types meso-fhir emits (Patient, Observation,
Procedure, CarePlan, MedicationAdministration, MedicationStatement, Medication, Bundle), so
everything else in the package declares FHIR 4.0.1 and reaches the pydantic models only through
this module.

What the models check (see ``structure_errors``): missing 1..1 elements, unknown elements,
primitive formats (regexes of the spec, and calendar dates: ``2023-02-30`` fails), JSON shapes
(object/array/string/number) in pydantic's lax mode, more than one ``value[x]``. What they do
not: required bindings, invariants, empty arrays, reference targets, profiles. Pydantic runs a
model's own validators only when its fields passed, so a resource with a bad field may not
report its missing required elements: the caller must not rely on this list being complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.fhirresourcemodel import FHIRResourceModel
from pydantic import ValidationError

__all__ = ["StructureError", "model_class", "structure_errors"]


@dataclass(frozen=True, slots=True)
class StructureError:
    """One pydantic error: where (JSON keys and array indices), pydantic's error type, message."""

    loc: tuple[str | int, ...]
    kind: str
    message: str


@cache
def model_class(resource_type: str) -> type[FHIRResourceModel] | None:
    """The R4B model class of a resource type, or None when R4B does not know the type."""
    try:
        cls = get_fhir_model_class(resource_type)
    except (KeyError, ValueError, AttributeError, ImportError):
        return None
    if not isinstance(cls, type) or not issubclass(cls, FHIRResourceModel):
        return None
    return cls


def structure_errors(resource: dict[str, Any]) -> list[StructureError]:
    """Validate one resource (a JSON object) with its R4B model; [] when it passes."""
    cls = model_class(str(resource.get("resourceType")))
    if cls is None:
        return [StructureError(("resourceType",), "unknown_resource_type", "unknown resource type")]
    try:
        cls.model_validate(resource)
    except ValidationError as exc:
        return [
            StructureError(tuple(e["loc"]), e["type"], e["msg"])
            for e in exc.errors(include_url=False, include_input=False, include_context=False)
        ]
    except Exception as exc:  # fhir.resources raises on some malformed input (a contained
        # resource whose resourceType is not a string, ...): a problem to report, not a crash.
        return [StructureError((), "model_crash", f"fhir.resources failed: {type(exc).__name__}")]
    return []
