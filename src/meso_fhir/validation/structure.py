"""The walk of a resource against compiled snapshots: cardinality, JSON kinds, empty values,
fixed values and patterns, ``value[x]`` types, slices, extensions and references; bindings and
invariants are checked on the way (``bindings``, ``invariants``).

A resource is walked once against its base definition (``base``: every rule, every datatype it
reaches through the datatypes' own snapshots) and once per known profile it declares (only the
profile's own rules). Messages never echo a resource's string values except codes and URLs:
dates and names are patient data.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import orjson

from ..codes import CANONICAL
from . import r4b
from .bindings import CODED, Terminology
from .definitions import CORE_SD
from .invariants import Invariants
from .issues import ERROR, Issue, Run
from .matching import equal, in_slice, matches
from .snapshots import MISSING, El, Snapshots, Tree

__all__ = ["Walker"]

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
_REF_RE: Final = re.compile(
    r"^(#[A-Za-z0-9\-.]{0,64}"  # contained ("#" alone: the container)
    r"|urn:uuid:[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"
    r"|urn:oid:[0-2](\.(0|[1-9][0-9]*))+"
    r"|([a-z][a-z0-9+.\-]*://[^\s/]+(/[^\s/]+)*/)?[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}(/_history/[A-Za-z0-9\-.]{1,64})?"
    r"|[A-Z][A-Za-z]+\?\S+)$"  # conditional reference (transactions)
)
_REF_TYPE_RE: Final = re.compile(r"([A-Z][A-Za-z]+)(/[A-Za-z0-9\-.]{1,64}(/_history/[^/]+)?|\?.*)$")

# Clean values remembered at most, and the largest (in JSON bytes): at most ~10 MiB.
_CLEAN_VALUES: Final = 1 << 14
_CLEAN_SIZE: Final = 512


class Walker:
    """Walks resources against the compiled trees of ``snapshots``."""

    def __init__(
        self, snapshots: Snapshots, terminology: Terminology, invariants: Invariants
    ) -> None:
        self._snapshots = snapshots
        self._terminology = terminology
        self._invariants = invariants
        # (element, key, the value: a string, or else its JSON): see _walk_values
        self._clean: set[tuple[El, str, str | bytes]] = set()
        self._datatypes: dict[str, Tree | None] = {}  # the tree of each datatype, by name

    def check_resource(
        self,
        run: Run,
        tree: Tree,
        resource: dict[str, Any],
        path: str,
        whole: dict[str, Any] | None = None,
    ) -> None:
        """Every rule of ``tree`` (a base definition or a profile) on ``resource``; its
        invariants on ``whole`` when the walk is given only a part (a Bundle without entries)."""
        whole = resource if whole is None else whole
        self._invariants.check(run, tree.root, whole, path, resource.get("resourceType"))
        self._walk_object(run, tree.root, resource, path, tree.base)

    def check_entry(self, run: Run, bundle: Tree, entry: Any, index: int) -> None:
        """One entry of a Bundle (its own elements; its resource is validated on its own), as
        the walk of the whole Bundle checks it."""
        el = bundle.root.children["entry"]
        path = f"Bundle.entry[{index}]"
        if entry is None:
            run.add(ERROR, "empty-element", path, "null is not a FHIR value")
        else:
            self._check_item(run, el, el.types[0] if el.types else None, entry, path, True)

    # -- objects and values ------------------------------------------------------------------------
    def _walk_object(self, run: Run, el: El, obj: dict[str, Any], path: str, base: bool) -> None:
        """Check the children of ``el`` in ``obj`` (a resource or a complex value). The base walk
        reports unknown keys (as fhir.resources did, with its message)."""
        found: list[tuple[El, str | None, str, Any]] = []  # (child, type of a choice, key, value)
        present: set[El] = set()
        repeated = False  # a choice element under two keys (valueString and valueQuantity)
        other: set[El] = set()  # present only as _element (extensions), or with a wrong type
        keys = el.keys
        for key, value in obj.items():
            hit = keys.get(key)
            if hit is not None:
                child = hit[0]
                if child in present:
                    repeated = True
                else:
                    present.add(child)
                found.append((child, hit[1], key, value))
            elif key[:1] == "_":
                primitive = keys.get(key[1:])
                if primitive is not None:
                    other.add(primitive[0])
                # Primitive extensions are rare: fhir.resources checks their content.
                run.needs_model = run.needs_model or base
            elif el.narrowed_choices and not base:
                wrong = self._check_choice_key(run, el, key, path)
                if wrong is not None:
                    other.add(wrong)
            elif base and not (key == "resourceType" and el.resource_root):
                self._unknown_key(run, key, path)
        if el.required or (el.sliced_required and not base):
            _report_missing(run, el, present, other, path, base)
        if repeated:
            found = self._group_choices(run, found, path)
        clean = self._clean
        for child, type_code, key, value in found:
            # A string found clean here before (most are) costs no call: see _walk_values.
            if type(value) is not str or (child, key, value) not in clean:
                self._walk_values(run, child, key, type_code, value, path, base)

    def _group_choices(
        self, run: Run, found: list[tuple[El, str | None, str, Any]], path: str
    ) -> list[tuple[El, str | None, str, Any]]:
        """The keys of ``found`` grouped by element, in the order each is first met (the order
        the walk reports in), with a choice element met more than once reported."""
        groups: dict[El, list[tuple[El, str | None, str, Any]]] = {}
        for f in found:
            groups.setdefault(f[0], []).append(f)
        for child, group in groups.items():
            if len(group) > 1:  # only a choice element can be (see _walk_object)
                run.add(
                    ERROR,
                    "cardinality",
                    f"{path}.{child.json_name}",
                    f"maximum 1, found {len(group)} ({', '.join(f[2] for f in group)})",
                )
        return [f for group in groups.values() for f in group]

    def _unknown_key(self, run: Run, key: str, path: str) -> None:
        if key == "fhir_comments":  # fhir.resources' own key (comments of DSTU2 JSON)
            run.needs_model = True
        else:
            run.structure.append(
                Issue(
                    ERROR,
                    "unknown-element",
                    f"{path}.{key}",
                    f"unknown element {key}",
                    run.resource_type,
                    run.resource_id,
                    run.entry_index,
                )
            )

    def _check_choice_key(self, run: Run, el: El, key: str, path: str) -> El | None:
        """A key of a choice element whose type the profile does not allow: report it."""
        for child in el.narrowed_choices:
            if key.startswith(child.name) and key[len(child.name) :][:1].isupper():
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
        self, run: Run, el: El, key: str, type_code: str | None, value: Any, parent: str, base: bool
    ) -> None:
        """The value of one JSON key of the object at ``parent``. A value (a code, a Coding, a
        list of categories, a dosage) found clean under ``el`` and ``key`` once is clean wherever
        it is met again, so it is checked once: values repeat across resources (codes, units,
        profiles), and most of the walk is theirs. Below a resource's root nothing depends on
        the rest of the resource but references (never remembered): no invariant there reads
        %resource."""
        if el.holds_resource:  # contained resources: their references are the resource's
            self._walk_value(run, el, key, type_code, value, f"{parent}.{key}", base)
            return
        memo: tuple[El, str, str | bytes]
        if type(value) is str:  # most values: remembered as they are, without a dump
            memo = (el, key, value)
        else:
            try:
                memo = (el, key, orjson.dumps(value))
            except orjson.JSONEncodeError:  # integers beyond 64 bits: reported on the way
                self._walk_value(run, el, key, type_code, value, f"{parent}.{key}", base)
                return
        clean = self._clean
        if memo in clean:
            return
        found = len(run.issues) + len(run.structure)
        self._walk_value(run, el, key, type_code, value, f"{parent}.{key}", base)
        # Only what depends on the value alone is remembered: nothing found, nothing left to
        # fhir.resources, and no reference (whose target depends on the Bundle).
        seen = memo[2]
        if (
            found == len(run.issues) + len(run.structure)
            and not run.needs_model
            and len(seen) <= _CLEAN_SIZE  # a large value seldom comes again
            and (type(seen) is str or b'"reference"' not in seen)
        ):
            if len(clean) >= _CLEAN_VALUES:
                clean.clear()
            clean.add(memo)

    def _walk_value(
        self, run: Run, el: El, key: str, type_code: str | None, value: Any, path: str, base: bool
    ) -> None:
        if isinstance(value, list) or value is None or (base and el.repeats):
            items = _items(run, el, value, path, base)
            if items is None:
                return
        else:  # the common case, without a call
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
        self, run: Run, el: El, type_code: str | None, item: Any, path: str, base: bool
    ) -> None:
        """One value of ``el``: its own rules, then its children."""
        kinds = _PRIMITIVE_KIND.get(type_code) if type_code else None
        # The common case (the right JSON kind, not empty) without a call; _has_kind decides.
        if kinds is not None:
            fine = type(item) in kinds and item != ""
        else:
            fine = type(item) is dict and bool(item)
        if not fine and not _has_kind(run, type_code, item, path, base):
            if base and item == {} and type(item) is dict:
                self._missing_in_empty(run, el, type_code, path)
            elif base and item == "" and kinds is not None and str in kinds:
                _check_format(run, el.format_as or type_code, item, path)
            return
        if type_code == "Resource":
            if base:
                self._check_resource_value(run, el, item, path)
            return
        if kinds is not None and base:
            _check_format(run, el.format_as or type_code, item, path)
        if el.fixed is not MISSING and not equal(item, el.fixed):
            run.add(ERROR, "fixed-value", path, f"expected {_show(el.fixed)}")
        if el.pattern is not MISSING and not matches(item, el.pattern):
            run.add(ERROR, "pattern", path, f"must match {_show(el.pattern)}")
        if el.binding and type_code in CODED:
            self._terminology.check_binding(run, el.binding, type_code, item, path)
        if type_code == "Reference":
            self._check_reference(run, el, item, path, base)
        if el.constraints:
            self._invariants.check(run, el, item, path, type_code)
        if isinstance(item, dict):
            self._descend(run, el, type_code, item, path, base)

    def _descend(
        self, run: Run, el: El, type_code: str | None, item: dict[str, Any], path: str, base: bool
    ) -> None:
        """The children of a complex value: from ``el`` when the snapshot lists them, else (base
        walk) from the snapshot of the value's datatype."""
        snapshots = self._snapshots
        if el.children:
            self._walk_object(run, el, item, path, base)
        elif base and type_code is not None:
            dt = self._datatype(type_code)
            if dt is not None:
                if dt.root.constraints:
                    self._invariants.check(run, dt.root, item, path, type_code)
                self._walk_object(run, dt.root, item, path, True)
        if base and type_code == "Coding":
            self._terminology.check_local_code(run, item, path)
        if base and type_code == "Extension":
            self._check_extension(run, item, path)
        for url in el.type_profiles:
            tree = snapshots.tree(url)
            if tree is not None and not tree.base:
                self._check_profiled(run, tree, item, path, type_code)

    def _missing_in_empty(self, run: Run, el: El, type_code: str | None, path: str) -> None:
        """An empty object: its required children too, as fhir.resources reports them."""
        if el.children:
            _report_missing(run, el, set(), set(), path, True)
        elif type_code is not None:
            dt = self._datatype(type_code)
            if dt is not None:
                _report_missing(run, dt.root, set(), set(), path, True)

    def _datatype(self, type_code: str) -> Tree | None:
        """The tree of a core datatype, by its name (without building its URL each time)."""
        try:
            return self._datatypes[type_code]
        except KeyError:
            dt = self._datatypes[type_code] = self._snapshots.tree(CORE_SD + type_code)
            return dt

    def _check_resource_value(self, run: Run, el: El, item: Any, path: str) -> None:
        """A resource inside a resource: a contained one is walked against its definition; any
        other (a Bundle entry's is validated on its own) or one without a packaged definition
        is left to fhir.resources, as it always was."""
        if el.path == "Bundle.entry.resource":
            return
        rtype = item.get("resourceType") if isinstance(item, dict) else None
        tree = (
            self._snapshots.tree(CORE_SD + rtype)
            if el.name == "contained" and isinstance(rtype, str)
            else None
        )
        if tree is None:
            run.needs_model = True
        else:
            self.check_resource(run, tree, item, path)

    def _check_profiled(
        self, run: Run, tree: Tree, item: dict[str, Any], path: str, type_code: str | None
    ) -> None:
        """A value constrained by a profile of its type (SimpleQuantity, an extension)."""
        saved, run.profile = run.profile, tree.url
        self._invariants.check(run, tree.root, item, path, type_code)
        self._walk_object(run, tree.root, item, path, False)
        run.profile = saved

    # -- slices ------------------------------------------------------------------------------------
    def _check_slices(
        self, run: Run, el: El, type_code: str | None, items: list[tuple[str, Any]], path: str
    ) -> None:
        assert el.slicing is not None
        matched: dict[int, list[tuple[str, Any]]] = {i: [] for i in range(len(el.slices))}
        unmatched: list[str] = []
        for ipath, item in items:
            for i, s in enumerate(el.slices):
                if in_slice(el.slicing, s, item):
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

    # -- references and extensions -----------------------------------------------------------------
    def _check_reference(self, run: Run, el: El, item: Any, path: str, base: bool) -> None:
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
            target = _target_type(run, ref, path, base)
        if target is None and isinstance(item.get("type"), str):
            target = item["type"]
        if target is not None and el.targets is not None and target not in el.targets:
            run.add(
                ERROR,
                "reference-target",
                f"{path}.reference" if isinstance(ref, str) else path,
                f"a reference to a {target}; allowed here: {', '.join(sorted(el.targets))}",
            )

    def _check_extension(self, run: Run, ext: dict[str, Any], path: str) -> None:
        url = ext.get("url")
        if not isinstance(url, str):
            return
        tree = self._snapshots.tree(url)
        if tree is None:
            # Other extensions may come from anywhere; the project's own must be defined.
            if url.startswith(CANONICAL + "/"):
                run.add(ERROR, "unknown-extension", path, f"extension {url} is not defined")
            return
        if tree.base or tree.type != "Extension":
            return
        self._check_profiled(run, tree, ext, path, "Extension")


def _report_missing(
    run: Run, el: El, present: set[El], other: set[El], path: str, base: bool
) -> None:
    """Required children of ``el`` absent from the object, and (profiles) required slices of
    absent children, each named."""
    for child in el.required:
        if child not in present and child not in other:
            run.add(
                ERROR,
                "cardinality",
                f"{path}.{child.json_name}",
                f"minimum {child.min}, found 0",
            )
    if base:
        return
    for child in el.sliced_required:
        if child not in present:
            for s in child.slices:
                if s.min > 0:
                    run.add(
                        ERROR,
                        "cardinality",
                        f"{path}.{child.json_name}:{s.slice_name}",
                        f"slice {s.slice_name}: minimum {s.min}, found 0",
                    )


def _items(run: Run, el: El, value: Any, path: str, base: bool) -> list[tuple[str, Any]] | None:
    """The values under one JSON key with their paths, or None when its shape (null, empty
    array, array for a single value or the reverse) is already reported."""
    if value is None:
        if base:
            run.add(ERROR, "empty-element", path, "null is not a FHIR value: leave the element out")
        return None
    if isinstance(value, list):
        if not value:
            if base:
                run.add(
                    ERROR, "empty-array", path, "an array cannot be empty: leave the element out"
                )
            return None
        if base and el.max == 1:
            run.add(ERROR, "type", path, f"{el.json_name} is a single value, not an array")
            return None
        return [(f"{path}[{i}]", v) for i, v in enumerate(value)]
    if base and el.repeats:
        run.add(ERROR, "type", path, f"{el.json_name} repeats: it must be an array")
        return None
    return [(path, value)]


def _check_format(run: Run, type_code: Any, item: Any, path: str) -> None:
    """A primitive of the right JSON kind: its format, by fhir.resources' own validators."""
    error = r4b.primitive_error(type_code, item)
    if error is not None:
        run.structure.append(r4b.format_issue(run, path, *error))


def _has_kind(run: Run, type_code: str | None, item: Any, path: str, base: bool) -> bool:
    """Whether ``item`` has the JSON kind of its type and is not empty; if not, it is reported
    (or left to fhir.resources) and its other rules are not checked."""
    kinds = _PRIMITIVE_KIND.get(type_code) if type_code else None
    if kinds is not None:
        if not isinstance(item, kinds) or (isinstance(item, bool) and bool not in kinds):
            run.add(ERROR, "type", path, f"a {type_code} must be a JSON {_kind_name(kinds)}")
            return False
        # fhir.resources reports the empty string (format)
        return not (base and isinstance(item, str) and not item)
    if type_code is not None and type_code != "Resource":
        if not isinstance(item, dict):
            run.add(ERROR, "type", path, f"a {type_code} must be a JSON object")
            return False
        if base and not item:
            run.add(
                ERROR, "empty-element", path, "an element must have a value or children (ele-1)"
            )
            return False
    return True


def _target_type(run: Run, ref: str, path: str, base: bool) -> str | None:
    """The resource type a reference points to, when it can be told; an unresolvable local
    reference (contained, or urn:uuid inside a Bundle) is reported."""
    if ref.startswith("#"):
        target = run.contained.get(ref) if ref != "#" else run.resource_type
        if target is None and base:
            run.add(
                ERROR,
                "reference-unresolved",
                f"{path}.reference",
                f"{ref} is not the id of a contained resource",
            )
        return target
    if ref.startswith("urn:"):
        if run.full_urls is not None and ref in run.full_urls:
            # None: the entry's own resourceType problem is reported on that entry.
            return run.full_urls[ref]
        if run.full_urls is not None and base and ref.startswith("urn:uuid:"):
            run.add(
                ERROR,
                "reference-unresolved",
                f"{path}.reference",
                f"{ref} is the fullUrl of no entry of the Bundle",
            )
        return None
    m = _REF_TYPE_RE.search(ref)
    return m.group(1) if m else None


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
