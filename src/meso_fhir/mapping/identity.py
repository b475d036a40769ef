"""Identity: business identifiers, deterministic resource ids and urn:uuid full URLs.

Every resource the mapper emits is known by one business identifier (system, value) derived
from the clinic record it comes from; everything else is derived from that pair, so the same
record always yields the same id and the same full URL, on any machine, in any run.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

# uuid5 namespace for urn:uuid full URLs (uuid5 of the URL namespace and the project URL).
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://meso-fhir.org/fhir")

# Each kind of record has its own identifier system under the clinic base. The Patient carries
# two identifiers: the EHR's MRN (what conditional writes match on) and the clinic's patient id
# (what the other records refer to, and what its deterministic id is derived from).
IDENTIFIER_KINDS = ("patient", "screening", "course", "session", "injection", "observation")


# The hospital owns its patients. create-if-missing (the default) creates a Patient only when
# the EHR has none with the MRN and otherwise refers to the EHR's as it is; must-exist never
# creates one; replace overwrites the EHR's Patient with the clinic's (a conditional update
# replaces the whole resource: the EHR's addresses, other identifiers and links are lost).
PatientPolicy = Literal["create-if-missing", "must-exist", "replace"]
PATIENT_POLICIES: tuple[PatientPolicy, ...] = ("create-if-missing", "must-exist", "replace")


def identifiers(resource: dict[str, Any]) -> Sequence[dict[str, str]]:
    """A resource's identifiers as a sequence: R4's AdverseEvent has one ``identifier``, not a
    list. The resource's own list, not a copy (it is asked for every resource written)."""
    found = resource.get("identifier") or ()
    return (found,) if isinstance(found, dict) else found


def id_of_identity(system: str, value: str) -> str:
    """The deterministic id of the resource known by ``system|value`` (its identity
    identifier). A resource with no identifier element (R4's Binary) is known by its id alone,
    as ``|<id>``: the system is empty."""
    return resource_id(system, value) if system else value


def business_identifier(resource: dict[str, Any]) -> dict[str, str]:
    """The identifier conditional writes match on: the first (a Patient's MRN)."""
    return identifiers(resource)[0]


@dataclass(frozen=True)
class ClinicConfig:
    """Per-clinic settings of identity and time (configurable per deployment).

    ``mrn_system`` is the EHR's MRN identifier system (the hospital tells you); every other
    identifier system is ``<identifier_base>/<kind>``; product codes of the clinic's own
    cocktails use ``<identifier_base>/product``. ``timezone`` applies to times given without
    a UTC offset. The clinic itself is the Organization identified by ``identifier_base``
    (system ``urn:ietf:rfc:3986``), named ``clinic_name``.

    Both URIs are normalised (``normalised_uri``) before anything uses or hashes them, so that
    ``https://Clinic.example.org/ids/`` and ``https://clinic.example.org/ids`` are one clinic,
    not two sets of identifiers on the server.
    """

    mrn_system: str = "https://hospital.example.org/fhir/sid/mrn"
    identifier_base: str = "https://clinic.example.org/fhir/sid"
    timezone: str = "UTC"
    # The clinic's Organization.name. Not an identity setting: changing it rewrites the
    # Organization, nothing else.
    clinic_name: str | None = None
    systems: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "mrn_system", normalised_uri(self.mrn_system))
        base = normalised_uri(self.identifier_base).rstrip("/")
        object.__setattr__(self, "identifier_base", base)
        systems = {kind: f"{base}/{kind}" for kind in IDENTIFIER_KINDS}
        systems.update(
            product=f"{base}/product",
            practitioner=f"{base}/practitioner",
            # the clinic is the one Organization known by the identifier base, a URI
            clinic="urn:ietf:rfc:3986",
            # one visit per screening and per session: values 'screening/<id>', 'session/<id>'
            encounter=f"{base}/encounter",
        )
        object.__setattr__(self, "systems", systems)

    def system(self, kind: str) -> str:
        return self.systems[kind]

    def identity(self) -> dict[str, str]:
        """The settings that decide every identifier: what a ledger is bound to."""
        return {"mrn_system": self.mrn_system, "identifier_base": self.identifier_base}


def normalised_uri(uri: str) -> str:
    """A URI as one spelling: surrounding white space gone, scheme and host in lower case.

    The path is kept as it is (``.../mrn`` and ``.../mrn/`` are two systems to an EHR), except
    for the identifier base, whose trailing ``/`` ClinicConfig drops since it appends to it.
    """
    text = uri.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"


@lru_cache(maxsize=64)
def _hashed_system(system: str) -> hashlib._Hash:
    """SHA-256 having read ``system|``: each id hashes only its value on a copy of it (a map
    hashes a few systems hundreds of thousands of times)."""
    return hashlib.sha256(f"{system}|".encode())


@lru_cache(maxsize=1 << 14)  # a patient's, a visit's, the clinic's: referred to again and again
def resource_id(system: str, value: str) -> str:
    """A deterministic logical id: 'mf-' + 40 hex digits of SHA-256 of 'system|value'.

    HAPI refuses all-digit client ids and FHIR caps ids at 64 characters of [A-Za-z0-9-.].
    """
    sha = _hashed_system(system).copy()
    sha.update(value.encode())
    return "mf-" + sha.hexdigest()[:40]


# SHA-1 having read the namespace's 16 bytes, the start of every full URL's name (uuid5).
_NAMESPACE_SHA1 = hashlib.sha1(_NAMESPACE.bytes)


@lru_cache(maxsize=1 << 16)
def full_url(reference: str) -> str:
    """The urn:uuid full URL of the resource ``Type/id`` inside a transaction Bundle.

    Derived from the deterministic id (itself derived from the business identifier), so a
    bundle builder can turn any ``Type/id`` reference into the target's full URL without
    knowing the target.
    """
    # uuid.uuid5 by hand (same bytes, RFC 4122 §4.3): the stdlib's object construction was a
    # third of the mapping time of a large export. A test checks both agree.
    sha = _NAMESPACE_SHA1.copy()
    sha.update(reference.encode())
    digest = bytearray(sha.digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def identifier_token(system: str, value: str) -> str:
    """``system|value`` for a token search, with FHIR's search escapes (``\\``, ``|``, ``,``,
    ``$``) applied; URL encoding is left to httpx."""

    def escape(text: str) -> str:
        for char in ("\\", "|", ",", "$"):
            text = text.replace(char, "\\" + char)
        return text

    return f"{escape(system)}|{escape(value)}"
