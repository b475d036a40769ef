"""Whether a value matches what a definition sets: fixed values, patterns, and the slice
discriminators that decide which slice an item of a sliced array belongs to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from .snapshots import MISSING, El, Slicing

__all__ = ["equal", "in_slice", "matches"]


def equal(a: Any, b: Any) -> bool:
    """FHIR fixed-value equality: exact, and ``true`` is not ``1``."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def matches(value: Any, pattern: Any) -> bool:
    """FHIR pattern matching: every element the pattern has, the value has (arrays: each
    pattern item matched by some value item)."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            k in value and matches(value[k], p) for k, p in pattern.items()
        )
    if isinstance(pattern, list):
        return isinstance(value, list) and all(any(matches(v, p) for v in value) for p in pattern)
    return equal(value, pattern)


def in_slice(slicing: Slicing, s: El, item: Any) -> bool:
    """Whether ``item`` belongs to slice ``s``: every discriminator agrees (an unknown
    discriminator type matches nothing)."""
    for kind, dpath in slicing.discriminators:
        agrees = _DISCRIMINATORS.get(kind)
        if agrees is None or not agrees(s, dpath, item):
            return False
    return True


def _by_value(s: El, dpath: str, item: Any) -> bool:
    expected = _expected_at(s, dpath)
    if expected is None:
        return False
    how, want = expected
    same = equal if how == "fixed" else matches
    return any(same(v, want) for v in _values_at(item, dpath))


def _by_existence(s: El, dpath: str, item: Any) -> bool:
    target = _child_at(s, dpath)
    if target is None:
        return False
    return bool(_values_at(item, dpath)) == (target.min > 0 or target.max != 0)


def _by_type(s: El, dpath: str, item: Any) -> bool:
    # Only a resource says its type in the JSON (resourceType); a profile discriminator is
    # checked the same way, by the type.
    values = _values_at(item, dpath)
    rtypes = {v.get("resourceType") for v in values if isinstance(v, dict)}
    target = _child_at(s, dpath) if dpath != "$this" else s
    return target is not None and bool(rtypes & set(target.types))


_DISCRIMINATORS: Final[dict[str, Callable[[El, str, Any], bool]]] = {
    "value": _by_value,
    "pattern": _by_value,
    "exists": _by_existence,
    "type": _by_type,
    "profile": _by_type,
}


def _children_at(el: El, dpath: str) -> list[El]:
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


def _child_at(el: El, dpath: str) -> El | None:
    found = _children_at(el, dpath)
    return found[0] if found else None


def _expected_at(s: El, dpath: str) -> tuple[str, Any] | None:
    """The fixed value or pattern a slice sets at a discriminator path."""
    if dpath == "$this":
        if s.fixed is not MISSING:
            return "fixed", s.fixed
        if s.pattern is not MISSING:
            return "pattern", s.pattern
        return None
    for target in _children_at(s, dpath):
        if target.fixed is not MISSING:
            return "fixed", target.fixed
        if target.pattern is not MISSING:
            return "pattern", target.pattern
    if dpath == "url" and s.ext_profiles:  # an extension slice without a fixed url
        return "fixed", s.ext_profiles[0]
    for how, whole in (("fixed", s.fixed), ("pattern", s.pattern)):
        if whole is not MISSING:  # the slice's own pattern, e.g. patternCoding and path "code"
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
