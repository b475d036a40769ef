"""The redaction of server texts (``meso_fhir.fhir.redact``): pure, so tested without a client.

The properties: whatever the spelling a secret or value is quoted in, none survives; a text
holding none of them comes back as it was (cut to ``MAX_TEXT``); nothing is built until there
is a text to scrub.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from meso_fhir.errors import OutcomeIssue
from meso_fhir.fhir.outcome import outcome_issues
from meso_fhir.fhir.redact import (
    ELLIPSIS,
    MARKER,
    MAX_TEXT,
    SCAN_LIMIT,
    WITHHELD,
    Redactor,
    cap,
    credential_secrets,
    query_values,
    request_values,
    spellings,
)


def redactor(secrets: list[str] = (), values: list[str] = ()) -> Redactor:  # type: ignore[assignment]
    return Redactor(lambda: secrets, lambda: values)


def b64(text: str, encode: Callable[[bytes], bytes] = base64.b64encode) -> str:
    return encode(text.encode("utf-8")).decode("ascii")


ENCODINGS: dict[str, Callable[[str], str]] = {
    "raw": lambda s: s,
    "json": lambda s: json.dumps(s)[1:-1],
    "json-utf8": lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    "json-slash": lambda s: json.dumps(s)[1:-1].replace("/", "\\/"),
    "url": lambda s: quote(s, safe=""),
    "url-path": lambda s: quote(s),
    "url-lower-hex": lambda s: re.sub(
        "%[0-9A-F]{2}", lambda m: m.group().lower(), quote(s, safe="")
    ),
    "form": lambda s: quote_plus(s, safe=""),
    "html": html.escape,
    "base64": b64,
    "base64-unpadded": lambda s: b64(s).rstrip("="),
    "base64-urlsafe": lambda s: b64(s, base64.urlsafe_b64encode),
}


def shown(text: str) -> list[str]:
    """What a reader can read of a scrubbed text, piece by piece: the markers are ours."""
    markers = "|".join(re.escape(m) for m in (MARKER, ELLIPSIS, WITHHELD))
    return [piece.casefold() for piece in re.split(markers, text)]


# -- spellings, exactly -------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_every_spelling_of_a_value_is_replaced(encoding: str) -> None:
    value = "Anne-Élodie O'Brien/+33 6 12"
    text = f"HAPI-0450: failed at <{ENCODINGS[encoding](value)}> in Patient.name"
    assert redactor(values=[value])(text) == f"HAPI-0450: failed at <{MARKER}> in Patient.name"


def test_case_is_ignored() -> None:
    assert redactor(values=["Zyxwander"])("ZYXWANDER, zyxwander") == f"{MARKER}, {MARKER}"
    assert redactor(values=["a/b c"])("x=A%2fB%20C") == f"x={MARKER}"


def test_the_longest_spelling_wins() -> None:
    # "MRN-1" is inside "MRN-12": both go, and no "2" is left to read as a fragment
    assert redactor(values=["MRN-1", "MRN-12"])("MRN-12 MRN-1") == f"{MARKER} {MARKER}"


def test_a_password_inside_a_longer_base64_text_is_found_at_any_offset() -> None:
    password = "pa55-W0rd!x"
    for user in ("a", "ab", "abc", "clinic-sync"):
        header = "Basic " + b64(f"{user}:{password}")
        scrubbed = redactor(secrets=[password])(header)
        assert MARKER in scrubbed
        assert b64(f"{user}:{password}") not in scrubbed


def test_overlapping_values_are_cut_out_as_one() -> None:
    # no "son" left of "ohnson" behind the "John" that starts first
    assert redactor(values=["John", "ohnson"])("Dr Johnson.") == f"Dr {MARKER}."


def test_values_shorter_than_three_characters_are_left_but_secrets_never() -> None:
    assert redactor(values=["Li", "Ng"])("Li Ng, Lisa") == "Li Ng, Lisa"
    assert redactor(secrets=["Q7"])("xQ7y") == f"x{MARKER}y"
    # ...while a whole name of short parts is long enough to look for
    values = request_values(
        {"resourceType": "Patient", "name": [{"family": "Ng", "given": ["Al"]}]}
    )
    assert (
        redactor(values=sorted(values))("patient Al Ng / Ng, Al") == f"patient {MARKER} / {MARKER}"
    )


def test_a_short_value_also_blanks_those_letters_in_other_words() -> None:
    # the price of matching without word boundaries: harder to read, nothing leaked
    assert redactor(values=["Pat"])("Patient Pat") == f"{MARKER}ient {MARKER}"


def test_full_case_folding_finds_what_a_case_insensitive_match_would_not() -> None:
    assert redactor(values=["Hauptstraße 5"])("at HAUPTSTRASSE 5") == f"at {MARKER}"


def test_a_value_found_but_not_cut_out_withholds_the_whole_text() -> None:
    # A "ß" in the text itself changes its length when folded: the value is then cut out by
    # a case-insensitive pattern, which does not equate "ß" and "SS"
    assert redactor(values=["Hauptstraße 5"])("Straße? at HAUPTSTRASSE 5") == WITHHELD
    assert redactor(values=["Hauptstraße 5"])("Straße? at hauptstraße 5") == f"Straße? at {MARKER}"


def test_text_is_capped_with_an_ellipsis() -> None:
    assert cap("x" * MAX_TEXT) == "x" * MAX_TEXT
    assert cap("x" * (MAX_TEXT + 1)) == "x" * (MAX_TEXT - len(ELLIPSIS)) + ELLIPSIS
    scrubbed = redactor(values=["MRN-778899"])("MRN-778899 " + "y" * 2000)
    assert len(scrubbed) == MAX_TEXT
    assert scrubbed.startswith(MARKER + " yyy")
    assert scrubbed.endswith(ELLIPSIS)


def test_only_the_start_of_a_long_text_is_read_and_nothing_after_it_is_shown() -> None:
    # 600 values replaced by the 10-character marker: the text shrinks; past SCAN_LIMIT,
    # nothing is shown, not even the start of a value cut by the window
    value = "V" * 50
    text = value * (SCAN_LIMIT // 50) + "tail MRN-7788"
    scrubbed = redactor(values=[value, "MRN-778899"])(text)
    assert "tail" not in scrubbed
    assert "V" not in scrubbed.replace(MARKER, "")


def test_blank_and_non_text_values() -> None:
    redact = redactor(values=["MRN-778899"])
    assert redact("") == ""
    assert redact(12) == "12"
    assert redact.optional(None) is None


def test_nothing_is_built_until_there_is_text_to_scrub() -> None:
    calls: list[str] = []

    def values() -> list[str]:
        calls.append("values")
        return ["MRN-778899"]

    def secrets() -> list[str]:
        calls.append("secrets")
        return ["tok"]

    redact = Redactor(secrets, values)
    quiet: list[OutcomeIssue] = [
        {
            "severity": "information",
            "code": "informational",
            "diagnostics": None,
            "details": None,
            "expression": [],
        }
    ]
    assert redact.issues(quiet) == quiet  # codes of their value sets need no scrubbing
    assert redact.outcome(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "information", "code": "informational"}],
        }
    )
    assert (calls, redact.built) == ([], False)
    assert redact("see MRN-778899") == f"see {MARKER}"
    assert redact("tok MRN-778899") == f"{MARKER} {MARKER}"
    assert (calls, redact.built) == (["secrets", "values"], True)


def test_spellings_of_a_plain_value() -> None:
    # letters, digits and "-._~" read the same JSON-escaped, URL-encoded and HTML-escaped
    assert spellings("MRN-778899") == {"MRN-778899", "TVJOLTc3ODg5OQ==", "TVJOLTc3ODg5OQ"}
    # a secret is also looked for inside a longer base64 text (a basic Authorization header)
    assert spellings("MRN-778899", embedded=True) == {
        "MRN-778899",
        "TVJOLTc3ODg5OQ==",
        "TVJOLTc3ODg5OQ",
        "TVJOLTc3ODg5O",  # starting at offset 0 mod 3 (the last character depends on what follows)
        "1STi03Nzg4OT",  # ... at offset 1
        "NUk4tNzc4ODk5",  # ... at offset 2
    }


def test_spellings_of_a_value_with_special_characters() -> None:
    assert spellings("O'Brien/Zoë 5") == {
        "O'Brien/Zoë 5",
        "O'Brien\\/Zoë 5",
        "O'Brien/Zo\\u00eb 5",
        "O'Brien\\/Zo\\u00eb 5",
        "O%27Brien%2FZo%C3%AB%205",
        "O%27Brien%2FZo%C3%AB+5",
        "O%27Brien/Zo%C3%AB%205",
        "O%27Brien/Zo%C3%AB+5",
        "O&#x27;Brien/Zoë 5",
        "O&#39;Brien/Zoë 5",
        "TydCcmllbi9ab8OrIDU=",
        "TydCcmllbi9ab8OrIDU",
    }


# -- what a request carries ---------------------------------------------------------------------


def test_request_values_of_a_transaction() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": "urn:mrn", "value": "MRN-778899"}],
                    "name": [
                        {"family": "Zyxwander", "given": ["Anne", "Élodie"], "text": "Anne Z."}
                    ],
                    "telecom": [
                        {"system": "phone", "value": "+33 6 12 34 56 78"},
                        {"system": "email", "value": "anne@example.org"},
                    ],
                    "birthDate": "1984-07-19",
                    "address": [
                        {
                            "line": ["12 Rue des Lilas"],
                            "city": "Montauban",
                            "postalCode": "82000",
                            "state": "Occitanie",
                        }
                    ],
                    "contact": [{"name": {"family": "Rossi", "given": ["Marco"]}}],
                },
                "request": {"method": "PUT", "url": "Patient?identifier=urn:mrn|MRN-778899"},
            },
            {
                "resource": {
                    "resourceType": "Procedure",
                    "identifier": [{"value": "C001-S1"}],
                    "performer": [
                        {"actor": {"identifier": {"value": "dr-7"}, "display": "Dr Quentin Varga"}}
                    ],
                    "code": {
                        "coding": [
                            {
                                "system": "http://snomed.info/sct",
                                "code": "1",
                                "display": "Mesotherapy",
                            }
                        ]
                    },
                },
                "request": {
                    "method": "POST",
                    "url": "Procedure",
                    "ifNoneExist": "identifier=urn:s|C001-S1",
                },
            },
            {"resource": {"resourceType": "Organization", "name": "Clinique du Parc"}},
            {
                "resource": {
                    "resourceType": "Observation",
                    "performer": [{"display": "Nurse Ida Blom"}],
                }
            },
        ],
    }
    assert request_values(bundle) == {
        "MRN-778899",
        "Zyxwander", "Anne", "Élodie", "Anne Z.", "Anne Élodie Zyxwander", "Zyxwander, Anne Élodie", "Zyxwander Anne Élodie",
        "+33 6 12 34 56 78", "33612345678", "anne@example.org",
        "1984-07-19",
        "12 Rue des Lilas", "Montauban", "82000",
        "Rossi", "Marco", "Marco Rossi", "Rossi, Marco", "Rossi Marco",
        "C001-S1",
        "dr-7", "Dr Quentin Varga", "Nurse Ida Blom",
    }  # fmt: skip


def test_query_values() -> None:
    query = "identifier=urn%3Amrn%7CMRN-1%2Curn%3Amrn%7CA%5C%7C2%2Curn%3Amrn%7C42&birthdate=ge1984-01-01&_count=50&_sort=date"
    assert query_values(query) == {
        "MRN-1",
        "A\\|2", "A|2",  # as sent, and as the server reads it
        "42", "urn:mrn|42",  # too short alone: the whole token is looked for too
        "1984-01-01",
    }  # fmt: skip
    assert query_values("identifier=urn:mrn|MRN-1&family=Zyxwander") == {"MRN-1", "Zyxwander"}


def test_credential_secrets() -> None:
    basic = "Basic " + b64("clinic:pa55:word")
    assert credential_secrets(basic) == {
        basic,
        b64("clinic:pa55:word"),
        "clinic:pa55:word",
        "pa55:word",
    }
    assert credential_secrets("Bearer tok-1") == {"Bearer tok-1", "tok-1"}
    assert credential_secrets("Basic not-base64!") == {"Basic not-base64!", "not-base64!"}
    assert credential_secrets("opaque-api-key") == {"opaque-api-key"}


def test_an_outcome_is_rebuilt_from_its_scrubbed_issues() -> None:
    redact = redactor(values=["MRN-778899"])
    outcome = {
        "resourceType": "OperationOutcome",
        "text": {"status": "generated", "div": "<div>MRN-778899</div>"},
        "issue": [
            {
                "severity": "error",
                "code": "MRN-778899",
                "diagnostics": "no MRN-778899",
                "location": ["MRN-778899"],
            },
            {"severity": "warning", "code": "invalid", "details": {"text": "MRN-778899?"}},
        ],
    }
    rebuilt = redact.outcome(outcome)
    assert rebuilt == {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": MARKER,
                "diagnostics": f"no {MARKER}",
                "expression": [MARKER],
            },
            {"severity": "warning", "code": "invalid", "details": {"text": f"{MARKER}?"}},
        ],
    }
    assert outcome_issues(rebuilt) == redact.issues(outcome_issues(outcome))


# -- properties ---------------------------------------------------------------------------------

sensitive = st.text(st.characters(exclude_categories=["Cs", "Zs", "Cc"]), min_size=3, max_size=24)
noise = st.text(max_size=120)


@given(
    secret=st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=24),
    value=sensitive,
    before=noise,
    between=noise,
    after=noise,
    secret_as=st.sampled_from(sorted(ENCODINGS)),
    value_as=st.sampled_from(sorted(ENCODINGS)),
)
def test_no_secret_or_value_survives_in_any_spelling(
    secret: str, value: str, before: str, between: str, after: str, secret_as: str, value_as: str
) -> None:
    quoted_secret, quoted_value = ENCODINGS[secret_as](secret), ENCODINGS[value_as](value)
    text = before + quoted_secret + between + quoted_value + after
    pieces = shown(redactor([secret], [value])(text))
    for quoted in (quoted_secret, quoted_value, value, secret):
        assert not [piece for piece in pieces if quoted.casefold() in piece]


@given(
    secret=st.text(min_size=6, max_size=24),
    before=st.binary(max_size=9),
    after=st.binary(max_size=9),
)
def test_a_secret_inside_any_base64_text_is_cut(secret: str, before: bytes, after: bytes) -> None:
    blob = base64.b64encode(before + secret.encode("utf-8") + after).decode("ascii")
    scrubbed = redactor([secret])("Basic " + blob)
    assert blob not in scrubbed
    assert MARKER in scrubbed


@given(value=sensitive, text=st.text(max_size=300))
def test_a_text_without_any_value_comes_back_unchanged(value: str, text: str) -> None:
    assume(not any(form.casefold() in text.casefold() for form in spellings(value)))
    assert redactor(values=[value])(text) == cap(text)
