"""Keeping credentials and patients' identifying values out of what a FHIR server says.

Pure: strings and parsed JSON in, strings out. The client (``client.py``) passes every text a
server sends (reason phrase, OperationOutcome diagnostics, details and expressions, an error
page, a protocol error quoting a header line) through a ``Redactor`` before it reaches an
exception, an ``EntryResult`` or a log line, because servers quote what they received: a 401
that says ``denied for Bearer <token>``, a 400 that echoes the request body with the patient's
name, MRN, phone and e-mail in it.

What a ``Redactor`` removes, for one request:

- *secrets*, of any length: the credentials (``credential_secrets``: the bearer token, basic
  ``user:password`` and the password alone; ``FhirClient`` adds every request header value that
  is not a plain protocol header);
- *values*, of at least ``MIN_VALUE_LENGTH`` characters: what the request carried that names a
  person (``request_values``: every ``identifier.value``, human names, ``birthDate``, telecom
  values, address parts, reference displays; ``query_values``: search and conditional-URL values).

Each is looked for in every spelling a server may quote it in (``spellings``): as is,
JSON-escaped, URL-encoded, HTML-escaped, FHIR-search-escaped and base64 (standard and URL-safe;
a secret also where it sits inside a longer base64 text, as a password does in a basic
``Authorization`` header), ignoring case (by full case folding). Every stretch an occurrence
covers becomes ``MARKER`` (overlapping ones merge into one); the result is cut to ``MAX_TEXT``
characters, ending in ``ELLIPSIS``. Only the first ``SCAN_LIMIT`` characters of a text are
read, and nothing after them is shown: a value cut by that window cannot leak its start.

The sets are built lazily, on the first text to scrub, and once per request: a request that
succeeds without a word from the server costs nothing. Finding the forms in a text takes one
pass over it with an index by their first three characters, not one search per form.

What this does not catch (a value is only found as it was sent):

- values shorter than ``MIN_VALUE_LENGTH`` (two-letter names such as Li, Ng, Wu, Xu, Al, Jo; a
  single initial): matching them would blank those letters in every word of the text; a name
  is also looked for whole ("Li Na", "Ng, Al"), which catches most of these;
- a value the server reformats: a phone number regrouped (its digits alone are looked for), a
  date rewritten (``19/07/1984``), Unicode renormalised, a value cut short or split by a line
  break, double escapes (JSON inside JSON inside a string), base64 of a compressed body;
- anything the request did not carry (a server that quotes another patient's record).

Short values cut the other way: a three- or four-letter value (a given name "Pat") also blanks
those letters inside other words (``[redacted]ient.birthDate``). The text gets harder to read;
nothing is leaked.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, quote

from ..errors import OutcomeIssue
from .outcome import outcome_issues

__all__ = [
    "ELLIPSIS",
    "MARKER",
    "MAX_TEXT",
    "MIN_VALUE_LENGTH",
    "SCAN_LIMIT",
    "WITHHELD",
    "Redactor",
    "cap",
    "credential_secrets",
    "query_values",
    "request_values",
    "spellings",
]

MARKER = "[redacted]"
# What a text becomes if a value the scan found could not be cut out (a case-folding corner).
WITHHELD = "[server text withheld]"
ELLIPSIS = "…[truncated]"
MAX_TEXT = 500
MIN_VALUE_LENGTH = 3
SCAN_LIMIT = 10 * MAX_TEXT
_GRAM = 3  # forms are indexed by their first three (case-folded) characters
# first gram → length → case-folded form → the form as spelled (several may fold alike)
_Index = dict[str, dict[int, dict[str, list[str]]]]

# Spelled the same in every encoding: only the base64 forms differ.
_PLAIN = re.compile(r"[A-Za-z0-9._~-]*")
_FHIR_SEARCH_SPECIAL = re.compile(r"([\\|,$])")
_JSON_ESCAPED = re.compile(r'[\x00-\x1f"\\\x7f-\U0010ffff]')  # escaped by JSON or ensure_ascii
_HTML_ESCAPED = re.compile(r"[&<>\"']")
_URL_SAFE = str.maketrans("+/", "-_")
_UNESCAPED_COMMA = re.compile(r"(?<!\\),")
_UNESCAPED_BAR = re.compile(r"(?<!\\)\|")
_FHIR_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_COMPARATOR = re.compile(r"(?:eq|ne|gt|lt|ge|le|sa|eb|ap)(?=\d)")
_NOT_DIGIT = re.compile(r"\D")

# OperationOutcome codes are kept as they are when they are codes of their value sets: nothing
# to scrub, and no reason to build the sets for an outcome that says only "information".
_SEVERITIES = frozenset({"fatal", "error", "warning", "information"})
_ISSUE_TYPES = frozenset(
    {
        "invalid", "structure", "required", "value", "invariant", "security", "login",
        "unknown", "expired", "forbidden", "suppressed", "processing", "not-supported",
        "duplicate", "multiple-matches", "not-found", "deleted", "too-long", "code-invalid",
        "extension", "too-costly", "business-rule", "conflict", "transient", "lock-error",
        "no-store", "exception", "timeout", "incomplete", "throttled", "informational",
    }
)  # fmt: skip


# -- spellings ----------------------------------------------------------------------------------


def _base64_forms(raw: bytes, embedded: bool) -> set[str]:
    """The base64 of ``raw`` (standard and URL-safe, padded or not) and, if ``embedded``, the
    part of it that is the same wherever ``raw`` sits inside a longer base64 text (from offset
    0, 1 or 2 mod 3)."""
    padded = base64.b64encode(raw).decode("ascii")
    forms = {padded, padded.rstrip("=")}  # the padding goes with it when it is there
    if "+" in padded or "/" in padded:
        forms |= {form.translate(_URL_SAFE) for form in forms}
    for offset in range(1, 3) if embedded else ():
        text = base64.b64encode(bytes(offset) + raw).decode("ascii")
        # Only the characters made of this value's bits alone: the first and last may carry
        # bits of the bytes around it.
        inner = text[-(-offset * 8 // 6) : (offset + len(raw)) * 8 // 6]
        forms |= {inner, inner.translate(_URL_SAFE)} if len(inner) >= 6 else set()
    if embedded and len(raw) % 3:  # at offset 0, the last character depends on what follows
        inner = padded[: len(raw) * 8 // 6]
        forms |= {inner, inner.translate(_URL_SAFE)} if len(inner) >= 6 else set()
    return forms


def spellings(value: str, *, embedded: bool = False) -> set[str]:
    """Every spelling of ``value`` a server may quote: raw, JSON-escaped (ASCII-only or not,
    ``/`` as ``\\/`` or not), URL-encoded (``%20`` or ``+``), HTML-escaped, FHIR-search-escaped,
    base64 (``embedded``: also inside a longer base64 text, as a password is in a basic
    ``Authorization`` header). Matching ignores case, so ``%2f`` and ``\\u00E9`` are covered."""
    forms = {value} | _base64_forms(value.encode("utf-8", "surrogatepass"), embedded)
    if _PLAIN.fullmatch(value):
        return forms
    # Each encoding is tried only when the value holds a character it changes: most values
    # hold none, and this runs for every value of a 250-entry transaction.
    if _JSON_ESCAPED.search(value):
        for ascii_only in (True, False):
            forms.add(json.dumps(value, ensure_ascii=ascii_only)[1:-1])
    forms |= {form.replace("/", "\\/") for form in forms if "/" in form}
    # %-encoded with nothing kept, "/" kept, ":/@" kept; a space as %20 or as +
    encoded = quote(value, safe="", errors="surrogatepass")
    path = encoded.replace("%2F", "/")
    urls = {encoded, path, path.replace("%3A", ":").replace("%40", "@")}
    forms |= urls | ({url.replace("%20", "+") for url in urls} if " " in value else set())
    if _HTML_ESCAPED.search(value):
        escaped = html.escape(value)
        forms |= {escaped, escaped.replace("&#x27;", "&#39;"), html.escape(value, quote=False)}
    if _FHIR_SEARCH_SPECIAL.search(value):
        forms.add(_FHIR_SEARCH_SPECIAL.sub(r"\\\1", value))
    return {form for form in forms if form}


def credential_secrets(authorization: str) -> set[str]:
    """What an ``Authorization`` header value gives away: itself, its credentials, and for
    ``Basic`` the decoded ``user:password`` and the password alone."""
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    secrets = {authorization.strip(), credentials} if credentials else {scheme}
    if scheme.lower() == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return secrets
        secrets |= {decoded, decoded.partition(":")[2]}
    return {s for s in secrets if s}


# -- what a request carries ---------------------------------------------------------------------


def _query_pairs(query: str) -> list[tuple[str, str]]:
    if "%" in query or "+" in query:
        return parse_qsl(query)
    pairs = (pair.partition("=") for pair in query.split("&"))
    return [(key, value) for key, _, value in pairs if value]


def query_values(query: str) -> set[str]:
    """The values of a search or conditional URL's query (``identifier=sys|MRN-1,sys|MRN-2``):
    each comma-separated code, the part after ``|`` and after a comparator prefix
    (``ge2024-01-01``), with and without FHIR's escapes. A whole token (``sys|MRN-1``) is
    looked for only when its code is too short to be: every spelling of a token holds the
    spelling of its code, so cutting the code out cuts the token. Result parameters
    (``_count``, ``_sort``...) hold no values."""
    found: set[str] = set()
    for key, value in _query_pairs(query):
        if key.startswith("_"):
            continue
        for token in _UNESCAPED_COMMA.split(value) if "," in value else (value,):
            code = _UNESCAPED_BAR.split(token)[-1] if "|" in token else token
            code = _COMPARATOR.sub("", code, count=1)
            plain = _FHIR_ESCAPE.sub(r"\1", code) if "\\" in code else code
            found |= {code, plain}
            if len(plain) < MIN_VALUE_LENGTH:
                found.add(token)
    return {v for v in found if v}


def _dicts(item: Any) -> list[dict[str, Any]]:
    items = item if isinstance(item, list) else [item]
    return [one for one in items if isinstance(one, dict)]


def _strings(item: Any) -> list[str]:
    items = item if isinstance(item, list) else [item]
    return [one for one in items if isinstance(one, str)]


def _identifier(item: Any, found: set[str]) -> None:
    for one in _dicts(item):
        found.update(_strings(one.get("value")))


def _human_name(item: Any, found: set[str]) -> None:
    # Only a HumanName is a dict: Organization.name and the like are strings, not a person's.
    for one in _dicts(item):
        given = _strings(one.get("given"))
        family = _strings(one.get("family"))
        found.update(given, family, _strings(one.get("text")))
        if given and family:
            # Whole, a name is found even where each part is too short to look for.
            found |= {" ".join([*given, *family]), f"{family[0]}, {' '.join(given)}"}
            found.add(f"{family[0]} {' '.join(given)}")


def _telecom(item: Any, found: set[str]) -> None:
    for one in _dicts(item):
        for value in _strings(one.get("value")):
            found.add(value)
            digits = _NOT_DIGIT.sub("", value)
            if len(digits) >= 6:  # a phone number the server regrouped
                found.add(digits)


def _address(item: Any, found: set[str]) -> None:
    for one in _dicts(item):
        for part in ("line", "city", "postalCode", "text"):
            found.update(_strings(one.get(part)))


def _birth_date(item: Any, found: set[str]) -> None:
    found.update(_strings(item))


def _bundle_request(item: Any, found: set[str]) -> None:
    # Bundle.entry.request: the conditional URL and ifNoneExist hold MRNs.
    for one in _dicts(item):
        for text in _strings(one.get("url")):
            found |= query_values(text.partition("?")[2])
        for text in _strings(one.get("ifNoneExist")):
            found |= query_values(text)


# Elements that hold codes and quantities, never a person's identifying value: not walked
# (most of a mapped resource is codings; walking them was half the time of a transaction).
_CODES = frozenset(
    {
        "meta", "coding", "code", "category", "valueQuantity", "valueCodeableConcept",
        "component", "bodySite", "route", "method", "dose", "interpretation",
        "referenceRange", "dataAbsentReason", "reasonCode", "medicationCodeableConcept",
        "statusReason", "unit", "system", "profile",
    }
)  # fmt: skip
_COLLECTORS: dict[str, Callable[[Any, set[str]], None]] = {
    "identifier": _identifier,
    "name": _human_name,
    "telecom": _telecom,
    "address": _address,
    "birthDate": _birth_date,
    "request": _bundle_request,
}


def request_values(body: Mapping[str, Any]) -> set[str]:
    """The identifying values in a request body (a resource or a Bundle, at any depth):
    ``identifier.value``, HumanName family/given/text (and the whole name), ``birthDate``,
    ``telecom.value``, address line/city/postalCode/text, ``Reference.display`` (a performer's
    name), and the query values of each Bundle entry's ``request.url`` and ``ifNoneExist``."""
    found: set[str] = set()
    stack: list[Any] = [body if isinstance(body, dict) else dict(body)]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(item for item in node if isinstance(item, dict | list))
            continue
        for key, item in node.items():
            if key in _COLLECTORS:
                _COLLECTORS[key](item, found)
            elif key in _CODES:
                continue
            if isinstance(item, dict) or isinstance(item, list):  # noqa: SIM101 - faster
                stack.append(item)
        if "display" in node and "code" not in node and "system" not in node:
            found.update(_strings(node["display"]))  # a Reference's, not a Coding's
    return found


# -- scrubbing ----------------------------------------------------------------------------------


def cap(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` cut to ``limit`` characters, the cut marked by ``ELLIPSIS``."""
    if len(text) <= limit:
        return text
    return text[: limit - len(ELLIPSIS)] + ELLIPSIS


class Redactor:
    """Scrubs server texts of one request: ``redact(text)`` → the text without any spelling of
    a secret or a value, cut to ``MAX_TEXT``.

    ``secrets`` and ``values`` are called once, on the first text (so a request that gets no
    server text never walks its body); secrets count at any length, values from
    ``MIN_VALUE_LENGTH`` characters.
    """

    def __init__(
        self,
        secrets: Callable[[], Iterable[str]] = tuple,
        values: Callable[[], Iterable[str]] = tuple,
    ) -> None:
        self._sources = (secrets, values)
        self._index: _Index | None = None
        self._short: dict[str, list[str]] = {}  # forms shorter than a gram, case-folded
        self._longest = 0

    @property
    def built(self) -> bool:
        """Whether the sets were built (a text was scrubbed)."""
        return self._index is not None

    def _build(self) -> _Index:
        secrets, values = self._sources
        forms: set[str] = set()
        for secret in secrets():
            if secret:
                forms |= spellings(secret, embedded=True)
        for value in values():
            if len(value.strip()) >= MIN_VALUE_LENGTH:
                forms |= spellings(value)
        index: _Index = {}
        for form in forms:
            folded = form.casefold()
            # "ß" is one character of the form and two where the text spells it "SS"
            self._longest = max(self._longest, len(form), len(folded))
            if len(folded) < _GRAM:
                self._short.setdefault(folded, []).append(form)
            else:
                by_length = index.setdefault(folded[:_GRAM], {}).setdefault(len(folded), {})
                by_length.setdefault(folded, []).append(form)
        self._index = index
        return index

    def __call__(self, text: object) -> str:
        text = text if isinstance(text, str) else str(text)
        if not text.strip():
            return text
        index = self._index if self._index is not None else self._build()
        # A form that starts before SCAN_LIMIT lies whole inside the window.
        window = text[: SCAN_LIMIT + self._longest]
        folded = window.casefold()
        found = self._occurrences(index, folded)
        if not found:
            return cap(window[:SCAN_LIMIT])
        if len(folded) == len(window):  # each character folded to one: positions agree
            return cap(_cut_at(window, found))
        return cap(_cut_out(window, {form for *_, spelled in found for form in spelled}))

    def _occurrences(self, index: _Index, folded: str) -> list[tuple[int, int, list[str]]]:
        """(start, end, forms as spelled) of every form found in the case-folded ``folded``."""
        if len(index) < len(folded):  # cheaper to look for each first gram than to list all
            grams: Iterable[str] = [gram for gram in index if gram in folded]
        else:
            grams = {folded[i : i + _GRAM] for i in range(len(folded) - _GRAM + 1)} & index.keys()
        found = []
        for gram in grams:
            by_length = index[gram]
            start = folded.find(gram)
            while start >= 0:
                for length, forms in by_length.items():
                    spelled = forms.get(folded[start : start + length])
                    if spelled is not None:
                        found.append((start, start + length, spelled))
                start = folded.find(gram, start + 1)
        for short, spelled in self._short.items():
            start = folded.find(short)
            while start >= 0:
                found.append((start, start + len(short), spelled))
                start = folded.find(short, start + 1)
        return found

    def optional(self, text: object) -> str | None:
        return None if text is None else self(text)

    def _code(self, code: str, known: frozenset[str]) -> str:
        return code if code in known or not code else self(code)

    def issues(self, issues: Sequence[OutcomeIssue]) -> list[OutcomeIssue]:
        """Flattened OperationOutcome issues with every text scrubbed."""
        return [
            {
                "severity": self._code(issue["severity"], _SEVERITIES),
                "code": self._code(issue["code"], _ISSUE_TYPES),
                "diagnostics": self.optional(issue["diagnostics"]),
                "details": self.optional(issue["details"]),
                "expression": [self(where) for where in issue["expression"]],
            }
            for issue in issues
        ]

    def outcome(self, outcome: Mapping[str, Any]) -> dict[str, Any]:
        """An OperationOutcome rebuilt from its scrubbed issues: what ``outcome_issues`` reads,
        nothing else (narrative and extensions are dropped, they may quote the request too)."""
        issues: list[dict[str, Any]] = []
        for issue in self.issues(outcome_issues(outcome)):
            rebuilt: dict[str, Any] = {"severity": issue["severity"], "code": issue["code"]}
            if issue["diagnostics"] is not None:
                rebuilt["diagnostics"] = issue["diagnostics"]
            if issue["details"] is not None:
                rebuilt["details"] = {"text": issue["details"]}
            if issue["expression"]:
                rebuilt["expression"] = issue["expression"]
            issues.append(rebuilt)
        return {"resourceType": "OperationOutcome", "issue": issues}


def _cut_at(window: str, found: list[tuple[int, int, list[str]]]) -> str:
    """``window`` up to ``SCAN_LIMIT`` with ``MARKER`` for every stretch that occurrences
    cover (overlapping ones merge, so no end of one is left behind another)."""
    parts: list[str] = []
    position = 0  # where the text after the last marker starts
    for start, end in sorted((start, end) for start, end, _ in found):
        if start >= SCAN_LIMIT:
            break
        if start >= position:
            parts += [window[position:start], MARKER]
        position = max(position, end)
    parts.append(window[position : max(position, SCAN_LIMIT)])
    return "".join(parts)


def _cut_out(window: str, hits: set[str]) -> str:
    """``_cut_at`` for a window whose case folding changed its length ("ß" → "ss"): with a
    case-insensitive pattern of the hits as spelled."""
    spelled = sorted(hits, key=len, reverse=True)  # the longest wins where several start
    pattern = re.compile("|".join(map(re.escape, spelled)), re.IGNORECASE)
    kept: list[str] = []
    parts: list[str] = []
    position = 0
    for match in pattern.finditer(window):
        if match.start() >= SCAN_LIMIT:
            break
        kept.append(window[position : match.start()])
        parts += [kept[-1], MARKER]
        position = match.end()
    kept.append(window[position : max(position, SCAN_LIMIT)])
    parts.append(kept[-1])
    # Case folding can find what the pattern's case-insensitive match does not ("ß" / "SS"):
    # then nothing of the text is shown.
    rest = "\0".join(kept).casefold()
    if any(form.casefold() in rest for form in hits):
        return WITHHELD
    return "".join(parts)
