"""Offline validation of FHIR R4 resources and Bundles: base R4 and the project's profiles.

Every problem comes back as an ``Issue`` (resource, bundle entry, element path, rule, severity,
message); nothing raises on bad content. No network, no Node: the definitions are package data
(``meso_fhir/data/r4-core.json``, ``meso_fhir/data/meso-package.json``), written by
``scripts/build_validation_data.py``.

Public names: ``Validator`` (``Validator.load()``: the packaged definitions), ``Issue`` and the
severities ``ERROR``, ``WARNING``, ``INFORMATION``.

Modules, from the outside in
----------------------------
``files``        a file as ``meso-fhir validate`` reads it: a Bundle streamed (ijson), its entries
                 in this process or in worker processes.
``validator``    ``Validator``: builds the checkers below, validates resources and Bundles (a
                 Bundle entry by entry).
``bundles``      what a Bundle's validation keeps between entries: the index of the entries'
                 resource types, stand-ins of the entries for the Bundle's invariants.
``issues``       ``Issue``, the severities, the state of one resource's validation.
``definitions``  the conformance resources known, and reading the packaged ones.
``snapshots``    StructureDefinition snapshots compiled into element trees (profiles: only what
                 differs from base R4).
``structure``    the walk of a resource against those trees: cardinality, JSON kinds, empties,
                 fixed values, patterns, types, slices, extensions, references.
``matching``     fixed-value and pattern comparison; slice discriminators.
``bindings``     required bindings and the codes of known CodeSystems (ValueSet expansion).
``invariants``   which invariants are checked and how: natively, by ``fhirpath``, by fhirpathpy.
``fhirpath``     the fast FHIRPath subset evaluator (tables of functions and operators).
``r4b``          the one module that imports fhir.resources (R4B models and primitive types), and
                 its errors as issues.

Who checks what
---------------
``fhir.resources`` R4B (``r4b``), source ``fhir.resources``:
    primitive formats (spec regexes; impossible calendar dates such as ``2023-02-30``; integer
    ranges), by its own validators called on each primitive value (verdicts cached by type and
    value). Its models validate whole resources only where the walker has no definitions (a
    resource type without a packaged snapshot) or meets JSON it does not model (primitive
    extensions ``_x``, ``fhir_comments``, a contained resource of such a type); they used to
    validate every resource (60 % of the time). ``Validator(..., fhir_resources=True)`` still
    does, and the tests check that both report the same (no check lost; pydantic's second report
    of one problem, such as ``.root`` paths, is gone).
The element walker (``structure``), source ``meso-fhir``, driven by StructureDefinition snapshots:
    unknown elements (``unknown element x``, as fhir.resources said it; ``resourceType``
    inside a datatype too), JSON shapes, a datatype value found clean checked once (a bounded
    memo: codes, units and profiles repeat across resources);
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
    the core ones (obs-6, obs-7, qty-3, per-1, bdl-*, ...), most through the fast subset
    (``fhirpath``). ``ext-1``, ``ref-1``, ``dom-3``, ``bdl-5`` and ``bdl-8`` are checked natively
    (same rule, much faster), ``ele-1`` by the walker; the best-practice invariant dom-6 is not
    checked. An invariant that evaluates to an empty collection counts as satisfied.

pyfhircheck is not used: measured on the project's profiles it validates ~200 resources/s,
prints FHIRPath ``trace()`` output to stdout, reports profile paths without array indices and
each cardinality failure three times, and misses ``value[x]`` type restrictions and reference
targets of profiles.

Issues are deduplicated on (bundle entry, path, rule). Messages never echo a resource's string
values except codes and URLs (dates and names are patient data).
"""

from __future__ import annotations

from .issues import ERROR, INFORMATION, WARNING, Issue
from .validator import Validator

__all__ = ["ERROR", "INFORMATION", "WARNING", "Issue", "Validator"]
