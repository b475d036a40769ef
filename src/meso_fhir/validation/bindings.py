"""Required bindings and the codes of the CodeSystems the validator knows.

A ValueSet is expanded from the precomputed expansions of the package data when it has one
(core ValueSets: the build script expanded them), else from its compose (concept lists, whole
known CodeSystems, other ValueSets). A system that cannot be enumerated (a filter, SNOMED CT,
an unknown CodeSystem) is "open": its codes are not checked, rather than all rejected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from .definitions import Definitions
from .issues import ERROR, Run

__all__ = ["CODED", "Terminology"]

CODED: Final = frozenset({"code", "Coding", "CodeableConcept", "string", "uri"})


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


class Terminology:
    """Checks codes against ValueSets and CodeSystems; expansions are cached."""

    def __init__(self, definitions: Definitions) -> None:
        self._defs = definitions
        self._expansions: dict[str, _Expansion] = {}
        self.unchecked_value_sets: set[str] = set()  # bound but unknown: not checked

    def check_binding(self, run: Run, vs_url: str, type_code: str, item: Any, path: str) -> None:
        """A value of a coded type (``CODED``) bound to a required ValueSet."""
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
        # One coding in the ValueSet is enough (the others may be translations).
        if verdicts and not any(v is None or v for v in verdicts):
            shown = ", ".join(
                f"{c.get('system')}|{c.get('code')}" for c in codings if isinstance(c, dict)
            )
            run.add(ERROR, "binding", path, f"{shown} not in the required ValueSet {vs_url}")

    def check_local_code(self, run: Run, coding: dict[str, Any], path: str) -> None:
        """Any Coding of a complete CodeSystem the validator knows (the project's own) must use
        one of its codes, bound or not."""
        system, code = coding.get("system"), coding.get("code")
        known = self._defs.code_systems.get(system) if isinstance(system, str) else None
        if known is not None and isinstance(code, str) and code not in known:
            run.add(
                ERROR,
                "unknown-code",
                f"{path}.code",
                f"{code!r} is not defined in the CodeSystem {system}",
            )

    def _expansion(self, url: str) -> _Expansion:
        url = url.split("|", 1)[0]
        exp = self._expansions.get(url)
        if exp is None:
            data = self._defs.expansions.get(url)
            if data is None:
                data = self._expand(url, frozenset())
            exp = self._expansions[url] = _Expansion.of(data)
            if "*" in exp.open:
                self.unchecked_value_sets.add(url)
        return exp

    def _expand(self, url: str, seen: frozenset[str]) -> dict[str, Any]:
        """Expand a ValueSet of the loaded package: concept lists and whole known CodeSystems."""
        vs = self._defs.value_sets.get(url)
        if vs is None or url in seen:
            return {"codes": {}, "open": ["*"]}
        codes: dict[str, set[str]] = {}
        open_systems: set[str] = set()
        for inc in vs.get("compose", {}).get("include", []):
            system = inc.get("system")
            if system and inc.get("concept"):
                codes.setdefault(system, set()).update(c["code"] for c in inc["concept"])
            elif system and system in self._defs.code_systems and not inc.get("filter"):
                codes.setdefault(system, set()).update(self._defs.code_systems[system])
            elif system:
                open_systems.add(system)
            for sub in inc.get("valueSet", []):
                data = self._defs.expansions.get(sub) or self._expand(sub, seen | {url})
                open_systems.update(data.get("open", ()))
                for s, cs in data.get("codes", {}).items():
                    codes.setdefault(s, set()).update(cs)
        for exc in vs.get("compose", {}).get("exclude", []):
            if exc.get("system") and exc.get("concept"):
                codes.get(exc["system"], set()).difference_update(c["code"] for c in exc["concept"])
        return {"codes": {s: sorted(c) for s, c in codes.items()}, "open": sorted(open_systems)}
