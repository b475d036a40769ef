"""Talking to a FHIR R4 server over HTTP: the only module that imports httpx.

``FhirClient`` sends FHIR JSON, retries what is temporary and safe to replay, and turns every
failure into an error from ``meso_fhir.errors`` that carries the server's OperationOutcome.

Retries: connection errors, timeouts (including the whole-request limit below) and
408/429/500/502/503/504 are retried with exponential backoff and full jitter, honouring
``Retry-After``, until ``RetryPolicy.max_attempts`` or ``RetryPolicy.deadline``; then
``TransientError`` is raised with the last failure. Every request this client makes is
idempotent (GET, PUT, conditional PUT, transactions of conditional writes) except a plain create
(POST without If-None-Exist): if the connection drops after it was sent, the server may have
created the resource, and sending it again would create a second one. So such a request is
retried only when it surely never reached the server (connect failure, 408, 429), unless the
caller says it is safe (``replay_safe=True``). A TLS certificate that fails verification
(self-signed, expired, issued for another host) is a ``FhirError`` that says so, never retried:
it will not pass by itself.

Time limits, from the innermost:

- ``timeout`` (httpx's, per phase: connecting, each read, each write, waiting for a pooled
  connection; default 10 s to connect, 60 s for the others), each capped at ``request_timeout``.
  httpx applies it to every read, so alone it lets a server that sends a byte a second keep a
  request going for ever.
- ``request_timeout`` (default 300 s, enough for a large transaction): one attempt as a whole,
  from sending the request to the last byte of the response: every socket read and write waits
  at most for what is left of it, and the time is checked again after every chunk of the body,
  so an attempt ends by ``request_timeout`` whatever the server sends. Exceeding it is a
  timeout like any other: retried if the request is replay-safe, ``TransientError`` once the
  retries or the deadline are spent. The status line and headers are read inside httpcore, so
  the limit is also enforced at the socket (``deadline.py``): a server that drips its headers is
  cut off at ``request_timeout`` too.
- ``RetryPolicy.deadline`` (default 120 s) for one call: no retry starts if the time since the
  first attempt plus the wait before the retry would pass it. An attempt under way is never cut
  short by it (a transaction may rightly take longer than the deadline), so a call ends within
  about ``deadline + request_timeout`` (without a deadline: ``max_attempts`` attempts and the
  waits between them).
- ``max_response_bytes`` (default 100 MiB, decoded) bounds a response body: a longer one is
  ``MalformedResponse``, not retried.

Nothing secret or identifying is logged or put into errors. Requests are logged with method,
path, query keys (never values: a conditional URL holds a patient's MRN), status, attempt and
elapsed time (logger ``meso_fhir.http``); httpx's and httpcore's own records, which quote whole
URLs and raw response headers, are dropped while a request of this client runs. Credentials in
``base_url`` (``https://user:password@host/fhir``) become basic auth and leave the URL. And
every text from a server (reason phrase, OperationOutcome issues of an error, of a write or of
a transaction/batch-response entry, an error page, a protocol error quoting a header line) is
scrubbed by ``redact.Redactor`` before it reaches an exception, an ``EntryResult`` or the
returned Bundle: credentials in every spelling, the identifying values the request carried,
cut to 500 characters (see ``redact.py`` for what it catches and what it cannot).
"""

from __future__ import annotations

import email.utils
import logging
import random as _random
import re
import ssl
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
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
from . import deadline
from .outcome import (
    EntryResult,
    entry_result,
    operation_outcome_text,
    outcome_issues,
    parse_transaction_response,
    status_code,
)
from .redact import SCAN_LIMIT, Redactor, cap, credential_secrets, query_values, request_values

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
DEFAULT_REQUEST_TIMEOUT = 300.0
DEFAULT_MAX_RESPONSE_BYTES = 100 * 1024 * 1024
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Statuses that say the request was not processed, so even a plain create may be sent again.
_NOT_PROCESSED_STATUSES = frozenset({408, 429})
# Failures before a single byte of the request left this machine.
_NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_RETRY_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")
_RESOURCE_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
# Request headers that hold no secret; the value of any other (an API key an ``httpx.Auth``
# adds) is scrubbed from server texts like the Authorization header.
_PLAIN_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "cache-control",
        "connection",
        "content-length",
        "content-type",
        "host",
        "if-match",
        "if-none-exist",  # search parameters: its values are scrubbed as values
        "prefer",
        "user-agent",
    }
)
# An error page is read this far (bytes): more could not be shown after scrubbing anyway.
_ERROR_PAGE_BYTES = 4 * SCAN_LIMIT

SearchParams = Mapping[str, str | Sequence[str]] | Sequence[tuple[str, str]]

# -- the HTTP libraries' own logs ---------------------------------------------------------------

_IN_REQUEST: ContextVar[bool] = ContextVar("meso_fhir_http_in_request", default=False)
# httpx logs every request's whole URL at INFO (query values are MRNs; user info), httpcore
# the raw response headers at DEBUG; meso_fhir.http logs the same events without them.
_LIBRARY_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


class _QuietWhileRequesting(logging.Filter):
    """Drops a record made while this thread runs a ``FhirClient`` request; other uses of
    httpx in the same process log as before."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _IN_REQUEST.get()


_QUIET = _QuietWhileRequesting()
for _name in _LIBRARY_LOGGERS:
    logging.getLogger(_name).addFilter(_QUIET)


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying a temporary failure.

    The n-th retry waits ``random() * min(max_delay, base_delay * 2**(n-1))`` seconds (full
    jitter), or the server's ``Retry-After`` capped at ``max_delay``. No retry starts after
    ``deadline`` seconds from the call's first attempt (``None``: no deadline); an attempt under
    way is bounded by the client's ``request_timeout`` instead.
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


class _RequestTimeLimit(httpx.TimeoutException):
    """One attempt ran past ``request_timeout`` (noticed between chunks of the body)."""


@dataclass(frozen=True)
class _Answer:
    """A response read whole under the client's limits, and the redactor of its request."""

    status_code: int
    reason_phrase: str
    headers: httpx.Headers
    content: bytes
    encoding: str
    method: str
    path: str  # as ``_redacted`` shows it
    redact: Redactor


@dataclass(frozen=True)
class _Failure:
    """An attempt that failed in a way that may pass: what to say if it was the last one."""

    message: str
    retryable: bool
    status: int | None = None
    issues: list[OutcomeIssue] = field(default_factory=list)
    retry_after: float | None = None
    cause: BaseException | None = None


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


def _retry_after(headers: httpx.Headers, now: Callable[[], datetime]) -> float | None:
    """``Retry-After`` in seconds: delta-seconds, or an HTTP-date measured against the
    response's own ``Date`` (same clock as the server) or else our wall clock."""
    value = headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
        server_now = headers.get("Date")
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


def _server_words(answer: _Answer) -> tuple[str, list[OutcomeIssue]]:
    """The OperationOutcome of an error response, else the start of its body; scrubbed."""
    redact = answer.redact
    reason = answer.reason_phrase
    if reason != httpx.codes.get_reason_phrase(answer.status_code):
        reason = redact(reason)  # a server may put anything on its status line
    reason = reason or "error"
    try:
        body = orjson.loads(answer.content)
    except orjson.JSONDecodeError:
        page = answer.content[:_ERROR_PAGE_BYTES].decode(answer.encoding, errors="replace")
        snippet = " ".join(redact(page).split())
        return (redact(f"{reason}: {snippet}") if snippet else reason), []
    issues = redact.issues(outcome_issues(body))
    return (redact(f"{reason}: {operation_outcome_text(issues)}") if issues else reason), issues


def _auth_secrets(auth: httpx.Auth | tuple[str, str] | None) -> frozenset[str]:
    """The secrets of the credentials the client was given (any other ``httpx.Auth``: what it
    puts in each request's headers, read there)."""
    if isinstance(auth, BearerToken):
        return frozenset({auth._token.get_secret_value()})
    if isinstance(auth, tuple):
        user, password = auth
        return frozenset(s for s in (password, f"{user}:{password}") if s)
    return frozenset()


def _capped(timeout: httpx.Timeout, limit: float) -> httpx.Timeout:
    """httpx's per-phase timeouts, none longer than the whole-request limit."""

    def one(value: float | None) -> float:
        return limit if value is None else min(value, limit)

    return httpx.Timeout(
        connect=one(timeout.connect),
        read=one(timeout.read),
        write=one(timeout.write),
        pool=one(timeout.pool),
    )


def _request_values(
    body: Mapping[str, Any] | None, request: httpx.Request, also: httpx.URL | None
) -> set[str]:
    """The identifying values a request carries: its body's, its URL's and If-None-Exist's
    (and those of the URL ``also``)."""
    urls = [request.url] if also is None else [request.url, also]
    found = {v for url in urls for v in query_values(url.query.decode("ascii", "replace"))}
    if_none_exist = request.headers.get("If-None-Exist")
    if if_none_exist:
        found |= query_values(if_none_exist)
    if body is not None:
        found |= request_values(body)
    return found


def _certificate_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate verification failure behind an httpx error, if that is what it is."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _scrub_chain(exc: BaseException, redact: Redactor) -> None:
    """Scrub the messages of an httpx error and its causes before it is chained to ours: h11
    quotes a malformed status or header line the server sent. (OS and TLS errors hold the
    system's words, and their text does not come from their ``args``.)"""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if not isinstance(current, OSError) and any(isinstance(a, str) for a in current.args):
            current.args = tuple(redact(a) if isinstance(a, str) else a for a in current.args)
        current = current.__cause__ or current.__context__


def _scrub_outcomes(bundle: dict[str, Any], redact: Redactor, successes: bool = True) -> None:
    """Replace each entry's OperationOutcome (``response.outcome``, or the entry's resource)
    of a transaction/batch-response with its scrubbed issues, in place. Without
    ``successes``, a 2xx entry's OperationOutcome is dropped instead, unread."""
    entries = bundle.get("entry")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        response = entry.get("response")
        response = response if isinstance(response, dict) else {}
        resource = entry.get("resource")
        if not (isinstance(resource, dict) and resource.get("resourceType") == "OperationOutcome"):
            resource = None
        if resource is None and "outcome" not in response:
            continue  # nothing to scrub
        if not successes:
            status = status_code(response.get("status"))
            if status is not None and 200 <= status < 300:
                response.pop("outcome", None)
                if resource is not None:
                    del entry["resource"]
                continue
        if isinstance(response.get("outcome"), Mapping):
            response["outcome"] = redact.outcome(response["outcome"])
        if resource is not None:
            entry["resource"] = redact.outcome(resource)


class FhirClient:
    """A FHIR R4 server at ``base_url``.

    ``auth``: ``BearerToken(...)``, a ``(user, password)`` tuple for HTTP basic, or any
    ``httpx.Auth``; credentials in ``base_url`` are used for basic auth when ``auth`` is not
    given, and never kept in the URL. ``timeout``: httpx's per-phase timeouts;
    ``request_timeout``: seconds one attempt may take as a whole; ``max_response_bytes``: the
    longest response body read (see the module's docstring for how the limits fit together).
    ``transport`` replaces the network (tests); ``clock`` (monotonic seconds), ``sleep``,
    ``now`` (wall clock, for ``Retry-After`` dates) and ``random`` (jitter, [0, 1)) replace
    time and chance. Safe to share between threads.
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth | tuple[str, str] | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
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
        if not request_timeout > 0 or max_response_bytes < 1:
            raise ValueError("request_timeout and max_response_bytes must be positive")
        # As httpx would, user info becomes basic auth; unlike httpx, it then leaves the URL,
        # whole in httpx's log line of every request and in any URL this client shows.
        user, password = base.username, base.password
        base = base.copy_with(username=None, password=None)
        if auth is None and (user or password):
            auth = (user, password)
        url_secrets = {password, f"{user}:{password}"} if password else set()
        self._secrets = _auth_secrets(auth) | url_secrets
        self.base_url = str(base)
        self._base = base
        self._retry = retry
        self._request_timeout = float(request_timeout)
        self._max_response_bytes = max_response_bytes
        self._clock, self._sleep, self._now, self._random = clock, sleep, now, random
        # httpx asks for compressed bodies (Accept-Encoding: gzip, deflate), and that stays:
        # HAPI sends an uncompressed transaction-response in chunks of about 60 bytes (74,329
        # for 2,010 records), and reading those doubled a sync's client CPU; gzipped, the same
        # answers came in 114 chunks.
        self._http = httpx.Client(
            auth=auth,
            timeout=_capped(httpx.Timeout(timeout), self._request_timeout),
            transport=transport,
            headers={"User-Agent": USER_AGENT, "Accept": FHIR_JSON},
        )
        deadline.install(self._http)

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

    def fhir_version(self) -> str | None:
        """The ``fhirVersion`` of the server's CapabilityStatement, None when it states none.

        Asked for alone (``_elements=fhirVersion``): HAPI's whole statement is 1.5 MB, 12-16 ms
        of this process's CPU and 75 ms of wall time before every sync; the one element is 256
        bytes. A server that refuses the parameter (400) is asked for the whole statement.
        """
        url = self._url("metadata").copy_merge_params({"_elements": "fhirVersion"})
        try:
            statement = self._resource("GET", url, expect="CapabilityStatement")
        except RequestRejected as exc:
            if exc.status != 400:
                raise
            statement = self.capabilities()
        version = statement.get("fhirVersion")
        return version if isinstance(version, str) and version else None

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

        Sends ``Prefer: return=minimal``: a sync needs from each entry only its status,
        location and ETag, and a server that returns every resource in full makes the
        response as large as the request. A server that ignores the preference still works:
        ``parse_transaction_response`` falls back to the returned resources.
        """
        return self._bundle(bundle, replay_safe, {"Prefer": "return=minimal"})

    def transaction_results(
        self, bundle: Mapping[str, Any], *, replay_safe: bool | None = None
    ) -> list[EntryResult]:
        """``transaction``, read: one ``EntryResult`` per entry of the response, in order
        (``parse_transaction_response``), where only the entries that failed keep their
        OperationOutcome issues (scrubbed).

        What a 2xx entry's OperationOutcome says ("created") is of no use to a sync, and HAPI
        sends one with every entry: scrubbing them built the redactor, which walks the whole
        request, for every transaction (a third of a sync's CPU on HAPI besides the map).
        Dropped unread, they cost nothing and no server text is kept.
        """
        answer = self._post_bundle(bundle, replay_safe, {"Prefer": "return=minimal"})
        response = _expect(answer, "Bundle")
        _scrub_outcomes(response, answer.redact, successes=False)
        return parse_transaction_response(response)

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
            # A server may quote the search on any page: the first one's values go along.
            page = self._resource(
                "GET",
                url,
                expect="Bundle",
                headers={"Cache-Control": "no-cache"},
                also=None if url is first else first,
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

    def _bundle(
        self,
        bundle: Mapping[str, Any],
        replay_safe: bool | None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        answer = self._post_bundle(bundle, replay_safe, headers or {})
        response = _expect(answer, "Bundle")
        _scrub_outcomes(response, answer.redact)
        return response

    def _post_bundle(
        self, bundle: Mapping[str, Any], replay_safe: bool | None, headers: dict[str, str]
    ) -> _Answer:
        safe = _bundle_replay_safe(bundle) if replay_safe is None else replay_safe
        return self._send("POST", httpx.URL(self.base_url), bundle, headers, replay_safe=safe)

    def _resource(
        self,
        method: str,
        url: httpx.URL,
        *,
        expect: str,
        headers: Mapping[str, str] | None = None,
        also: httpx.URL | None = None,
    ) -> dict[str, Any]:
        answer = self._send(method, url, None, dict(headers or {}), also=also)
        return _expect(answer, expect)

    def _write(
        self,
        method: str,
        url: httpx.URL,
        resource: Mapping[str, Any],
        headers: dict[str, str],
        *,
        replay_safe: bool = True,
    ) -> EntryResult:
        answer = self._send(method, url, resource, headers, replay_safe=replay_safe)
        body = _json(answer) if answer.content.strip() else None
        if body is not None and not (isinstance(body, dict) and "resourceType" in body):
            raise _malformed(answer, "body is not a FHIR resource")
        headers_ = answer.headers
        location = headers_.get("Location") or headers_.get("Content-Location")
        result = entry_result(answer.status_code, location, headers_.get("ETag"), body)
        if not result.issues:
            return result
        return replace(result, issues=answer.redact.issues(result.issues))

    def _send(
        self,
        method: str,
        url: httpx.URL,
        body: Mapping[str, Any] | None,
        headers: dict[str, str],
        *,
        replay_safe: bool = True,
        also: httpx.URL | None = None,
    ) -> _Answer:
        """Send with retries; return a 2xx answer or raise the matching ``FhirError``
        (redirects are not followed: a 3xx is ``RequestRejected``). ``also``: a URL whose
        query values are scrubbed too (a search's first page, when this is a later one)."""
        content = None
        if body is not None:
            content = orjson.dumps(body)
            headers = {**headers, "Content-Type": FHIR_JSON}
        request = self._http.build_request(method, url, content=content, headers=headers)
        # Built on the first server text to scrub, if any; the headers are read then, after
        # the auth flow has put its credentials in them.
        redact = Redactor(
            lambda: self._secrets | _header_secrets(request.headers),
            lambda: _request_values(body, request, also),
        )
        path = _redacted(url)
        start = self._clock()
        attempt = 0
        while True:
            attempt += 1
            result = self._attempt(request, path, attempt, redact, replay_safe)
            if isinstance(result, _Answer):
                return result
            delay = self._retry_delay(result, attempt, start, method, path)
            logger.warning(
                "%s %s retrying in %.2fs (attempt %d failed)", method, path, delay, attempt
            )
            self._sleep(delay)

    def _attempt(
        self, request: httpx.Request, path: str, attempt: int, redact: Redactor, replay_safe: bool
    ) -> _Answer | _Failure:
        """One attempt: a 2xx answer, a failure worth retrying, or the ``FhirError`` raised."""
        method = request.method
        began = self._clock()
        try:
            answer = self._exchange(request, path, began, redact)
        except httpx.TransportError as exc:
            # The one place httpx's exceptions become ours.
            name = type(exc).__name__.lstrip("_")
            elapsed = self._clock() - began
            logger.warning(
                "%s %s %s attempt=%d elapsed=%.3fs", method, path, name, attempt, elapsed
            )
            return _transport_failure(exc, request, path, redact, replay_safe)
        status = answer.status_code
        elapsed = self._clock() - began
        logger.debug("%s %s %d attempt=%d elapsed=%.3fs", method, path, status, attempt, elapsed)
        if 200 <= status < 300:
            return answer
        message, issues = _server_words(answer)
        kind = _error_class(status)
        if kind is not TransientError:
            raise kind(message, status=status, method=method, path=path, issues=issues)
        return _Failure(
            message,
            retryable=replay_safe or status in _NOT_PROCESSED_STATUSES,
            status=status,
            issues=issues,
            retry_after=_retry_after(answer.headers, self._now),
        )

    def _exchange(
        self, request: httpx.Request, path: str, began: float, redact: Redactor
    ) -> _Answer:
        """Send once and read the whole body under ``request_timeout`` and
        ``max_response_bytes``."""
        in_request = _IN_REQUEST.set(True)
        try:
            # real time: the socket waits in real seconds, whatever clock the client was given
            with deadline.until(time.monotonic() + self._request_timeout):
                response = self._http.send(request, stream=True)
                try:
                    content = self._read_body(response, path, began)
                finally:
                    response.close()
        except httpx.TimeoutException as exc:
            if str(exc) != deadline.REACHED:
                raise
            raise self._time_limit(request) from exc
        except httpx.DecodingError as exc:  # a body its Content-Encoding does not describe
            raise MalformedResponse(
                "body could not be decoded", method=request.method, path=path
            ) from exc
        finally:
            _IN_REQUEST.reset(in_request)
        return _Answer(
            status_code=response.status_code,
            reason_phrase=response.reason_phrase,
            headers=response.headers,
            content=content,
            encoding=response.encoding or "utf-8",
            method=request.method,
            path=path,
            redact=redact,
        )

    def _read_body(self, response: httpx.Response, path: str, began: float) -> bytes:
        limit = self._max_response_bytes
        declared = response.headers.get("Content-Length", "")
        too_large = MalformedResponse(
            f"body is larger than the limit of {limit:,} bytes",
            status=response.status_code,
            method=response.request.method,
            path=path,
        )
        if declared.isdigit() and int(declared) > limit:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
            if self._clock() - began > self._request_timeout:
                raise self._time_limit(response.request)
        return b"".join(chunks)

    def _time_limit(self, request: httpx.Request) -> _RequestTimeLimit:
        return _RequestTimeLimit(
            f"whole-request time limit of {self._request_timeout:g}s exceeded", request=request
        )

    def _retry_delay(
        self, failure: _Failure, attempt: int, start: float, method: str, path: str
    ) -> float:
        """Seconds to wait before the next attempt; ``TransientError`` when there is none."""
        policy = self._retry
        give_up = None
        delay = 0.0
        if not failure.retryable:
            give_up = "not retried: the server may have processed it"
        elif attempt >= policy.max_attempts:
            give_up = f"gave up after {attempt} attempts"
        else:
            delay = policy.delay(attempt, failure.retry_after, self._random)
            spent = self._clock() - start
            if policy.deadline is not None and spent + delay > policy.deadline:
                give_up = f"gave up after {attempt} attempts and {spent:.1f}s"
        if give_up:
            raise TransientError(
                f"{failure.message} ({give_up})",
                attempts=attempt,
                status=failure.status,
                method=method,
                path=path,
                issues=failure.issues,
            ) from failure.cause
        return delay


def _header_secrets(headers: httpx.Headers) -> set[str]:
    """The credentials a request's headers carry (whatever ``httpx.Auth`` put them there)."""
    secrets: set[str] = set()
    for name, value in headers.items():
        if name.lower() == "authorization":
            secrets |= credential_secrets(value)
        elif name.lower() not in _PLAIN_HEADERS:
            secrets.add(value)
    return secrets


def _transport_failure(
    exc: httpx.TransportError,
    request: httpx.Request,
    path: str,
    redact: Redactor,
    replay_safe: bool,
) -> _Failure:
    """What an httpx error means: a failure worth retrying, or the ``FhirError`` raised."""
    own = str(exc) if isinstance(exc, _RequestTimeLimit) else None  # our words, not the server's
    _scrub_chain(exc, redact)
    method = request.method
    certificate = _certificate_error(exc)
    if certificate is not None:
        reason = certificate.verify_message or certificate.reason or "unknown reason"
        raise FhirError(
            cap(f"TLS certificate verification failed for {request.url.host}: {reason}"),
            method=method,
            path=path,
        ) from exc
    name = type(exc).__name__.lstrip("_")
    if not isinstance(exc, _RETRY_ERRORS):
        raise FhirError(f"could not send the request: {name}", method=method, path=path) from exc
    # httpx's own message is left out: some carry the URL with its query values.
    if own is not None:
        message = own
    elif isinstance(exc, httpx.TimeoutException):
        message = f"timed out: {name}"
    else:
        message = f"connection failed: {name}"
    retryable = replay_safe or isinstance(exc, _NOT_SENT_ERRORS)
    return _Failure(message, retryable=retryable, cause=exc)


def _checked_type(resource_type: Any) -> str:
    if not isinstance(resource_type, str) or not _RESOURCE_TYPE.fullmatch(resource_type):
        raise ValueError(f"not a FHIR resource type: {resource_type!r}")
    return resource_type


def _checked_id(resource_id: Any) -> str:
    # Also keeps a path out of the URL ("../metadata").
    if not isinstance(resource_id, str) or not _RESOURCE_ID.fullmatch(resource_id):
        raise ValueError("not a FHIR resource id (1-64 of A-Z a-z 0-9 - .)")
    return resource_id


def _malformed(answer: _Answer, message: str) -> MalformedResponse:
    return MalformedResponse(
        message, status=answer.status_code, method=answer.method, path=answer.path
    )


def _json(answer: _Answer) -> Any:
    try:
        return orjson.loads(answer.content)
    except orjson.JSONDecodeError as exc:
        raise _malformed(answer, "body is not JSON") from exc


def _expect(answer: _Answer, resource_type: str) -> dict[str, Any]:
    body = _json(answer)
    found = body.get("resourceType") if isinstance(body, dict) else type(body).__name__
    if found != resource_type:
        # What a server put in resourceType is its text like any other.
        raise _malformed(answer, f"expected a {resource_type}, got {answer.redact(repr(found))}")
    resource: dict[str, Any] = body
    return resource
