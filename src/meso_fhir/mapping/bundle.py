"""Transaction Bundles: conditional or id PUT entries, urn:uuid full URLs, references rewritten.

Pure: resources in, Bundle (dict) or its entries out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import quote

import orjson

from .identity import business_identifier, full_url

Resource = dict[str, Any]
WriteStrategy = Literal["conditional", "id"]
WRITE_STRATEGIES: tuple[WriteStrategy, ...] = ("conditional", "id")

_PLAIN = re.compile(r"[A-Za-z0-9:/._~-]*")

# R4 defines no `identifier` search parameter for these types (and Binary has no identifier at
# all), so no server can match a conditional write on the identifier: they are written by
# their deterministic id (PUT Type/<id>, an update that creates) whatever the strategy.
BY_ID_ONLY = frozenset({"AdverseEvent", "Provenance", "Binary"})


def _escape(text: str, safe: str) -> str:
    return text if _PLAIN.fullmatch(text) else quote(text, safe=safe)


@lru_cache(maxsize=256)
def _escaped_system(system: str) -> str:
    return _escape(system, ":/")  # a few systems, each in thousands of URLs


def conditional_url(resource: Resource) -> str:
    """``Type?identifier=system|value`` of the resource's first (business) identifier."""
    business = business_identifier(resource)
    return (
        f"{resource['resourceType']}?identifier="
        f"{_escaped_system(business['system'])}|{_escape(business['value'], '/')}"
    )


def _written(
    resource: Resource, strategy: WriteStrategy, create_only: bool
) -> tuple[Resource, dict[str, str]]:
    """What an entry sends of ``resource`` (references not yet resolved), and its request."""
    conditional = strategy == "conditional" and resource["resourceType"] not in BY_ID_ONLY
    body = resource
    if conditional or create_only:
        body = dict(resource)
        del body["id"]  # the server picks the id; some EHRs refuse client ids
    if create_only:
        condition = conditional_url(resource).partition("?")[2]
        return body, {"method": "POST", "url": resource["resourceType"], "ifNoneExist": condition}
    url = (
        conditional_url(resource) if conditional else f"{resource['resourceType']}/{resource['id']}"
    )
    return body, {"method": "PUT", "url": url}


def _full_url_of(resource: Resource) -> str:
    return full_url(f"{resource['resourceType']}/{resource['id']}")


def entry(
    resource: Resource,
    strategy: WriteStrategy = "conditional",
    resolve: Callable[[str], str | None] = full_url,
    create_only: bool = False,
) -> dict[str, Any]:
    """One transaction entry for ``resource``.

    ``resolve`` maps a ``Type/id`` reference to what the entry should say instead: its
    ``urn:uuid`` full URL when the target travels in the same Bundle (the default assumes it
    does), a server id when the target is already on the server, or None to leave it as is.
    ``create_only``: a conditional create on the first identifier (``POST`` with
    ``ifNoneExist``), whatever the strategy: the server creates the resource only when none has
    that identifier, and otherwise leaves the one it has as it is (a hospital's Patient).
    """
    body, request = _written(resource, strategy, create_only)
    return {
        "fullUrl": _full_url_of(resource),
        "resource": _rewritten(body, resolve),
        "request": request,
    }


# A Reference's ``reference`` in serialised JSON: the key is FHIR's name for it and appears
# nowhere else in the resources this package maps (narratives are escaped strings).
_REFERENCE_KEY = b'"reference":"'

# What a reference's text resolves to when it holds a JSON escape: the text cannot be trusted
# to say what the walk would see.
_ESCAPED: Any = object()


class TextResolver(dict[bytes, bytes | None]):
    """A reference as JSON text → what it resolves to as JSON text (None: left as it is),
    each answer remembered: a chunk's references are mostly to a few patients, visits and the
    clinic, and a hit is a lookup with no Python call (``__missing__`` runs on a miss)."""

    def __init__(self, resolve: Callable[[str], str | None]) -> None:
        super().__init__()
        self.resolve = resolve

    def __missing__(self, target: bytes) -> bytes | None:
        if len(self) >= 1 << 14:  # bounded: a whole export's full URLs pass through it
            self.clear()
        answer: bytes | None
        if b"\\" in target:
            answer = _ESCAPED
        elif not target or target.startswith((b"#", b"urn:")):
            answer = None
        else:
            found = self.resolve(target.decode())
            answer = None if found is None else orjson.dumps(found)[1:-1]
        self[target] = answer
        return answer


_to_full_urls = TextResolver(full_url)


def _serialised(body: Resource, resolved: TextResolver) -> bytes | None:
    """``_rewritten(body, ...)`` as JSON, its references resolved in the text; None where the
    text could disagree with the walk: a contained resource that refers to something (the walk
    leaves it alone), a reference holding a JSON escape.

    Walking every element of every resource in Python to find its references was a third of
    ``meso-fhir map`` and of what a sync spends building its transactions.
    """
    contained = body.get("contained")
    if contained is not None and _REFERENCE_KEY in orjson.dumps(contained):
        return None
    parts = orjson.dumps(body).split(_REFERENCE_KEY)
    for index in range(1, len(parts)):
        part = parts[index]
        end = part.index(b'"')
        answer = resolved[part[:end]]
        if answer is not None:
            if answer is _ESCAPED:
                return None
            parts[index] = answer + part[end:]
    return _REFERENCE_KEY.join(parts)


def _resource_json(
    body: Resource, resolve_text: TextResolver, resolve: Callable[[str], str | None]
) -> bytes:
    """``_rewritten(body, resolve)`` as JSON: resolved in the text, or by the walk where the
    text could disagree with it (``_serialised``)."""
    text = _serialised(body, resolve_text)
    return text if text is not None else orjson.dumps(_rewritten(body, resolve))


def entry_json(
    resource: Resource, strategy: WriteStrategy = "conditional", create_only: bool = False
) -> bytes:
    """``entry(resource, strategy, create_only=create_only)`` as orjson writes it, for a
    resource whose every reference target is in the same Bundle (a complete export)."""
    body, request = _written(resource, strategy, create_only)
    text = _resource_json(body, _to_full_urls, full_url)
    return b"".join(
        (
            b'{"fullUrl":"',
            _full_url_of(resource).encode(),
            b'","resource":',
            text,
            b',"request":',
            orjson.dumps(request),
            b"}",
        )
    )


def _rewritten(value: dict[str, Any], resolve: Callable[[str], str | None]) -> dict[str, Any]:
    """``value`` with every Reference in it resolved, wherever it sits (``subject``,
    ``encounter``, an extension of ``dosage.site``, ...); contained resources are left alone,
    their references point into the resource ('#...').

    Copy on write: what holds no resolved reference is ``value``'s own (sub)object, not a copy.
    Copying every element of every resource sent was most of the time spent building a
    transaction; neither the resources nor the bundles built from them are changed afterwards.
    """
    out: dict[str, Any] | None = None
    for key, item in value.items():
        if key == "contained":
            continue
        if isinstance(item, dict):
            new: Any = _rewritten(item, resolve)
        elif isinstance(item, list):
            new = item
            for index, element in enumerate(item):
                changed = _rewritten(element, resolve) if isinstance(element, dict) else element
                if changed is not element:
                    new = list(item) if new is item else new
                    new[index] = changed
        else:
            continue
        if new is not item:
            out = dict(value) if out is None else out
            out[key] = new
    target = value.get("reference")
    if isinstance(target, str) and target and not target.startswith(("#", "urn:")):
        resolved = resolve(target)
        if resolved is not None and resolved != target:
            out = dict(value) if out is None else out
            out["reference"] = resolved
    return value if out is None else out


def in_bundle_resolver(
    references: Iterable[str], elsewhere: Mapping[str, str] | None = None
) -> Callable[[str], str | None]:
    """Resolve to the full URL for targets among ``references``, else to ``elsewhere[target]``."""
    present = set(references)
    other = elsewhere or {}

    def resolve(target: str) -> str | None:
        if target in present:
            return full_url(target)
        return other.get(target)

    return resolve


def transaction(
    resources: Iterable[Resource],
    strategy: WriteStrategy = "conditional",
    elsewhere: Mapping[str, str] | None = None,
    create_only: Collection[str] = (),
    *,
    serialised: bool = False,
) -> dict[str, Any]:
    """A transaction Bundle of ``resources``; references to others resolve via ``elsewhere``.

    Resources whose ``Type/id`` is in ``create_only`` are conditional creates (see ``entry``).
    ``serialised``: each entry's ``resource`` is its JSON text already (an ``orjson.Fragment``,
    which ``orjson.dumps`` writes as it is): the form to send, built without walking it.
    """
    items = list(resources)
    refs = [f"{r['resourceType']}/{r['id']}" for r in items]
    resolve = in_bundle_resolver(refs, elsewhere)
    if not serialised:
        entries = [
            entry(r, strategy, resolve, ref in create_only)
            for r, ref in zip(items, refs, strict=True)
        ]
    else:
        resolve_text = TextResolver(resolve)
        entries = []
        for r, ref in zip(items, refs, strict=True):
            body, request = _written(r, strategy, ref in create_only)
            text = _resource_json(body, resolve_text, resolve)
            entries.append(
                {"fullUrl": full_url(ref), "resource": orjson.Fragment(text), "request": request}
            )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}
