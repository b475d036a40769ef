"""FhirClient against pytest-httpx: retries, errors, paging, auth, headers, response parsing.

No test sleeps or reads the real clock: ``make_client`` (tests/conftest.py) builds clients on
``FakeTime``, which stands in for the monotonic clock and for ``sleep`` and records every delay
the client asked for.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import traceback
from collections.abc import Callable
from typing import Any, TypedDict

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpx import HTTPXMock, IteratorStream

from meso_fhir import __version__, errors
from meso_fhir.errors import (
    AuthenticationFailed,
    FhirError,
    MalformedResponse,
    NotFound,
    RequestRejected,
    TransientError,
    VersionConflict,
)
from meso_fhir.fhir import (
    BearerToken,
    EntryResult,
    FhirClient,
    RetryPolicy,
    operation_outcome_text,
    outcome_issues,
    parse_transaction_response,
)
from meso_fhir.mapping.identity import identifier_token

from .helpers import CLIENT_BASE as BASE
from .helpers import ClientFactory, FakeTime

TOKEN = "sEnTiNeL-t0ken-9f3b7c"  # searched for everywhere it must not be
PATIENT = {"resourceType": "Patient", "id": "p1", "meta": {"versionId": "3"}}


def outcome(*issues: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": list(issues)}


# -- retries ------------------------------------------------------------------------------------


def test_429_waits_retry_after_seconds(
    httpx_mock: HTTPXMock, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    httpx_mock.add_response(url=f"{BASE}/Patient/p1", status_code=429, headers={"Retry-After": "7"})
    httpx_mock.add_response(url=f"{BASE}/Patient/p1", json=PATIENT)

    assert make_client().read("Patient", "p1") == PATIENT
    assert fake_time.sleeps == [7.0]


def test_retry_after_http_date_is_measured_against_the_response_date(
    httpx_mock: HTTPXMock, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    httpx_mock.add_response(
        status_code=503,
        headers={
            "Date": "Wed, 21 Oct 2015 07:28:00 GMT",
            "Retry-After": "Wed, 21 Oct 2015 07:28:12 GMT",
        },
    )
    httpx_mock.add_response(json=PATIENT)

    assert make_client().read("Patient", "p1") == PATIENT
    assert fake_time.sleeps == [12.0]


def test_retry_after_http_date_without_date_header_uses_the_wall_clock(
    httpx_mock: HTTPXMock, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    httpx_mock.add_response(
        status_code=503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:05 GMT"}
    )
    httpx_mock.add_response(json=PATIENT)

    assert make_client().read("Patient", "p1") == PATIENT
    assert fake_time.sleeps == [5.0]


def test_retry_after_is_capped_by_max_delay_and_a_past_date_means_now(
    httpx_mock: HTTPXMock, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    httpx_mock.add_response(status_code=429, headers={"Retry-After": "3600"})
    httpx_mock.add_response(
        status_code=503, headers={"Retry-After": "Wed, 21 Oct 2015 07:00:00 GMT"}
    )
    httpx_mock.add_response(json=PATIENT)

    client = make_client(retry=RetryPolicy(max_attempts=3, max_delay=20.0))
    assert client.read("Patient", "p1") == PATIENT
    assert fake_time.sleeps == [20.0, 0.0]


def test_503_then_success_backs_off_with_jitter(
    httpx_mock: HTTPXMock, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    httpx_mock.add_response(status_code=503)
    httpx_mock.add_response(json=PATIENT)

    assert make_client(random=lambda: 0.25).read("Patient", "p1") == PATIENT
    assert fake_time.sleeps == [0.25]  # random() * base_delay * 2**0


def test_500_until_max_attempts_is_a_transient_error(
    httpx_mock: HTTPXMock, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    boom = outcome({"severity": "error", "code": "exception", "diagnostics": "HAPI-0389: boom"})
    for _ in range(4):
        httpx_mock.add_response(url=f"{BASE}/Patient/p1", status_code=500, json=boom)
    jitter = iter([1.0, 0.5, 0.25])
    client = make_client(
        retry=RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=3.0, deadline=None),
        random=lambda: next(jitter),
    )

    with pytest.raises(TransientError) as caught:
        client.read("Patient", "p1")

    # ceilings 1, 2, then 4 capped to 3; times the jitter
    assert fake_time.sleeps == [1.0, 1.0, 0.75]
    error = caught.value
    assert error.attempts == 4
    assert error.status == 500
    assert error.temporary is True
    assert str(error) == (
        "GET /fhir/Patient/p1 -> 500: Internal Server Error: "
        "error exception: HAPI-0389: boom (gave up after 4 attempts)"
    )
    assert len(httpx_mock.get_requests()) == 4


@pytest.mark.parametrize(
    "dropped",
    [
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ConnectError("[Errno 111] Connection refused"),
    ],
)
def test_dropped_connection_then_success(
    httpx_mock: HTTPXMock, make_client: ClientFactory, fake_time: FakeTime, dropped: Exception
) -> None:
    httpx_mock.add_exception(dropped, method="PUT")
    httpx_mock.add_response(method="PUT", status_code=200, json=PATIENT)

    result = make_client().update(PATIENT)
    assert result.status == 200
    assert fake_time.sleeps == [0.5]
    assert len(httpx_mock.get_requests()) == 2


def test_read_timeout_then_success(
    httpx_mock: HTTPXMock, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    httpx_mock.add_exception(httpx.ReadTimeout("The read operation timed out"))
    httpx_mock.add_response(json=PATIENT)

    assert make_client().read("Patient", "p1") == PATIENT
    assert fake_time.sleeps == [0.5]


def test_deadline_gives_up_with_the_last_error(
    httpx_mock: HTTPXMock, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    timeout = httpx.ReadTimeout("The read operation timed out")
    httpx_mock.add_exception(timeout)
    httpx_mock.add_exception(timeout)
    client = make_client(
        retry=RetryPolicy(max_attempts=10, base_delay=4.0, max_delay=100.0, deadline=10.0),
        random=lambda: 1.0,
    )

    with pytest.raises(TransientError) as caught:
        client.read("Patient", "p1")

    # slept 4 s; the next wait (8 s) would end after the 10 s deadline
    assert fake_time.sleeps == [4.0]
    assert caught.value.attempts == 2
    assert caught.value.status is None
    assert str(caught.value) == (
        "GET /fhir/Patient/p1: timed out: ReadTimeout (gave up after 2 attempts and 4.0s)"
    )
    assert caught.value.__cause__ is timeout


def test_plain_create_is_not_replayed_after_the_connection_dropped(
    httpx_mock: HTTPXMock, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    httpx_mock.add_exception(httpx.RemoteProtocolError("Server disconnected"), method="POST")

    with pytest.raises(TransientError) as caught:
        make_client().create({"resourceType": "Observation", "status": "final"})

    assert caught.value.attempts == 1
    assert str(caught.value) == (
        "POST /fhir/Observation: connection failed: RemoteProtocolError "
        "(not retried: the server may have processed it)"
    )
    assert fake_time.sleeps == []


def test_plain_create_is_not_replayed_after_a_503(
    httpx_mock: HTTPXMock, make_client: ClientFactory
) -> None:
    httpx_mock.add_response(method="POST", status_code=503)

    with pytest.raises(TransientError) as caught:
        make_client().create({"resourceType": "Observation", "status": "final"})
    assert (caught.value.status, caught.value.attempts) == (503, 1)


class CreateOptions(TypedDict, total=False):
    if_none_exist: dict[str, str]
    replay_safe: bool


@pytest.mark.parametrize(
    ("first", "create_kwargs"),
    [
        (httpx.ConnectError("refused"), {}),  # never reached the server
        (httpx.Response(429), {}),  # the server said it did not process it
        (httpx.RemoteProtocolError("dropped"), {"replay_safe": True}),
        (httpx.RemoteProtocolError("dropped"), {"if_none_exist": {"identifier": "s|v"}}),
    ],
)
def test_create_is_replayed_when_that_is_safe(
    httpx_mock: HTTPXMock,
    make_client: ClientFactory,
    first: httpx.Response | Exception,
    create_kwargs: CreateOptions,
) -> None:
    if isinstance(first, httpx.Response):
        httpx_mock.add_response(method="POST", status_code=first.status_code)
    else:
        httpx_mock.add_exception(first, method="POST")
    httpx_mock.add_response(
        method="POST",
        status_code=201,
        headers={"Location": f"{BASE}/Observation/o1/_history/1"},
    )

    result = make_client().create({"resourceType": "Observation"}, **create_kwargs)
    assert (result.status, result.id, result.version_id) == (201, "o1", "1")


def test_transaction_with_plain_posts_is_not_replayed(
    httpx_mock: HTTPXMock, make_client: ClientFactory
) -> None:
    httpx_mock.add_exception(httpx.ReadTimeout("timed out"), method="POST")
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {"resourceType": "Observation"},
                "request": {"method": "POST", "url": "Observation"},
            }
        ],
    }
    with pytest.raises(TransientError) as caught:
        make_client().transaction(bundle)
    assert caught.value.attempts == 1


def test_transaction_of_conditional_writes_is_replayed(
    httpx_mock: HTTPXMock, make_client: ClientFactory, fake_time: FakeTime
) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"request": {"method": "PUT", "url": "Patient?identifier=s|1"}},
            {"request": {"method": "POST", "url": "Observation", "ifNoneExist": "identifier=s|2"}},
        ],
    }
    response = {"resourceType": "Bundle", "type": "transaction-response", "entry": []}
    httpx_mock.add_exception(httpx.ReadTimeout("timed out"), method="POST", url=BASE)
    httpx_mock.add_response(method="POST", url=BASE, json=response, match_json=bundle)

    assert make_client().transaction(bundle) == response
    assert fake_time.sleeps == [0.5]


def test_transactions_ask_for_minimal_responses_and_batches_do_not(
    httpx_mock: HTTPXMock, make_client: ClientFactory
) -> None:
    """A sync reads only status, location and ETag; a batch of searches needs its bodies."""
    response = {"resourceType": "Bundle", "type": "transaction-response", "entry": []}
    httpx_mock.add_response(method="POST", url=BASE, json=response, is_reusable=True)
    client = make_client()
    client.transaction({"resourceType": "Bundle", "type": "transaction", "entry": []})
    client.batch({"resourceType": "Bundle", "type": "batch", "entry": []})
    sent = httpx_mock.get_requests()
    assert [r.headers.get("Prefer") for r in sent] == ["return=minimal", None]


def test_transaction_responses_are_asked_for_compressed_and_read_compressed(
    httpx_mock: HTTPXMock, make_client: ClientFactory
) -> None:
    """Uncompressed, HAPI sends a transaction-response in tens of thousands of tiny chunks,
    which doubled a sync's CPU; gzipped it comes in a few."""
    entry = {"response": {"status": "201 Created", "location": "Patient/7/_history/1"}}
    response = {"resourceType": "Bundle", "type": "transaction-response", "entry": [entry]}
    httpx_mock.add_response(
        method="POST",
        url=BASE,
        stream=IteratorStream([gzip.compress(json.dumps(response).encode())]),
        headers={"Content-Type": "application/fhir+json", "Content-Encoding": "gzip"},
    )
    put = {"request": {"method": "PUT", "url": "Patient/7"}}
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [put]}

    [result] = make_client().transaction_results(bundle)

    assert (result.status, result.id, result.version_id) == (201, "7", "1")
    [sent] = httpx_mock.get_requests()
    assert "gzip" in sent.headers["Accept-Encoding"].split(", ")


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "diagnostics"),
    [
        (
            412,
            "HAPI-0989: Trying to update Patient/p1/_history/4 but this is not the current version",
        ),
        (409, "HAPI-0550: The operation has failed with a version constraint failure"),
    ],
)
def test_409_and_412_are_version_conflicts(
    httpx_mock: HTTPXMock, make_client: ClientFactory, status: int, diagnostics: str
) -> None:
    httpx_mock.add_response(
        method="PUT",
        url=f"{BASE}/Patient/p1",
        status_code=status,
        json=outcome({"severity": "error", "code": "conflict", "diagnostics": diagnostics}),
        match_headers={"If-Match": 'W/"4"'},
    )

    with pytest.raises(VersionConflict) as caught:
        make_client().update(PATIENT, if_match="4")

    error = caught.value
    assert error.status == status
    assert error.issues == [
        {
            "severity": "error",
            "code": "conflict",
            "diagnostics": diagnostics,
            "details": None,
            "expression": [],
        }
    ]
    assert diagnostics in error.message
    assert error.temporary is False
    assert len(httpx_mock.get_requests()) == 1  # never retried


def test_400_is_rejected_with_the_servers_issues(
    httpx_mock: HTTPXMock, make_client: ClientFactory
) -> None:
    httpx_mock.add_response(
        method="PUT",
        status_code=400,
        json=outcome(
            {
                "severity": "error",
                "code": "processing",
                "diagnostics": "HAPI-0450: Failed to parse request body as JSON resource.",
                "expression": ["Patient.birthDate"],
            },
            {
                "severity": "warning",
                "code": "invalid",
                "details": {"text": "Unknown element 'colour'"},
                "location": ["/f:Patient/f:colour"],
            },
        ),
    )

    with pytest.raises(RequestRejected) as caught:
        make_client().update(PATIENT)

    error = caught.value
    assert type(error) is RequestRejected
    assert (error.status, error.method, error.path) == (400, "PUT", "/fhir/Patient/p1")
    assert error.issues == [
        {
            "severity": "error",
            "code": "processing",
            "diagnostics": "HAPI-0450: Failed to parse request body as JSON resource.",
            "details": None,
            "expression": ["Patient.birthDate"],
        },
        {
            "severity": "warning",
            "code": "invalid",
            "diagnostics": None,
            "details": "Unknown element 'colour'",
            "expression": ["/f:Patient/f:colour"],
        },
    ]
    assert str(error) == (
        "PUT /fhir/Patient/p1 -> 400: Bad Request: error processing: HAPI-0450: Failed to parse "
        "request body as JSON resource. (at Patient.birthDate); "
        "warning invalid: Unknown element 'colour' (at /f:Patient/f:colour)"
    )
    assert error.as_dict() == {
        "error": "RequestRejected",
        "temporary": False,
        "status": 400,
        "method": "PUT",
        "path": "/fhir/Patient/p1",
        "message": error.message,
        "issues": error.issues,
    }


@pytest.mark.parametrize(
    ("status", "kind", "reason"),
    [
        (401, AuthenticationFailed, "Unauthorized"),
        (403, AuthenticationFailed, "Forbidden"),
        (404, NotFound, "Not Found"),
        (410, NotFound, "Gone"),
        (422, RequestRejected, "Unprocessable Entity"),
        (501, RequestRejected, "Not Implemented"),
    ],
)
def test_status_to_error(
    httpx_mock: HTTPXMock,
    make_client: ClientFactory,
    status: int,
    kind: type[FhirError],
    reason: str,
) -> None:
    httpx_mock.add_response(status_code=status)

    with pytest.raises(kind) as caught:
        make_client().read("Patient", "p1")
    assert type(caught.value) is kind
    assert str(caught.value) == f"GET /fhir/Patient/p1 -> {status}: {reason}"
    assert len(httpx_mock.get_requests()) == 1


def test_an_html_error_page_is_quoted(httpx_mock: HTTPXMock, make_client: ClientFactory) -> None:
    httpx_mock.add_response(
        status_code=400, text="<html>\n<body><h1>Bad request</h1>\n</body></html>"
    )
    with pytest.raises(RequestRejected) as caught:
        make_client().read("Patient", "p1")
    assert caught.value.message == "Bad Request: <html> <body><h1>Bad request</h1> </body></html>"
    assert caught.value.issues == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html><body>Welcome to nginx</body></html>", "body is not JSON"),
        (b'{"resourceType": "Patient", "id": "p', "body is not JSON"),
        (b'{"resourceType": "Observation", "id": "p1"}', "expected a Patient, got 'Observation'"),
        (b"[1, 2]", "expected a Patient, got 'list'"),
    ],
)
def test_malformed_read(
    httpx_mock: HTTPXMock, make_client: ClientFactory, body: bytes, message: str
) -> None:
    httpx_mock.add_response(content=body)
    with pytest.raises(MalformedResponse) as caught:
        make_client().read("Patient", "p1")
    assert str(caught.value) == f"GET /fhir/Patient/p1 -> 200: {message}"


def test_transaction_answered_with_something_else_is_malformed(
    httpx_mock: HTTPXMock, make_client: ClientFactory
) -> None:
    httpx_mock.add_response(
        method="POST", json=outcome({"severity": "information", "code": "informational"})
    )
    with pytest.raises(MalformedResponse) as caught:
        make_client().transaction({"resourceType": "Bundle", "type": "transaction", "entry": []})
    assert str(caught.value) == "POST /fhir -> 200: expected a Bundle, got 'OperationOutcome'"


def test_a_write_answered_with_json_that_is_not_a_resource_is_malformed(
    httpx_mock: HTTPXMock, make_client: ClientFactory
) -> None:
    httpx_mock.add_response(method="PUT", json={"ok": True})
    with pytest.raises(MalformedResponse, match="body is not a FHIR resource"):
        make_client().update(PATIENT)


def test_unsendable_request_is_a_plain_fhir_error(
    httpx_mock: HTTPXMock, make_client: ClientFactory
) -> None:
    httpx_mock.add_exception(httpx.ProxyError("407 Proxy Authentication Required"))
    with pytest.raises(FhirError) as caught:
        make_client().read("Patient", "p1")
    assert type(caught.value) is FhirError
    assert str(caught.value) == "GET /fhir/Patient/p1: could not send the request: ProxyError"


# -- operations ---------------------------------------------------------------------------------


def page(ids: list[str], next_url: str | None) -> dict[str, Any]:
    links = [{"relation": "self", "url": "ignored"}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
        "entry": [
            {"resource": {"resourceType": "Patient", "id": i}, "search": {"mode": "match"}}
            for i in ids
        ],
    }


def hapi_page(offset: int) -> str:
    return f"{BASE}?_getpages=7f3c&_getpagesoffset={offset}&_count=2&_bundletype=searchset"


def test_search_follows_hapi_next_links(httpx_mock: HTTPXMock, make_client: ClientFactory) -> None:
    first = f"{BASE}/Patient?family=Doe&_count=2"
    httpx_mock.add_response(url=first, json=page(["a", "b"], hapi_page(2)))
    last = page(["e"], None)
    last["entry"].append(
        {
            "resource": outcome({"severity": "warning", "code": "processing"}),
            "search": {"mode": "outcome"},
        }
    )
    httpx_mock.add_response(url=hapi_page(2), json=page(["c", "d"], hapi_page(4)))
    httpx_mock.add_response(url=hapi_page(4), json=last)

    found = make_client().search("Patient", {"family": "Doe", "_count": "2"})

    assert [r["id"] for r in found] == ["a", "b", "c", "d", "e"]
    requests = httpx_mock.get_requests()
    assert [str(r.url) for r in requests] == [first, hapi_page(2), hapi_page(4)]
    assert {r.headers["Cache-Control"] for r in requests} == {"no-cache"}


def test_search_with_repeated_parameters(httpx_mock: HTTPXMock, make_client: ClientFactory) -> None:
    url = f"{BASE}/Observation?date=ge2024-01-01&date=lt2024-02-01&subject=Patient%2Fp1"
    httpx_mock.add_response(url=url, json=page([], None))
    params = [("date", "ge2024-01-01"), ("date", "lt2024-02-01"), ("subject", "Patient/p1")]
    assert list(make_client().search("Observation", params)) == []


def test_search_stops_when_a_next_link_repeats(
    httpx_mock: HTTPXMock, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    httpx_mock.add_response(url=f"{BASE}/Patient", json=page(["a"], hapi_page(1)))
    httpx_mock.add_response(url=hapi_page(1), json=page(["b"], hapi_page(1)))

    with caplog.at_level(logging.WARNING, logger="meso_fhir.http"):
        assert [r["id"] for r in make_client().search("Patient")] == ["a", "b"]
    assert len(httpx_mock.get_requests()) == 2
    assert caplog.messages == [
        "GET /fhir?_getpages=&_getpagesoffset=&_count=&_bundletype=: "
        "next link repeats a page already read; stopping"
    ]


def test_search_refuses_a_next_link_to_another_server(
    httpx_mock: HTTPXMock, make_client: ClientFactory
) -> None:
    httpx_mock.add_response(
        url=f"{BASE}/Patient", json=page(["a"], "https://evil.example/fhir?_getpages=1")
    )

    found = make_client(auth=BearerToken(TOKEN)).search("Patient")
    assert next(found)["id"] == "a"
    with pytest.raises(MalformedResponse, match="next link points to another server"):
        next(found)


def test_conditional_update_encodes_system_and_value(
    httpx_mock: HTTPXMock, make_client: ClientFactory
) -> None:
    expected = (
        f"{BASE}/Patient?identifier="
        "http%3A%2F%2Fclinic.example%2Fmrn%7CA%5C%7C1%5C%2C2+%5C%24x%26z%3D%23%C3%A9"
    )
    httpx_mock.add_response(
        method="PUT", url=expected, status_code=201, json=PATIENT, match_json=PATIENT
    )

    result = make_client().conditional_update(PATIENT, "http://clinic.example/mrn", "A|1,2 $x&z=#é")

    request = httpx_mock.get_request()
    assert request is not None
    assert str(request.url) == expected
    # what the server reads back: the token with FHIR's search escapes
    assert request.url.params["identifier"] == "http://clinic.example/mrn|A\\|1\\,2 \\$x&z=#é"
    assert result == EntryResult(
        status=201, resource_type="Patient", id="p1", version_id="3", resource=PATIENT
    )


def test_update_result_from_headers(httpx_mock: HTTPXMock, make_client: ClientFactory) -> None:
    httpx_mock.add_response(
        method="PUT",
        url=f"{BASE}/Patient/p1",
        headers={"ETag": 'W/"7"', "Content-Location": f"{BASE}/Patient/p1/_history/7"},
    )
    assert make_client().update(PATIENT) == EntryResult(
        status=200,
        location=f"{BASE}/Patient/p1/_history/7",
        resource_type="Patient",
        id="p1",
        version_id="7",
    )


def test_create_sends_if_none_exist(httpx_mock: HTTPXMock, make_client: ClientFactory) -> None:
    httpx_mock.add_response(
        method="POST",
        url=f"{BASE}/Observation",
        status_code=200,
        match_headers={"If-None-Exist": "identifier=urn%3Asys%7Cobs-1"},
        json={"resourceType": "Observation", "id": "o1", "meta": {"versionId": "2"}},
    )
    result = make_client().create(
        {"resourceType": "Observation"}, {"identifier": identifier_token("urn:sys", "obs-1")}
    )
    assert (result.status, result.resource_type, result.id, result.version_id) == (
        200,
        "Observation",
        "o1",
        "2",
    )


def test_capabilities(httpx_mock: HTTPXMock, make_client: ClientFactory) -> None:
    statement = {"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1"}
    httpx_mock.add_response(method="GET", url=f"{BASE}/metadata", json=statement)
    assert make_client().capabilities() == statement


@pytest.mark.parametrize(
    ("stated", "version"),
    [({"fhirVersion": "4.0.1"}, "4.0.1"), ({"fhirVersion": 4}, None), ({}, None)],
)
def test_fhir_version_asks_for_that_element_alone(
    httpx_mock: HTTPXMock, make_client: ClientFactory, stated: dict[str, Any], version: str | None
) -> None:
    httpx_mock.add_response(
        method="GET",
        url=f"{BASE}/metadata?_elements=fhirVersion",
        json={"resourceType": "CapabilityStatement", **stated},
    )
    assert make_client().fhir_version() == version
    assert len(httpx_mock.get_requests()) == 1


def test_fhir_version_of_a_server_refusing_elements_comes_from_the_whole_statement(
    httpx_mock: HTTPXMock, make_client: ClientFactory
) -> None:
    httpx_mock.add_response(
        method="GET", url=f"{BASE}/metadata?_elements=fhirVersion", status_code=400, text="no"
    )
    httpx_mock.add_response(
        method="GET",
        url=f"{BASE}/metadata",
        json={"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1", "rest": []},
    )
    assert make_client().fhir_version() == "4.0.1"
    assert [str(r.url) for r in httpx_mock.get_requests()] == [
        f"{BASE}/metadata?_elements=fhirVersion",
        f"{BASE}/metadata",
    ]


@pytest.mark.parametrize(
    ("status", "error"), [(404, NotFound), (401, AuthenticationFailed), (500, FhirError)]
)
def test_fhir_version_of_a_server_failing_otherwise_is_that_error(
    httpx_mock: HTTPXMock, make_client: ClientFactory, status: int, error: type[Exception]
) -> None:
    httpx_mock.add_response(
        method="GET",
        url=f"{BASE}/metadata?_elements=fhirVersion",
        status_code=status,
        text="no",
        is_reusable=True,
    )
    with pytest.raises(error):
        make_client().fhir_version()
    assert {str(r.url) for r in httpx_mock.get_requests()} == {
        f"{BASE}/metadata?_elements=fhirVersion"
    }


def test_batch_posts_to_the_base(httpx_mock: HTTPXMock, make_client: ClientFactory) -> None:
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": []}
    response = {"resourceType": "Bundle", "type": "batch-response", "entry": []}
    httpx_mock.add_response(method="POST", url=BASE, json=response, match_json=bundle)
    assert make_client().batch(bundle) == response


def test_bad_type_or_id_never_reaches_the_url(make_client: ClientFactory) -> None:
    client = make_client()
    with pytest.raises(ValueError, match="not a FHIR resource id"):
        client.read("Patient", "../metadata")
    with pytest.raises(ValueError, match="not a FHIR resource type"):
        client.search("patient?x=1")
    with pytest.raises(ValueError, match="not a FHIR resource id"):
        client.update({"resourceType": "Patient"})


# -- headers and auth ---------------------------------------------------------------------------


def test_headers(httpx_mock: HTTPXMock, make_client: ClientFactory) -> None:
    httpx_mock.add_response(method="PUT", json=PATIENT)
    make_client().update(PATIENT)

    request = httpx_mock.get_request()
    assert request is not None
    assert request.headers["User-Agent"] == f"meso-fhir/{__version__} (+https://meso-fhir.org)"
    assert request.headers["Accept"] == "application/fhir+json"
    assert request.headers["Content-Type"] == "application/fhir+json"
    assert "Authorization" not in request.headers


def test_basic_auth(httpx_mock: HTTPXMock, make_client: ClientFactory) -> None:
    httpx_mock.add_response(
        json=PATIENT, match_headers={"Authorization": "Basic Y2xpbmljOnMzY3JldA=="}
    )
    assert make_client(auth=("clinic", "s3cret")).read("Patient", "p1") == PATIENT


def test_bearer_token_is_sent_and_never_shown(
    httpx_mock: HTTPXMock, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="meso_fhir.http")
    client = make_client(auth=BearerToken(TOKEN), retry=RetryPolicy(max_attempts=2))
    oo = outcome({"severity": "error", "code": "invalid", "diagnostics": "bad"})
    failures: list[tuple[httpx.Response | Exception, Callable[[], object]]] = [
        (httpx.Response(401), lambda: client.read("Patient", "p1")),
        (httpx.Response(400, json=oo), lambda: client.update(PATIENT)),
        (httpx.Response(200, text="<html>"), lambda: client.capabilities()),
        (httpx.ReadTimeout("timed out"), lambda: client.read("Patient", "p1")),
        (httpx.ProxyError("refused"), lambda: client.read("Patient", "p1")),
    ]
    raised: list[FhirError] = []
    for first, call in failures:
        httpx_mock.reset()
        if isinstance(first, httpx.Response):
            httpx_mock.add_response(status_code=first.status_code, content=first.content)
        else:
            httpx_mock.add_exception(first, is_reusable=True)
        with pytest.raises(FhirError) as caught:
            call()
        raised.append(caught.value)
        sent = httpx_mock.get_requests()[0]
        assert sent.headers["Authorization"] == f"Bearer {TOKEN}"

    assert [type(e) for e in raised] == [
        AuthenticationFailed,
        RequestRejected,
        MalformedResponse,
        TransientError,
        FhirError,
    ]
    shown = [repr(client), str(client), repr(BearerToken(TOKEN)), caplog.text]
    for error in raised:
        shown += [
            str(error),
            repr(error),
            repr(error.as_dict()),
            *traceback.format_exception(error),
        ]
        cause = error.__cause__
        while cause is not None:
            shown += [str(cause), repr(cause)]
            cause = cause.__cause__ or cause.__context__
    assert not [text for text in shown if TOKEN in text]
    assert repr(client) == "FhirClient('https://ehr.example/fhir')"


def test_bearer_token_with_a_newline_is_refused() -> None:
    with pytest.raises(ValueError) as caught:
        BearerToken(TOKEN + "\r\nX-Evil: 1")
    assert TOKEN not in str(caught.value)


# -- logging ------------------------------------------------------------------------------------


def test_log_has_no_query_values(
    httpx_mock: HTTPXMock,
    make_client: ClientFactory,
    fake_time: FakeTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    httpx_mock.add_response(method="PUT", status_code=503)
    httpx_mock.add_response(method="PUT", status_code=201, json=PATIENT)

    with caplog.at_level(logging.DEBUG, logger="meso_fhir.http"):
        make_client().conditional_update(PATIENT, "urn:mrn", "MRN-000123")

    assert caplog.messages == [
        "PUT /fhir/Patient?identifier= 503 attempt=1 elapsed=0.000s",
        "PUT /fhir/Patient?identifier= retrying in 0.50s (attempt 1 failed)",
        "PUT /fhir/Patient?identifier= 201 attempt=2 elapsed=0.000s",
    ]
    assert "MRN-000123" not in caplog.text


# -- pure helpers -------------------------------------------------------------------------------


def test_parse_transaction_response() -> None:
    oo = outcome(
        {
            "severity": "error",
            "code": "required",
            "diagnostics": "Observation.status: minimum required = 1",
        }
    )
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [
            {
                "response": {
                    "status": "201 Created",
                    "location": "Patient/123/_history/1",
                    "etag": 'W/"1"',
                }
            },
            {"response": {"status": "200", "location": f"{BASE}/Observation/o-9", "etag": 'W/"4"'}},
            {
                "resource": {"resourceType": "Procedure", "id": "pr1", "meta": {"versionId": "2"}},
                "response": {"status": "200 OK"},
            },
            {"response": {"status": "400 Bad Request", "outcome": oo}},
        ],
    }

    assert parse_transaction_response(bundle) == [
        EntryResult(201, "Patient/123/_history/1", "Patient", "123", "1"),
        EntryResult(200, f"{BASE}/Observation/o-9", "Observation", "o-9", "4"),
        EntryResult(
            200,
            None,
            "Procedure",
            "pr1",
            "2",
            resource={"resourceType": "Procedure", "id": "pr1", "meta": {"versionId": "2"}},
        ),
        EntryResult(400, issues=outcome_issues(oo)),
    ]
    assert [r.ok for r in parse_transaction_response(bundle)] == [True, True, True, False]


def test_parse_transaction_response_needs_a_status() -> None:
    with pytest.raises(MalformedResponse, match=r"entry 0 has no response\.status"):
        parse_transaction_response(
            {"resourceType": "Bundle", "entry": [{"response": {"status": "Created"}}]}
        )
    with pytest.raises(MalformedResponse, match="expected a Bundle, got 'OperationOutcome'"):
        parse_transaction_response(outcome())


def test_operation_outcome_text() -> None:
    oo = outcome(
        {
            "severity": "error",
            "code": "invalid",
            "diagnostics": "bad date",
            "details": {"text": "bad date"},
        },
        {"severity": "information", "code": "informational"},
    )
    assert operation_outcome_text(oo) == "error invalid: bad date; information informational"
    assert (
        operation_outcome_text(outcome_issues(oo))
        == "error invalid: bad date; information informational"
    )
    assert operation_outcome_text({"resourceType": "Patient"}) == ""
    assert operation_outcome_text(None) == ""


def test_identifier_token_escapes_fhir_search_characters() -> None:
    assert identifier_token("urn:x|y", "a,b$c\\d") == "urn:x\\|y|a\\,b\\$c\\\\d"


def test_retry_policy_checks_itself() -> None:
    with pytest.raises(ValueError, match="max_attempts must be at least 1"):
        RetryPolicy(max_attempts=0)


class ClosingTransport(httpx.MockTransport):
    """Answers 200 with the Patient; remembers being closed."""

    def __init__(self) -> None:
        super().__init__(lambda request: httpx.Response(200, json=PATIENT))
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_client_is_a_context_manager_that_closes_its_transport(
    make_client: ClientFactory,
) -> None:
    transport = ClosingTransport()
    with make_client(transport=transport) as client:
        assert client.read("Patient", "p1") == PATIENT
        assert transport.closed is False
    assert transport.closed is True


def test_base_url_must_be_absolute() -> None:
    with pytest.raises(ValueError, match="absolute http"):
        FhirClient("ehr.example/fhir")


def test_a_redirect_is_not_followed(httpx_mock: HTTPXMock, make_client: ClientFactory) -> None:
    httpx_mock.add_response(status_code=301, headers={"Location": "https://other.example/fhir"})
    with pytest.raises(RequestRejected) as caught:
        make_client().capabilities()
    assert str(caught.value) == "GET /fhir/metadata -> 301: Moved Permanently"


# No deadline: under a loaded machine one example can take longer than hypothesis' 200 ms.
@settings(deadline=None)
@given(system=st.text(min_size=1), value=st.text(min_size=1))
def test_identifier_token_survives_the_url(system: str, value: str) -> None:
    url = httpx.URL(BASE).copy_merge_params({"identifier": identifier_token(system, value)})
    sent = httpx.URL(str(url)).params["identifier"]
    # a server splits on the first unescaped "|" and then removes the escapes
    parts = re.split(r"(?<!\\)((?:\\\\)*)\|", sent, maxsplit=1)
    unescaped = [re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL) for text in parts]
    assert (unescaped[0] + unescaped[1], unescaped[2]) == (system, value)


def _drawn_tree(doc: str) -> dict[str, str | None]:
    """Class name -> parent name, as drawn (``├── Name``) in the docstring's ``::`` block."""
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []  # (column, name) of the current line's ancestors
    block = doc.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    for line in block.splitlines():
        drawn = re.match(r"( *[│├└─ ]*)([A-Z][A-Za-z]+)\b", line)
        if drawn is None:
            continue
        column, name = len(drawn.group(1)), drawn.group(2)
        while stack and stack[-1][0] >= column:
            stack.pop()
        parents[name] = stack[-1][1] if stack else None
        stack.append((column, name))
    return parents


def _class_tree(root: type[Exception]) -> dict[str, str | None]:
    tree: dict[str, str | None] = {root.__name__: None}
    for sub in root.__subclasses__():
        tree |= {sub.__name__: root.__name__} | {
            k: v for k, v in _class_tree(sub).items() if v is not None
        }
    return tree


def test_the_error_tree_drawn_in_errors_is_the_class_tree() -> None:
    assert errors.__doc__ is not None
    assert _drawn_tree(errors.__doc__) == _class_tree(errors.MesoFhirError)
    assert _class_tree(errors.MesoFhirError)["VersionConflict"] == "RequestRejected"
