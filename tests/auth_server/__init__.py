"""A real OAuth 2.0 authorization server (oidc-provider, ``server.mjs``) and a FHIR server that
accepts only its tokens, for the SMART Backend Services tests (tests/test_smart_auth.py).

- ``ClientKeys.generate(folder)``: an RSA (RS384) and an EC P-384 (ES384) key pair made at run
  time, written as PEM, JWK and JWK Set files in ``folder``; nothing is committed.
- ``start_auth_server(config, folder)``: ``node server.mjs --config <file>`` on a free loopback
  port → ``AuthServer`` (``issuer``, ``token_url``, ``jwks_url``, ``stats()``, ``reset()``,
  ``stop()``).
- ``start_smart_fhir_server(auth, audience, *args)``: tests/fhir_server/server.mjs with
  ``--require-jwks`` (the auth server's keys), ``--audience``, ``--issuer`` and ``--token-url``.
- ``SpyTransport``: a transport that keeps every request it sends, to find the assertions,
  secrets and tokens that must appear nowhere else.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.fhir_server import REPO_ROOT, LocalFhirServer, start_local_server

SERVER_SCRIPT = Path(__file__).with_name("server.mjs")
START_TIMEOUT = 30.0
# What server.mjs imports; an older node_modules (from before they were added) gets `npm ci`.
NODE_PACKAGES = ("oidc-provider", "jose", "@medplum/fhir-router")


@dataclass(frozen=True)
class KeyPair:
    """One client key: the private key, its kid and algorithm, and its files."""

    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    kid: str
    algorithm: str
    pem: Path  # PKCS#8 PEM, no kid
    jwk: Path  # private JWK with kid and alg
    public_jwk: dict[str, Any]

    def private_jwk(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.jwk.read_text())
        return result


@dataclass(frozen=True)
class ClientKeys:
    rsa: KeyPair
    ec: KeyPair
    jwks: Path  # a JWK Set holding both private keys

    @classmethod
    def generate(cls, folder: Path) -> ClientKeys:
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ec_key = ec.generate_private_key(ec.SECP384R1())
        pairs = (
            write_key(folder, rsa_key, "rsa-key-1", "RS384"),
            write_key(folder, ec_key, "ec-key-1", "ES384"),
        )
        jwks = folder / "client.jwks.json"
        jwks.write_text(json.dumps({"keys": [p.private_jwk() for p in pairs]}))
        return cls(rsa=pairs[0], ec=pairs[1], jwks=jwks)


def write_key(
    folder: Path, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, kid: str, algorithm: str
) -> KeyPair:
    if isinstance(key, rsa.RSAPrivateKey):
        private = RSAAlgorithm.to_jwk(key, as_dict=True)
        public = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        private = ECAlgorithm.to_jwk(key, as_dict=True)
        public = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    pem = folder / f"{kid}.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    jwk = folder / f"{kid}.jwk.json"
    jwk.write_text(json.dumps({**private, "kid": kid, "alg": algorithm}))
    return KeyPair(key, kid, algorithm, pem, jwk, {**public, "kid": kid, "alg": algorithm})


class AuthServer:
    """``node server.mjs`` as a child process."""

    def __init__(
        self,
        process: subprocess.Popen[str],
        pump: threading.Thread,
        stderr: IO[str],
        port: int,
        startup_seconds: float,
    ) -> None:
        self.issuer = f"http://127.0.0.1:{port}"
        self.token_url = f"{self.issuer}/token"
        self.jwks_url = f"{self.issuer}/jwks"
        self.startup_seconds = startup_seconds
        self._process = process
        self._pump = pump
        self._stderr = stderr
        self._admin = httpx.Client(timeout=10)

    def stats(self) -> dict[str, Any]:
        """``{"token_requests", "issued", "refused", "by_client": {id: {"issued", "refused",
        "by_method": {method: n}}}}`` since the start or the last reset."""
        response = self._admin.get(f"{self.issuer}/__stats")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def reset(self) -> None:
        self._admin.post(f"{self.issuer}/__reset").raise_for_status()

    def log(self) -> str:
        """What the server wrote to stderr (why it refused each client)."""
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stdin:
            self._process.stdin.close()
        self._pump.join(timeout=5)
        if self._process.stdout:
            self._process.stdout.close()
        self._stderr.close()
        self._admin.close()


def ensure_node_modules() -> str:
    """Path of `node`; runs `npm ci` at the repo root when a package the servers need is
    missing (as tests/fhir_server does for Medplum)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the test servers need Node.js >= 20")
    if not all((REPO_ROOT / "node_modules" / name).is_dir() for name in NODE_PACKAGES):
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail(f"node_modules lacks one of {NODE_PACKAGES} and npm is not installed")
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"npm ci failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return node


def start_auth_server(config: dict[str, Any], folder: Path) -> AuthServer:
    """Start server.mjs with ``config`` (see its header) and wait for `LISTENING <port>`."""
    node = ensure_node_modules()
    config_file = folder / "auth-server.json"
    config_file.write_text(json.dumps(config))
    # A file, not a pipe: it never fills up. It must outlive this function (stop() closes it).
    stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
    started = time.monotonic()
    process = subprocess.Popen(
        # --watch-stdin: the server exits when this process dies and its stdin pipe closes.
        [node, str(SERVER_SCRIPT), "--config", str(config_file), "--watch-stdin"],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    pump_thread = threading.Thread(target=pump, daemon=True, name="auth-server-stdout")
    pump_thread.start()
    try:
        line = lines.get(timeout=START_TIMEOUT)
    except queue.Empty:
        line = None
    if line is not None and line.startswith("LISTENING "):
        port = int(line.split()[1])
        return AuthServer(process, pump_thread, stderr, port, time.monotonic() - started)
    server = AuthServer(process, pump_thread, stderr, 0, 0.0)
    output = server.log()
    server.stop()
    pytest.fail(f"{SERVER_SCRIPT.name} did not start. stderr:\n{output}")


def start_smart_fhir_server(auth: AuthServer, audience: str, *args: str) -> LocalFhirServer:
    """The test FHIR server, accepting only bearer tokens of ``auth`` for ``audience``."""
    ensure_node_modules()
    return start_local_server(
        "--require-jwks",
        auth.jwks_url,
        "--audience",
        audience,
        "--issuer",
        auth.issuer,
        "--token-url",
        auth.token_url,
        *args,
    )


@dataclass(frozen=True)
class Sent:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


class SpyTransport(httpx.BaseTransport):
    """Sends through ``transport``, keeping each request (``sent``). Closing it leaves
    ``transport`` open: one transport (and its TLS context, slow to build) serves many
    clients."""

    def __init__(self, transport: httpx.BaseTransport) -> None:
        self._transport = transport
        self.sent: list[Sent] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        self.sent.append(Sent(request.method, str(request.url), dict(request.headers), body))
        return self._transport.handle_request(request)

    def close(self) -> None:
        pass

    def paths(self) -> list[str]:
        return [f"{s.method} {httpx.URL(s.url).path}" for s in self.sent]

    def form_values(self, name: str) -> list[str]:
        """Each value of form field ``name`` sent (client_assertion, client_secret...)."""
        found = []
        for sent in self.sent:
            if sent.headers.get("content-type", "").startswith("application/x-www-form"):
                found += httpx.QueryParams(sent.body.decode()).get_list(name)
        return found

    def header_values(self, name: str) -> list[str]:
        return [s.headers[name] for s in self.sent if name in s.headers]
