"""Access tokens for a FHIR server: SMART Backend Services, and OAuth client secrets.

Hospital FHIR APIs (Epic, Oracle Health, Medplum, most SMART servers) authorise a backend job
with the OAuth 2.0 ``client_credentials`` grant. ``SmartBackendAuth`` authenticates the client
as SMART Backend Services specifies (``client-confidential-asymmetric``: a one-time JWT signed
with the client's private key, RS384 or ES384, sent as a ``private_key_jwt`` client assertion);
``ClientSecretAuth`` with a client secret (``client_secret_basic`` or ``client_secret_post``).
Both are ``httpx.Auth`` flows: ``FhirClient(base_url, auth=SmartBackendAuth(...))``.

- The token endpoint is ``token_url`` when given, else discovered from the FHIR base:
  ``[base]/.well-known/smart-configuration`` (``token_endpoint``), falling back to the
  CapabilityStatement (``rest.security`` extension ``oauth-uris``, sub-extension ``token``).
  The base is ``fhir_base_url``, or the URL of the first request when that is
  ``GET [base]/metadata`` (as ``FhirClient.capabilities()`` and a sync's preflight are).
- The access token is kept and reused until ``RENEW_BEFORE`` seconds (at most half its life)
  before ``expires_in`` runs out, then renewed before the next request. A 401 from the FHIR
  server renews it once more and sends the request again, once (a 401 on an unchanged request
  means the server did not process it); a second 401 is the FHIR server's answer, which
  ``FhirClient`` raises as ``AuthenticationFailed``.
- A refused token request (``invalid_client``, ``invalid_scope``...) is ``AuthenticationFailed``
  with the OAuth ``error`` and ``error_description`` (scrubbed and cut short) and a hint on what
  to check. 408/429/5xx from the token endpoint is ``TokenEndpointUnavailable``, a kind of
  ``httpx.ConnectError`` so that ``FhirClient`` retries it like any failure that sent nothing
  to the FHIR server.
- The private key, the client secret, every assertion and every access token stay out of
  logs (logger ``meso_fhir.auth``), reprs and error messages.
- Clocks: an assertion is valid from ``clock_skew`` seconds before this machine's time (its
  ``iat``) for ``assertion_lifetime`` seconds (``exp``: at most five minutes ahead, as SMART
  requires), so a token server whose clock is up to ``clock_skew`` behind this one, or up to
  ``assertion_lifetime - clock_skew`` ahead, still accepts it. A refusal where the token
  server's ``Date`` shows a larger difference says so.

Token and discovery requests go through the ``httpx.Client`` that runs the flow (the
``FhirClient``'s: its transport, proxies and TLS settings; so it works with a synchronous client
only). A connection error or timeout on them reaches ``FhirClient`` as one of its own request's,
and is retried as such. Token endpoints must use https, except on a loopback address (tests).

JWTs are signed by PyJWT (with ``cryptography``): typed, the most used JOSE library for Python,
and all this needs; the OAuth exchange itself is two form fields and a JSON answer.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import AsyncGenerator, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote_plus

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pydantic import SecretStr

from ..errors import AuthenticationFailed
from .client import FHIR_JSON, RETRY_STATUSES
from .redact import Redactor, cap

__all__ = [
    "DEFAULT_SCOPES",
    "ClientSecretAuth",
    "SmartBackendAuth",
    "TokenEndpointUnavailable",
]

logger = logging.getLogger("meso_fhir.auth")

# SMART v2 scopes for what a sync does: conditional creates and updates (c, u, and s for the
# condition), reading back (r), on each resource type meso-fhir writes, and deleting (d) the
# resources a changed record no longer produces; never d on Patient, Organization (the clinic)
# and Practitioner, which are never deleted.
# (SMART App Launch 2.x, "Scopes and Launch Context": system/ scopes for backend services,
# suffixes an in-order subset of .cruds; a v1-only server wants system/Patient.read
# system/Patient.write.)
DEFAULT_SCOPES: tuple[str, ...] = (
    "system/Patient.crus",
    "system/Organization.crus",
    "system/Practitioner.crus",
    *(
        f"system/{resource_type}.cruds"
        for resource_type in (
            "Encounter",
            "BodyStructure",
            "CarePlan",
            "Procedure",
            "MedicationAdministration",
            "MedicationStatement",
            "Observation",
            "Condition",
            "AllergyIntolerance",
            "AdverseEvent",
            "Consent",
            "Media",
            "Binary",
        )
    ),
    "system/Provenance.c",  # one per transaction (--no-provenance: not needed)
)
RENEW_BEFORE = 30.0  # seconds before expiry a token is renewed
DEFAULT_EXPIRES_IN = 300.0  # when a token response has no expires_in (SMART's recommendation)
MAX_ASSERTION_LIFETIME = 300.0  # SMART: exp "no more than five minutes in the future"
_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
_MAX_BODY = 10 * 1024 * 1024  # a token answer, a discovery document or a CapabilityStatement
_LOOPBACK_NAMES = frozenset({"localhost", "localhost."})

SigningAlgorithm = Literal["RS384", "ES384"]
SecretMethod = Literal["client_secret_basic", "client_secret_post"]
KeySource = str | os.PathLike[str] | bytes | Mapping[str, Any]
_PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
Flow = Generator[httpx.Request, httpx.Response, None]


class TokenEndpointUnavailable(httpx.ConnectError):
    """The token endpoint answered 408, 429 or 5xx: temporary, and the FHIR request was not
    sent, so ``FhirClient`` retries it as it retries a connection that could not be made."""


# -- checks -------------------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _token_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a token endpoint, or None."""
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return "is not an absolute http(s) URL"
    if parsed.username or parsed.password:
        return "holds credentials"
    if parsed.scheme == "http" and not _is_loopback(parsed.host):
        return "is not https (credentials are sent to it)"
    return None


def _checked_token_url(url: str) -> str:
    problem = _token_url_problem(url)
    if problem:
        raise ValueError(f"token_url {problem}")
    return url


def _checked_text(name: str, value: str) -> str:
    # Sent in a JWT and a form (RFC 6749's VSCHAR: printable, spaces too); a control
    # character would make httpx raise an error quoting the header it is in.
    if not value.strip() or value != value.strip() or not value.isprintable():
        raise ValueError(f"{name} is empty, or holds control characters or outer spaces")
    return value


def _checked_scopes(scopes: str | Sequence[str]) -> tuple[str, ...]:
    found = tuple(scopes.split() if isinstance(scopes, str) else scopes)
    for scope in found:
        # RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
        if not scope or any(not ("!" <= c <= "~") or c in '"\\' for c in scope):
            raise ValueError(f"not an OAuth scope: {scope!r}")
    return found


# -- keys ---------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class _SigningKey:
    key: _PrivateKey
    algorithm: SigningAlgorithm
    kid: str


def _signing_key(key: object, kid: str, where: str) -> _SigningKey:
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise ValueError(f"{where}: RSA key of {key.key_size} bits; at least 2048 are needed")
        return _SigningKey(key, "RS384", kid)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name != "secp384r1":
            raise ValueError(f"{where}: EC key on {key.curve.name}; ES384 needs P-384 (secp384r1)")
        return _SigningKey(key, "ES384", kid)
    if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise ValueError(
            f"{where} holds a public key: the private key is needed "
            "(the public key is what the server registers)"
        )
    raise ValueError(f"{where}: not an RSA or EC private key (SMART signs with RS384 or ES384)")


def _from_pem(data: bytes, kid: str | None, where: str) -> _SigningKey:
    if b"PRIVATE KEY-----" not in data:
        kind = "a public key" if b"PUBLIC KEY-----" in data else "no private key"
        raise ValueError(f"{where} holds {kind}: a PEM private key is needed")
    try:
        key = load_pem_private_key(data, password=None)
    except TypeError as exc:  # cryptography: a password is needed
        raise ValueError(f"{where} is encrypted: give an unencrypted key (openssl pkey)") from exc
    except ValueError as exc:
        raise ValueError(f"{where} is not a PEM private key that can be read") from exc
    if kid is None:
        raise ValueError(f"{where} is a PEM key, which has no key id: give kid (as registered)")
    return _signing_key(key, kid, where)


def _from_jwk(jwk: Mapping[str, Any], kid: str | None, where: str) -> _SigningKey:
    if "keys" in jwk:
        keys = [k for k in jwk["keys"] if isinstance(k, Mapping) and "d" in k]
        if kid is not None:
            keys = [k for k in keys if k.get("kid") == kid]
        if len(keys) != 1:
            which = f"with kid {kid!r}" if kid is not None else "(give kid to choose one)"
            raise ValueError(f"{where}: a JWK Set with {len(keys)} private keys {which}")
        jwk = keys[0]
    if "d" not in jwk:
        raise ValueError(f"{where} holds a public JWK: the private key (with 'd') is needed")
    found = jwk.get("kid")
    if kid is not None and found is not None and found != kid:
        raise ValueError(f"{where}: its kid is {found!r}, not {kid!r}")
    kid = kid or found
    if not isinstance(kid, str) or not kid:
        raise ValueError(f"{where}: the JWK has no kid: give kid (as registered)")
    try:
        key = jwt.PyJWK(dict(jwk)).key
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"{where} is not a JWK that can be read") from exc
    signing = _signing_key(key, kid, where)
    if jwk.get("alg") not in (None, signing.algorithm):
        raise ValueError(
            f"{where} is marked for {jwk.get('alg')}; this key signs {signing.algorithm}"
        )
    return signing


def _load_key(source: KeySource, kid: str | None) -> _SigningKey:
    """The private key of a PEM or JWK/JWKS file, of PEM bytes, or of a JWK/JWKS mapping."""
    if isinstance(source, Mapping):
        return _from_jwk(source, kid, "the key")
    if isinstance(source, bytes):
        data, where = source, "the key"
    else:
        if isinstance(source, str) and ("-----BEGIN" in source or source.lstrip().startswith("{")):
            # Never quote it: an OSError would show the "path", i.e. the key.
            raise ValueError("key: a str is a file path; pass key material as bytes or a dict")
        path = Path(source)
        where = f"key file {path.name}"
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ValueError(f"cannot read {where}: {exc.strerror}") from exc
    text = data.strip()
    if text.startswith(b"{"):
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"{where} is not valid JSON (a JWK or JWK Set)") from exc
        if not isinstance(document, Mapping):
            raise ValueError(f"{where} is not a JWK or a JWK Set")
        return _from_jwk(document, kid, where)
    if text.startswith(b"-----BEGIN"):
        return _from_pem(text, kid, where)
    raise ValueError(f"{where} is neither PEM nor a JWK or JWK Set (JSON)")


# -- the token exchange -------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class _Token:
    value: str
    renew_at: float  # on the monotonic clock


def _read(response: httpx.Response) -> Any:
    """A small JSON answer, parsed; None if it is not JSON (or too long to be what we want)."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > _MAX_BODY:
        response.close()
        return None
    try:
        return json.loads(response.read())
    except ValueError:
        return None


def _capability_token_url(statement: Any) -> str | None:
    """``rest[].security.extension[oauth-uris].extension[token].valueUri`` of a
    CapabilityStatement."""
    if not isinstance(statement, dict):
        return None
    for rest in statement.get("rest") or []:
        security = rest.get("security") if isinstance(rest, dict) else None
        for ext in (security or {}).get("extension") or []:
            if not isinstance(ext, dict) or ext.get("url") != _OAUTH_URIS:
                continue
            for sub in ext.get("extension") or []:
                if isinstance(sub, dict) and sub.get("url") == "token":
                    uri = sub.get("valueUri")
                    return uri if isinstance(uri, str) else None
    return None


def _seconds(value: Any) -> float | None:
    """``expires_in`` as a positive number of seconds (some servers send it as a string)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        return None
    return float(value)


def _unusable(response: httpx.Response, problem: str) -> AuthenticationFailed:
    return AuthenticationFailed(
        f"the token endpoint's answer has {problem}",
        status=response.status_code,
        method="POST",
        path=response.request.url.path,
    )


def _temporary(response: httpx.Response, what: str) -> TokenEndpointUnavailable:
    return TokenEndpointUnavailable(
        f"{what} answered {response.status_code}", request=response.request
    )


class _ClientCredentials(httpx.Auth):
    """The ``client_credentials`` grant; subclasses say how the client authenticates."""

    method: str  # the OAuth token_endpoint_auth_method

    def __init__(
        self,
        client_id: str,
        *,
        token_url: str | None,
        fhir_base_url: str | None,
        scopes: str | Sequence[str],
        clock: Callable[[], float],
    ) -> None:
        self.client_id = _checked_text("client_id", client_id)
        self.scopes = _checked_scopes(scopes)
        self._token_url = _checked_token_url(token_url) if token_url else None
        self._base = fhir_base_url.rstrip("/") if fhir_base_url else None
        self._clock = clock
        self._lock = threading.Lock()
        self._token: _Token | None = None

    @property
    def token_url(self) -> str | None:
        """The token endpoint: given, or once discovered."""
        return self._token_url

    # -- what subclasses provide ----------------------------------------------------------------

    def _credentials(self, token_url: str) -> tuple[dict[str, str], dict[str, str]]:
        """Form fields and headers that authenticate the client to ``token_url``."""
        raise NotImplementedError

    def _secrets(self) -> set[str]:
        """What must never show: scrubbed from the token endpoint's words."""
        raise NotImplementedError

    def _invalid_client_hint(self, response: httpx.Response) -> str:
        raise NotImplementedError

    # -- the flow -------------------------------------------------------------------------------

    def sync_auth_flow(self, request: httpx.Request) -> Flow:
        token = yield from self._valid_token(request, refused=None)
        request.headers["Authorization"] = f"Bearer {token.value}"
        response = yield request
        if response.status_code != 401:
            return
        logger.info(
            "%s %s: 401 with the access token; renewing it once", request.method, request.url.path
        )
        token = yield from self._valid_token(request, refused=token)
        request.headers["Authorization"] = f"Bearer {token.value}"
        yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        raise RuntimeError(f"{type(self).__name__} works with httpx.Client (FhirClient) only")
        yield request  # pragma: no cover (makes this an async generator)

    def _valid_token(
        self, request: httpx.Request, refused: _Token | None
    ) -> Generator[httpx.Request, httpx.Response, _Token]:
        # One thread fetches while the others wait for its token (FhirClient's concurrency).
        with self._lock:
            token = self._token
            if token is None or token is refused or self._clock() >= token.renew_at:
                token = yield from self._fetch(request)
                self._token = token
            return token

    def _fetch(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, _Token]:
        if self._token_url is None:
            self._token_url = yield from self._discover(request)
        token_url = self._token_url
        fields, headers = self._credentials(token_url)
        form = {"grant_type": "client_credentials", **fields}
        if self.scopes:
            form["scope"] = " ".join(self.scopes)
        started = self._clock()
        response = yield httpx.Request(
            "POST", token_url, data=form, headers={"Accept": "application/json", **headers}
        )
        body = _read(response)
        if response.status_code in RETRY_STATUSES:
            raise _temporary(response, "the token endpoint")
        if response.status_code != 200:
            raise self._refused(response, body)
        return self._token_from(response, body, started)

    def _token_from(self, response: httpx.Response, body: Any, started: float) -> _Token:
        fields = body if isinstance(body, dict) else {}
        value = fields.get("access_token")
        token_type = fields.get("token_type")
        lifetime = _seconds(fields.get("expires_in", DEFAULT_EXPIRES_IN))
        if not isinstance(value, str) or not value or " " in value or not value.isprintable():
            raise _unusable(response, "no usable access_token")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            shown = cap(Redactor(lambda: {value})(str(token_type)), 40)
            raise _unusable(response, f"token_type {shown!r}, not bearer")
        if lifetime is None:
            raise _unusable(response, "no positive expires_in")
        scope = fields.get("scope")
        logger.info(
            "access token for client %r from %s: valid %.0fs, scope %s",
            self.client_id,
            response.request.url.host,
            lifetime,
            cap(scope, 200) if isinstance(scope, str) else "(not stated)",
        )
        return _Token(str(value), started + lifetime - min(RENEW_BEFORE, lifetime / 2))

    def _refused(self, response: httpx.Response, body: Any) -> AuthenticationFailed:
        fields = body if isinstance(body, dict) else {}
        redact = Redactor(self._secrets)
        error = fields.get("error")
        code = cap(redact(error), 80) if isinstance(error, str) else None
        description = fields.get("error_description")
        words = [code or f"HTTP {response.status_code}"]
        if isinstance(description, str) and description.strip():
            words.append(f"({cap(redact(description), 300)})")
        hint = self._hint(code, response)
        refused = f"refused client {self.client_id!r}: {' '.join(words)}"
        return AuthenticationFailed(
            f"token endpoint {response.request.url.host} {refused}" + (f": {hint}" if hint else ""),
            status=response.status_code,
            method="POST",
            path=response.request.url.path,
        )

    def _hint(self, error: str | None, response: httpx.Response) -> str | None:
        scopes = " ".join(self.scopes) or "(none)"
        hints = {
            "invalid_scope": f"the server does not grant the scopes asked for ({scopes}): "
            f"ask only for scopes registered for client {self.client_id!r}",
            "unauthorized_client": f"client {self.client_id!r} may not use the "
            "client_credentials grant: its registration must allow backend services",
            "unsupported_grant_type": "the token endpoint does not offer the "
            "client_credentials grant (SMART Backend Services)",
            "invalid_request": "the server did not accept the token request as sent",
        }
        if error == "invalid_client" or (error is None and response.status_code == 401):
            return self._invalid_client_hint(response)
        if error is None:
            return "is this the token endpoint?"
        return hints.get(error)

    # -- discovery ------------------------------------------------------------------------------

    def _discover(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, str]:
        base = self._base or self._base_of(request)
        response = yield httpx.Request(
            "GET", f"{base}/.well-known/smart-configuration", headers={"Accept": "application/json"}
        )
        document = _read(response)
        found = document.get("token_endpoint") if isinstance(document, dict) else None
        source = ".well-known/smart-configuration"
        if response.status_code != 200 or not isinstance(found, str):
            response = yield httpx.Request("GET", f"{base}/metadata", headers={"Accept": FHIR_JSON})
            statement = _read(response)
            if response.status_code in RETRY_STATUSES:
                raise _temporary(response, "the FHIR server's metadata")
            found = _capability_token_url(statement) if response.status_code == 200 else None
            source = "the CapabilityStatement"
        if found is None:
            raise AuthenticationFailed(
                "no token endpoint: the FHIR server publishes none in "
                ".well-known/smart-configuration or its CapabilityStatement (rest.security "
                "oauth-uris); give token_url"
            )
        problem = _token_url_problem(found)
        if problem:
            raise AuthenticationFailed(f"the token endpoint named by {source} {problem}")
        logger.debug(
            "token endpoint %s%s, from %s", httpx.URL(found).host, httpx.URL(found).path, source
        )
        return found

    def _base_of(self, request: httpx.Request) -> str:
        path = request.url.path
        if request.method == "GET" and path.endswith("/metadata"):
            return str(request.url.copy_with(path=path[: -len("/metadata")], query=None))
        raise AuthenticationFailed(
            f"cannot find the token endpoint: the first request ({request.method} {path}) does "
            "not show the FHIR base; give fhir_base_url or token_url"
        )


class SmartBackendAuth(_ClientCredentials):
    """SMART Backend Services: ``client_credentials`` with a ``private_key_jwt`` assertion.

    ``key``: the client's private key, RSA (signs RS384) or EC P-384 (ES384): the path of a PEM
    or JWK/JWK Set file, PEM ``bytes``, or a JWK/JWK Set mapping. ``kid``: the key id the server
    registered; a JWK's own when not given (a PEM key has none: it must be given); in a JWK Set
    it chooses the key. ``token_url`` overrides discovery from ``fhir_base_url`` (see the
    module). ``scopes``: a sequence or a space-separated string. ``clock_skew`` and
    ``assertion_lifetime`` (seconds) place each assertion's validity around this machine's clock
    (see the module); ``now`` is that wall clock (epoch seconds), ``clock`` the monotonic one
    that times a token's life. Raises ``ValueError`` for a key or setting that cannot work.
    """

    method = "private_key_jwt"

    def __init__(
        self,
        client_id: str,
        key: KeySource,
        *,
        kid: str | None = None,
        token_url: str | None = None,
        fhir_base_url: str | None = None,
        scopes: str | Sequence[str] = DEFAULT_SCOPES,
        clock_skew: float = 60.0,
        assertion_lifetime: float = MAX_ASSERTION_LIFETIME,
        now: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            client_id, token_url=token_url, fhir_base_url=fhir_base_url, scopes=scopes, clock=clock
        )
        if not 0 < assertion_lifetime <= MAX_ASSERTION_LIFETIME:
            raise ValueError("assertion_lifetime must be more than 0 and at most 300 seconds")
        if not 0 <= clock_skew <= assertion_lifetime - 30:
            raise ValueError("clock_skew must be from 0 to assertion_lifetime - 30 seconds")
        self._key = _load_key(key, _checked_text("kid", kid) if kid is not None else None)
        self.clock_skew = float(clock_skew)
        self.assertion_lifetime = float(assertion_lifetime)
        self._now = now
        self._assertions: set[str] = set()  # of the last token request, to scrub its answer

    @property
    def kid(self) -> str:
        return self._key.kid

    @property
    def algorithm(self) -> SigningAlgorithm:
        return self._key.algorithm

    def __repr__(self) -> str:
        return (
            f"SmartBackendAuth(client_id={self.client_id!r}, kid={self.kid!r}, "
            f"algorithm={self.algorithm!r}, token_url={self.token_url!r})"
        )

    def _credentials(self, token_url: str) -> tuple[dict[str, str], dict[str, str]]:
        issued = int(self._now() - self.clock_skew)
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": token_url,
            "jti": str(uuid.uuid4()),
            "iat": issued,
            "exp": issued + int(self.assertion_lifetime),
        }
        assertion = jwt.encode(
            claims,
            self._key.key,
            algorithm=self._key.algorithm,
            headers={"kid": self._key.kid, "typ": "JWT"},
        )
        self._assertions = {assertion}
        return {"client_assertion_type": _ASSERTION_TYPE, "client_assertion": assertion}, {}

    def _secrets(self) -> set[str]:
        return set(self._assertions)

    def _invalid_client_hint(self, response: httpx.Response) -> str:
        clock = self._clock_difference(response)
        if clock:
            return clock
        return (
            f"the server does not accept this key: is the public key (kid {self.kid!r}, "
            f"{self.algorithm}) registered for client {self.client_id!r}?"
        )

    def _clock_difference(self, response: httpx.Response) -> str | None:
        """What the token server's ``Date`` says of this machine's clock, if it explains a
        refusal: the assertion's validity did not cover the server's time."""
        try:
            server = parsedate_to_datetime(response.headers.get("Date", "")).timestamp()
        except (TypeError, ValueError):
            return None
        ahead = self._now() - server  # > 0: this machine's clock is ahead
        valid_after = self.assertion_lifetime - self.clock_skew
        if ahead > self.clock_skew:
            return (
                f"this machine's clock is {ahead:.0f}s ahead of the token server's (its Date "
                f"header), more than clock_skew ({self.clock_skew:.0f}s): set the clock right "
                "(NTP), or raise clock_skew"
            )
        if -ahead > valid_after:
            return (
                f"this machine's clock is {-ahead:.0f}s behind the token server's (its Date "
                f"header), so the assertion ({valid_after:.0f}s from now) had expired on "
                "arrival: set the clock right (NTP)"
            )
        return None


class ClientSecretAuth(_ClientCredentials):
    """``client_credentials`` with a client secret: ``client_secret_basic`` (HTTP Basic, id and
    secret form-encoded as RFC 6749 2.3.1 says) or ``client_secret_post`` (form fields).

    ``token_url``, ``fhir_base_url``, ``scopes`` and ``clock`` as for ``SmartBackendAuth``.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str | SecretStr,
        *,
        method: SecretMethod = "client_secret_basic",
        token_url: str | None = None,
        fhir_base_url: str | None = None,
        scopes: str | Sequence[str] = DEFAULT_SCOPES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            client_id, token_url=token_url, fhir_base_url=fhir_base_url, scopes=scopes, clock=clock
        )
        if method not in ("client_secret_basic", "client_secret_post"):
            raise ValueError("method must be client_secret_basic or client_secret_post")
        secret = client_secret if isinstance(client_secret, SecretStr) else SecretStr(client_secret)
        if not secret.get_secret_value():
            raise ValueError("client_secret is empty")
        self._secret = secret
        self.method = method

    def __repr__(self) -> str:
        return (
            f"ClientSecretAuth(client_id={self.client_id!r}, method={self.method!r}, "
            f"token_url={self.token_url!r})"
        )

    def _credentials(self, token_url: str) -> tuple[dict[str, str], dict[str, str]]:
        secret = self._secret.get_secret_value()
        if self.method == "client_secret_post":
            return {"client_id": self.client_id, "client_secret": secret}, {}
        pair = f"{quote_plus(self.client_id)}:{quote_plus(secret)}"
        basic = base64.b64encode(pair.encode()).decode("ascii")
        return {}, {"Authorization": f"Basic {basic}"}

    def _secrets(self) -> set[str]:
        secret = self._secret.get_secret_value()
        return {secret, quote_plus(secret), *self._credentials("")[1].values()}

    def _invalid_client_hint(self, response: httpx.Response) -> str:
        return (
            f"the server does not accept client {self.client_id!r} with this secret: check "
            f"the client id, the secret, and that the client is registered for {self.method}"
        )
