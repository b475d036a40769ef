"""What the validation of a Bundle keeps between its entries, so that entries can be checked one
at a time (streamed from a file, or spread over processes) and a Bundle is never held whole.

Two things reach across entries:

* references between entries (``urn:uuid:`` full URLs, ``Type/id``): ``BundleIndex``, built in
  a first pass, holds the resource type of every entry by fullUrl and by Type/id (about 150
  bytes an entry; the entries themselves are not kept);
* the Bundle's own invariants (R4's ``bdl-*``), which read its entries: ``EntrySummary`` keeps
  a handful of stand-in entries that every one of them judges as it judges the whole list (see
  its docstring); they are evaluated, unchanged, on the Bundle with those stand-ins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .fhirpath import child

__all__ = ["BundleIndex", "EntrySummary", "shell_of"]


@dataclass(slots=True)
class BundleIndex:
    """The resource type of each entry by fullUrl (the last entry wins) and by Type/id (the
    first wins), None for a resource without a string resourceType; and the fullUrls that more
    than one entry has (only those can break bdl-7)."""

    types: dict[str, str | None] = field(default_factory=dict)
    repeated: set[str] = field(default_factory=set)
    _without_resource: set[str] = field(default_factory=set)  # fullUrls of the other entries

    def add(self, entry: Any) -> None:
        if not isinstance(entry, dict):
            return
        res = entry.get("resource")
        if isinstance(res, dict):
            self.add_fields(entry.get("fullUrl"), True, res.get("resourceType"), res.get("id"))
        else:
            self.add_fields(entry.get("fullUrl"), False, None, None)

    def add_fields(self, url: Any, has_resource: bool, rtype: Any, rid: Any) -> None:
        """One entry (an object) by what the index reads of it: its fullUrl, whether its
        resource is an object, that resource's resourceType and id."""
        if isinstance(url, str) and (url in self.types or url in self._without_resource):
            self.repeated.add(url)
        if not has_resource:
            if isinstance(url, str):
                self._without_resource.add(url)
            return
        rtype = rtype if isinstance(rtype, str) else None
        if isinstance(url, str):
            self.types[url] = rtype
        if isinstance(rid, str) and rtype is not None:
            self.types.setdefault(f"{rtype}/{rid}", rtype)

    @classmethod
    def of(cls, entries: list[Any]) -> BundleIndex:
        index = cls()
        for entry in entries:
            index.add(entry)
        return index


def shell_of(bundle: Mapping[str, Any]) -> dict[str, Any]:
    """The Bundle without its entries when they are a non-empty array (each is checked on its
    own); as it is otherwise, so that the walk reports a wrong ``entry``."""
    entries = bundle.get("entry")
    if isinstance(entries, list) and entries:
        return {k: v for k, v in bundle.items() if k != "entry"}
    return dict(bundle)


@dataclass(slots=True)
class EntrySummary:
    """The entries as the Bundle's invariants see them, in a few stand-ins.

    R4's Bundle invariants read of the entries only: whether each has a request, a response, a
    search (bdl-2, bdl-3, bdl-4: each entry on its own, all must pass), the first entry's
    resource (bdl-11, bdl-12) and whether two entries share fullUrl and versionId (bdl-7). So one
    stand-in per combination of the first three, the first entry, two entries that share a
    (fullUrl, versionId) if any do, and one whose fullUrl or versionId is not a string if any
    is, are judged as the whole list is. A stand-in is the entry
    without its resource's content (only resourceType and meta stay).
    """

    by_shape: dict[tuple[bool, bool, bool], Any] = field(default_factory=dict)  # first: first
    duplicate: list[Any] = field(default_factory=list)
    odd: list[Any] = field(default_factory=list)  # a fullUrl or versionId bdl-7 cannot join
    _versions: set[tuple[str, str]] = field(default_factory=set)  # of repeated fullUrls only

    def add(self, entry: Any, repeated: set[str]) -> None:
        if entry is None:  # FHIRPath does not see nulls
            return
        one = [entry]
        shape = (
            bool(child(one, "request")),
            bool(child(one, "response")),
            bool(child(one, "search")),
        )
        url = entry.get("fullUrl") if isinstance(entry, dict) else None
        if isinstance(url, str) and url in repeated and not self.duplicate:
            version = _version_of(entry)
            if (url, version) in self._versions:
                stand_in = _stand_in(entry)
                self.duplicate = [stand_in, stand_in]
            self._versions.add((url, version))
        if not self.odd and _odd(entry):
            self.odd = [_stand_in(entry)]
        if shape not in self.by_shape:  # the first entry comes first: it has a new shape
            self.by_shape[shape] = _stand_in(entry)

    def entries(self) -> list[Any]:
        return [*self.by_shape.values(), *self.duplicate, *self.odd]


def _odd(entry: Any) -> bool:
    """A fullUrl, or its versionId, that is not one string (bdl-7's ``&`` fails on it)."""
    urls = child([entry], "fullUrl")
    versions = child(child(child([entry], "resource"), "meta"), "versionId")
    return bool(urls) and any(
        len(values) > 1 or (values and not isinstance(values[0], str))
        for values in (urls, versions)
    )


def _version_of(entry: dict[str, Any]) -> str:
    """The versionId as ``fullUrl & resource.meta.versionId`` joins it (none: "")."""
    res = entry.get("resource")
    meta = res.get("meta") if isinstance(res, dict) else None
    version = meta.get("versionId") if isinstance(meta, dict) else None
    return "" if version is None else version if isinstance(version, str) else repr(version)


def _stand_in(entry: Any) -> Any:
    if not isinstance(entry, dict):
        return entry
    out = {k: v for k, v in entry.items() if k != "resource"}
    res = entry.get("resource")
    if isinstance(res, dict):
        out["resource"] = {k: res[k] for k in ("resourceType", "meta") if k in res}
    elif "resource" in entry:
        out["resource"] = res
    return out
