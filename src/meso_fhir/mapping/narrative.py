"""The generated narrative (``Resource.text``) of every mapped resource.

An EHR shows the narrative where it cannot render the structured data, and the HL7 validator
warns on a resource without one (dom-6). It is a short summary in XHTML built only from the
resource's own elements, so it says nothing the resource does not (``status: generated``).
Every value is escaped: a clinic's free text never becomes markup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from html import escape
from typing import Any

Resource = dict[str, Any]

_XHTML = "http://www.w3.org/1999/xhtml"

_EMPTY_DIV = f'<div xmlns="{_XHTML}"></div>'

# A resource's ``text`` before its narrative is written: not JSON, so a resource left with it
# cannot be serialised by mistake.
TEXT_SLOT: Any = object()


def with_narrative(resource: Resource) -> Resource:
    """``resource`` with ``text`` after its ``id`` and ``meta`` (where a reader looks for it).

    A Binary is returned as it is: it is no DomainResource, and has no ``text``.
    """
    if resource["resourceType"] in _NO_TEXT:
        return resource
    lines = [line for line in _SUMMARY[resource["resourceType"]](resource) if line]
    joined = "".join(lines)
    if "&" not in joined and "<" not in joined and ">" not in joined:  # the usual case
        paragraphs = "</p><p>".join(lines)
    else:
        paragraphs = "</p><p>".join(escape(line, quote=False) for line in lines)
    div = f'<div xmlns="{_XHTML}"><p>{paragraphs}</p></div>' if lines else _EMPTY_DIV
    text = {"status": "generated", "div": div}
    if resource.get("text") is TEXT_SLOT:  # built with its place kept (resources._start)
        resource["text"] = text
        return resource
    ordered: Resource = {}
    for key, value in resource.items():
        if key == "text":
            continue
        ordered[key] = value
        if key == "meta" or (key == "id" and "meta" not in resource):
            ordered["text"] = text
    if "text" not in ordered:
        ordered = {"text": text, **ordered}
    return ordered


def _display(concept: dict[str, Any] | None) -> str:
    """What a person reads of a CodeableConcept: its text, else its first coding's display."""
    if not concept:
        return ""
    if concept.get("text"):
        return str(concept["text"])
    for coding in concept.get("coding", []):
        if coding.get("display"):
            return str(coding["display"])
    return ""


def _displays(concepts: Iterable[dict[str, Any]] | None) -> str:
    return ", ".join(d for d in (_display(c) for c in concepts or []) if d)


def _quantity(q: dict[str, Any] | None) -> str:
    if not q or "value" not in q:
        return ""
    return f"{q['value']:g} {q.get('unit') or q.get('code') or ''}".strip()


def _value(resource: Resource) -> str:
    if "valueQuantity" in resource:
        return _quantity(resource["valueQuantity"])
    if "valueCodeableConcept" in resource:
        return _display(resource["valueCodeableConcept"])
    if "valueInteger" in resource:
        return str(resource["valueInteger"])
    return ""


def _status(resource: Resource) -> str:
    return f"Status: {resource['status']}" if resource.get("status") else ""


def _patient(r: Resource) -> list[str]:
    names = [
        " ".join([*n.get("given", []), n.get("family", "")]).strip() for n in r.get("name", [])
    ]
    born = f"born {r['birthDate']}" if r.get("birthDate") else ""
    who = ", ".join(x for x in (r.get("gender", ""), born) if x)
    mrn = [i["value"] for i in r.get("identifier", []) if i.get("value")]
    return [
        f"Patient: {'; '.join(n for n in names if n)}",
        who,
        f"Identifier: {mrn[0]}" if mrn else "",
    ]


def _observation(r: Resource) -> list[str]:
    code = _display(r.get("code"))
    value = _value(r)
    if not value and "component" in r:  # a panel (blood pressure): its parts
        value = "; ".join(
            f"{_display(c.get('code'))} {_quantity(c.get('valueQuantity'))}".strip()
            for c in r["component"]
        )
    site = _display(r.get("bodySite"))
    when = r.get("effectiveDateTime")
    return [
        f"{code}: {value}" if value else code,
        f"Site: {site}" if site else "",
        f"When: {when}" if when else "",
        _status(r),
    ]


def _procedure(r: Resource) -> list[str]:
    return [
        _display(r.get("code")),
        f"Sites: {_displays(r.get('bodySite'))}" if r.get("bodySite") else "",
        f"Performed: {r['performedDateTime']}" if r.get("performedDateTime") else "",
        f"Complications: {_displays(r.get('complication'))}" if r.get("complication") else "",
        _status(r),
    ]


def _medication_administration(r: Resource) -> list[str]:
    dosage = r.get("dosage", {})
    dose, route, site = dosage.get("dose"), dosage.get("route"), dosage.get("site")
    when = r.get("effectiveDateTime")
    return [
        f"Administered: {_display(r['contained'][0].get('code'))}",  # the product
        f"Dose: {_quantity(dose)}" if dose else "",
        f"Route: {_display(route)}" if route else "",
        f"Site: {_display(site)}" if site else "",
        f"When: {when}" if when else "",
        _status(r),
    ]


def _medication_statement(r: Resource) -> list[str]:
    return [f"Medication: {_display(r.get('medicationCodeableConcept'))}", _status(r)]


def _care_plan(r: Resource) -> list[str]:
    start = r.get("period", {}).get("start")
    return [r.get("title", "Care plan"), f"From: {start}" if start else "", _status(r)]


def _encounter(r: Resource) -> list[str]:
    start = r.get("period", {}).get("start")
    who = [p["individual"].get("display", "") for p in r.get("participant", [])]
    return [
        _displays(r.get("type")) or "Visit",
        f"Start: {start}" if start else "",
        f"With: {', '.join(w for w in who if w)}" if any(who) else "",
        f"At: {r['serviceProvider']['display']}"
        if "display" in r.get("serviceProvider", {})
        else "",
        _status(r),
    ]


def _organization(r: Resource) -> list[str]:
    return [r.get("name", "Clinic"), _displays(r.get("type"))]


def _practitioner(r: Resource) -> list[str]:
    names = ", ".join(n["text"] for n in r.get("name", []) if n.get("text"))
    qualifications = _displays(q["code"] for q in r.get("qualification", []))
    return [names or "Practitioner", qualifications]


def _body_structure(r: Resource) -> list[str]:
    side = _displays(r.get("locationQualifier"))
    return [f"Site: {_display(r.get('location'))}", f"Side: {side}" if side else ""]


def _verification(r: Resource) -> str:
    verification = _display(r.get("verificationStatus"))
    clinical = _display(r.get("clinicalStatus"))
    return ", ".join(x for x in (clinical, verification) if x)


def _condition(r: Resource) -> list[str]:
    when = r.get("onsetDateTime") or r.get("recordedDate")
    return [
        f"Condition: {_display(r.get('code'))}",
        f"Category: {_displays(r.get('category'))}" if r.get("category") else "",
        f"Since: {when}" if r.get("onsetDateTime") else f"Recorded: {when}" if when else "",
        f"Status: {_verification(r)}" if _verification(r) else "",
    ]


def _allergy_intolerance(r: Resource) -> list[str]:
    manifestations = [_displays(x.get("manifestation")) for x in r.get("reaction", [])]
    return [
        f"Allergy or intolerance: {_display(r.get('code'))}",
        f"Reaction: {'; '.join(m for m in manifestations if m)}" if any(manifestations) else "",
        f"Criticality: {r['criticality']}" if r.get("criticality") else "",
        f"Recorded: {r['recordedDate']}" if r.get("recordedDate") else "",
        f"Status: {_verification(r)}" if _verification(r) else "",
    ]


def _adverse_event(r: Resource) -> list[str]:
    return [
        f"Adverse event: {_display(r.get('event'))}",
        f"When: {r['date']}" if r.get("date") else "",
        f"Seriousness: {_display(r.get('seriousness'))}" if r.get("seriousness") else "",
        f"Severity: {_display(r.get('severity'))}" if r.get("severity") else "",
        f"Outcome: {_display(r.get('outcome'))}" if r.get("outcome") else "",
    ]


def _provenance(r: Resource) -> list[str]:
    who = [a.get("who", {}).get("display", "") for a in r.get("agent", [])]
    return [
        f"Provenance: {_display(r.get('activity'))} by {', '.join(w for w in who if w)}",
        f"Recorded: {r['recorded']}" if r.get("recorded") else "",
        f"{len(r.get('target', []))} resource(s) from {len(r.get('entity', []))} clinic record(s)",
    ]


def _consent(r: Resource) -> list[str]:
    provision = r.get("provision", {})
    denied = [
        _displays(p.get("action")) for p in provision.get("provision", []) if p["type"] == "deny"
    ]
    return [
        f"Consent: {_display(r.get('scope'))}",
        f"Given: {r['dateTime']}" if r.get("dateTime") else "",
        f"Permits: {_displays(provision.get('action'))}" if provision.get("action") else "",
        f"Denies: {', '.join(denied)}" if denied else "",
        f"Form: {r['policy'][0]['uri']}" if r.get("policy") else "",
        _status(r),
    ]


def _media(r: Resource) -> list[str]:
    content = r.get("content", {})
    size = content.get("size")
    return [
        f"Photograph: {_display(r.get('view')) or _display(r.get('type'))}",
        f"Site: {_display(r.get('bodySite'))}" if r.get("bodySite") else "",
        f"Taken: {r['createdDateTime']}" if r.get("createdDateTime") else "",
        f"{content['contentType']}, {size} bytes" if content.get("contentType") and size else "",
        _status(r),
    ]


# Resources that are not DomainResources: no narrative.
_NO_TEXT = frozenset({"Binary"})

_SUMMARY: dict[str, Callable[[Resource], list[str]]] = {
    "Organization": _organization,
    "Practitioner": _practitioner,
    "Consent": _consent,
    "Media": _media,
    "Provenance": _provenance,
    "Condition": _condition,
    "AllergyIntolerance": _allergy_intolerance,
    "AdverseEvent": _adverse_event,
    "Patient": _patient,
    "Observation": _observation,
    "Procedure": _procedure,
    "MedicationAdministration": _medication_administration,
    "MedicationStatement": _medication_statement,
    "CarePlan": _care_plan,
    "Encounter": _encounter,
    "BodyStructure": _body_structure,
}
