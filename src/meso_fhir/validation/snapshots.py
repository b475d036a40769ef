"""StructureDefinition snapshots compiled into trees of elements, once per URL.

A base definition (core R4, not a constraint) keeps every rule of every element. A profile
keeps only what differs from base R4 (cardinality, types, bindings, reference targets,
invariants of its own), because every resource is walked against its base definition anyway;
elements of a profile that then check nothing are pruned, so the profile walk stays short.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .definitions import CORE_SD, Definitions, core_type_names
from .invariants import Constraint, constraints_of

__all__ = ["MISSING", "El", "Slicing", "Snapshots", "Tree"]

MISSING: Final[Any] = object()  # no fixed value / pattern (None would be a value)
_FHIR_TYPE_EXT: Final = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"


@dataclass(slots=True)
class Slicing:
    discriminators: tuple[tuple[str, str], ...]  # (type, path)
    rules: str


@dataclass(eq=False, slots=True)
class El:
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
    fixed: Any = MISSING
    pattern: Any = MISSING
    constraints: tuple[Constraint, ...] = ()
    children: dict[str, El] = field(default_factory=dict)
    slicing: Slicing | None = None
    slices: list[El] = field(default_factory=list)
    slice_name: str | None = None
    content_ref: str | None = None
    # Derived once the tree is complete, for the walker's inner loop.
    keys: dict[str, tuple[El, str | None]] = field(default_factory=dict)  # JSON key -> (el, type)
    required: tuple[El, ...] = ()
    sliced_required: tuple[El, ...] = ()  # children with a required slice
    narrowed_choices: tuple[El, ...] = ()  # choice children a profile narrowed (check_types)
    repeats: bool = False  # an array in JSON (not the root: a resource is an object)
    format_as: str | None = None  # the primitive type whose format values have, if not types[0]
    resource_root: bool = False  # the root of a resource's definition: "resourceType" is known
    type_slices: dict[str, El] = field(default_factory=dict)  # value[x]:valueQuantity
    holds_resource: bool = False  # a resource type among types (contained, Bundle entries)

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
            or self.fixed is not MISSING
            or self.pattern is not MISSING
            or self.constraints
            or self.children
            or self.slices
        )


@dataclass(slots=True)
class Tree:
    url: str
    type: str
    root: El
    base: bool  # a base definition (all checks) rather than a profile (differences only)


class Snapshots:
    """The compiled tree of each known StructureDefinition, compiled on first use."""

    def __init__(self, definitions: Definitions) -> None:
        self._defs = definitions
        self._trees: dict[str, Tree | None] = {}

    def tree(self, url: str) -> Tree | None:
        """The tree of a StructureDefinition (a canonical URL without version), None if unknown."""
        try:
            return self._trees[url]
        except KeyError:
            pass
        sd = self._defs.structure_definitions.get(url)
        tree = self._compile(sd) if sd is not None else None
        self._trees[url] = tree
        return tree

    def _compile(self, sd: Mapping[str, Any]) -> Tree:
        base = str(sd["url"]).startswith(CORE_SD) and sd.get("derivation") != "constraint"
        by_id: dict[str, El] = {}
        root: El | None = None
        for raw in sd["snapshot"]["element"]:
            el = self._element(raw, base)
            by_id[el.id] = el
            # Slice names may contain "." only in exotic profiles, which we do not meet.
            parent_id, dot, last = el.id.rpartition(".")
            if not dot:
                root = el
            elif parent_id in by_id:
                _place(by_id[parent_id], el, last)
        assert root is not None, f"{sd['url']}: snapshot without a root element"
        for el in by_id.values():
            if el.content_ref:
                target = by_id.get(el.content_ref.lstrip("#").split("#")[-1])
                if target is not None:
                    el.children = target.children
                    el.types = el.types or target.types  # a value must be an object
        root.resource_root = sd.get("kind") == "resource"
        if root.resource_root and "id" in root.children:
            # R4's snapshots type Resource.id as a string; its format is that of an id.
            root.children["id"].format_as = "id"
        if not base:
            _prune(root)
        _finish(root, set())
        return Tree(str(sd["url"]), str(sd["type"]), root, base)

    def _element(self, raw: Mapping[str, Any], base: bool) -> El:
        path = str(raw["path"])
        last = path.rsplit(".", 1)[-1]
        types = tuple(_type_code(t) for t in raw.get("type", ()))
        choice = last.endswith("[x]")
        el = El(
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
        el.target_profiles = tuple(
            p for t in raw.get("type", ()) for p in t.get("targetProfile", ())
        )
        el.ext_profiles = tuple(
            p for t in raw.get("type", ()) if t["code"] == "Extension" for p in t.get("profile", ())
        )
        el.type_profiles = tuple(
            p
            for t in raw.get("type", ())
            if t["code"] != "Extension"
            for p in t.get("profile", ())
            if p in self._defs.structure_definitions
        )
        for key, value in raw.items():
            if key.startswith("fixed"):
                el.fixed = value
            elif key.startswith("pattern"):
                el.pattern = value
        if raw.get("slicing"):
            sl = raw["slicing"]
            el.slicing = Slicing(
                tuple((d["type"], d["path"]) for d in sl.get("discriminator", ())),
                sl.get("rules", "open"),
            )
        binding = raw.get("binding")
        required_vs = (
            binding.get("valueSet")
            if isinstance(binding, dict) and binding.get("strength") == "required"
            else None
        )
        if base:
            el.binding = required_vs
            el.constraints = constraints_of(raw)
            el.targets = self._target_types(el.target_profiles) if "Reference" in types else None
        else:
            self._keep_differences(el, raw, required_vs)
        return el

    def _keep_differences(self, el: El, raw: Mapping[str, Any], required_vs: str | None) -> None:
        """Set on a profile's element only the rules its base R4 element does not have."""
        b = raw.get("base", {})
        b_el = self._defs.base_elements.get(str(b.get("path", ""))) or {}
        el.check_card = el.slice_name is not None or (el.min, el.max) != (
            int(b.get("min", el.min)),
            _max(b.get("max", raw.get("max"))),
        )
        b_types = tuple(_type_code(t) for t in b_el.get("type", ()))
        el.check_types = el.choice and set(el.types) != set(b_types)
        b_binding = b_el.get("binding", {})
        if required_vs and not (
            b_binding.get("strength") == "required"
            and b_binding.get("valueSet", "").split("|")[0] == required_vs.split("|")[0]
        ):
            el.binding = required_vs
        keys = self._defs.base_constraint_keys
        el.constraints = tuple(c for c in constraints_of(raw) if c.key not in keys)
        if "Reference" in el.types:
            b_targets = tuple(p for t in b_el.get("type", ()) for p in t.get("targetProfile", ()))
            if set(el.target_profiles) != set(b_targets):
                el.targets = self._target_types(el.target_profiles)

    def _target_types(self, target_profiles: tuple[str, ...]) -> frozenset[str] | None:
        types = set()
        sds = self._defs.structure_definitions
        for url in target_profiles:
            if url.startswith(CORE_SD) and url[len(CORE_SD) :] in core_type_names():
                types.add(url[len(CORE_SD) :])
            elif url in sds:
                types.add(str(sds[url]["type"]))
            else:
                return None  # an unknown profile: cannot tell its type
        if not types or "Resource" in types:
            return None
        return frozenset(types)


def _place(parent: El, el: El, last: str) -> None:
    """Attach ``el`` (the id segment ``last`` below ``parent``) as a child, a slice or a type
    slice ("Observation.value[x]:valueQuantity", or "Observation.valueQuantity" as such)."""
    name, _, slice_name = last.partition(":")
    if slice_name:
        sliced = parent.children.get(name.removesuffix("[x]"))
        if sliced is None or "/" in slice_name:  # "/": a re-slice, not checked
            return
        if sliced.choice and slice_name.startswith(sliced.name):
            sliced.type_slices[slice_name] = el
        else:
            sliced.slices.append(el)
        return
    choice_of = next(
        (
            c
            for c in parent.children.values()
            if c.choice and name.startswith(c.name) and name[len(c.name) :][:1].isupper()
        ),
        None,
    )
    if choice_of is not None and name not in parent.children:
        el.slice_name = name
        choice_of.type_slices[name] = el
    else:
        parent.children[el.name] = el


def _cap(type_code: str) -> str:
    return type_code[:1].upper() + type_code[1:]


def _max(value: Any) -> int | None:
    return None if value in (None, "*") else int(value)


def _type_code(t: Mapping[str, Any]) -> str:
    # Primitive values are typed System.String etc.; the extension names the FHIR type.
    code = str(t.get("code", ""))
    if code.startswith("http://hl7.org/fhirpath/System."):
        for ext in t.get("extension", ()):
            if ext.get("url") == _FHIR_TYPE_EXT:
                return str(ext.get("valueUrl") or ext.get("valueUri") or code)
    return code


def _prune(el: El, seen: set[int] | None = None) -> bool:
    """Drop a profile element's children and slices that check nothing; True if el checks.

    A slice with a cardinality is kept even if it checks nothing else: its count is the check.
    A contentReference can make an element its own descendant (Consent.provision.provision):
    one met again is kept as it is.
    """
    seen = set() if seen is None else seen
    if id(el) in seen:
        return True
    seen.add(id(el))
    el.children = {n: c for n, c in el.children.items() if _prune(c, seen)}
    el.slices = [s for s in el.slices if _prune(s, seen) or s.min > 0 or s.max is not None]
    el.type_slices = {n: s for n, s in el.type_slices.items() if _prune(s, seen)}
    if el.slices and el.slicing is None:
        el.slicing = Slicing((), "open")
    return el.has_checks() or bool(el.type_slices)


def _finish(el: El, seen: set[int]) -> None:
    # contentReference makes trees share children, hence ``seen``.
    if id(el) in seen:
        return
    seen.add(id(el))
    keys: dict[str, tuple[El, str | None]] = {}
    for child in el.children.values():
        if child.choice:
            for t in child.types:
                keys[child.name + _cap(t)] = (child, t)
        else:
            keys[child.name] = (child, None)
    el.keys = keys
    el.required = tuple(c for c in el.children.values() if c.check_card and c.min > 0)
    el.sliced_required = tuple(c for c in el.children.values() if any(s.min > 0 for s in c.slices))
    el.repeats = el.max != 1 and "." in el.path
    el.narrowed_choices = tuple(c for c in el.children.values() if c.choice and c.check_types)
    el.holds_resource = "Resource" in el.types
    for child in (*el.children.values(), *el.slices, *el.type_slices.values()):
        _finish(child, seen)
