"""meso_fhir.fhir.auth without servers: keys and settings refused before anything is sent, and
what a token endpoint can answer that the real one in test_smart_auth.py does not (a 503, an
answer without expires_in, a DPoP token, an error that quotes the assertion), through
``httpx.MockTransport``."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from meso_fhir import ClinicConfig, FhirClient, load, map_records
from meso_fhir.errors import AuthenticationFailed
from meso_fhir.fhir.auth import DEFAULT_SCOPES, ClientSecretAuth, SmartBackendAuth

from .auth_server import write_key
from .helpers import EXAMPLE

BASE = "https://ehr.example/fhir"
TOKEN_URL = "https://ehr.example/oauth2/token"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


def pem(key: Any, encryption: Any = None) -> bytes:
    data: bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        encryption or serialization.NoEncryption(),
    )
    return data


def public_pem(key: Any) -> bytes:
    data: bytes = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return data


# -- keys and settings --------------------------------------------------------------------------


def test_default_scopes_cover_every_resource_type_a_sync_writes() -> None:
    config = ClinicConfig(mrn_system="https://h.example/mrn", identifier_base="https://c.example")
    written = {
        resource["resourceType"]
        for mapped in map_records(load(EXAMPLE), config)
        for resource in mapped.resources
    }
    # and each transaction's Provenance, only created
    assert {scope.split("/")[1].split(".")[0] for scope in DEFAULT_SCOPES} == written | {
        "Provenance"
    }
    assert "system/Provenance.c" in DEFAULT_SCOPES
    # stale resources are deleted; a Patient, the clinic and a practitioner never are
    kept = ("Patient", "Organization", "Practitioner")
    for kind in kept:
        assert f"system/{kind}.crus" in DEFAULT_SCOPES
    deletable = [
        s for s in DEFAULT_SCOPES if s.split("/")[1].split(".")[0] not in (*kept, "Provenance")
    ]
    assert {scope.split(".")[1] for scope in deletable} == {"cruds"}


def test_key_problems_are_refused_before_anything_is_sent(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    p256 = ec.generate_private_key(ec.SECP256R1())
    small = rsa.generate_private_key(65537, 1024)
    pair = write_key(tmp_path, rsa_key, "k1", "RS384")
    ec_pair = write_key(tmp_path, ec.generate_private_key(ec.SECP384R1()), "k2", "ES384")
    both = tmp_path / "both.jwks"
    both.write_text(json.dumps({"keys": [pair.private_jwk(), ec_pair.private_jwk()]}))
    garbage = tmp_path / "garbage.key"
    garbage.write_text("not a key")
    no_kid = {k: v for k, v in pair.private_jwk().items() if k != "kid"}
    rs256 = {**pair.private_jwk(), "alg": "RS256"}
    cases: list[tuple[Any, str | None, str]] = [
        (public_pem(rsa_key), "k1", "the key holds a public key: a PEM private key is needed"),
        (
            pem(rsa_key, serialization.BestAvailableEncryption(b"pw")),
            "k1",
            "the key is encrypted: give an unencrypted key (openssl pkey)",
        ),
        (pem(p256), "k1", "the key: EC key on secp256r1; ES384 needs P-384 (secp384r1)"),
        (pem(small), "k1", "the key: RSA key of 1024 bits; at least 2048 are needed"),
        (
            pem(rsa_key),
            None,
            "the key is a PEM key, which has no key id: give kid (as registered)",
        ),
        (
            pair.public_jwk,
            None,
            "the key holds a public JWK: the private key (with 'd') is needed",
        ),
        (no_kid, None, "the key: the JWK has no kid: give kid (as registered)"),
        (pair.jwk, "k9", "key file k1.jwk.json: its kid is 'k1', not 'k9'"),
        (rs256, None, "the key is marked for RS256; this key signs RS384"),
        (
            both,
            None,
            "key file both.jwks: a JWK Set with 2 private keys (give kid to choose one)",
        ),
        (both, "k3", "key file both.jwks: a JWK Set with 0 private keys with kid 'k3'"),
        (garbage, None, "key file garbage.key is neither PEM nor a JWK or JWK Set (JSON)"),
        (
            tmp_path / "missing.pem",
            "k1",
            "cannot read key file missing.pem: No such file or directory",
        ),
        (
            pem(rsa_key).decode(),  # key material in a str, which is a path: not quoted back
            "k1",
            "key: a str is a file path; pass key material as bytes or a dict",
        ),
    ]
    for key, kid, message in cases:
        with pytest.raises(ValueError) as caught:
            SmartBackendAuth("c", key, kid=kid, token_url=TOKEN_URL)
        assert str(caught.value) == message
    # and what works: the JWK Set's key chosen by kid
    assert SmartBackendAuth("c", both, kid="k2", token_url=TOKEN_URL).algorithm == "ES384"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"clock_skew": 271}, "clock_skew must be from 0 to assertion_lifetime - 30 seconds"),
        ({"clock_skew": -1}, "clock_skew must be from 0 to assertion_lifetime - 30 seconds"),
        (
            {"assertion_lifetime": 301},
            "assertion_lifetime must be more than 0 and at most 300 seconds",
        ),
        ({"scopes": ["system/Patient.rs", 'a"b']}, "not an OAuth scope: 'a\"b'"),
        ({"scopes": ["system/Patient.rs", "é"]}, "not an OAuth scope: 'é'"),
        (
            {"token_url": "http://ehr.example/token"},
            "token_url is not https (credentials are sent to it)",
        ),
        ({"token_url": "https://u:p@ehr.example/token"}, "token_url holds credentials"),
        ({"token_url": "/token"}, "token_url is not an absolute http(s) URL"),
        ({"kid": "k1\n"}, "kid is empty, or holds control characters or outer spaces"),
    ],
)
def test_settings_that_cannot_work_are_refused(
    rsa_key: rsa.RSAPrivateKey, settings: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {"kid": "k1", "token_url": TOKEN_URL, **settings}
    with pytest.raises(ValueError) as caught:
        SmartBackendAuth("c", pem(rsa_key), **arguments)
    assert str(caught.value) == message


def test_client_secret_settings_that_cannot_work_are_refused() -> None:
    with pytest.raises(ValueError, match="client_id is empty"):
        ClientSecretAuth("", "s", token_url=TOKEN_URL)
    with pytest.raises(ValueError, match="client_secret is empty"):
        ClientSecretAuth("c", "", token_url=TOKEN_URL)
    with pytest.raises(ValueError, match="method must be"):
        ClientSecretAuth("c", "s", method="client_secret_jwt", token_url=TOKEN_URL)  # type: ignore[arg-type]
    # loopback token endpoints may be plain http (test servers)
    assert ClientSecretAuth("c", "s", token_url="http://127.0.0.1:8080/token").token_url


# -- token endpoint answers, through a mock transport -------------------------------------------


class FakeEhr:
    """A token endpoint and a FHIR server in one handler; ``token_answers`` are served in turn
    (the last one again and again)."""

    def __init__(self, *token_answers: Callable[[httpx.Request], httpx.Response]) -> None:
        self.token_answers = list(token_answers)
        self.token_requests: list[httpx.Request] = []
        self.fhir_requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/token":
            self.token_requests.append(request)
            answer = self.token_answers[min(len(self.token_requests), len(self.token_answers)) - 1]
            return answer(request)
        self.fhir_requests.append(request)
        bundle = {"resourceType": "Bundle", "type": "searchset", "entry": []}
        return httpx.Response(200, json=bundle)

    def client(self, auth: httpx.Auth) -> FhirClient:
        return FhirClient(
            BASE,
            auth=auth,
            transport=httpx.MockTransport(self),
            sleep=lambda _: None,
            random=lambda: 0.0,
        )


def token(**fields: Any) -> Callable[[httpx.Request], httpx.Response]:
    body = {"access_token": "at-1", "token_type": "bearer", "expires_in": 300, **fields}
    return lambda _: httpx.Response(200, json={k: v for k, v in body.items() if v is not None})


def status(code: int, body: Any = None) -> Callable[[httpx.Request], httpx.Response]:
    return lambda _: httpx.Response(code, json=body)


def secret_auth(**kwargs: Any) -> ClientSecretAuth:
    return ClientSecretAuth("c", "s3cret", token_url=TOKEN_URL, **kwargs)


def test_a_token_endpoint_503_is_retried_by_the_fhir_client() -> None:
    ehr = FakeEhr(status(503), status(503), token())
    with ehr.client(secret_auth()) as client:
        assert list(client.search("Patient")) == []
    assert len(ehr.token_requests) == 3
    assert [r.headers["Authorization"] for r in ehr.fhir_requests] == ["Bearer at-1"]


def test_a_token_endpoint_that_stays_down_is_a_transient_error() -> None:
    ehr = FakeEhr(status(503))
    with ehr.client(secret_auth()) as client, pytest.raises(Exception) as caught:
        list(client.search("Patient"))
    assert str(caught.value) == (
        "GET /fhir/Patient: connection failed: TokenEndpointUnavailable (gave up after 5 attempts)"
    )
    assert ehr.fhir_requests == []


def test_a_token_without_expires_in_is_kept_for_300_seconds() -> None:
    now = [0.0]
    ehr = FakeEhr(token(expires_in=None))
    with ehr.client(secret_auth(clock=lambda: now[0])) as client:
        list(client.search("Patient"))
        now[0] = 269.0
        list(client.search("Patient"))
        now[0] = 270.0
        list(client.search("Patient"))
    assert len(ehr.token_requests) == 2


def test_expires_in_as_a_string_is_understood() -> None:
    now = [0.0]
    ehr = FakeEhr(token(expires_in="60"))  # as some OAuth servers send it
    with ehr.client(secret_auth(clock=lambda: now[0])) as client:
        list(client.search("Patient"))
        now[0] = 29.0
        list(client.search("Patient"))
        now[0] = 30.0  # half its life left: renewed
        list(client.search("Patient"))
    assert len(ehr.token_requests) == 2


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (token(token_type="DPoP"), "the token endpoint's answer has token_type 'DPoP', not bearer"),
        (token(access_token=""), "the token endpoint's answer has no usable access_token"),
        (token(access_token="a\nb"), "the token endpoint's answer has no usable access_token"),
        (token(expires_in=0), "the token endpoint's answer has no positive expires_in"),
        (token(expires_in=True), "the token endpoint's answer has no positive expires_in"),
        (
            status(200, ["not", "an", "object"]),
            "the token endpoint's answer has no usable access_token",
        ),
    ],
)
def test_an_unusable_token_answer_is_authentication_failed(
    answer: Callable[[httpx.Request], httpx.Response], message: str
) -> None:
    with (
        FakeEhr(answer).client(secret_auth()) as client,
        pytest.raises(AuthenticationFailed) as caught,
    ):
        list(client.search("Patient"))
    assert str(caught.value) == f"POST /oauth2/token -> 200: {message}"


def test_an_error_quoting_the_assertion_is_scrubbed_and_cut(rsa_key: rsa.RSAPrivateKey) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        assertion = httpx.QueryParams(request.content.decode())["client_assertion"]
        description = f"bad assertion {assertion} " + "x" * 2000
        return httpx.Response(
            400, json={"error": "invalid_request", "error_description": description}
        )

    auth = SmartBackendAuth("c", pem(rsa_key), kid="k1", token_url=TOKEN_URL)
    ehr = FakeEhr(echo)
    with ehr.client(auth) as client, pytest.raises(AuthenticationFailed) as caught:
        list(client.search("Patient"))
    sent = httpx.QueryParams(ehr.token_requests[0].content.decode())["client_assertion"]
    message = str(caught.value)
    assert sent not in message
    assert message.startswith(
        "POST /oauth2/token -> 400: token endpoint ehr.example refused client 'c': "
        "invalid_request (bad assertion [redacted] xxx"
    )
    assert message.endswith("…[truncated]): the server did not accept the token request as sent")
    assert len(message) < 500


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (
            status(400, {"error": "unauthorized_client"}),
            "client 'c' may not use the client_credentials grant: its registration must allow backend services",
        ),
        (
            status(400, {"error": "unsupported_grant_type"}),
            "the token endpoint does not offer the client_credentials grant (SMART Backend Services)",
        ),
        (status(404), "is this the token endpoint?"),
    ],
)
def test_other_refusals_carry_a_hint(
    answer: Callable[[httpx.Request], httpx.Response], hint: str
) -> None:
    with (
        FakeEhr(answer).client(secret_auth()) as client,
        pytest.raises(AuthenticationFailed) as caught,
    ):
        list(client.search("Patient"))
    assert str(caught.value).endswith(hint)


def test_threads_sharing_a_client_fetch_one_token() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        time.sleep(0.2)  # the other threads arrive while this one waits for its token
        return token()(request)

    ehr = FakeEhr(slow)
    with ehr.client(secret_auth()) as client:
        threads = [
            threading.Thread(target=lambda: list(client.search("Patient"))) for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(ehr.token_requests) == 1
    assert len(ehr.fhir_requests) == 4


def test_the_client_secret_is_form_encoded_for_basic() -> None:
    ehr = FakeEhr(token())
    auth = ClientSecretAuth("my client", "a:b+c/d %", token_url=TOKEN_URL)
    with ehr.client(auth) as client:
        list(client.search("Patient"))
    # RFC 6749 2.3.1: application/x-www-form-urlencoded, then Basic
    assert (
        ehr.token_requests[0].headers["Authorization"]
        == "Basic bXkrY2xpZW50OmElM0FiJTJCYyUyRmQrJTI1"
    )


def test_an_async_client_is_refused() -> None:
    async def get() -> None:
        async with httpx.AsyncClient(auth=secret_auth()) as client:
            await client.get(BASE + "/metadata")

    with pytest.raises(RuntimeError, match=r"works with httpx\.Client"):
        asyncio.run(get())


def test_a_discovered_plain_http_token_endpoint_is_refused() -> None:
    """A client secret or an assertion is never sent where a FHIR server points without TLS."""
    sent: list[str] = []

    def ehr(request: httpx.Request) -> httpx.Response:
        sent.append(f"{request.method} {request.url}")
        return httpx.Response(200, json={"token_endpoint": "http://ehr.example/token"})

    auth = ClientSecretAuth("c", "s3cret", fhir_base_url=BASE)
    transport = httpx.MockTransport(ehr)
    with (
        FhirClient(BASE, auth=auth, transport=transport) as client,
        pytest.raises(AuthenticationFailed) as caught,
    ):
        list(client.search("Patient"))
    assert str(caught.value) == (
        "the token endpoint named by .well-known/smart-configuration is not https "
        "(credentials are sent to it)"
    )
    assert sent == ["GET https://ehr.example/fhir/.well-known/smart-configuration"]
