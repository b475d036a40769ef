"""``Validator``: builds the checkers from the definitions and runs them on each resource."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from . import r4b
from .bindings import Terminology
from .bundles import BundleIndex, EntrySummary, shell_of
from .definitions import CORE_SD, Definitions, packaged, resources_in
from .invariants import Invariants
from .issues import ERROR, WARNING, Issue, Run, dedupe
from .snapshots import Snapshots
from .structure import Walker

__all__ = ["EntryIssues", "Validator"]


@dataclass(slots=True)
class EntryIssues:
    """What one Bundle entry yields: the issues of its own elements (the Bundle's: the walk's,
    the walker's share of fhir.resources' checks, fhir.resources' own) and its resource's."""

    walk: list[Issue]
    structure: list[Issue]
    model: list[Issue]
    resource: list[Issue]

    def __bool__(self) -> bool:
        return bool(self.walk or self.structure or self.model or self.resource)


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
        fhir_resources: bool = False,
    ) -> None:
        """``conformance``: StructureDefinitions (with snapshots), ValueSets, CodeSystems.

        ``expansions``: ValueSet url -> {"codes": {system: [code]}, "open": [system]}, used
        before expanding a ValueSet from ``conformance``. ``fast_fhirpath=False`` evaluates every
        invariant with fhirpathpy (slow; the tests compare the two). ``fhir_resources=True``
        also validates every resource with its fhir.resources model, as before the walker took
        over its checks (3-4x slower; the tests compare the two).
        """
        self._definitions = Definitions.of(conformance, expansions)
        self._snapshots = Snapshots(self._definitions)
        self._fhir_resources = fhir_resources
        terminology = Terminology(self._definitions)
        # Required bindings to ValueSets that could not be expanded (filled as they are met).
        self.unchecked_value_sets: set[str] = terminology.unchecked_value_sets
        self._walker = Walker(self._snapshots, terminology, Invariants(fast_fhirpath=fast_fhirpath))

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
        fhir_resources: bool = False,
    ) -> Validator:
        """The packaged core definitions plus the given conformance resources (StructureDefinitions
        with snapshots, ValueSets, CodeSystems) instead of the packaged project package."""
        core = packaged("r4-core.json")
        return cls(
            [*core["structureDefinitions"], *conformance],
            {**core["valueSets"], **(expansions or {})},
            fast_fhirpath=fast_fhirpath,
            fhir_resources=fhir_resources,
        )

    @classmethod
    def from_files(cls, *paths: Path) -> Validator:
        """Like ``from_resources``, reading JSON files or folders of them (``*.json``: a resource
        each, a Bundle or a list), e.g. ``Validator.from_files(Path("profiles/package"))``."""
        extra: list[dict[str, Any]] = []
        for path in paths:
            files = sorted(path.glob("*.json")) if path.is_dir() else [path]
            for f in files:
                extra.extend(resources_in(orjson.loads(f.read_bytes())))
        return cls.from_resources(extra)

    def known_profiles(self) -> list[str]:
        return self._definitions.profiles()

    # -- public API -------------------------------------------------------------------------------
    def validate(self, resource: Mapping[str, Any]) -> list[Issue]:
        """Every problem of one resource (a Bundle: of the Bundle and each entry's resource)."""
        if not isinstance(resource, dict):
            return [Issue(ERROR, "structure", "", "a resource must be a JSON object")]
        if resource.get("resourceType") == "Bundle":
            return self.validate_bundle(resource)
        return dedupe(self._validate_resource(resource, None, None))

    def validate_bundle(self, bundle: Mapping[str, Any]) -> list[Issue]:
        """Every problem of a Bundle and of each entry's resource (``entry_index`` set)."""
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            return [Issue(ERROR, "structure", "", "not a Bundle")]
        entries = bundle.get("entry")
        entries = entries if isinstance(entries, list) else []
        return self.validate_entries(bundle, enumerate(entries), BundleIndex.of(entries))

    def validate_entries(
        self,
        bundle: Mapping[str, Any],
        entries: Iterable[tuple[int, Any]],
        index: BundleIndex,
        progress: Callable[[int], None] | None = None,
    ) -> list[Issue]:
        """A Bundle entry by entry, so that it need not be held whole: ``bundle`` the Bundle
        (its ``entry`` is not read), ``entries`` its (index, entry) pairs, read once (a stream
        will do), ``index`` the ``BundleIndex`` of all of them (a first pass). ``progress``
        is told how many entries are done after each."""
        shell = shell_of(bundle)
        summary = EntrySummary()
        parts = []
        for done, (i, entry) in enumerate(entries, start=1):
            summary.add(entry, index.repeated)
            part = self.check_entry(shell, i, entry, index)
            if part:  # only entries with issues are kept: memory stays flat
                parts.append(part)
            if progress is not None:
                progress(done)
        return self.bundle_issues(shell, summary, parts)

    def check_entry(
        self, shell: dict[str, Any], i: int, entry: Any, index: BundleIndex
    ) -> EntryIssues:
        """One entry of the Bundle ``shell`` (see ``bundles.shell_of``): its own elements, then
        its resource. Pure: entries can be checked in any process, in any order."""
        run = Run(shell, "Bundle", _id_of(shell), None, None)
        tree = self._snapshots.tree(CORE_SD + "Bundle")
        if tree is not None:
            self._walker.check_entry(run, tree, entry, i)
        model = []
        if run.needs_model or self._fhir_resources:
            model = [r4b.issue_of(run, err) for err in r4b.entry_errors(entry, i)]
        res = entry.get("resource") if isinstance(entry, dict) else None
        found = self._validate_resource(res, i, index.types) if isinstance(res, dict) else []
        if shell.get("type") not in ("transaction", "batch"):
            found = [x for x in found if x.rule != "reference-unresolved"]
        return EntryIssues(run.issues, run.structure, model, found)

    def bundle_issues(
        self, shell: dict[str, Any], summary: EntrySummary, parts: Sequence[EntryIssues]
    ) -> list[Issue]:
        """The Bundle's own problems (its invariants see the entries through ``summary``) and
        those of its entries, in the order a walk of the whole Bundle finds them."""
        stand_ins = summary.entries()
        whole = {**shell, "entry": stand_ins} if stand_ins else shell
        issues = self._validate_resource(shell, None, None, whole=whole, entries=parts)
        for part in parts:
            issues.extend(part.resource)
        return dedupe(issues)

    # -- one resource --------------------------------------------------------------------------
    def _validate_resource(
        self,
        resource: dict[str, Any],
        entry_index: int | None,
        full_urls: Mapping[str, str | None] | None,
        *,
        whole: dict[str, Any] | None = None,
        entries: Sequence[EntryIssues] = (),
    ) -> list[Issue]:
        """``whole`` and ``entries``: a Bundle given without its entries (see bundle_issues)."""
        rtype = resource.get("resourceType")
        rid = _id_of(resource)
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
        root = resource if whole is None else whole
        run = Run(root, rtype, rid, entry_index, full_urls, contained=_contained(resource))
        base = self._snapshots.tree(CORE_SD + rtype)
        if base is not None:
            self._walker.check_resource(run, base, resource, rtype, whole)
            # The order of a walk of the whole: the walker's issues, then its share of what
            # fhir.resources reported.
            run.issues.extend(issue for part in entries for issue in part.walk)
            run.issues.extend(run.structure)
            run.issues.extend(issue for part in entries for issue in part.structure)
        # The walker does fhir.resources' checks where it has the definitions; the model runs
        # where it has not, or on JSON the walker does not model (Run.needs_model).
        if base is None or run.needs_model or self._fhir_resources:
            for err in r4b.structure_errors(resource):
                run.issues.append(r4b.issue_of(run, err))
        run.issues.extend(issue for part in entries for issue in part.model)
        if base is None and not run.issues:
            run.add(
                WARNING,
                "structure",
                rtype,
                f"no base definition of {rtype} is packaged: "
                "only the fhir.resources structure checks ran",
            )
        self._check_profiles(run, resource, rtype)
        return run.issues

    def _check_profiles(self, run: Run, resource: dict[str, Any], rtype: str) -> None:
        """Every profile in ``meta.profile`` that is known; the others are warnings."""
        meta = resource.get("meta")
        profiles = meta.get("profile") if isinstance(meta, dict) else None
        for i, url in enumerate(profiles if isinstance(profiles, list) else []):
            if not isinstance(url, str):
                continue
            tree = self._snapshots.tree(url.split("|", 1)[0])
            path = f"{rtype}.meta.profile[{i}]"
            if tree is None:
                run.add(
                    WARNING, "unknown-profile", path, f"profile {url} is not known: not checked"
                )
            elif tree.type != rtype:
                run.add(
                    ERROR, "profile-type", path, f"profile {url} is for {tree.type}, not {rtype}"
                )
            elif not tree.base:  # a base definition as a profile: already checked
                run.profile = tree.url
                self._walker.check_resource(run, tree, resource, rtype)
                run.profile = None


def _contained(resource: dict[str, Any]) -> dict[str, str]:
    """The contained resources by local reference: "#id" -> resourceType."""
    contained = resource.get("contained")
    if not isinstance(contained, list):
        return {}
    return {
        f"#{c['id']}": c["resourceType"]
        for c in contained
        if isinstance(c, dict)
        and isinstance(c.get("id"), str)
        and isinstance(c.get("resourceType"), str)
    }


def _id_of(resource: Mapping[str, Any]) -> str | None:
    rid = resource.get("id")
    return rid if isinstance(rid, str) else None


@cache
def _load_packaged() -> Validator:
    core = packaged("r4-core.json")
    project = packaged("meso-package.json")
    if not core:
        raise RuntimeError(
            "meso_fhir/data/r4-core.json is missing: run scripts/build_validation_data.py"
        )
    return Validator(
        [*core["structureDefinitions"], *project.get("resources", [])],
        {**core["valueSets"], **project.get("expansions", {})},
    )
