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

``issue_of`` turns one of these errors into an ``Issue``; it reads fhir.resources' own messages,
so it lives here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from fhir.resources.R4B import fhirtypes, get_fhir_model_class
from fhir.resources.R4B.fhirresourcemodel import FHIRResourceModel
from pydantic import TypeAdapter, ValidationError

from .issues import ERROR, Issue, Run

__all__ = [
    "StructureError",
    "entry_errors",
    "format_issue",
    "issue_of",
    "model_class",
    "primitive_error",
    "structure_errors",
]


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
    return _errors(cls, resource)


def entry_errors(entry: Any, index: int) -> list[StructureError]:
    """Validate one Bundle entry, without its resource, as the Bundle model would (``loc`` from
    the Bundle: ``("entry", index, ...)``)."""
    if isinstance(entry, dict):
        entry = {k: v for k, v in entry.items() if k != "resource"}
    return [
        StructureError(("entry", index, *e.loc), e.kind, e.message)
        for e in _errors(get_fhir_model_class("BundleEntry"), entry)
    ]


def _errors(cls: Any, data: Any) -> list[StructureError]:
    try:
        cls.model_validate(data)
    except ValidationError as exc:
        return [
            StructureError(tuple(e["loc"]), e["type"], e["msg"])
            for e in exc.errors(include_url=False, include_input=False, include_context=False)
        ]
    except Exception as exc:  # fhir.resources raises on some malformed input (a contained
        # resource whose resourceType is not a string, ...): a problem to report, not a crash.
        return [StructureError((), "model_crash", f"fhir.resources failed: {type(exc).__name__}")]
    return []


# A primitive's format depends on its type and value only, and values repeat (codes, systems,
# URLs): the verdicts are cached, the cache emptied when full so that memory stays bounded.
_PRIMITIVE_VERDICTS: dict[tuple[str, type, Any], tuple[str, str] | None] = {}
_PRIMITIVE_CACHE_SIZE: Final = 1 << 15


# Strings that pass fhir.resources' validator of a type for certain, without asking it: its
# check is a regex that pydantic *searches* for (unanchored), so a string with one character of
# the class passes. string: ``[ \r\n\t\S]+`` (an ASCII space, or a printable ASCII character,
# is in it in any regex engine); uri: ``\S*``, which matches every string (empty, at 0). Any
# other string is asked. Most unique strings (urn:uuid references, names) are of these two.
_PASSES: Final[dict[str, re.Pattern[str]]] = {
    "string": re.compile(r"[ \r\n\t!-~]"),
    "uri": re.compile(""),
}


def primitive_error(type_code: str, value: Any) -> tuple[str, str] | None:
    """The (pydantic error type, message) fhir.resources gives for one primitive value of the
    right JSON kind (its spec regex, calendar dates, integer ranges), None when it passes; the
    same validator as in the models, called on the value alone."""
    passes = _PASSES.get(type_code)
    if passes is not None and type(value) is str and passes.search(value):
        return None
    key = (type_code, type(value), value)
    try:
        return _PRIMITIVE_VERDICTS[key]
    except KeyError:
        pass
    adapter = _adapter(type_code)
    verdict = None
    if adapter is not None:
        try:
            adapter.validate_python(value)
        except ValidationError as exc:
            e = exc.errors(include_url=False, include_input=False, include_context=False)[0]
            verdict = (e["type"], e["msg"])
    if not isinstance(value, str) or len(value) <= 128:  # a long string seldom comes again
        if len(_PRIMITIVE_VERDICTS) >= _PRIMITIVE_CACHE_SIZE:
            _PRIMITIVE_VERDICTS.clear()
        _PRIMITIVE_VERDICTS[key] = verdict
    return verdict


@cache
def _adapter(type_code: str) -> TypeAdapter[Any] | None:
    """The pydantic adapter of fhir.resources' annotated type for a FHIR primitive type."""
    annotated = getattr(fhirtypes, type_code[:1].upper() + type_code[1:] + "Type", None)
    return None if annotated is None else TypeAdapter(annotated)


def format_issue(run: Run, path: str, kind: str, message: str) -> Issue:
    """The issue of a primitive's format error (``primitive_error``) at ``path``."""
    return _issue_at(run, path, StructureError((), kind, message))


_MISSING_MESSAGE: Final = "minimum 1, found 0"
# pydantic error type -> (rule, message); the message may use {last} (the last key of the
# location), {msg} (pydantic's message) and {rtype} (the resource type).
_RULES: Final[dict[str, tuple[str, str]]] = {
    "extra_forbidden": ("unknown-element", "unknown element {last}"),
    "missing": ("cardinality", _MISSING_MESSAGE),
    "model_field_validation.missing": ("cardinality", _MISSING_MESSAGE),
    "model_crash": ("structure", "malformed beyond what can be located ({msg})"),
    "unknown_resource_type": ("structure", "{rtype} is not an R4 resource type"),
    **dict.fromkeys(
        (
            "string_type",
            "list_type",
            "model_type",
            "dict_type",
            "int_type",
            "float_type",
            "bool_type",
            "model_attributes_type",
            "int_from_float",
            "int_parsing",
            "float_parsing",
            "bool_parsing",
            "decimal_type",
            "decimal_parsing",
        ),
        ("type", "{msg}"),
    ),
}
# fhir.resources' message for more than one value[x] (a value: valueQuantity, valueString).
_CHOICE_MSG: Final = re.compile(r"Any of one field value is expected from this list \[([^\]]*)\]")


def issue_of(run: Run, err: StructureError) -> Issue:
    """The issue of one fhir.resources error, with the validator's path and rule names."""
    path = run.resource_type + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.loc)
    return _issue_at(run, path, err)


def _issue_at(run: Run, path: str, err: StructureError) -> Issue:
    msg = err.message
    m = _CHOICE_MSG.search(msg)
    if m:
        prefix = _common_prefix(re.findall(r"'([^']+)'", m.group(1)))
        return _issue(run, "cardinality", f"{path}.{prefix}[x]", f"only one {prefix}[x] is allowed")
    known = _RULES.get(err.kind)
    if known is not None:
        rule, template = known
        last = str(err.loc[-1]) if err.loc else ""
        return _issue(run, rule, path, template.format(last=last, msg=msg, rtype=run.resource_type))
    msg = msg.removeprefix("Value error, ")
    if err.kind == "value_error" and "Required" in msg and "field" in msg:
        return _issue(run, "cardinality", path, msg)
    return _issue(run, "format", path, msg)


def _issue(run: Run, rule: str, path: str, message: str) -> Issue:
    return Issue(
        ERROR,
        rule,
        path,
        message,
        run.resource_type,
        run.resource_id,
        run.entry_index,
        None,
        "fhir.resources",
    )


def _common_prefix(names: list[str]) -> str:
    """``value`` of ``['valueQuantity', 'valueString']``: the choice element's name."""
    if not names:
        return "value"
    prefix = names[0]
    for n in names[1:]:
        while not n.startswith(prefix):
            prefix = prefix[:-1]
    while prefix and prefix[-1].isupper():
        prefix = prefix[:-1]
    return prefix
