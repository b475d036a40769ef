"""FhirClient left alone in a hospital: a server that quotes what it was sent, one that stalls,
one with a certificate that does not verify, credentials in the base URL.

The quoting server is pytest-httpx; stalling and TLS need real sockets, so those tests start a
small ``http.server`` on loopback (closed by their fixtures: warnings are errors here).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import shutil
import ssl
import subprocess
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import orjson
import pytest
from pytest_httpx import HTTPXMock

from meso_fhir.errors import (
    AuthenticationFailed,
    FhirError,
    MalformedResponse,
    NotFound,
    RequestRejected,
    TransientError,
    VersionConflict,
)
from meso_fhir.fhir import BearerToken, FhirClient, RetryPolicy, parse_transaction_response
from meso_fhir.fhir import client as client_module
from meso_fhir.fhir.outcome import EntryResult
from meso_fhir.fhir.redact import MARKER
from meso_fhir.fhir.redact import request_values as real_request_values

from .helpers import FakeTime

ClientFor = Callable[..., FhirClient]
BASE = "https://ehr.example/fhir"
MRN_SYSTEM = "https://ehr.example/mrn"
TOKEN = "sEnTiNeL-t0ken-9f3b7c"
USER, PASSWORD = "clinic-sync", "pa55-W0rd!x"
PHI = {
    "mrn": "MRN-778899",
    "second mrn": "MRN-445566",
    "family": "Zyxwander",
    "given": "Anne-Élodie",
    "birth date": "1984-07-19",
    "phone": "+33 6 12 34 56 78",
    "email": "anne.zyx@example.org",
    "address": "12 Rue des Lilas",
    "city": "Montauban",
    "performer": "Dr Quentin Varga",
    "session id": "C042-S1",
}
SECRETS = {
    "token": TOKEN,
    "password": PASSWORD,
    "basic": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
}
PATIENT = {
    "resourceType": "Patient",
    "id": "mf-1",
    "identifier": [{"system": MRN_SYSTEM, "value": PHI["mrn"]}],
    "name": [{"family": PHI["family"], "given": [PHI["given"]]}],
    "telecom": [
        {"system": "phone", "value": PHI["phone"]},
        {"system": "email", "value": PHI["email"]},
    ],
    "birthDate": PHI["birth date"],
    "address": [{"line": [PHI["address"]], "city": PHI["city"]}],
}
PROCEDURE = {
    "resourceType": "Procedure",
    "id": "mf-2",
    "identifier": [{"system": "https://clinic.example/session", "value": PHI["session id"]}],
    "status": "completed",
    "performer": [{"actor": {"identifier": {"value": "dr-7"}, "display": PHI["performer"]}}],
}


def bundle(kind: str) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [
            {
                "fullUrl": "urn:uuid:1",
                "resource": PATIENT,
                "request": {
                    "method": "PUT",
                    "url": f"Patient?identifier={MRN_SYSTEM}|{PHI['mrn']}",
                },
            },
            {
                "fullUrl": "urn:uuid:2",
                "resource": PROCEDURE,
                "request": {"method": "PUT", "url": "Procedure/mf-2"},
            },
        ],
    }


def outcome(text: str, severity: str = "error") -> dict[str, Any]:
    issue = {"severity": severity, "code": "processing", "diagnostics": text}
    return {
        "resourceType": "OperationOutcome",
        "text": {"status": "generated", "div": f"<div>{text}</div>"},
        "issue": [{**issue, "details": {"text": text}, "expression": [text[:80]]}],
    }


def everything(request: httpx.Request) -> str:
    """All a server received: what an echoing server says back."""
    lines = [f"{request.method} {request.url}"]
    lines += [f"{name}: {value}" for name, value in request.headers.multi_items()]
    return "\n".join([*lines, "", request.content.decode()])


def echoing(status: int) -> Callable[[httpx.Request], httpx.Response]:
    def server(request: httpx.Request) -> httpx.Response:
        said = everything(request)
        # the status line too: "401 denied for Bearer <token>"
        reason = f"denied for {request.headers.get('Authorization')} at {request.url}"
        if status == 401:  # a gateway's plain-text page
            return httpx.Response(
                status,
                text=f"denied for {request.headers.get('Authorization')}\n{said}",
                extensions={"reason_phrase": reason.encode()},
            )
        return httpx.Response(
            status, json=outcome(said), extensions={"reason_phrase": reason.encode()}
        )

    return server


def leaks(texts: list[str]) -> list[str]:
    """The names of the secrets and values readable in ``texts``, in any usual spelling."""
    found = []
    for name, value in {**SECRETS, **PHI}.items():
        forms = {value, quote(value, safe=""), quote_plus(value, safe=""), json.dumps(value)[1:-1]}
        if any(form.casefold() in text.casefold() for form in forms for text in texts):
            found.append(name)
    return found


def error_texts(error: FhirError) -> list[str]:
    texts = [str(error), repr(error), json.dumps(error.as_dict(), ensure_ascii=False)]
    texts += traceback.format_exception(error)
    return texts


@pytest.fixture(scope="module")
def mocked_transport() -> Iterator[httpx.HTTPTransport]:
    # pytest-httpx patches HTTPTransport.handle_request: nothing reaches the network.
    with httpx.HTTPTransport() as shared:
        yield shared


@pytest.fixture
def client_for(mocked_transport: httpx.HTTPTransport) -> Iterator[ClientFor]:
    """``client_for(base, **options)``: a FhirClient that never sleeps, on pytest-httpx."""
    clients: list[FhirClient] = []

    def make(base: str = BASE, **kwargs: Any) -> FhirClient:
        options: dict[str, Any] = {
            "retry": RetryPolicy(max_attempts=2, deadline=None),
            "sleep": lambda _seconds: None,
            "transport": mocked_transport,
        }
        client = FhirClient(base, **(options | kwargs))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


AUTHS: dict[str, Callable[[ClientFor], FhirClient]] = {
    "bearer": lambda make: make(auth=BearerToken(TOKEN)),
    "basic": lambda make: make(auth=(USER, PASSWORD)),
    "basic in the URL": lambda make: make(f"https://{USER}:{quote(PASSWORD)}@ehr.example/fhir"),
}
CALLS: dict[str, Callable[[FhirClient], object]] = {
    "transaction": lambda c: c.transaction(bundle("transaction")),
    "batch": lambda c: c.batch(bundle("batch")),
    "update": lambda c: c.update(PATIENT),
    "create": lambda c: c.create(PATIENT),
    "conditional update": lambda c: c.conditional_update(PATIENT, MRN_SYSTEM, PHI["mrn"]),
    "search": lambda c: list(
        c.search(
            "Patient",
            {"identifier": f"{MRN_SYSTEM}|{PHI['mrn']},{MRN_SYSTEM}|{PHI['second mrn']}"},
        )
    ),
    "search by name": lambda c: list(
        c.search("Patient", {"family": PHI["family"], "birthdate": PHI["birth date"]})
    ),
}
STATUSES = {
    400: RequestRejected,
    401: AuthenticationFailed,
    403: AuthenticationFailed,
    404: NotFound,
    409: VersionConflict,
    412: VersionConflict,
    422: RequestRejected,
    500: TransientError,  # after the retries
}


# -- 1. what a server says back -----------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(STATUSES))
@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("auth", sorted(AUTHS))
def test_an_echoing_server_never_gets_a_secret_or_value_into_errors_or_logs(
    httpx_mock: HTTPXMock,
    client_for: ClientFor,
    caplog: pytest.LogCaptureFixture,
    auth: str,
    call: str,
    status: int,
) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: httpx's and httpcore's records too
    httpx_mock.add_callback(echoing(status), is_reusable=True)
    client = AUTHS[auth](client_for)

    with pytest.raises(FhirError) as caught:
        CALLS[call](client)

    error = caught.value
    assert type(error) is STATUSES[status]
    assert error.status == status
    texts = [*error_texts(error), caplog.text]
    assert leaks(texts) == []
    assert MARKER in error.message  # the server's words are kept, with holes
    assert all(len(issue["diagnostics"] or "") <= 500 for issue in error.issues)
    sent = httpx_mock.get_requests()[0]
    assert sent.headers["Authorization"] in (
        f"Bearer {TOKEN}",
        f"Basic {SECRETS['basic']}",
    )


def test_an_echoed_401_keeps_the_servers_words_around_the_holes(
    httpx_mock: HTTPXMock, client_for: ClientFor
) -> None:
    httpx_mock.add_response(
        status_code=401,
        json=outcome(f"denied for Bearer {TOKEN} (patient {PHI['mrn']}, {PHI['family']})"),
    )
    with pytest.raises(AuthenticationFailed) as caught:
        client_for(auth=BearerToken(TOKEN)).conditional_update(PATIENT, MRN_SYSTEM, PHI["mrn"])
    assert str(caught.value) == (
        "PUT /fhir/Patient?identifier= -> 401: Unauthorized: error processing: "
        f"denied for {MARKER} (patient {MARKER}, {MARKER}) "
        f"(at denied for {MARKER} (patient {MARKER}, {MARKER}))"
    )


def echoed_entries(kind: str) -> Callable[[httpx.Request], httpx.Response]:
    """A transaction/batch-response whose every entry quotes the entry it answers."""

    def server(request: httpx.Request) -> httpx.Response:
        sent = orjson.loads(request.content)
        entries: list[dict[str, Any]] = []
        for number, entry in enumerate(sent["entry"]):
            said = orjson.dumps(entry).decode() + " " + request.headers["Authorization"]
            if number == 0:  # HAPI's way: an outcome on every entry, even a success
                entries.append(
                    {
                        "response": {
                            "status": "200 OK",
                            "location": "Patient/p1/_history/2",
                            "outcome": outcome(f"Successfully updated {said}", "information"),
                        }
                    }
                )
            else:  # a batch entry that failed on its own, its outcome as the resource
                entries.append({"resource": outcome(said), "response": {"status": "400"}})
        return httpx.Response(200, json={"resourceType": "Bundle", "type": kind, "entry": entries})

    return server


@pytest.mark.parametrize("auth", sorted(AUTHS))
@pytest.mark.parametrize("kind", ["transaction", "batch"])
def test_entry_outcomes_of_a_response_are_scrubbed(
    httpx_mock: HTTPXMock,
    client_for: ClientFor,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    auth: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    httpx_mock.add_callback(echoed_entries(f"{kind}-response"))
    client = AUTHS[auth](client_for)

    response = CALLS[kind](client)

    assert isinstance(response, dict)
    results = parse_transaction_response(response)
    assert [(r.status, r.id) for r in results] == [(200, "p1"), (400, None)]
    assert [issue["severity"] for r in results for issue in r.issues] == ["information", "error"]
    texts = [json.dumps(response, ensure_ascii=False), repr(results), caplog.text]
    assert leaks(texts) == []
    # only what outcome_issues reads is kept: the narrative went
    assert "div" not in json.dumps(response)


@pytest.mark.parametrize("auth", sorted(AUTHS))
def test_transaction_results_keep_the_scrubbed_outcomes_of_failed_entries_only(
    httpx_mock: HTTPXMock,
    client_for: ClientFor,
    caplog: pytest.LogCaptureFixture,
    auth: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    httpx_mock.add_callback(echoed_entries("transaction-response"))
    client = AUTHS[auth](client_for)

    results = client.transaction_results(bundle("transaction"))

    assert [(r.status, r.id) for r in results] == [(200, "p1"), (400, None)]
    # the success's outcome is dropped unread; the failure's is kept, scrubbed
    assert [[issue["severity"] for issue in r.issues] for r in results] == [[], ["error"]]
    assert all(r.resource is None for r in results)
    assert "[redacted]" in (results[1].issues[0]["diagnostics"] or "")
    assert leaks([repr(results), caplog.text]) == []


@pytest.mark.parametrize("call", ["update", "create", "conditional update"])
def test_an_outcome_returned_by_a_write_is_scrubbed(
    httpx_mock: HTTPXMock, client_for: ClientFor, call: str
) -> None:
    # Prefer: return=OperationOutcome, answered by a server that quotes the resource
    httpx_mock.add_callback(
        lambda request: httpx.Response(201, json=outcome(everything(request), "information"))
    )
    result = CALLS[call](client_for(auth=BearerToken(TOKEN)))
    assert isinstance(result, EntryResult)
    assert result.status == 201
    assert result.issues and leaks([repr(result)]) == []


def test_server_text_is_capped(httpx_mock: HTTPXMock, client_for: ClientFor) -> None:
    httpx_mock.add_response(status_code=400, json=outcome("x" * 10_000))
    with pytest.raises(RequestRejected) as caught:
        client_for().read("Patient", "p1")
    error = caught.value
    assert len(error.message) == 500
    assert error.message.endswith("…[truncated]")
    assert [len(issue["diagnostics"] or "") for issue in error.issues] == [500]


def test_the_value_set_is_built_only_when_there_is_server_text(
    httpx_mock: HTTPXMock, client_for: ClientFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    walked: list[object] = []

    def counting(body: Any) -> set[str]:
        walked.append(body)
        return real_request_values(body)

    monkeypatch.setattr(client_module, "request_values", counting)
    response = {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [
            {"response": {"status": "201 Created", "location": "Patient/p1/_history/1"}},
            # an outcome with nothing but codes: nothing to scrub either
            {
                "response": {
                    "status": "200 OK",
                    "outcome": {
                        "resourceType": "OperationOutcome",
                        "issue": [{"severity": "information", "code": "informational"}],
                    },
                }
            },
        ],
    }
    httpx_mock.add_response(method="POST", json=response)
    client = client_for(auth=BearerToken(TOKEN))
    client.transaction(bundle("transaction"))
    assert walked == []

    # an error: built once for the request, however many attempts it takes
    httpx_mock.add_callback(echoing(500), is_reusable=True)
    with pytest.raises(TransientError):
        client.transaction(bundle("transaction"))
    assert len(walked) == 1


def test_a_later_search_page_is_scrubbed_of_the_searchs_values(
    httpx_mock: HTTPXMock, client_for: ClientFor
) -> None:
    next_page = f"{BASE}?_getpages=7f3c&_getpagesoffset=2"
    first = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "next", "url": next_page}],
        "entry": [{"resource": {"resourceType": "Patient", "id": "a"}}],
    }
    httpx_mock.add_response(url=re.compile(r".*/Patient\?identifier=.*"), json=first)
    expired = outcome(f"search identifier={MRN_SYSTEM}|{PHI['mrn']} expired")
    httpx_mock.add_response(url=next_page, status_code=410, json=expired)

    found = client_for().search("Patient", {"identifier": f"{MRN_SYSTEM}|{PHI['mrn']}"})
    assert next(found)["id"] == "a"
    with pytest.raises(NotFound) as caught:
        next(found)
    assert leaks(error_texts(caught.value)) == []


def test_a_protocol_error_quoting_a_header_line_is_scrubbed(
    httpx_mock: HTTPXMock, client_for: ClientFor
) -> None:
    quoted = f"illegal header line: bytearray(b'X-Echo {TOKEN} {PHI['mrn']}')"
    httpx_mock.add_exception(httpx.RemoteProtocolError(quoted), is_reusable=True)
    with pytest.raises(TransientError) as caught:
        client_for(auth=BearerToken(TOKEN)).conditional_update(PATIENT, MRN_SYSTEM, PHI["mrn"])
    assert leaks(error_texts(caught.value)) == []
    assert (
        str(caught.value.__cause__)
        == f"illegal header line: bytearray(b'X-Echo {MARKER} {MARKER}')"
    )


# -- 4. credentials in the base URL -------------------------------------------------------------


def test_credentials_in_the_base_url_become_basic_auth_and_never_show(
    httpx_mock: HTTPXMock, client_for: ClientFor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    httpx_mock.add_response(url=f"{BASE}/metadata", json={"resourceType": "CapabilityStatement"})
    httpx_mock.add_response(url=f"{BASE}/Patient/p1", status_code=404)
    client = client_for(f"https://{USER}:{quote(PASSWORD, safe='')}@ehr.example/fhir/")

    client.capabilities()
    with pytest.raises(NotFound) as caught:
        client.read("Patient", "p1")

    sent = httpx_mock.get_requests()[0]
    assert sent.headers["Authorization"] == f"Basic {SECRETS['basic']}"
    assert str(sent.url) == f"{BASE}/metadata"
    assert (client.base_url, client.public_url, repr(client)) == (
        BASE,
        BASE,
        f"FhirClient('{BASE}')",
    )
    assert leaks([repr(client), str(client), caplog.text, *error_texts(caught.value)]) == []


def test_explicit_auth_wins_over_credentials_in_the_url(
    httpx_mock: HTTPXMock, client_for: ClientFor
) -> None:
    httpx_mock.add_response(json={"resourceType": "CapabilityStatement"})
    client_for(
        f"https://{USER}:{PASSWORD}@ehr.example/fhir", auth=BearerToken(TOKEN)
    ).capabilities()
    sent = httpx_mock.get_request()
    assert sent is not None
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert str(sent.url) == f"{BASE}/metadata"


# -- 2. time and size limits --------------------------------------------------------------------


class Drip(httpx.SyncByteStream):
    """A body that arrives one chunk at a time, ``seconds`` of (fake) time apart."""

    def __init__(self, time: FakeTime, chunks: int, seconds: float) -> None:
        self.time, self.chunks, self.seconds = time, chunks, seconds

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(self.chunks):
            self.time.now += self.seconds
            yield b" "
        yield b'{"resourceType": "CapabilityStatement"}'


def test_whole_request_limit_is_retried_like_a_timeout(
    httpx_mock: HTTPXMock, client_for: ClientFor
) -> None:
    fake = FakeTime()
    answers = iter([Drip(fake, chunks=100, seconds=0.5), Drip(fake, chunks=1, seconds=0.5)])
    httpx_mock.add_callback(lambda _r: httpx.Response(200, stream=next(answers)), is_reusable=True)
    client = client_for(
        request_timeout=2.0,
        retry=RetryPolicy(max_attempts=3, deadline=None),
        clock=fake.clock,
        sleep=fake.sleep,
        random=lambda: 0.5,
    )

    assert client.capabilities() == {"resourceType": "CapabilityStatement"}
    assert fake.sleeps == [0.25]  # retried after the first attempt ran past 2 s
    assert len(httpx_mock.get_requests()) == 2


def test_whole_request_limit_then_the_call_deadline(
    httpx_mock: HTTPXMock, client_for: ClientFor
) -> None:
    # request_timeout bounds each attempt, RetryPolicy.deadline when a retry may start
    fake = FakeTime()
    httpx_mock.add_callback(
        lambda _r: httpx.Response(200, stream=Drip(fake, chunks=100, seconds=1.0)),
        is_reusable=True,
    )
    client = client_for(
        request_timeout=5.0,
        retry=RetryPolicy(max_attempts=10, base_delay=1.0, deadline=8.0),
        clock=fake.clock,
        sleep=fake.sleep,
        random=lambda: 1.0,
    )

    with pytest.raises(TransientError) as caught:
        client.read("Patient", "p1")

    # attempt 1: 6 s (noticed at the first chunk past 5 s); 6 + 1 s wait <= 8: retry;
    # attempt 2: 6 s more; 13 + 2 > 8: give up
    assert fake.sleeps == [1.0]
    assert caught.value.attempts == 2
    assert str(caught.value) == (
        "GET /fhir/Patient/p1: whole-request time limit of 5s exceeded "
        "(gave up after 2 attempts and 13.0s)"
    )


def test_whole_request_limit_does_not_replay_a_plain_create(
    httpx_mock: HTTPXMock, client_for: ClientFor
) -> None:
    fake = FakeTime()
    httpx_mock.add_callback(lambda _r: httpx.Response(201, stream=Drip(fake, 100, 1.0)))
    client = client_for(request_timeout=3.0, clock=fake.clock, sleep=fake.sleep)
    with pytest.raises(TransientError) as caught:
        client.create({"resourceType": "Observation", "status": "final"})
    assert str(caught.value) == (
        "POST /fhir/Observation: whole-request time limit of 3s exceeded "
        "(not retried: the server may have processed it)"
    )


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, {"connect": 10.0, "read": 60.0, "write": 60.0, "pool": 60.0}),
        (
            {"timeout": httpx.Timeout(None)},
            {"connect": 300.0, "read": 300.0, "write": 300.0, "pool": 300.0},
        ),
        (
            {"timeout": 30.0, "request_timeout": 1.5},
            {"connect": 1.5, "read": 1.5, "write": 1.5, "pool": 1.5},
        ),
    ],
)
def test_per_phase_timeouts_are_capped_at_the_whole_request_limit(
    httpx_mock: HTTPXMock,
    client_for: ClientFor,
    options: dict[str, Any],
    expected: dict[str, float],
) -> None:
    httpx_mock.add_response(json={"resourceType": "CapabilityStatement"})
    client_for(**options).capabilities()
    sent = httpx_mock.get_request()
    assert sent is not None
    assert sent.extensions["timeout"] == expected


@pytest.mark.parametrize("declared", [True, False])
def test_a_body_past_the_size_limit_is_malformed_and_not_retried(
    httpx_mock: HTTPXMock, client_for: ClientFor, declared: bool
) -> None:
    body = b'{"resourceType": "CapabilityStatement", "pad": "' + b"x" * 2000 + b'"}'
    if declared:  # Content-Length says so: not even read
        httpx_mock.add_response(content=body)
    else:  # chunked: noticed while reading
        httpx_mock.add_callback(
            lambda _r: httpx.Response(
                200, stream=httpx.ByteStream(body), headers={"Transfer-Encoding": "chunked"}
            )
        )
    with pytest.raises(MalformedResponse) as caught:
        client_for(max_response_bytes=1000).capabilities()
    assert (
        str(caught.value)
        == "GET /fhir/metadata -> 200: body is larger than the limit of 1,000 bytes"
    )
    assert len(httpx_mock.get_requests()) == 1


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        FhirClient(BASE, request_timeout=0)
    with pytest.raises(ValueError, match="must be positive"):
        FhirClient(BASE, max_response_bytes=0)


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so that server_close() waits for the handlers: no stray sockets
    stopping: threading.Event


Serve = Callable[..., _Server]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start a loopback HTTP(S) server with a handler class; everything is closed after."""
    started: list[tuple[_Server, threading.Thread]] = []

    def start(handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None = None) -> _Server:
        server = _Server(("127.0.0.1", 0), handler)
        server.stopping = threading.Event()
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        started.append((server, thread))
        return server

    yield start
    for server, thread in started:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join()


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def drip(self, byte: bytes) -> None:
        """Send ``byte`` every 0.2 s until the server stops or the client hangs up."""
        while not self.server.stopping.is_set():  # type: ignore[attr-defined]
            try:
                self.wfile.write(byte)
                self.wfile.flush()
            except OSError:  # the client hung up
                return
            self.server.stopping.wait(0.2)  # type: ignore[attr-defined]


class _SlowDrip(_Quiet):
    """Headers at once, then one byte of body every 0.2 s, for ever (until stopped)."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        self.drip(b" ")


def test_a_slow_drip_server_is_cut_at_the_whole_request_limit(serve: Serve) -> None:
    server = serve(_SlowDrip)
    base = f"http://127.0.0.1:{server.server_address[1]}/fhir"
    began = time.monotonic()
    client = FhirClient(base, request_timeout=1.0, retry=RetryPolicy(max_attempts=1))
    with client, pytest.raises(TransientError) as caught:
        client.capabilities()
    took = time.monotonic() - began
    assert took < 2.0
    assert str(caught.value) == (
        "GET /fhir/metadata: whole-request time limit of 1s exceeded (gave up after 1 attempts)"
    )


class _HeaderDrip(_Quiet):
    """A status line, then headers one byte every 0.2 s, for ever: h11 reads headers inside
    httpcore, where no check between body chunks can see the time."""

    def do_GET(self) -> None:
        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
        self.drip(b"X")


class _Silent(_Quiet):
    """Reads the request, then answers nothing until stopped."""

    def do_GET(self) -> None:
        self.server.stopping.wait()  # type: ignore[attr-defined]


@pytest.mark.parametrize("handler", [_HeaderDrip, _Silent], ids=["header-drip", "silent"])
def test_the_whole_request_limit_holds_before_the_body(
    serve: Serve, handler: type[BaseHTTPRequestHandler]
) -> None:
    """Each read gets what is left of the request's time, not httpx's 60 s per read."""
    server = serve(handler)
    base = f"http://127.0.0.1:{server.server_address[1]}/fhir"
    began = time.monotonic()
    client = FhirClient(base, timeout=60, request_timeout=1.0, retry=RetryPolicy(max_attempts=2))
    with client, pytest.raises(TransientError) as caught:
        client.capabilities()
    took = time.monotonic() - began
    assert 2.0 <= took < 4.0  # two attempts of 1 s, and the backoff between them
    assert str(caught.value) == (
        "GET /fhir/metadata: whole-request time limit of 1s exceeded (gave up after 2 attempts)"
    )


# -- 3. TLS -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Self-signed certificates (and keys) for the DNS names ``localhost`` and ``ehr.example``,
    made with openssl (the ``cryptography`` package is not a dependency)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    made = {}
    for name in ("localhost", "ehr.example"):
        cert, key = folder / f"{name}.pem", folder / f"{name}.key"
        subprocess.run(
            [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={name}",
             "-addext", f"subjectAltName=DNS:{name}"],
            check=True,
            capture_output=True,
        )  # fmt: skip
        made[name] = (cert, key)
    return made


class _Metadata(_Quiet):
    def do_GET(self) -> None:
        body = b'{"resourceType": "CapabilityStatement"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def https_server(serve: Serve, certificate: tuple[Path, Path]) -> int:
    """Start an HTTPS server with ``certificate``; its port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return int(serve(_Metadata, tls=context).server_address[1])


def trusting(cert: Path) -> httpx.HTTPTransport:
    return httpx.HTTPTransport(verify=ssl.create_default_context(cafile=str(cert)))


@pytest.mark.parametrize(
    ("issued_for", "host", "trusted", "reason"),
    [
        ("localhost", "127.0.0.1", False, r"self[- ]signed certificate"),
        (
            "localhost",
            "127.0.0.1",
            True,
            re.escape("IP address mismatch, certificate is not valid for '127.0.0.1'."),
        ),
        (
            "ehr.example",
            "localhost",
            True,
            re.escape("Hostname mismatch, certificate is not valid for 'localhost'."),
        ),
    ],
    ids=["self-signed", "IP address mismatch", "hostname mismatch"],
)
def test_a_tls_certificate_failure_is_named_and_not_retried(
    serve: Serve,
    certificates: dict[str, tuple[Path, Path]],
    issued_for: str,
    host: str,
    trusted: bool,
    reason: str,
) -> None:
    port = https_server(serve, certificates[issued_for])
    sleeps: list[float] = []
    transport = trusting(certificates[issued_for][0]) if trusted else None
    with (
        FhirClient(
            f"https://{host}:{port}/fhir",
            transport=transport,
            retry=RetryPolicy(max_attempts=3),
            sleep=sleeps.append,
        ) as client,
        pytest.raises(FhirError) as caught,
    ):
        client.capabilities()
    if transport is not None:
        transport.close()
    assert type(caught.value) is FhirError
    assert caught.value.temporary is False
    assert re.fullmatch(
        f"GET /fhir/metadata: TLS certificate verification failed for {re.escape(host)}: {reason}",
        str(caught.value),
    )
    assert sleeps == []  # never retried


def test_a_trusted_certificate_for_the_right_host_works(
    serve: Serve, certificates: dict[str, tuple[Path, Path]]
) -> None:
    port = https_server(serve, certificates["localhost"])
    with (
        trusting(certificates["localhost"][0]) as transport,
        FhirClient(f"https://localhost:{port}/fhir", transport=transport) as client,
    ):
        assert client.capabilities() == {"resourceType": "CapabilityStatement"}
