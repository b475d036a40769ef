"""SMART Backend Services and OAuth client-secret authorisation (meso_fhir.fhir.auth), against a
real authorization server (oidc-provider, tests/auth_server) and the test FHIR server accepting
only the bearer tokens it verifies against that server's keys (--require-jwks).

Keys are made when the module starts; each test counts the token requests the authorization
server answered and the 401s the FHIR server gave.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from meso_fhir import ClinicConfig, ExitCode, FhirClient, load, sync
from meso_fhir.errors import AuthenticationFailed
from meso_fhir.fhir.auth import (
    DEFAULT_SCOPES,
    ClientSecretAuth,
    SmartBackendAuth,
)

from .auth_server import (
    AuthServer,
    ClientKeys,
    KeyPair,
    SpyTransport,
    start_auth_server,
    start_smart_fhir_server,
    write_key,
)
from .fhir_server import LocalFhirServer
from .helpers import example_export, unique_config

pytestmark = pytest.mark.server

AUDIENCE = "urn:meso-fhir:test:fhir"
SECRET_BASIC = "b4sic:s3cret+/ %" + secrets.token_urlsafe(16)  # RFC 6749 2.3.1 form-encoding
SECRET_POST = secrets.token_urlsafe(32)
SHORT_TTL = 2  # seconds an access token of client "short-lived" lasts


@dataclass(frozen=True)
class Servers:
    auth: AuthServer
    fhir: LocalFhirServer  # publishes .well-known/smart-configuration
    fallback: LocalFhirServer  # does not: the token URL is in its CapabilityStatement only
    keys: ClientKeys
    # One of each for the module: building a TLS context takes a while.
    transport: httpx.HTTPTransport
    admin: httpx.Client

    def reset(self) -> None:
        self.auth.reset()
        for server in (self.fhir, self.fallback):
            self.admin.post(server.base_url.removesuffix("/fhir") + "/__reset").raise_for_status()

    def fhir_stats(self) -> dict[str, Any]:
        """The main FHIR server's /__stats: requests served, and 401s answered."""
        response = self.admin.get(self.fhir.base_url.removesuffix("/fhir") + "/__stats")
        result: dict[str, Any] = response.raise_for_status().json()
        return result

    def token_requests(self) -> int:
        return int(self.auth.stats()["token_requests"])

    def unauthorized(self) -> int:
        return int(self.fhir_stats()["unauthorized"])

    def client(
        self, auth: httpx.Auth, *, base: str | None = None, spy: SpyTransport | None = None
    ) -> FhirClient:
        transport = spy or SpyTransport(self.transport)
        return FhirClient(base or self.fhir.base_url, auth=auth, transport=transport)


def _auth_config(keys: ClientKeys) -> dict[str, Any]:
    scope = " ".join(DEFAULT_SCOPES)

    def asymmetric(client_id: str, pair: KeyPair, **extra: Any) -> dict[str, Any]:
        return {
            "client_id": client_id,
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": pair.algorithm,
            "jwks": {"keys": [pair.public_jwk]},
            "scope": scope,
            **extra,
        }

    def symmetric(client_id: str, method: str, secret: str) -> dict[str, Any]:
        return {
            "client_id": client_id,
            "token_endpoint_auth_method": method,
            "client_secret": secret,
            "scope": scope,
        }

    return {
        "audience": AUDIENCE,
        "scopes": [*DEFAULT_SCOPES, "system/Practitioner.rs"],
        "accessTokenTTL": 300,
        "clockTolerance": 15,
        "clients": [
            asymmetric("rsa-client", keys.rsa),
            asymmetric("ec-client", keys.ec),
            asymmetric("short-lived", keys.rsa, access_token_ttl=SHORT_TTL),
            asymmetric("other-audience", keys.rsa, audience="urn:meso-fhir:test:elsewhere"),
            symmetric("secret-basic", "client_secret_basic", SECRET_BASIC),
            symmetric("secret-post", "client_secret_post", SECRET_POST),
        ],
    }


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    folder = tmp_path_factory.mktemp("smart")
    keys = ClientKeys.generate(folder)
    auth = start_auth_server(_auth_config(keys), folder)
    started: list[LocalFhirServer] = []
    try:
        # Medplum's definitions take seconds to load: both FHIR servers start at once.
        with ThreadPoolExecutor(2) as pool:
            futures = [
                pool.submit(start_smart_fhir_server, auth, AUDIENCE, *extra)
                for extra in ((), ("--no-smart-configuration",))
            ]
        started += [f.result() for f in futures if f.exception() is None]
        for future in futures:
            future.result()  # the first failure, once every server started is known
        with httpx.HTTPTransport() as transport, httpx.Client(timeout=10) as admin:
            yield Servers(auth, started[0], started[1], keys, transport, admin)
    finally:
        for server in started:
            server.stop()
        auth.stop()


@pytest.fixture
def env(servers: Servers) -> Servers:
    servers.reset()
    return servers


@pytest.fixture
def spy(servers: Servers) -> SpyTransport:
    return SpyTransport(servers.transport)


def rsa_auth(env: Servers, **kwargs: Any) -> SmartBackendAuth:
    kwargs.setdefault("fhir_base_url", env.fhir.base_url)
    return SmartBackendAuth("rsa-client", env.keys.rsa.pem, kid=env.keys.rsa.kid, **kwargs)


class FrozenClock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- end to end ---------------------------------------------------------------------------------


def test_sync_end_to_end_with_an_rs384_key(env: Servers, tmp_path: Path) -> None:
    """A sync authorised by SMART Backend Services: discovery, one token, every write accepted."""
    export = load(example_export(tmp_path, patients={"P001"}))
    config: ClinicConfig = unique_config()
    with env.client(rsa_auth(env)) as client:
        assert client.capabilities()["resourceType"] == "CapabilityStatement"
        report = sync(export, client, config, ledger=tmp_path / "ledger.sqlite")
        assert report.exit_code is ExitCode.OK, report.aborted
        assert report.as_dict()["records"] == {
            "synced": sum(export.counts.values()),
            "unchanged": 0,
        }
        patients = list(client.search("Patient", {"identifier": f"{config.mrn_system}|"}))
    assert len(patients) == 1
    assert env.token_requests() == 1  # one token for the whole run
    assert env.unauthorized() == 0


@pytest.mark.parametrize(
    ("client_id", "key", "kid"),
    [
        ("rsa-client", lambda k: k.rsa.pem, "rsa-key-1"),  # PEM needs the kid
        ("rsa-client", lambda k: k.rsa.jwk, None),  # a JWK names its kid
        ("ec-client", lambda k: k.ec.pem, "ec-key-1"),
        ("ec-client", lambda k: k.ec.jwk, None),
        ("ec-client", lambda k: k.jwks, "ec-key-1"),  # the kid chooses in a JWK Set
        ("rsa-client", lambda k: k.rsa.private_jwk(), None),  # a JWK as a dict
        ("ec-client", lambda k: k.ec.pem.read_bytes(), "ec-key-1"),  # PEM as bytes
    ],
    ids=["rsa-pem", "rsa-jwk", "ec-pem", "ec-jwk", "ec-in-jwks", "rsa-dict", "ec-pem-bytes"],
)
def test_every_key_form_gets_a_token_and_writes(
    env: Servers, client_id: str, key: Callable[[ClientKeys], Any], kid: str | None
) -> None:
    auth = SmartBackendAuth(client_id, key(env.keys), kid=kid, fhir_base_url=env.fhir.base_url)
    assert auth.algorithm == ("RS384" if client_id == "rsa-client" else "ES384")
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {"resourceType": "Patient", "active": True},
                "request": {"method": "POST", "url": "Patient"},
            }
        ],
    }
    with env.client(auth) as client:
        response = client.transaction(bundle)
        list(client.search("Patient", {"_count": "1"}))
    assert response["type"] == "transaction-response"
    assert env.auth.stats()["by_client"][client_id] == {
        "issued": 1,
        "refused": 0,
        "by_method": {"private_key_jwt": 1},
    }


def test_the_assertion_is_what_smart_asks_for(env: Servers, spy: SpyTransport) -> None:
    now = time.time()
    clock = FrozenClock()
    auth = rsa_auth(env, now=lambda: now, clock=clock)
    with env.client(auth, spy=spy) as client:
        client.capabilities()
        clock.now += 300  # the token has expired: a second one, with a second assertion
        client.capabilities()
    first, second = spy.form_values("client_assertion")
    public = env.keys.rsa.private.public_key()
    header = jwt.get_unverified_header(first)
    claims = jwt.decode(first, public, algorithms=["RS384"], audience=env.auth.token_url)
    assert header == {"alg": "RS384", "kid": "rsa-key-1", "typ": "JWT"}
    issued = int(now - 60)
    assert claims == {
        "iss": "rsa-client",
        "sub": "rsa-client",
        "aud": env.auth.token_url,
        "jti": claims["jti"],
        "iat": issued,
        "exp": issued + 300,  # no more than five minutes ahead of this machine's clock
    }
    assert (
        jwt.decode(second, public, algorithms=["RS384"], audience=env.auth.token_url)["jti"]
        != claims["jti"]
    )
    assert (
        spy.form_values("client_assertion_type")
        == ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"] * 2
    )
    assert spy.form_values("scope") == [" ".join(DEFAULT_SCOPES)] * 2
    assert spy.form_values("grant_type") == ["client_credentials"] * 2


# -- discovery ----------------------------------------------------------------------------------


def test_discovery_reads_smart_configuration(env: Servers, spy: SpyTransport) -> None:
    auth = rsa_auth(env)
    with env.client(auth, spy=spy) as client:
        list(client.search("Patient"))
    assert auth.token_url == env.auth.token_url
    assert spy.paths() == [
        "GET /fhir/.well-known/smart-configuration",
        "POST /token",
        "GET /fhir/Patient",
    ]


def test_discovery_falls_back_to_the_capability_statement(env: Servers, spy: SpyTransport) -> None:
    auth = rsa_auth(env, fhir_base_url=env.fallback.base_url)
    with env.client(auth, base=env.fallback.base_url, spy=spy) as client:
        list(client.search("Patient"))
    assert auth.token_url == env.auth.token_url
    assert spy.paths() == [
        "GET /fhir/.well-known/smart-configuration",  # 404 here
        "GET /fhir/metadata",
        "POST /token",
        "GET /fhir/Patient",
    ]


def test_a_token_url_given_overrides_discovery(env: Servers, spy: SpyTransport) -> None:
    auth = rsa_auth(env, fhir_base_url=None, token_url=env.auth.token_url)
    with env.client(auth, spy=spy) as client:
        list(client.search("Patient"))
    assert spy.paths() == ["POST /token", "GET /fhir/Patient"]


def test_the_fhir_base_is_learned_from_a_first_metadata_request(
    env: Servers, spy: SpyTransport
) -> None:
    auth = rsa_auth(env, fhir_base_url=None)
    with env.client(auth, spy=spy) as client:
        client.capabilities()  # what sync's preflight sends first
        list(client.search("Patient"))
    assert spy.paths()[:3] == [
        "GET /fhir/.well-known/smart-configuration",
        "POST /token",
        "GET /fhir/metadata",
    ]


def test_without_base_or_token_url_another_first_request_is_refused_clearly(
    env: Servers,
) -> None:
    auth = rsa_auth(env, fhir_base_url=None)
    with (
        env.client(auth) as client,
        pytest.raises(AuthenticationFailed) as caught,
    ):
        list(client.search("Patient"))
    assert str(caught.value) == (
        "cannot find the token endpoint: the first request (GET /fhir/Patient) does not show "
        "the FHIR base; give fhir_base_url or token_url"
    )
    assert env.token_requests() == 0


# -- the token's life ---------------------------------------------------------------------------


def test_one_token_serves_many_requests(env: Servers) -> None:
    with env.client(rsa_auth(env)) as client:
        client.capabilities()
        for _ in range(5):
            list(client.search("Patient", {"_count": "1"}))
        client.transaction({"resourceType": "Bundle", "type": "transaction", "entry": []})
    assert env.token_requests() == 1


def test_the_token_is_renewed_shortly_before_it_expires(env: Servers) -> None:
    clock = FrozenClock()
    with env.client(rsa_auth(env, clock=clock)) as client:
        list(client.search("Patient"))
        clock.now += 300 - 31  # the token (expires_in 300) has 31 s left: kept
        list(client.search("Patient"))
        assert env.token_requests() == 1
        clock.now += 2  # 29 s left: renewed before the request
        list(client.search("Patient"))
        list(client.search("Patient"))
    assert env.token_requests() == 2
    assert env.unauthorized() == 0


def test_tokens_past_their_expiry_are_renewed_before_or_after_a_401(env: Servers) -> None:
    """Client "short-lived" gets 2 s tokens. With a true clock the next token is fetched before
    the request; with a clock that thinks the token still good, the FHIR server's 401 renews it
    and the request is sent again, once."""
    frozen = FrozenClock()

    def short_lived(clock: Callable[[], float]) -> SmartBackendAuth:
        return SmartBackendAuth(
            "short-lived", env.keys.rsa.jwk, fhir_base_url=env.fhir.base_url, clock=clock
        )

    with (
        env.client(short_lived(time.monotonic)) as on_time,
        env.client(short_lived(frozen)) as late,
    ):
        list(on_time.search("Patient"))
        list(late.search("Patient"))
        assert env.token_requests() == 2
        time.sleep(SHORT_TTL + 0.1)  # both tokens have expired at the FHIR server
        list(on_time.search("Patient"))
        assert (env.token_requests(), env.unauthorized()) == (3, 0)
        list(late.search("Patient"))
        assert (env.token_requests(), env.unauthorized()) == (4, 1)
        list(late.search("Patient"))  # the renewed token is kept
    assert (env.token_requests(), env.unauthorized()) == (4, 1)


def test_a_second_401_is_authentication_failed(env: Servers) -> None:
    """Tokens for another audience: refused, renewed once, refused again."""
    auth = SmartBackendAuth("other-audience", env.keys.rsa.jwk, fhir_base_url=env.fhir.base_url)
    with (
        env.client(auth) as client,
        pytest.raises(AuthenticationFailed) as caught,
    ):
        list(client.search("Patient"))
    assert caught.value.status == 401
    assert str(caught.value) == (
        "GET /fhir/Patient -> 401: Unauthorized: error login: "
        "bearer token not accepted (ERR_JWT_CLAIM_VALIDATION_FAILED)"
    )
    assert (env.token_requests(), env.unauthorized()) == (2, 2)


# -- refusals -----------------------------------------------------------------------------------


def test_a_key_the_server_does_not_know_is_refused_clearly(env: Servers, tmp_path: Path) -> None:
    other = write_key(tmp_path, rsa.generate_private_key(65537, 2048), "rsa-key-1", "RS384")
    auth = SmartBackendAuth("rsa-client", other.pem, kid="rsa-key-1", token_url=env.auth.token_url)
    with (
        env.client(auth) as client,
        pytest.raises(AuthenticationFailed) as caught,
    ):
        client.capabilities()
    assert caught.value.status == 401
    assert str(caught.value) == (
        "POST /token -> 401: token endpoint 127.0.0.1 refused client 'rsa-client': "
        "invalid_client (client authentication failed): the server does not accept this key: "
        "is the public key (kid 'rsa-key-1', RS384) registered for client 'rsa-client'?"
    )
    assert "signature verification failed" in env.auth.log()  # refused for the right reason


def test_a_kid_the_server_does_not_know_is_refused_clearly(env: Servers) -> None:
    auth = SmartBackendAuth(
        "ec-client", env.keys.ec.pem, kid="ec-key-2", token_url=env.auth.token_url
    )
    with (
        env.client(auth) as client,
        pytest.raises(
            AuthenticationFailed, match=r"is the public key \(kid 'ec-key-2', ES384\) registered"
        ),
    ):
        client.capabilities()


def test_a_sync_refused_a_token_stops_with_exit_6(env: Servers, tmp_path: Path) -> None:
    other = write_key(tmp_path, ec.generate_private_key(ec.SECP384R1()), "ec-key-1", "ES384")
    auth = SmartBackendAuth("ec-client", other.jwk, fhir_base_url=env.fhir.base_url)
    export = load(example_export(tmp_path, patients={"P002"}))
    with env.client(auth) as client:
        report = sync(export, client, unique_config(), ledger=tmp_path / "ledger.sqlite")
    assert report.exit_code is ExitCode.SYNC_ABORTED
    assert report.aborted is not None and "invalid_client" in report.aborted, report.aborted
    assert report.records["pending"] > 0
    assert env.fhir_stats() == {
        "requests": 0,
        "by_method": {},
        "by_interaction": {},
        "unauthorized": 0,
    }


def test_scopes_not_registered_are_refused_clearly(env: Servers) -> None:
    auth = rsa_auth(env, scopes="system/Patient.crus system/Practitioner.rs")
    with (
        env.client(auth) as client,
        pytest.raises(AuthenticationFailed) as caught,
    ):
        client.capabilities()
    assert str(caught.value) == (
        "POST /token -> 400: token endpoint 127.0.0.1 refused client 'rsa-client': "
        "invalid_scope (requested scope is not allowed): the server does not grant the scopes "
        "asked for (system/Patient.crus system/Practitioner.rs): ask only for scopes "
        "registered for client 'rsa-client'"
    )


# -- client secrets -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_id", "secret", "method"),
    [
        ("secret-basic", SECRET_BASIC, "client_secret_basic"),
        ("secret-post", SECRET_POST, "client_secret_post"),
    ],
)
def test_client_secret_methods(
    env: Servers, spy: SpyTransport, client_id: str, secret: str, method: Any
) -> None:
    auth = ClientSecretAuth(client_id, secret, method=method, fhir_base_url=env.fhir.base_url)
    with env.client(auth, spy=spy) as client:
        list(client.search("Patient"))
        list(client.search("Patient"))
    assert env.auth.stats()["by_client"][client_id] == {
        "issued": 1,
        "refused": 0,
        "by_method": {method: 1},
    }
    token_request = next(s for s in spy.sent if s.url == env.auth.token_url)
    assert ("authorization" in token_request.headers) == (method == "client_secret_basic")
    assert spy.form_values("client_secret") == ([secret] if method == "client_secret_post" else [])


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_a_wrong_client_secret_is_refused_clearly(env: Servers, method: Any) -> None:
    wrong = secrets.token_urlsafe(24)
    client_id = "secret-basic" if method == "client_secret_basic" else "secret-post"
    auth = ClientSecretAuth(client_id, wrong, method=method, token_url=env.auth.token_url)
    with (
        env.client(auth) as client,
        pytest.raises(AuthenticationFailed) as caught,
    ):
        client.capabilities()
    assert str(caught.value) == (
        f"POST /token -> 401: token endpoint 127.0.0.1 refused client {client_id!r}: "
        "invalid_client (client authentication failed): the server does not accept client "
        f"{client_id!r} with this secret: check the client id, the secret, and that the "
        f"client is registered for {method}"
    )
    assert wrong not in str(caught.value) and wrong not in repr(auth)


# -- clocks -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "clock_skew"),
    [
        (0, 60.0),
        (-200, 60.0),  # behind: the assertion (iat now - 60 s, exp + 240 s) is still valid
        (50, 60.0),  # ahead, within clock_skew: iat is not in the server's future
        (150, 60.0 + 150),  # further ahead, with a clock_skew raised to match
    ],
)
def test_a_client_clock_off_within_the_tolerance_still_works(
    env: Servers, offset: float, clock_skew: float
) -> None:
    auth = rsa_auth(env, now=lambda: time.time() + offset, clock_skew=clock_skew)
    with env.client(auth) as client:
        list(client.search("Patient"))
    assert env.auth.stats()["issued"] == 1


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (
            150,
            r"this machine's clock is 1[45]\ds ahead of the token server's \(its Date header\), "
            r"more than clock_skew \(60s\): set the clock right \(NTP\), or raise clock_skew",
        ),
        (
            -400,
            r"this machine's clock is (39\d|40\d)s behind the token server's \(its Date "
            r"header\), so the assertion \(240s from now\) had expired on arrival: set the "
            r"clock right \(NTP\)",
        ),
    ],
)
def test_a_client_clock_off_beyond_the_tolerance_fails_clearly(
    env: Servers, offset: float, expected: str
) -> None:
    auth = rsa_auth(env, now=lambda: time.time() + offset)
    with (
        env.client(auth) as client,
        pytest.raises(AuthenticationFailed) as caught,
    ):
        list(client.search("Patient"))
    message = str(caught.value)
    assert message.startswith(
        "POST /token -> 401: token endpoint 127.0.0.1 refused client 'rsa-client': "
        "invalid_client (client authentication failed): "
    )
    assert re.search(expected + "$", message), message


# -- secrets stay secret ------------------------------------------------------------------------


def test_no_key_secret_assertion_or_token_in_logs_reprs_or_errors(
    env: Servers, spy: SpyTransport, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: httpx's and httpcore's records too
    errors: list[str] = []
    auths: list[httpx.Auth] = [
        rsa_auth(env),
        SmartBackendAuth("ec-client", env.keys.ec.jwk, fhir_base_url=env.fhir.base_url),
        ClientSecretAuth("secret-basic", SECRET_BASIC, fhir_base_url=env.fhir.base_url),
        ClientSecretAuth(
            "secret-post", SECRET_POST, method="client_secret_post", token_url=env.auth.token_url
        ),
        # refused: a wrong secret, a wrong key, tokens for another server
        ClientSecretAuth("secret-basic", SECRET_POST, token_url=env.auth.token_url),
        SmartBackendAuth(
            "rsa-client",
            write_key(tmp_path, rsa.generate_private_key(65537, 2048), "x", "RS384").pem,
            kid="rsa-key-1",
            token_url=env.auth.token_url,
        ),
        SmartBackendAuth("other-audience", env.keys.rsa.jwk, fhir_base_url=env.fhir.base_url),
    ]
    for auth in auths:
        with env.client(auth, spy=spy) as client:
            try:
                client.capabilities()
                list(client.search("Patient"))
            except AuthenticationFailed as exc:
                errors.append(f"{exc} {exc!r} {exc.as_dict()}")
    assert len(errors) == 3
    tokens = [h.split(" ", 1)[1] for h in spy.header_values("authorization")]
    secret_texts = {
        SECRET_BASIC,
        SECRET_POST,
        *tokens,  # bearer tokens and basic credentials
        *spy.form_values("client_assertion"),
        *spy.form_values("client_secret"),
        *(json.loads(p.jwk.read_text())["d"] for p in (env.keys.rsa, env.keys.ec)),
        *(line for line in env.keys.rsa.pem.read_text().splitlines() if "-----" not in line),
    }
    assert len(tokens) >= 8 and len(spy.form_values("client_assertion")) >= 4
    shown = caplog.text + " ".join(errors) + " ".join(repr(a) for a in auths)
    leaked = sorted(s[:12] + "…" for s in secret_texts if s and s in shown)
    assert leaked == []
    assert "access token for client 'rsa-client'" in caplog.text  # it did log, without them


def test_repr_names_the_client_not_the_key() -> None:
    key = rsa.generate_private_key(65537, 2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    auth = SmartBackendAuth("c1", pem, kid="k1", token_url="https://ehr.example/oauth2/token")
    assert repr(auth) == (
        "SmartBackendAuth(client_id='c1', kid='k1', algorithm='RS384', "
        "token_url='https://ehr.example/oauth2/token')"
    )
    secret = ClientSecretAuth(
        "c2", "s3cret", method="client_secret_post", fhir_base_url="https://x"
    )
    assert repr(secret) == (
        "ClientSecretAuth(client_id='c2', method='client_secret_post', token_url=None)"
    )
