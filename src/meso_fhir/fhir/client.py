"""Talking to a FHIR R4 server over HTTP: the only module that imports httpx.

``FhirClient`` sends FHIR JSON, retries what is temporary and safe to replay, and turns every
failure into an error from ``meso_fhir.errors`` that carries the server's OperationOutcome.

Retries: connection errors, timeouts and 408/429/500/502/503/504 are retried with exponential
backoff and full jitter, honouring ``Retry-After``, until ``RetryPolicy.max_attempts`` or the
per-call ``deadline``; then ``TransientError`` is raised with the last failure. Every request
this client makes is idempotent (GET, PUT, conditional PUT, transactions of conditional writes)
except a plain create (POST without If-None-Exist): if the connection drops after it was sent,
the server may have created the resource, and sending it again would create a second one. So
such a request is retried only when it surely never reached the server (connect failure, 408,
429), unless the caller says it is safe (``replay_safe=True``).

Nothing secret or identifying is logged or put into errors: no bodies, no token, no query values
(a conditional URL holds a patient's MRN); only method, path, query keys, status, attempt and
elapsed time (logger ``meso_fhir.http``).
"""

from __future__ import annotations

import email.utils
import logging
import random as _random
import re
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from .._version import __version__
from ..errors import (
    AuthenticationFailed,
    FhirError,
    MalformedResponse,
    NotFound,
    OutcomeIssue,
    RequestRejected,
    TransientError,
    VersionConflict,
)
from ..mapping.identity import identifier_token
from .outcome import EntryResult, entry_result, operation_outcome_text, outcome_issues

__all__ = [
    "BearerToken",
    "FhirClient",
    "RetryPolicy",
]

logger = logging.getLogger("meso_fhir.http")

USER_AGENT = f"meso-fhir/{__version__} (+https://meso-fhir.org)"
FHIR_JSON = "application/fhir+json"
# Large transactions are slow on HAPI (~400 entries have timed out on its test server).
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Statuses that say the request was not processed, so even a plain create may be sent again.
_NOT_PROCESSED_STATUSES = frozenset({408, 429})
# Failures before a single byte of the request left this machine.
_NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_RETRY_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")
_RESOURCE_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")

SearchParams = Mapping[str, str | Sequence[str]] | Sequence[tuple[str, str]]


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying a temporary failure.

    The n-th retry waits ``random() * min(max_delay, base_delay * 2**(n-1))`` seconds (full
    jitter), or the server's ``Retry-After`` capped at ``max_delay``. No retry starts after
    ``deadline`` seconds from the first attempt (``None``: no deadline).
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    deadline: float | None = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must not be negative")

    def delay(self, attempt: int, retry_after: float | None, random: Callable[[], float]) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        return float(random() * min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


class BearerToken(httpx.Auth):
    """``Authorization: Bearer <token>``; the token never shows in repr, logs or errors."""

    def __init__(self, token: str | SecretStr) -> None:
        secret = token if isinstance(token, SecretStr) else SecretStr(token)
        value = secret.get_secret_value()
        # A newline in a header would make httpx raise an error quoting the header.
        if not value or any(c.isspace() or not c.isprintable() for c in value):
            raise ValueError("bearer token is empty or holds whitespace or control characters")
        self._token = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        yield request

    def __repr__(self) -> str:
        return "BearerToken('**********')"


def _bundle_replay_safe(bundle: Mapping[str, Any]) -> bool:
    """Whether every entry of a transaction/batch can be sent twice without a second write."""
    for entry in bundle.get("entry") or []:
        request = entry.get("request") or {}
        method = str(request.get("method", "")).upper()
        if method == "POST" and request.get("ifNoneExist"):
            continue
        if method not in ("GET", "HEAD", "PUT", "DELETE"):
            return False
    return True


def _redacted(url: httpx.URL) -> str:
    """The URL path with query keys but no query values: those can be patient identifiers."""
    if not url.query:
        return url.path
    return url.path + "?" + "&".join(f"{key}=" for key in url.params)


def _retry_after(response: httpx.Response, now: Callable[[], datetime]) -> float | None:
    """``Retry-After`` in seconds: delta-seconds, or an HTTP-date measured against the
    response's own ``Date`` (same clock as the server) or else our wall clock."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
        server_now = response.headers.get("Date")
        reference = email.utils.parsedate_to_datetime(server_now) if server_now else now()
    except (TypeError, ValueError):
        return None
    return max(0.0, (_aware(when) - _aware(reference)).total_seconds())


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _error_class(status: int) -> type[FhirError]:
    if status in (401, 403):
        return AuthenticationFailed
    if status in (404, 410):
        return NotFound
    if status in (409, 412):
        return VersionConflict
    if status in RETRY_STATUSES:
        return TransientError
    return RequestRejected


def _server_words(response: httpx.Response) -> tuple[str, list[OutcomeIssue]]:
    """The OperationOutcome of an error response, else the start of its body."""
    reason = response.reason_phrase or "error"
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        snippet = " ".join(response.text.split())[:200]
        return (f"{reason}: {snippet}" if snippet else reason), []
    issues = outcome_issues(body)
    return (f"{reason}: {operation_outcome_text(issues)}" if issues else reason), issues


class FhirClient:
    """A FHIR R4 server at ``base_url``.

    ``auth``: ``BearerToken(...)``, a ``(user, password)`` tuple for HTTP basic, or any
    ``httpx.Auth``. ``transport`` replaces the network (tests); ``clock`` (monotonic seconds),
    ``sleep``, ``now`` (wall clock, for ``Retry-After`` dates) and ``random`` (jitter, [0, 1))
    replace time and chance. Safe to share between threads.
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth | tuple[str, str] | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(),
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        random: Callable[[], float] = _random.random,
    ) -> None:
        base = httpx.URL(base_url.rstrip("/"))
        if base.scheme not in ("http", "https") or not base.host:
            raise ValueError("base_url must be an absolute http(s) URL")
        self.base_url = str(base)
        self._base = base
        self._retry = retry
        self._clock, self._sleep, self._now, self._random = clock, sleep, now, random
        self._http = httpx.Client(
            auth=auth,
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT, "Accept": FHIR_JSON},
        )

    def __repr__(self) -> str:
        return f"FhirClient({self.public_url!r})"

    @property
    def public_url(self) -> str:
        """The base URL without credentials: what reports and the ledger may show."""
        return str(self._base.copy_with(username=None, password=None, query=None))

    def __enter__(self) -> FhirClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- operations -------------------------------------------------------------------------

    def capabilities(self) -> dict[str, Any]:
        """GET [base]/metadata: the server's CapabilityStatement."""
        return self._resource("GET", self._url("metadata"), expect="CapabilityStatement")

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        """GET [base]/Type/id. ``NotFound`` for 404 and 410 (deleted)."""
        url = self._url(_checked_type(resource_type), _checked_id(resource_id))
        return self._resource("GET", url, expect=resource_type)

    def transaction(
        self, bundle: Mapping[str, Any], *, replay_safe: bool | None = None
    ) -> dict[str, Any]:
        """POST a transaction Bundle to [base]; returns the transaction-response Bundle.

        Retried after a dropped connection only if every entry is replay-safe (GET, PUT,
        DELETE, POST with ifNoneExist) unless ``replay_safe`` says otherwise.
        """
        return self._bundle(bundle, replay_safe)

    def batch(
        self, bundle: Mapping[str, Any], *, replay_safe: bool | None = None
    ) -> dict[str, Any]:
        """POST a batch Bundle to [base]; returns the batch-response Bundle (entries may fail
        one by one: see ``parse_transaction_response``)."""
        return self._bundle(bundle, replay_safe)

    def update(self, resource: Mapping[str, Any], *, if_match: str | None = None) -> EntryResult:
        """PUT [base]/Type/id. ``if_match``: a version id ("3") or an ETag (``W/"3"``);
        a mismatch is ``VersionConflict`` (412)."""
        resource_type = _checked_type(resource.get("resourceType"))
        url = self._url(resource_type, _checked_id(resource.get("id")))
        headers = {}
        if if_match is not None:
            headers["If-Match"] = (
                if_match if if_match.startswith(("W/", '"')) else f'W/"{if_match}"'
            )
        return self._write("PUT", url, resource, headers)

    def conditional_update(
        self, resource: Mapping[str, Any], identifier_system: str, identifier_value: str
    ) -> EntryResult:
        """PUT [base]/Type?identifier=system|value: no match creates, one match updates,
        several are ``VersionConflict`` (412). Replay-safe."""
        url = self._url(_checked_type(resource.get("resourceType"))).copy_merge_params(
            {"identifier": identifier_token(identifier_system, identifier_value)}
        )
        return self._write("PUT", url, resource, {})

    def create(
        self,
        resource: Mapping[str, Any],
        if_none_exist: Mapping[str, str] | str | None = None,
        *,
        replay_safe: bool = False,
    ) -> EntryResult:
        """POST [base]/Type, with ``If-None-Exist`` (search parameters, e.g.
        ``{"identifier": identifier_token(system, value)}``) when given.

        Without If-None-Exist a dropped connection is not retried (the first attempt may have
        created the resource) unless ``replay_safe``.
        """
        url = self._url(_checked_type(resource.get("resourceType")))
        headers = {}
        if if_none_exist is not None:
            query = (
                if_none_exist
                if isinstance(if_none_exist, str)
                else httpx.QueryParams(if_none_exist)
            )
            headers["If-None-Exist"] = str(query)
        safe = replay_safe or if_none_exist is not None
        return self._write("POST", url, resource, headers, replay_safe=safe)

    def search(
        self, resource_type: str, params: SearchParams | None = None
    ) -> Iterator[dict[str, Any]]:
        """GET [base]/Type?params and every ``next`` page after it, yielding each entry's
        resource in order (``search.mode`` outcome entries are skipped).

        Lazy: requests happen while iterating. ``Cache-Control: no-cache`` is sent because
        HAPI serves identical searches from a cache for 60 s. A ``next`` link already
        followed ends the search; one pointing off the base URL's server raises
        ``MalformedResponse`` rather than sending the credentials there.
        """
        pairs: list[tuple[str, str | int | float | bool | None]] = []
        for key, value in params.items() if isinstance(params, Mapping) else params or ():
            pairs.extend((key, v) for v in ([value] if isinstance(value, str) else value))
        url = self._url(_checked_type(resource_type)).copy_merge_params(httpx.QueryParams(pairs))
        return self._pages(url)

    def _pages(self, first: httpx.URL) -> Iterator[dict[str, Any]]:
        url: httpx.URL | None = first
        seen: set[str] = set()
        while url is not None:
            seen.add(str(url))
            page = self._resource(
                "GET", url, expect="Bundle", headers={"Cache-Control": "no-cache"}
            )
            for entry in page.get("entry") or []:
                if (entry.get("search") or {}).get("mode") == "outcome":
                    continue
                if isinstance(entry.get("resource"), dict):
                    yield entry["resource"]
            url = self._next_page(page, url, seen)

    # -- plumbing ---------------------------------------------------------------------------

    def _url(self, *segments: str) -> httpx.URL:
        return httpx.URL("/".join([self.base_url, *segments]))

    def _next_page(
        self, page: Mapping[str, Any], current: httpx.URL, seen: set[str]
    ) -> httpx.URL | None:
        hrefs = [
            link.get("url") for link in page.get("link") or [] if link.get("relation") == "next"
        ]
        if not hrefs or not hrefs[0]:
            return None
        # HAPI's links are absolute and have no resource type ("base?_getpages=..."); a relative
        # link resolves against the base with a trailing slash, so the base path is kept.
        url = httpx.URL(self.base_url + "/").join(hrefs[0])
        if (url.scheme, url.host, url.port) != (
            self._base.scheme,
            self._base.host,
            self._base.port,
        ):
            raise MalformedResponse(
                "next link points to another server", method="GET", path=_redacted(current)
            )
        if str(url) in seen:
            logger.warning(
                "GET %s: next link repeats a page already read; stopping", _redacted(url)
            )
            return None
        return url

    def _bundle(self, bundle: Mapping[str, Any], replay_safe: bool | None) -> dict[str, Any]:
        safe = _bundle_replay_safe(bundle) if replay_safe is None else replay_safe
        response = self._send("POST", httpx.URL(self.base_url), bundle, {}, replay_safe=safe)
        return _expect(response, "Bundle")

    def _resource(
        self, method: str, url: httpx.URL, *, expect: str, headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        return _expect(self._send(method, url, None, dict(headers or {})), expect)

    def _write(
        self,
        method: str,
        url: httpx.URL,
        resource: Mapping[str, Any],
        headers: dict[str, str],
        *,
        replay_safe: bool = True,
    ) -> EntryResult:
        response = self._send(method, url, resource, headers, replay_safe=replay_safe)
        body = _json(response) if response.content.strip() else None
        if body is not None and not (isinstance(body, dict) and "resourceType" in body):
            raise _malformed(response, "body is not a FHIR resource")
        headers_ = response.headers
        location = headers_.get("Location") or headers_.get("Content-Location")
        return entry_result(response.status_code, location, headers_.get("ETag"), body)

    def _send(
        self,
        method: str,
        url: httpx.URL,
        body: Mapping[str, Any] | None,
        headers: dict[str, str],
        *,
        replay_safe: bool = True,
    ) -> httpx.Response:
        """Send with retries; return a 2xx response or raise the matching ``FhirError``
        (redirects are not followed: a 3xx is ``RequestRejected``)."""
        path = _redacted(url)
        content = None
        if body is not None:
            content = orjson.dumps(body)
            headers = {**headers, "Content-Type": FHIR_JSON}
        policy = self._retry
        start = self._clock()
        attempt = 0
        while True:
            attempt += 1
            began = self._clock()
            status: int | None = None
            issues: list[OutcomeIssue] = []
            retry_after: float | None = None
            cause: httpx.TransportError | None = None
            try:
                response = self._http.request(method, url, content=content, headers=headers)
            except httpx.TransportError as exc:
                # The one place httpx's exceptions become ours.
                elapsed = self._clock() - began
                name = type(exc).__name__
                logger.warning(
                    "%s %s %s attempt=%d elapsed=%.3fs", method, path, name, attempt, elapsed
                )
                if not isinstance(exc, _RETRY_ERRORS):
                    raise FhirError(
                        f"could not send the request: {name}", method=method, path=path
                    ) from exc
                # httpx's own message is left out: some carry the URL with its query values.
                timed_out = isinstance(exc, httpx.TimeoutException)
                message = f"{'timed out' if timed_out else 'connection failed'}: {name}"
                cause = exc
                retryable = replay_safe or isinstance(exc, _NOT_SENT_ERRORS)
            else:
                status = response.status_code
                elapsed = self._clock() - began
                logger.debug(
                    "%s %s %d attempt=%d elapsed=%.3fs", method, path, status, attempt, elapsed
                )
                if 200 <= status < 300:
                    return response
                message, issues = _server_words(response)
                kind = _error_class(status)
                if kind is not TransientError:
                    raise kind(message, status=status, method=method, path=path, issues=issues)
                retryable = replay_safe or status in _NOT_PROCESSED_STATUSES
                retry_after = _retry_after(response, self._now)

            give_up = None
            delay = 0.0
            if not retryable:
                give_up = "not retried: the server may have processed it"
            elif attempt >= policy.max_attempts:
                give_up = f"gave up after {attempt} attempts"
            else:
                delay = policy.delay(attempt, retry_after, self._random)
                spent = self._clock() - start
                if policy.deadline is not None and spent + delay > policy.deadline:
                    give_up = f"gave up after {attempt} attempts and {spent:.1f}s"
            if give_up:
                raise TransientError(
                    f"{message} ({give_up})",
                    attempts=attempt,
                    status=status,
                    method=method,
                    path=path,
                    issues=issues,
                ) from cause
            logger.warning(
                "%s %s retrying in %.2fs (attempt %d failed)", method, path, delay, attempt
            )
            self._sleep(delay)


def _checked_type(resource_type: Any) -> str:
    if not isinstance(resource_type, str) or not _RESOURCE_TYPE.fullmatch(resource_type):
        raise ValueError(f"not a FHIR resource type: {resource_type!r}")
    return resource_type


def _checked_id(resource_id: Any) -> str:
    # Also keeps a path out of the URL ("../metadata").
    if not isinstance(resource_id, str) or not _RESOURCE_ID.fullmatch(resource_id):
        raise ValueError("not a FHIR resource id (1-64 of A-Z a-z 0-9 - .)")
    return resource_id


def _malformed(response: httpx.Response, message: str) -> MalformedResponse:
    return MalformedResponse(
        message,
        status=response.status_code,
        method=response.request.method,
        path=_redacted(response.request.url),
    )


def _json(response: httpx.Response) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise _malformed(response, "body is not JSON") from exc


def _expect(response: httpx.Response, resource_type: str) -> dict[str, Any]:
    body = _json(response)
    found = body.get("resourceType") if isinstance(body, dict) else type(body).__name__
    if found != resource_type:
        raise _malformed(response, f"expected a {resource_type}, got {found!r}")
    resource: dict[str, Any] = body
    return resource
