"""The invariants of the snapshots (``constraint[].expression``): which are checked, and how.

Every invariant is compiled once per expression. The fast FHIRPath subset (``fhirpath``) runs
first; an expression outside the subset, or an evaluation the subset cannot decide, goes to
fhirpathpy (R4 model). ``ext-1``, ``ref-1``, ``dom-3``, ``bdl-5`` and ``bdl-8`` (once an entry)
are checked natively: the same rule, much faster (ref-1 and dom-3 also use functions outside
the subset: substring(), descendants()). An invariant whose result is empty counts as
satisfied; one that cannot be evaluated at all is a warning, not an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

import orjson

from . import fhirpath
from .issues import ERROR, WARNING, Run

__all__ = ["Constrained", "Constraint", "Invariants", "constraints_of"]

# dom-6: best practice (narrative); txt-1/txt-2: htmlChecks(), which fhirpathpy does not have.
# ele-1 (a value or children): reported as empty-element / empty-array by the walker instead.
_SKIPPED: Final = frozenset({"dom-6", "txt-1", "txt-2", "ele-1"})
# All four hold trivially when a resource has no contained resources, the common case.
_ON_CONTAINED: Final = frozenset({"dom-2", "dom-3", "dom-4", "dom-5"})
_UNCOMPILED: Final[Any] = object()
_UNDECIDED: Final[Any] = object()
# Results remembered at most, and the largest input read (JSON bytes): at most ~10 MiB.
_RESULTS: Final = 1 << 14
_RESULT_SIZE: Final = 512


@dataclass(frozen=True, slots=True)
class Constraint:
    key: str
    severity: str
    human: str
    expression: str


class Constrained(Protocol):
    """An element of a snapshot, as far as its invariants are concerned."""

    @property
    def path(self) -> str: ...

    @property
    def constraints(self) -> tuple[Constraint, ...]: ...


def constraints_of(element: Mapping[str, Any]) -> tuple[Constraint, ...]:
    """The invariants of one snapshot element that are checked."""
    return tuple(
        Constraint(c["key"], c.get("severity", ERROR), c.get("human", c["key"]), c["expression"])
        for c in element.get("constraint", ())
        if c.get("expression") and c["key"] not in _SKIPPED
    )


def _has_value(inputs: list[Any]) -> list[bool]:
    """FHIRPath hasValue(), which fhirpathpy lacks: a single primitive with a value."""
    return [len(inputs) == 1 and inputs[0] is not None and not isinstance(inputs[0], (dict, list))]


_FHIRPATH_OPTIONS: Final = {
    "traceFn": lambda label, value: None,  # fhirpathpy prints trace() to stdout otherwise
    "userInvocationTable": {"hasValue": {"fn": _has_value, "arity": {0: []}}},
}


class Invariants:
    """Evaluates invariants, with the compiled expressions cached (one per validator)."""

    def __init__(self, *, fast_fhirpath: bool = True) -> None:
        self._use_fast = fast_fhirpath
        self._fast: dict[str, fhirpath.Fn | None] = {}
        self._slow: dict[str, Callable[..., Any] | None] = {}
        # Results by the values an expression reads (see _remembered); fhirpathpy alone (the
        # tests' reference) evaluates every time.
        self._reads: dict[str, frozenset[str] | None] = {}
        self._results: dict[tuple[str, str | None, bytes], bool | None] = {}

    def check(self, run: Run, el: Constrained, item: Any, path: str, type_code: str | None) -> None:
        """Check the invariants of ``el`` on one of its values (``item``, at ``path``)."""
        for c in el.constraints:
            if c.key in _ON_CONTAINED and not (isinstance(item, dict) and "contained" in item):
                continue
            native = _NATIVE.get(c.key)
            ok: Any = native(item, run) if native is not None else _UNDECIDED
            if ok is _UNDECIDED:
                native = None
                ok = self._remembered(c, item, run, el, type_code)
            if ok is False:
                run.add(
                    ERROR if c.severity == ERROR else WARNING,
                    f"invariant:{c.key}",
                    path,
                    c.human,
                    "fhirpath" if native is None else "meso-fhir",
                )
            elif ok is None:
                run.add(
                    WARNING,
                    f"invariant:{c.key}",
                    path,
                    f"could not be evaluated: {c.expression}",
                    "fhirpath",
                )

    def _remembered(
        self, c: Constraint, item: Any, run: Run, el: Constrained, type_code: str | None
    ) -> bool | None:
        """The result of ``c`` on ``item``, remembered by the values it reads of ``item``
        (``fhirpath.root_names``): resources of one kind share their codes and statuses, so
        most evaluations are repeats."""
        reads = self._reads.get(c.expression, _UNCOMPILED)
        if reads is _UNCOMPILED:
            reads = fhirpath.root_names(c.expression) if self._use_fast else None
            self._reads[c.expression] = reads
        if reads is None or not isinstance(item, dict):
            return self._evaluate(c, item, run, el, type_code)
        try:
            # resourceType too: fhirpathpy reads choice names from the resource's model.
            read = orjson.dumps([item.get("resourceType"), _values_read(item, reads)])
        except orjson.JSONEncodeError:  # integers beyond 64 bits
            return self._evaluate(c, item, run, el, type_code)
        key = (c.expression, type_code, read)
        try:
            return self._results[key]
        except KeyError:
            pass
        ok = self._evaluate(c, item, run, el, type_code)
        if len(read) <= _RESULT_SIZE:  # a large input seldom comes again
            if len(self._results) >= _RESULTS:  # bounded: memory stays flat
                self._results.clear()
            self._results[key] = ok
        return ok

    def _evaluate(
        self, c: Constraint, item: Any, run: Run, el: Constrained, type_code: str | None
    ) -> bool | None:
        result: list[Any] | None = None
        if self._use_fast:
            fast = self._fast.get(c.expression, _UNCOMPILED)
            if fast is _UNCOMPILED:
                fast = self._fast[c.expression] = fhirpath.compile(c.expression)
            if fast is not None:
                try:
                    result = fast([item], item, fhirpath.Env(run.root, type_code))
                except fhirpath.Unsupported:
                    result = None
        if result is None:
            result = self._evaluate_fhirpathpy(c, item, run, el, type_code)
            if result is None:
                return None
        if not result:
            return True
        return all(r is True for r in result) if all(isinstance(r, bool) for r in result) else True

    def _evaluate_fhirpathpy(
        self, c: Constraint, item: Any, run: Run, el: Constrained, type_code: str | None
    ) -> list[Any] | None:
        # Imported on first use: the fast subset decides nearly every invariant, and the
        # import (with the R4 model) is a tenth of the CLI's start-up.
        from fhirpathpy import compile as fhirpath_compile
        from fhirpathpy.engine.nodes import ResourceNode
        from fhirpathpy.models import models

        fn = self._slow.get(c.expression, _UNCOMPILED)
        if fn is _UNCOMPILED:
            try:
                fn = fhirpath_compile(c.expression, models["r4"], _FHIRPATH_OPTIONS)
            except Exception:  # a syntax error in a profile: reported, not raised
                fn = None
            self._slow[c.expression] = fn
        if fn is None:
            return None
        if isinstance(item, dict) and "resourceType" in item:
            node: Any = item
        else:
            # fhirpathpy needs the type of a non-resource value for ofType() and choice names;
            # it leaves create_node untyped (the annotation keeps mypy strict on the call).
            create_node: Callable[[Any, str], Any] = ResourceNode.create_node
            node = create_node(
                item, type_code if type_code and type_code != "BackboneElement" else el.path
            )
        try:
            result = fn(node, {"resource": run.root, "rootResource": run.root})
        except Exception:
            return None
        return list(result) if isinstance(result, list) else [result]


def _values_read(item: dict[str, Any], names: frozenset[str]) -> list[Any]:
    """What an expression that navigates ``names`` reads of ``item``: the key and value each
    name finds, as FHIRPath navigation finds them (``value`` finds ``valueQuantity``)."""
    out: list[Any] = []
    for name in names:
        if name in item:
            out.append((name, item[name]))
            continue
        for key, value in item.items():
            if key.startswith(name) and key[len(name) :][:1].isupper():
                out.append((key, value))
                break
        else:
            out.append(None)
    return out


def _ext_1(item: Any, run: Run) -> bool:
    if not isinstance(item, dict):
        return True
    has_value = any(k.startswith("value") for k in item)
    return bool(item.get("extension")) != has_value


def _ref_1(item: Any, run: Run) -> bool:
    if not isinstance(item, dict):
        return True
    ref = item.get("reference")
    return not (isinstance(ref, str) and ref.startswith("#") and ref != "#") or ref in run.contained


def _dom_3(item: Any, run: Run) -> bool:
    """Every contained resource is referenced (from the container or from another contained)."""
    if not isinstance(item, dict):
        return True
    refs = _strings_at(item, "reference")
    contained = item.get("contained")
    return all(
        not isinstance(c, dict) or f"#{c.get('id')}" in refs or "#" in _strings_at(c, "reference")
        for c in (contained if isinstance(contained, list) else [])
    )


def _bdl_5(entry: Any, run: Run) -> bool:
    """resource.exists() or request.exists() or response.exists(), on every entry."""
    return any(fhirpath.child([entry], name) for name in ("resource", "request", "response"))


def _bdl_8(entry: Any, run: Run) -> Any:
    """fullUrl.exists() implies fullUrl.contains('/_history/').not(), on every entry."""
    urls = fhirpath.child([entry], "fullUrl")
    if not urls:
        return True
    if len(urls) == 1 and isinstance(urls[0], str):
        return "/_history/" not in urls[0]
    return _UNDECIDED  # not one string: as the expression says


# Checked in Python instead of by their expression (see the module docstring); one that
# returns _UNDECIDED leaves that value to the expression.
_NATIVE: Final[dict[str, Callable[[Any, Run], Any]]] = {
    "ext-1": _ext_1,
    "ref-1": _ref_1,
    "dom-3": _dom_3,
    "bdl-5": _bdl_5,
    "bdl-8": _bdl_8,
}


def _strings_at(data: Any, key: str) -> set[str]:
    """Every string value of ``key`` anywhere below ``data`` (a loop, not a recursion of
    generators: dom-3 reads every resource with contained resources whole)."""
    found: set[str] = set()
    stack = [data]
    while stack:
        d = stack.pop()
        if isinstance(d, dict):
            for k, v in d.items():
                if k == key and isinstance(v, str):
                    found.add(v)
                elif isinstance(v, (dict, list)):
                    stack.append(v)
        elif isinstance(d, list):
            stack.extend(d)
    return found
