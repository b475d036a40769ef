"""Offline validation of FHIR R4 resources and Bundles: base R4 and the project's profiles.

Every problem comes back as an ``Issue`` (resource, bundle entry, element path, rule, severity,
message); nothing raises on bad content. No network, no Node: the definitions are package data
(``data/r4-core.json``, ``data/meso-package.json``), written by
``scripts/build_validation_data.py``.

Who checks what
---------------
``fhir.resources`` R4B models (through ``meso_fhir.r4b``), source ``fhir.resources``:
    unknown elements, primitive formats (spec regexes; impossible calendar dates such as
    ``2023-02-30``), JSON shapes, required elements, several ``value[x]``.
The element walker below ("glue"), source ``meso-fhir``, driven by StructureDefinition snapshots:
    base R4 (core snapshots of the resource and of every datatype it reaches): cardinality (all
    of it, where pydantic stops at the first failing field), JSON kinds of primitives (pydantic's
    lax mode takes ``"true"`` for a boolean), empty arrays / empty objects / nulls, required
    bindings (core ValueSets: ``gender: woman``, ``Procedure.status: done``), codes of the
    project's CodeSystem, reference formats and target types, ``urn:uuid`` references that do
    not resolve inside a Bundle; profiles (every known ``meta.profile``, the project's and the base
    vital-signs ones): cardinality, fixed values, patterns, required bindings, ``value[x]`` type
    restrictions, reference targets, slices (value/pattern/exists/type discriminators, closed
    slicing), extensions (by URL, against their definitions).
``fhirpathpy`` (R4 model, each expression compiled once), source ``fhirpath``:
    the invariants of the snapshots (``constraint[].expression``): the profiles' own (meso-*) and
    the core ones (obs-6, obs-7, qty-3, per-1, bdl-*, ...). ``ele-1``, ``ext-1`` and ``ref-1``
    are checked natively (same rule, much faster); the best-practice invariant dom-6 is not
    checked. An invariant that evaluates to an empty collection counts as satisfied.

pyfhircheck is not used: measured on the project's profiles it validates ~200 resources/s,
prints FHIRPath ``trace()`` output to stdout, reports profile paths without array indices and
each cardinality failure three times, and misses ``value[x]`` type restrictions and reference
targets of profiles.

Issues are deduplicated on (bundle entry, path, rule). Messages never echo a resource's string
values except codes and URLs (dates and names are patient data).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any, Final

import orjson
from fhirpathpy import compile as fhirpath_compile
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.models import models as fhirpath_models

from . import _fhirpath, r4b
from .codes import CANONICAL

__all__ = ["ERROR", "INFORMATION", "WARNING", "Issue", "Validator"]

ERROR: Final = "error"
WARNING: Final = "warning"
INFORMATION: Final = "information"

CORE_SD: Final = "http://hl7.org/fhir/StructureDefinition/"
_MISSING: Final[Any] = object()

# JSON kind of each primitive type (the JSON representation of FHIR R4).
_PRIMITIVE_KIND: Final[dict[str, tuple[type, ...]]] = {
    "boolean": (bool,),
    "integer": (int,),
    "positiveInt": (int,),
    "unsignedInt": (int,),
    "decimal": (int, float),
    **{
        t: (str,)
        for t in (
            "string",
            "code",
            "id",
            "uri",
            "url",
            "canonical",
            "oid",
            "uuid",
            "markdown",
            "base64Binary",
            "date",
            "dateTime",
            "instant",
            "time",
            "xhtml",
        )
    },
}
_CODED: Final = frozenset({"code", "Coding", "CodeableConcept", "string", "uri"})
_REF_RE: Final = re.compile(
    r"^(#[A-Za-z0-9\-.]{0,64}"  # contained ("#" alone: the container)
    r"|urn:uuid:[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"
    r"|urn:oid:[0-2](\.(0|[1-9][0-9]*))+"
    r"|([a-z][a-z0-9+.\-]*://[^\s/]+(/[^\s/]+)*/)?[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}(/_history/[A-Za-z0-9\-.]{1,64})?"
    r"|[A-Z][A-Za-z]+\?\S+)$"  # conditional reference (transactions)
)
# Invariants checked natively or not at all (see module docstring).
_NATIVE_INVARIANTS: Final = frozenset({"ext-1", "ref-1", "dom-3"})
# dom-6: best practice (narrative); txt-1/txt-2: htmlChecks(), which fhirpathpy does not have.
# ele-1 (a value or children): reported as empty-element / empty-array by the walker instead.
_SKIPPED_INVARIANTS: Final = frozenset({"dom-6", "txt-1", "txt-2", "ele-1"})
_CONTAINED_INVARIANTS: Final = frozenset({"dom-2", "dom-3", "dom-4", "dom-5"})
_FHIR_TYPE_EXT: Final = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"


# --- issues -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in one resource.

    ``path`` is FHIRPath-like, with array indices and the JSON name of a choice element
    (``Observation.component[1].valueQuantity.system``); a slice is named after a colon
    (``Procedure.extension:sessionNumber``), a choice element as a whole ends in ``[x]``.
    ``rule``: cardinality, fixed-value, pattern, binding, type, format, unknown-element,
    empty-array, empty-element, invariant:<key>, slice, reference-format, reference-target,
    reference-unresolved, unknown-code, unknown-extension, unknown-profile, profile-type,
    structure. ``profile`` is the canonical URL of the profile whose rule failed (None: base R4);
    ``source`` the checker that found it (fhir.resources, fhirpath, meso-fhir).
    """

    severity: str
    rule: str
    path: str
    message: str
    resource_type: str | None = None
    resource_id: str | None = None
    entry_index: int | None = None
    profile: str | None = None
    source: str = "meso-fhir"

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "entry_index": self.entry_index,
            "path": self.path,
            "rule": self.rule,
            "message": self.message,
            "profile": self.profile,
            "source": self.source,
        }

    def __str__(self) -> str:
        who = self.resource_type or "?"
        if self.resource_id:
            who = f"{who}/{self.resource_id}"
        if self.entry_index is not None:
            who = f"entry[{self.entry_index}] {who}"
        rule = self.rule if self.severity == ERROR else f"{self.rule} ({self.severity})"
        return f"{who} {self.path}: {rule}: {self.message}"


# --- compiled definitions -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Constraint:
    key: str
    severity: str
    human: str
    expression: str


@dataclass(slots=True)
class _Slicing:
    discriminators: tuple[tuple[str, str], ...]
    rules: str


@dataclass(eq=False, slots=True)
class _El:
    """One element of a compiled snapshot: what to check on its values, and its children."""

    id: str
    path: str
    name: str  # JSON name, without [x] for a choice
    choice: bool
    min: int
    max: int | None  # None: *
    types: tuple[str, ...]
    check_card: bool = True
    check_types: bool = False  # a profile narrowed value[x]: keys of other types are errors
    targets: frozenset[str] | None = None  # allowed reference target types (None: unchecked)
    target_profiles: tuple[str, ...] = ()
    ext_profiles: tuple[str, ...] = ()  # Extension type: the extension definitions
    type_profiles: tuple[str, ...] = ()  # other types constrained by a profile (SimpleQuantity)
    binding: str | None = None  # required ValueSet
    fixed: Any = _MISSING
    pattern: Any = _MISSING
    constraints: tuple[_Constraint, ...] = ()
    children: dict[str, _El] = field(default_factory=dict)
    slicing: _Slicing | None = None
    slices: list[_El] = field(default_factory=list)
    slice_name: str | None = None
    content_ref: str | None = None
    # derived after compilation
    keys: dict[str, tuple[_El, str | None]] = field(default_factory=dict)
    required: tuple[_El, ...] = ()
    choices: tuple[_El, ...] = ()
    type_slices: dict[str, _El] = field(default_factory=dict)

    @property
    def json_name(self) -> str:
        return f"{self.name}[x]" if self.choice else self.name

    def has_checks(self) -> bool:
        return bool(
            self.check_card
            or self.check_types
            or self.targets is not None
            or self.type_profiles
            or self.binding
            or self.fixed is not _MISSING
            or self.pattern is not _MISSING
            or self.constraints
            or self.children
            or self.slices
        )


@dataclass(slots=True)
class _Tree:
    url: str
    type: str
    root: _El
    base: bool  # a base definition (all checks) rather than a profile (differences only)


def _cap(type_code: str) -> str:
    return type_code[:1].upper() + type_code[1:]


def _max(value: Any) -> int | None:
    return None if value in (None, "*") else int(value)


def _split_id(element_id: str) -> list[str]:
    # "Observation.component:SystolicBP.value[x]:valueQuantity.code" -> segments; slice names
    # may contain "." only in exotic profiles, which we do not meet.
    return element_id.split(".")


# --- terminology --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Expansion:
    codes: Mapping[str, frozenset[str]]  # system -> codes
    open: frozenset[str]  # systems that cannot be enumerated ("*": unknown ValueSet)
    all_codes: frozenset[str]

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> _Expansion:
        codes = {s: frozenset(c) for s, c in data.get("codes", {}).items()}
        return cls(codes, frozenset(data.get("open", ())), frozenset().union(*codes.values()))

    def has_coding(self, system: str | None, code: str) -> bool | None:
        """True/False, or None when the ValueSet includes all of a system we cannot enumerate."""
        if system is None:
            return None if self.open else code in self.all_codes
        if system in self.open or "*" in self.open:
            return None
        return code in self.codes.get(system, ())

    def has_code(self, code: str) -> bool | None:
        if code in self.all_codes:
            return True
        return None if self.open else False


# --- the validator ------------------------------------------------------------------------------
@dataclass(slots=True)
class _Run:
    """State of the validation of one resource."""

    validator: Validator
    root: dict[str, Any]
    resource_type: str
    resource_id: str | None
    entry_index: int | None
    full_urls: Mapping[str, dict[str, Any]] | None
    issues: list[Issue]
    profile: str | None = None
    contained: dict[str, str] = field(default_factory=dict)  # "#id" -> resourceType

    def add(
        self, severity: str, rule: str, path: str, message: str, source: str = "meso-fhir"
    ) -> None:
        self.issues.append(
            Issue(
                severity,
                rule,
                path,
                message,
                self.resource_type,
                self.resource_id,
                self.entry_index,
                self.profile,
                source,
            )
        )


class Validator:
    """Validates resources against base R4 and the known profiles. Build with ``load()``.

    Not thread-safe (fhirpathpy keeps global state); one per thread, or a lock.
    """

    def __init__(
        self,
        conformance: Iterable[Mapping[str, Any]],
        expansions: Mapping[str, Any],
        *,
        fast_fhirpath: bool = True,
    ) -> None:
        """``conformance``: StructureDefinitions (with snapshots), ValueSets, CodeSystems.

        ``expansions``: ValueSet url -> {"codes": {system: [code]}, "open": [system]}, used
        before expanding a ValueSet from ``conformance``. ``fast_fhirpath=False`` evaluates every
        invariant with fhirpathpy (slow; the tests compare the two).
        """
        self._sds: dict[str, Mapping[str, Any]] = {}
        self._value_sets: dict[str, Mapping[str, Any]] = {}
        self._code_systems: dict[str, frozenset[str]] = {}
        for res in conformance:
            url = res.get("url")
            if not isinstance(url, str):
                continue
            if (
                res.get("resourceType", "StructureDefinition") == "StructureDefinition"
                and "snapshot" in res
            ):
                self._sds[url] = res
            elif res.get("resourceType") == "ValueSet":
                self._value_sets[url] = res
            elif res.get("resourceType") == "CodeSystem" and res.get("content") == "complete":
                self._code_systems[url] = frozenset(_all_concepts(res.get("concept", [])))
        self._expansion_data = dict(expansions)
        self._expansions: dict[str, _Expansion] = {}
        self.unchecked_value_sets: set[str] = set()
        self._trees: dict[str, _Tree | None] = {}
        self._fhirpath: dict[str, Callable[..., Any] | None] = {}
        self._fast: dict[str, _fhirpath.Fn | None] = {}
        self._use_fast = fast_fhirpath
        self._model = fhirpath_models["r4"]
        # What base R4 defines, for telling a profile's own rules from what it inherits.
        self._base_elements: dict[str, Mapping[str, Any]] = {}
        self._base_keys: set[str] = set()
        for url, sd in self._sds.items():
            if url.startswith(CORE_SD) and sd.get("derivation") != "constraint":
                for el in sd["snapshot"]["element"]:
                    self._base_elements.setdefault(el["path"], el)
                    self._base_keys.update(c["key"] for c in el.get("constraint", ()))

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def load(cls) -> Validator:
        """The validator with the packaged definitions (core R4 + the project's package), cached."""
        return _load_packaged()

    @classmethod
    def from_resources(
        cls,
        conformance: Iterable[Mapping[str, Any]],
        expansions: Mapping[str, Any] | None = None,
        *,
        fast_fhirpath: bool = True,
    ) -> Validator:
        """The packaged core definitions plus the given conformance resources (StructureDefinitions
        with snapshots, ValueSets, CodeSystems) instead of the packaged project package."""
        core = _read_packaged("r4-core.json")
        return cls(
            [*core["structureDefinitions"], *conformance],
            {**core["valueSets"], **(expansions or {})},
            fast_fhirpath=fast_fhirpath,
        )

    @classmethod
    def from_files(cls, *paths: Path) -> Validator:
        """Like ``from_resources``, reading JSON files or folders of them (``*.json``: a resource
        each, a Bundle or a list), e.g. ``Validator.from_files(Path("profiles/package"))``."""
        extra: list[dict[str, Any]] = []
        for path in paths:
            files = sorted(path.glob("*.json")) if path.is_dir() else [path]
            for f in files:
                extra.extend(_resources_in(orjson.loads(f.read_bytes())))
        return cls.from_resources(extra)

    def known_profiles(self) -> list[str]:
        return sorted(u for u, sd in self._sds.items() if sd.get("derivation") == "constraint")

    # -- public API -------------------------------------------------------------------------------
    def validate(self, resource: Mapping[str, Any]) -> list[Issue]:
        """Every problem of one resource (a Bundle: of the Bundle and each entry's resource)."""
        if not isinstance(resource, dict):
            return [Issue(ERROR, "structure", "", "a resource must be a JSON object")]
        if resource.get("resourceType") == "Bundle":
            return self.validate_bundle(resource)
        return _dedupe(self._validate_resource(resource, None, None))

    def validate_bundle(self, bundle: Mapping[str, Any]) -> list[Issue]:
        """Every problem of a Bundle and of each entry's resource (``entry_index`` set)."""
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            return [Issue(ERROR, "structure", "", "not a Bundle")]
        entries = bundle.get("entry")
        entries = entries if isinstance(entries, list) else []
        full_urls: dict[str, dict[str, Any]] = {}
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                res = entry["resource"]
                if isinstance(entry.get("fullUrl"), str):
                    full_urls[entry["fullUrl"]] = res
                if isinstance(res.get("id"), str) and isinstance(res.get("resourceType"), str):
                    full_urls.setdefault(f"{res['resourceType']}/{res['id']}", res)
        shell = (
            {
                **bundle,
                "entry": [
                    {k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e
                    for e in entries
                ],
            }
            if "entry" in bundle
            else bundle
        )
        issues = self._validate_resource(bundle, None, None, r4b_view=shell)
        bundle_type = bundle.get("type")
        for i, entry in enumerate(entries):
            res = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(res, dict):
                found = self._validate_resource(res, i, full_urls)
                if bundle_type not in ("transaction", "batch"):
                    found = [x for x in found if x.rule != "reference-unresolved"]
                issues.extend(found)
        return _dedupe(issues)

    # -- one resource --------------------------------------------------------------------------
    def _validate_resource(
        self,
        resource: dict[str, Any],
        entry_index: int | None,
        full_urls: Mapping[str, dict[str, Any]] | None,
        r4b_view: dict[str, Any] | None = None,
    ) -> list[Issue]:
        rtype = resource.get("resourceType")
        rid = resource.get("id") if isinstance(resource.get("id"), str) else None
        if not isinstance(rtype, str):
            return [
                Issue(
                    ERROR,
                    "structure",
                    "resourceType",
                    "resourceType is missing",
                    None,
                    rid,
                    entry_index,
                )
            ]
        run = _Run(self, resource, rtype, rid, entry_index, full_urls, [])
        contained = resource.get("contained")
        if isinstance(contained, list):
            run.contained = {
                f"#{c['id']}": c["resourceType"]
                for c in contained
                if isinstance(c, dict)
                and isinstance(c.get("id"), str)
                and isinstance(c.get("resourceType"), str)
            }
        base = self._tree(CORE_SD + rtype)
        if base is not None:
            self._check_resource(run, base, resource, rtype)
        for err in r4b.structure_errors(r4b_view if r4b_view is not None else resource):
            issue = _from_pydantic(run, err)
            if issue is not None:
                run.issues.append(issue)
        if base is None and not run.issues:
            run.add(
                WARNING,
                "structure",
                rtype,
                f"no base definition of {rtype} is packaged: "
                "only the fhir.resources structure checks ran",
            )
        meta = resource.get("meta")
        profiles = meta.get("profile") if isinstance(meta, dict) else None
        for i, url in enumerate(profiles if isinstance(profiles, list) else []):
            if not isinstance(url, str):
                continue
            tree = self._tree(url.split("|", 1)[0])
            path = f"{rtype}.meta.profile[{i}]"
            if tree is None:
                run.add(
                    WARNING, "unknown-profile", path, f"profile {url} is not known: not checked"
                )
            elif tree.type != rtype:
                run.add(
                    ERROR, "profile-type", path, f"profile {url} is for {tree.type}, not {rtype}"
                )
            elif not tree.base:
                run.profile = tree.url
                self._check_resource(run, tree, resource, rtype)
                run.profile = None
        return run.issues

    def _check_resource(self, run: _Run, tree: _Tree, resource: dict[str, Any], path: str) -> None:
        self._check_constraints(run, tree.root, resource, path, resource.get("resourceType"))
        self._walk_object(run, tree.root, resource, path, tree.base)

    # -- the walker --------------------------------------------------------------------------------
    def _walk_object(self, run: _Run, el: _El, obj: dict[str, Any], path: str, base: bool) -> None:
        """Check the children of ``el`` in ``obj`` (a resource or a complex value)."""
        present: dict[_El, list[tuple[str, str | None, Any]]] = {}
        keys = el.keys
        other: set[_El] = set()  # present only as _element (extensions), or with a wrong type
        for key, value in obj.items():
            hit = keys.get(key)
            if hit is None:
                if key[:1] == "_":
                    primitive = keys.get(key[1:])
                    if primitive is not None:
                        other.add(primitive[0])
                elif el.choices and not base:
                    wrong = self._check_choice_key(run, el, key, path)
                    if wrong is not None:
                        other.add(wrong)
                continue
            child, type_code = hit
            present.setdefault(child, []).append((key, type_code, value))
        for child in el.required:
            if child not in present and child not in other:
                run.add(
                    ERROR,
                    "cardinality",
                    f"{path}.{child.json_name}",
                    f"minimum {child.min}, found 0",
                )
        if not base:
            for child in el.children.values():
                if child not in present and child.slices:
                    for s in child.slices:
                        if s.min > 0:
                            run.add(
                                ERROR,
                                "cardinality",
                                f"{path}.{child.json_name}:{s.slice_name}",
                                f"slice {s.slice_name}: minimum {s.min}, found 0",
                            )
        for child, found in present.items():
            if child.choice and len(found) > 1:
                run.add(
                    ERROR,
                    "cardinality",
                    f"{path}.{child.json_name}",
                    f"maximum 1, found {len(found)} ({', '.join(k for k, _, _ in found)})",
                )
            for key, type_code, value in found:
                self._walk_values(run, child, key, type_code, value, f"{path}.{key}", base)

    def _check_choice_key(self, run: _Run, el: _El, key: str, path: str) -> _El | None:
        """A key of a choice element whose type the profile does not allow: report it."""
        for child in el.choices:
            if (
                child.check_types
                and key.startswith(child.name)
                and key[len(child.name) :][:1].isupper()
            ):
                allowed = ", ".join(child.types)
                run.add(
                    ERROR,
                    "type",
                    f"{path}.{key}",
                    f"{child.json_name} type {key[len(child.name) :]} is not allowed here"
                    f" (allowed: {allowed})",
                )
                return child
        return None

    def _walk_values(
        self, run: _Run, el: _El, key: str, type_code: str | None, value: Any, path: str, base: bool
    ) -> None:
        if value is None:
            if base:
                run.add(
                    ERROR, "empty-element", path, "null is not a FHIR value: leave the element out"
                )
            return
        if isinstance(value, list):
            if not value:
                if base:
                    run.add(
                        ERROR,
                        "empty-array",
                        path,
                        "an array cannot be empty: leave the element out",
                    )
                return
            if base and el.max == 1:
                run.add(ERROR, "type", path, f"{el.json_name} is a single value, not an array")
                return
            items = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
        else:
            if base and el.max != 1 and el.path.count(".") > 0:
                run.add(ERROR, "type", path, f"{el.json_name} repeats: it must be an array")
                return
            items = [(path, value)]
        if el.check_card and el.max is not None and len(items) > el.max:
            run.add(ERROR, "cardinality", path, f"maximum {el.max}, found {len(items)}")
        elif el.check_card and len(items) < el.min:
            run.add(ERROR, "cardinality", path, f"minimum {el.min}, found {len(items)}")
        type_code = type_code or (el.types[0] if len(el.types) == 1 else None)
        for ipath, item in items:
            if item is None:
                if base:
                    run.add(ERROR, "empty-element", ipath, "null is not a FHIR value")
                continue
            self._check_item(run, el, type_code, item, ipath, base)
        if el.type_slices and key in el.type_slices:
            s = el.type_slices[key]
            for ipath, item in items:
                self._check_item(run, s, type_code, item, ipath, False)
        elif el.slicing is not None and el.slices:
            self._check_slices(run, el, type_code, items, path)

    def _check_item(
        self, run: _Run, el: _El, type_code: str | None, item: Any, path: str, base: bool
    ) -> None:
        kinds = _PRIMITIVE_KIND.get(type_code) if type_code else None
        if kinds is not None:
            if not isinstance(item, kinds) or (isinstance(item, bool) and bool not in kinds):
                run.add(ERROR, "type", path, f"a {type_code} must be a JSON {_kind_name(kinds)}")
                return
            if base and isinstance(item, str) and not item:
                return  # fhir.resources reports the empty string (format)
        elif type_code is not None and type_code not in ("Resource",):
            if not isinstance(item, dict):
                run.add(ERROR, "type", path, f"a {type_code} must be a JSON object")
                return
            if base and not item:
                run.add(
                    ERROR, "empty-element", path, "an element must have a value or children (ele-1)"
                )
                return
        if el.fixed is not _MISSING and not _equal(item, el.fixed):
            run.add(ERROR, "fixed-value", path, f"expected {_show(el.fixed)}")
        if el.pattern is not _MISSING and not _matches(item, el.pattern):
            run.add(ERROR, "pattern", path, f"must match {_show(el.pattern)}")
        if el.binding and type_code in _CODED:
            self._check_binding(run, el.binding, type_code, item, path)
        if type_code == "Reference":
            self._check_reference(run, el, item, path, base)
        if el.constraints:
            self._check_constraints(run, el, item, path, type_code)
        if not isinstance(item, dict):
            return
        if type_code == "Resource":
            if base and el.name == "contained" and isinstance(item.get("resourceType"), str):
                tree = self._tree(CORE_SD + item["resourceType"])
                if tree is not None:
                    self._check_resource(run, tree, item, path)
            return
        if el.children:
            self._walk_object(run, el, item, path, base)
        elif base and type_code is not None:
            dt = self._tree(CORE_SD + type_code)
            if dt is not None:
                self._check_constraints(run, dt.root, item, path, type_code)
                self._walk_object(run, dt.root, item, path, True)
        if base and type_code == "Coding":
            self._check_local_code(run, item, path)
        if base and type_code == "Extension":
            self._check_extension(run, item, path)
        for url in el.type_profiles:
            tree = self._tree(url)
            if tree is not None and not tree.base:
                saved, run.profile = run.profile, tree.url
                self._check_constraints(run, tree.root, item, path, type_code)
                self._walk_object(run, tree.root, item, path, False)
                run.profile = saved

    # -- slices ----------------------------------------------------------------------------------
    def _check_slices(
        self, run: _Run, el: _El, type_code: str | None, items: list[tuple[str, Any]], path: str
    ) -> None:
        assert el.slicing is not None
        matched: dict[int, list[tuple[str, Any]]] = {i: [] for i in range(len(el.slices))}
        unmatched: list[str] = []
        for ipath, item in items:
            for i, s in enumerate(el.slices):
                if self._in_slice(el.slicing, s, item):
                    matched[i].append((ipath, item))
                    break
            else:
                unmatched.append(ipath)
        for i, s in enumerate(el.slices):
            found = matched[i]
            if len(found) < s.min or (s.max is not None and len(found) > s.max):
                bound = f"minimum {s.min}" if len(found) < s.min else f"maximum {s.max}"
                run.add(
                    ERROR,
                    "cardinality",
                    f"{path}:{s.slice_name}",
                    f"slice {s.slice_name}: {bound}, found {len(found)}",
                )
            for ipath, item in found:
                self._check_item(run, s, type_code, item, ipath, False)
        if el.slicing.rules == "closed":
            for ipath in unmatched:
                run.add(
                    ERROR, "slice", ipath, "matches none of the slices and the slicing is closed"
                )

    def _in_slice(self, slicing: _Slicing, s: _El, item: Any) -> bool:
        for kind, dpath in slicing.discriminators:
            if kind in ("value", "pattern"):
                expected = _expected_at(s, dpath)
                if expected is None:
                    return False
                how, want = expected
                same = _equal if how == "fixed" else _matches
                if not any(same(v, want) for v in _values_at(item, dpath)):
                    return False
            elif kind == "exists":
                target = _child_at(s, dpath)
                if target is None:
                    return False
                if bool(_values_at(item, dpath)) != (target.min > 0 or target.max != 0):
                    return False
            elif kind in ("type", "profile"):
                values = _values_at(item, dpath)
                rtypes = {v.get("resourceType") for v in values if isinstance(v, dict)}
                target = _child_at(s, dpath) if dpath != "$this" else s
                if target is None or not rtypes & set(target.types):
                    return False
            else:
                return False
        return True

    # -- terminology -----------------------------------------------------------------------------
    def _expansion(self, url: str) -> _Expansion:
        url = url.split("|", 1)[0]
        exp = self._expansions.get(url)
        if exp is None:
            data = self._expansion_data.get(url)
            if data is None:
                data = self._expand(url, frozenset())
            exp = self._expansions[url] = _Expansion.of(data)
            if "*" in exp.open:
                self.unchecked_value_sets.add(url)
        return exp

    def _expand(self, url: str, seen: frozenset[str]) -> dict[str, Any]:
        """Expand a ValueSet of the loaded package: concept lists and whole known CodeSystems."""
        vs = self._value_sets.get(url)
        if vs is None or url in seen:
            return {"codes": {}, "open": ["*"]}
        codes: dict[str, set[str]] = {}
        open_systems: set[str] = set()
        for inc in vs.get("compose", {}).get("include", []):
            system = inc.get("system")
            if system and inc.get("concept"):
                codes.setdefault(system, set()).update(c["code"] for c in inc["concept"])
            elif system and system in self._code_systems and not inc.get("filter"):
                codes.setdefault(system, set()).update(self._code_systems[system])
            elif system:
                open_systems.add(system)
            for sub in inc.get("valueSet", []):
                data = self._expansion_data.get(sub) or self._expand(sub, seen | {url})
                open_systems.update(data.get("open", ()))
                for s, cs in data.get("codes", {}).items():
                    codes.setdefault(s, set()).update(cs)
        for exc in vs.get("compose", {}).get("exclude", []):
            if exc.get("system") and exc.get("concept"):
                codes.get(exc["system"], set()).difference_update(c["code"] for c in exc["concept"])
        return {"codes": {s: sorted(c) for s, c in codes.items()}, "open": sorted(open_systems)}

    def _check_binding(self, run: _Run, vs_url: str, type_code: str, item: Any, path: str) -> None:
        exp = self._expansion(vs_url)
        vs_url = vs_url.split("|", 1)[0]
        if "*" in exp.open:
            return
        if type_code in ("code", "string", "uri"):
            if isinstance(item, str) and exp.has_code(item) is False:
                run.add(
                    ERROR, "binding", path, f"{item!r} is not in the required ValueSet {vs_url}"
                )
            return
        if not isinstance(item, dict):
            return
        codings = [item] if type_code == "Coding" else item.get("coding")
        if not isinstance(codings, list) or not codings:
            if type_code == "CodeableConcept":
                run.add(
                    ERROR,
                    "binding",
                    path,
                    f"no coding: a code from the required ValueSet {vs_url} is needed",
                )
            return
        verdicts = []
        for c in codings:
            if isinstance(c, dict) and isinstance(c.get("code"), str):
                system = c.get("system")
                verdicts.append(
                    exp.has_coding(system if isinstance(system, str) else None, c["code"])
                )
        if verdicts and not any(v is None or v for v in verdicts):
            shown = ", ".join(
                f"{c.get('system')}|{c.get('code')}" for c in codings if isinstance(c, dict)
            )
            run.add(ERROR, "binding", path, f"{shown} not in the required ValueSet {vs_url}")

    def _check_local_code(self, run: _Run, coding: dict[str, Any], path: str) -> None:
        system, code = coding.get("system"), coding.get("code")
        known = self._code_systems.get(system) if isinstance(system, str) else None
        if known is not None and isinstance(code, str) and code not in known:
            run.add(
                ERROR,
                "unknown-code",
                f"{path}.code",
                f"{code!r} is not defined in the CodeSystem {system}",
            )

    # -- references and extensions -------------------------------------------------------------
    def _check_reference(self, run: _Run, el: _El, item: Any, path: str, base: bool) -> None:
        if not isinstance(item, dict):
            return
        ref = item.get("reference")
        target: str | None = None
        if isinstance(ref, str):
            if base and not _REF_RE.match(ref):
                run.add(
                    ERROR,
                    "reference-format",
                    f"{path}.reference",
                    "not a reference (Type/id, absolute URL, urn:uuid:, urn:oid:, #id, Type?query)",
                )
                return
            if ref.startswith("#"):
                target = run.contained.get(ref) if ref != "#" else run.resource_type
                if target is None and base:
                    run.add(
                        ERROR,
                        "reference-unresolved",
                        f"{path}.reference",
                        f"{ref} is not the id of a contained resource",
                    )
            elif ref.startswith("urn:"):
                found = run.full_urls.get(ref) if run.full_urls is not None else None
                if found is not None:
                    target = found.get("resourceType")
                elif run.full_urls is not None and base and ref.startswith("urn:uuid:"):
                    run.add(
                        ERROR,
                        "reference-unresolved",
                        f"{path}.reference",
                        f"{ref} is the fullUrl of no entry of the Bundle",
                    )
            else:
                m = re.search(
                    r"([A-Z][A-Za-z]+)(/[A-Za-z0-9\-.]{1,64}(/_history/[^/]+)?|\?.*)$", ref
                )
                target = m.group(1) if m else None
        if target is None and isinstance(item.get("type"), str):
            target = item["type"]
        if target is not None and el.targets is not None and target not in el.targets:
            run.add(
                ERROR,
                "reference-target",
                f"{path}.reference" if isinstance(ref, str) else path,
                f"a reference to a {target}; allowed here: {', '.join(sorted(el.targets))}",
            )

    def _check_extension(self, run: _Run, ext: dict[str, Any], path: str) -> None:
        url = ext.get("url")
        if not isinstance(url, str):
            return
        tree = self._tree(url)
        if tree is None:
            if url.startswith(CANONICAL + "/"):
                run.add(ERROR, "unknown-extension", path, f"extension {url} is not defined")
            return
        if tree.base or tree.type != "Extension":
            return
        saved, run.profile = run.profile, tree.url
        self._check_constraints(run, tree.root, ext, path, "Extension")
        self._walk_object(run, tree.root, ext, path, False)
        run.profile = saved

    # -- invariants ------------------------------------------------------------------------------
    def _check_constraints(
        self, run: _Run, el: _El, item: Any, path: str, type_code: str | None
    ) -> None:
        for c in el.constraints:
            if c.key in _CONTAINED_INVARIANTS and not (
                isinstance(item, dict) and "contained" in item
            ):
                continue  # all four hold when there is no contained resource
            if c.key in _NATIVE_INVARIANTS:
                ok: bool | None = _native_invariant(c.key, item, run)
            else:
                ok = self._evaluate(c, item, run, el, type_code)
            if ok is False:
                run.add(
                    ERROR if c.severity == ERROR else WARNING,
                    f"invariant:{c.key}",
                    path,
                    c.human,
                    "meso-fhir" if c.key in _NATIVE_INVARIANTS else "fhirpath",
                )
            elif ok is None:
                run.add(
                    WARNING,
                    f"invariant:{c.key}",
                    path,
                    f"could not be evaluated: {c.expression}",
                    "fhirpath",
                )

    def _evaluate(
        self, c: _Constraint, item: Any, run: _Run, el: _El, type_code: str | None
    ) -> bool | None:
        result: list[Any] | None = None
        if self._use_fast:
            fast = self._fast.get(c.expression, _MISSING)
            if fast is _MISSING:
                fast = self._fast[c.expression] = _fhirpath.compile(c.expression)
            if fast is not None:
                try:
                    result = fast([item], item, _fhirpath.Env(run.root, type_code))
                except _fhirpath.Unsupported:
                    result = None
        if result is None:
            result = self._evaluate_fhirpathpy(c, item, run, el, type_code)
            if result is None:
                return None
        if not result:
            return True
        return all(r is True for r in result) if all(isinstance(r, bool) for r in result) else True

    def _evaluate_fhirpathpy(
        self, c: _Constraint, item: Any, run: _Run, el: _El, type_code: str | None
    ) -> list[Any] | None:
        fn = self._fhirpath.get(c.expression, _MISSING)
        if fn is _MISSING:
            try:
                fn = fhirpath_compile(c.expression, self._model, _FHIRPATH_OPTIONS)
            except Exception:  # a syntax error in a profile: reported, not raised
                fn = None
            self._fhirpath[c.expression] = fn
        if fn is None:
            return None
        if isinstance(item, dict) and "resourceType" in item:
            node: Any = item
        else:
            node = ResourceNode.create_node(
                item, type_code if type_code and type_code != "BackboneElement" else el.path
            )
        try:
            result = fn(node, {"resource": run.root, "rootResource": run.root})
        except Exception:
            return None
        return list(result) if isinstance(result, list) else [result]

    # -- compilation -------------------------------------------------------------------------------
    def _tree(self, url: str) -> _Tree | None:
        try:
            return self._trees[url]
        except KeyError:
            pass
        sd = self._sds.get(url)
        tree = self._compile(sd) if sd is not None else None
        self._trees[url] = tree
        return tree

    def _compile(self, sd: Mapping[str, Any]) -> _Tree:
        base = str(sd["url"]).startswith(CORE_SD) and sd.get("derivation") != "constraint"
        elements = sd["snapshot"]["element"]
        by_id: dict[str, _El] = {}
        root: _El | None = None
        for raw in elements:
            el = self._element(raw, base)
            by_id[el.id] = el
            segments = _split_id(el.id)
            if len(segments) == 1:
                root = el
                continue
            parent = by_id.get(".".join(segments[:-1]))
            if parent is None:
                continue
            last = segments[-1]
            name, _, slice_name = last.partition(":")
            if slice_name and "/" not in slice_name:
                sliced = parent.children.get(name.removesuffix("[x]"))
                if sliced is not None:
                    if sliced.choice and slice_name.startswith(sliced.name):
                        sliced.type_slices[slice_name] = el
                    else:
                        sliced.slices.append(el)
            elif not slice_name:
                choice_of = next(
                    (
                        c
                        for c in parent.children.values()
                        if c.choice
                        and name.startswith(c.name)
                        and name[len(c.name) :][:1].isupper()
                    ),
                    None,
                )
                if (
                    choice_of is not None and name not in parent.children
                ):  # Observation.valueQuantity
                    el.slice_name = name
                    choice_of.type_slices[name] = el
                else:
                    parent.children[el.name] = el
        assert root is not None, f"{sd['url']}: snapshot without a root element"
        for el in by_id.values():
            if el.content_ref:
                target = by_id.get(el.content_ref.lstrip("#").split("#")[-1])
                if target is not None:
                    el.children = target.children
        if not base:
            _prune(root)
        _finish(root, set())
        return _Tree(str(sd["url"]), str(sd["type"]), root, base)

    def _element(self, raw: Mapping[str, Any], base: bool) -> _El:
        path = str(raw["path"])
        last = path.rsplit(".", 1)[-1]
        types = tuple(_type_code(t) for t in raw.get("type", ()))
        choice = last.endswith("[x]")
        el = _El(
            id=str(raw.get("id", path)),
            path=path,
            name=last.removesuffix("[x]"),
            choice=choice,
            min=int(raw.get("min", 0)),
            max=_max(raw.get("max")),
            types=types,
            slice_name=raw.get("sliceName"),
            content_ref=raw.get("contentReference"),
        )
        target_profiles = tuple(p for t in raw.get("type", ()) for p in t.get("targetProfile", ()))
        el.target_profiles = target_profiles
        el.ext_profiles = tuple(
            p for t in raw.get("type", ()) if t["code"] == "Extension" for p in t.get("profile", ())
        )
        type_profiles = tuple(
            p for t in raw.get("type", ()) if t["code"] != "Extension" for p in t.get("profile", ())
        )
        for key, value in raw.items():
            if key.startswith("fixed"):
                el.fixed = value
            elif key.startswith("pattern"):
                el.pattern = value
        binding = raw.get("binding")
        vs = (
            binding.get("valueSet")
            if isinstance(binding, dict) and binding.get("strength") == "required"
            else None
        )
        constraints = tuple(
            _Constraint(
                c["key"], c.get("severity", ERROR), c.get("human", c["key"]), c["expression"]
            )
            for c in raw.get("constraint", ())
            if c.get("expression") and c["key"] not in _SKIPPED_INVARIANTS
        )
        if raw.get("slicing"):
            sl = raw["slicing"]
            el.slicing = _Slicing(
                tuple((d["type"], d["path"]) for d in sl.get("discriminator", ())),
                sl.get("rules", "open"),
            )
        if base:
            el.binding = vs
            el.constraints = constraints
            el.targets = self._target_types(target_profiles) if "Reference" in types else None
            el.type_profiles = tuple(p for p in type_profiles if p in self._sds)
            return el
        # A profile: keep only what differs from base R4 (the base walk checks the rest).
        b = raw.get("base", {})
        b_el = self._base_elements.get(str(b.get("path", "")))
        el.check_card = el.slice_name is not None or (el.min, el.max) != (
            int(b.get("min", el.min)),
            _max(b.get("max", raw.get("max"))),
        )
        b_types = tuple(_type_code(t) for t in b_el.get("type", ())) if b_el else ()
        el.check_types = choice and set(types) != set(b_types)
        b_binding = b_el.get("binding", {}) if b_el else {}
        if vs and not (
            b_binding.get("strength") == "required"
            and b_binding.get("valueSet", "").split("|")[0] == vs.split("|")[0]
        ):
            el.binding = vs
        el.constraints = tuple(c for c in constraints if c.key not in self._base_keys)
        if "Reference" in types:
            b_targets = tuple(
                p for t in (b_el or {}).get("type", ()) for p in t.get("targetProfile", ())
            )
            if set(target_profiles) != set(b_targets):
                el.targets = self._target_types(target_profiles)
        el.type_profiles = tuple(p for p in type_profiles if p in self._sds)
        return el

    def _target_types(self, target_profiles: tuple[str, ...]) -> frozenset[str] | None:
        types = set()
        for url in target_profiles:
            if url.startswith(CORE_SD) and url[len(CORE_SD) :] in _core_type_names():
                types.add(url[len(CORE_SD) :])
            elif url in self._sds:
                types.add(str(self._sds[url]["type"]))
            else:
                return None  # an unknown profile: cannot tell its type
        if not types or "Resource" in types:
            return None
        return frozenset(types)


# --- helpers --------------------------------------------------------------------------------------
def _type_code(t: Mapping[str, Any]) -> str:
    code = str(t.get("code", ""))
    if code.startswith("http://hl7.org/fhirpath/System."):
        for ext in t.get("extension", ()):
            if ext.get("url") == _FHIR_TYPE_EXT:
                return str(ext.get("valueUrl") or ext.get("valueUri") or code)
    return code


def _prune(el: _El) -> bool:
    """Drop a profile element's children and slices that check nothing; True if el checks."""
    el.children = {n: c for n, c in el.children.items() if _prune(c)}
    el.slices = [s for s in el.slices if _prune(s) or s.min > 0 or s.max is not None]
    el.type_slices = {n: s for n, s in el.type_slices.items() if _prune(s)}
    if el.slices and el.slicing is None:
        el.slicing = _Slicing((), "open")
    return el.has_checks() or bool(el.type_slices)


def _finish(el: _El, seen: set[int]) -> None:
    if id(el) in seen:
        return
    seen.add(id(el))
    keys: dict[str, tuple[_El, str | None]] = {}
    for child in el.children.values():
        if child.choice:
            for t in child.types:
                keys[child.name + _cap(t)] = (child, t)
        else:
            keys[child.name] = (child, None)
    el.keys = keys
    el.required = tuple(c for c in el.children.values() if c.check_card and c.min > 0)
    el.choices = tuple(c for c in el.children.values() if c.choice)
    for child in (*el.children.values(), *el.slices, *el.type_slices.values()):
        _finish(child, seen)


@cache
def _core_type_names() -> frozenset[str]:
    data = _read_packaged("r4-core.json")
    names = {str(sd["type"]) for sd in data["structureDefinitions"]}
    return frozenset(names | _resource_type_names())


@cache
def _resource_type_names() -> frozenset[str]:
    # Every R4 resource type name (for reference targets): the all-types ValueSet of core.
    data = _read_packaged("r4-core.json")
    vs = data["valueSets"].get("http://hl7.org/fhir/ValueSet/all-types", {})
    return frozenset(vs.get("codes", {}).get("http://hl7.org/fhir/resource-types", ()))


def _all_concepts(concepts: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    for c in concepts:
        yield c["code"]
        yield from _all_concepts(c.get("concept", ()))


def _children_at(el: _El, dpath: str) -> list[_El]:
    """The elements at a discriminator path below a slice, looking into nested slices too
    (bp: component:SystolicBP, path code.coding.code -> code.coding:SBPCode.code)."""
    current = [el]
    for part in dpath.split("."):
        if part == "$this":
            continue
        nxt = []
        for c in current:
            for cand in (c, *c.slices):
                child = cand.children.get(part.removesuffix("[x]"))
                if child is not None:
                    nxt.append(child)
        current = nxt
    return current


def _child_at(el: _El, dpath: str) -> _El | None:
    found = _children_at(el, dpath)
    return found[0] if found else None


def _expected_at(s: _El, dpath: str) -> tuple[str, Any] | None:
    """The fixed value or pattern a slice sets at a discriminator path."""
    if dpath == "$this":
        if s.fixed is not _MISSING:
            return "fixed", s.fixed
        if s.pattern is not _MISSING:
            return "pattern", s.pattern
        return None
    for target in _children_at(s, dpath):
        if target.fixed is not _MISSING:
            return "fixed", target.fixed
        if target.pattern is not _MISSING:
            return "pattern", target.pattern
    if dpath == "url" and s.ext_profiles:  # an extension slice without a fixed url
        return "fixed", s.ext_profiles[0]
    for how, whole in (("fixed", s.fixed), ("pattern", s.pattern)):
        if whole is not _MISSING:  # the slice's own pattern, e.g. patternCoding and path "code"
            values = _values_at(whole, dpath)
            if values:
                return how, values[0]
    return None


def _values_at(item: Any, dpath: str) -> list[Any]:
    values = [item]
    for part in dpath.split("."):
        if part == "$this":
            continue
        nxt: list[Any] = []
        for v in values:
            if isinstance(v, dict) and part in v:
                got = v[part]
                nxt.extend(got if isinstance(got, list) else [got])
        values = nxt
    return values


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def _matches(value: Any, pattern: Any) -> bool:
    """FHIR pattern matching: every element the pattern has, the value has (arrays: each
    pattern item matched by some value item)."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            k in value and _matches(value[k], p) for k, p in pattern.items()
        )
    if isinstance(pattern, list):
        return isinstance(value, list) and all(any(_matches(v, p) for v in value) for p in pattern)
    return _equal(value, pattern)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def _kind_name(kinds: tuple[type, ...]) -> str:
    if bool in kinds:
        return "boolean"
    if float in kinds:
        return "number"
    return "integer" if int in kinds else "string"


def _native_invariant(key: str, item: Any, run: _Run) -> bool:
    if key == "ext-1" and isinstance(item, dict):
        has_value = any(k.startswith("value") for k in item)
        return bool(item.get("extension")) != has_value
    if key == "dom-3" and isinstance(item, dict):  # every contained resource is referenced
        refs = set(_strings_at(item, "reference"))
        contained = item.get("contained")
        return all(
            not isinstance(c, dict)
            or f"#{c.get('id')}" in refs
            or "#" in set(_strings_at(c, "reference"))
            for c in (contained if isinstance(contained, list) else [])
        )
    if key == "ref-1" and isinstance(item, dict):
        ref = item.get("reference")
        return (
            not (isinstance(ref, str) and ref.startswith("#") and ref != "#")
            or ref in run.contained
        )
    return True


def _strings_at(data: Any, key: str) -> Iterator[str]:
    """Every string value of ``key`` anywhere below ``data``."""
    if isinstance(data, dict):
        for k, v in data.items():
            if k == key and isinstance(v, str):
                yield v
            else:
                yield from _strings_at(v, key)
    elif isinstance(data, list):
        for v in data:
            yield from _strings_at(v, key)


def _has_value(inputs: list[Any]) -> list[bool]:
    """FHIRPath hasValue(), which fhirpathpy lacks: a single primitive with a value."""
    return [len(inputs) == 1 and inputs[0] is not None and not isinstance(inputs[0], (dict, list))]


_FHIRPATH_OPTIONS: Final = {
    "traceFn": lambda label, value: None,  # fhirpathpy prints trace() to stdout otherwise
    "userInvocationTable": {"hasValue": {"fn": _has_value, "arity": {0: []}}},
}


def _dedupe(issues: list[Issue]) -> list[Issue]:
    seen: set[tuple[int | None, str, str]] = set()
    out = []
    for issue in issues:
        key = (issue.entry_index, issue.path, issue.rule)
        if key not in seen:
            seen.add(key)
            out.append(issue)
    return out


_PYDANTIC_TYPE_ERRORS: Final = frozenset(
    {
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
    }
)
_CHOICE_MSG: Final = re.compile(r"Any of one field value is expected from this list \[([^\]]*)\]")


def _from_pydantic(run: _Run, err: r4b.StructureError) -> Issue | None:
    path = run.resource_type + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.loc)
    kind, msg = err.kind, err.message
    m = _CHOICE_MSG.search(msg)
    if m:
        names = re.findall(r"'([^']+)'", m.group(1))
        prefix = _common_prefix(names)
        return _issue(run, "cardinality", f"{path}.{prefix}[x]", f"only one {prefix}[x] is allowed")
    if kind == "extra_forbidden":
        return _issue(
            run, "unknown-element", path, f"unknown element {err.loc[-1] if err.loc else ''!s}"
        )
    if kind in ("missing", "model_field_validation.missing"):
        return _issue(run, "cardinality", path, "minimum 1, found 0")
    if kind in _PYDANTIC_TYPE_ERRORS:
        return _issue(run, "type", path, msg)
    if kind == "model_crash":
        return _issue(run, "structure", path, f"malformed beyond what can be located ({msg})")
    if kind == "unknown_resource_type":
        return _issue(run, "structure", path, f"{run.resource_type} is not an R4 resource type")
    if kind == "value_error" and "Required" in msg and "field" in msg:
        return _issue(run, "cardinality", path, msg.removeprefix("Value error, "))
    return _issue(run, "format", path, msg.removeprefix("Value error, "))


def _issue(run: _Run, rule: str, path: str, message: str) -> Issue:
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
    if not names:
        return "value"
    prefix = names[0]
    for n in names[1:]:
        while not n.startswith(prefix):
            prefix = prefix[:-1]
    while prefix and prefix[-1].isupper():
        prefix = prefix[:-1]
    return prefix


def _resources_in(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, list):
        return [r for d in data for r in _resources_in(d)]
    if not isinstance(data, dict):
        return []
    if data.get("resourceType") == "Bundle":
        return [
            e["resource"]
            for e in data.get("entry", [])
            if isinstance(e, dict) and isinstance(e.get("resource"), dict)
        ]
    if "resources" in data and "resourceType" not in data:
        return _resources_in(data["resources"])
    return [data]


@cache
def _read_packaged(name: str) -> dict[str, Any]:
    ref = importlib_resources.files("meso_fhir").joinpath("data", name)
    if not ref.is_file():
        return {}
    data: dict[str, Any] = orjson.loads(ref.read_bytes())
    return data


@cache
def _load_packaged() -> Validator:
    core = _read_packaged("r4-core.json")
    package = _read_packaged("meso-package.json")
    if not core:
        raise RuntimeError(
            "meso_fhir/data/r4-core.json is missing: run scripts/build_validation_data.py"
        )
    return Validator(
        [*core["structureDefinitions"], *package.get("resources", [])],
        {**core["valueSets"], **package.get("expansions", {})},
    )
