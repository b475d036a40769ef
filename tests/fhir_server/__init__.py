"""Pytest plugin: a real FHIR R4 server for the integration tests.

Fixtures (registered by tests/conftest.py):

- ``fhir_server`` (session, parametrised): every test that uses it runs once per server, with
  the server's name in its id: ``[memory]``, the in-memory server in ``server.mjs`` (Medplum's
  FHIR router, validating every write against base R4 and the profiles in ``profiles/package``),
  and ``[hapi]``, HAPI FHIR JPA 8.8.0 (tests/hapi) validating every write against base R4 and
  the project's FHIR package, marked ``hapi`` (``-m "not hapi"`` leaves it out). Each is
  started once per session. With ``MESO_FHIR_TEST_SERVER=<base url>`` the tests run once,
  ``[external]``, against that server instead. The object has ``name``, ``base_url``
  (``http://127.0.0.1:<port>/fhir``), ``stats()`` (``{"requests": n, "by_method": {...},
  "by_interaction": {...}}``), ``reset()`` (empties the server and its counters), ``is_local``
  and ``startup_seconds``. Only the in-memory server counts and resets: elsewhere ``stats()``
  returns None and ``reset()`` does nothing, so tests must cope (unique identifiers; skip what
  only the in-memory server shows: ``if not fhir_server.is_local``).
- ``fhir_server_factory`` (session): ``factory("--profiles", dir, ...)`` starts another local
  server with other command-line options; all of them are stopped at the end of the session.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol, TypedDict

import httpx
import pytest

from ..hapi_server import HapiServer, start_hapi

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_SCRIPT = Path(__file__).with_name("server.mjs")
ENV_VAR = "MESO_FHIR_TEST_SERVER"
START_TIMEOUT = 30.0


class ServerStats(TypedDict):
    """What ``/__stats`` answers: requests served, by HTTP method and by FHIR interaction."""

    requests: int
    by_method: dict[str, int]
    by_interaction: dict[str, int]


class FhirTestServer:
    """A FHIR server the tests talk to; only the local one can count requests and reset."""

    def __init__(
        self, base_url: str, *, is_local: bool, startup_seconds: float = 0.0, name: str = "memory"
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.is_local = is_local
        self.startup_seconds = startup_seconds
        # /__stats and /__reset sit beside the FHIR base, outside it.
        self._admin_url = self.base_url.rsplit("/fhir", 1)[0]

    def stats(self) -> ServerStats | None:
        """Requests served since the start or the last reset; None on an external server."""
        if not self.is_local:
            return None
        response = httpx.get(f"{self._admin_url}/__stats", timeout=10)
        response.raise_for_status()
        result: ServerStats = response.json()
        return result

    def reset(self) -> None:
        """Empty the repository and the counters (does nothing on an external server)."""
        if self.is_local:
            httpx.post(f"{self._admin_url}/__reset", timeout=10).raise_for_status()

    def __repr__(self) -> str:
        return f"FhirTestServer({self.name}: {self.base_url!r})"


class LocalFhirServer(FhirTestServer):
    """``node server.mjs`` as a child process; ``stop()`` ends it and closes its pipes."""

    def __init__(
        self,
        process: subprocess.Popen[str],
        stdout_pump: threading.Thread,
        stderr: IO[str],
        port: int,
        startup_seconds: float,
    ) -> None:
        url = f"http://127.0.0.1:{port}/fhir"
        super().__init__(url, is_local=True, startup_seconds=startup_seconds)
        self._process = process
        self._stdout_pump = stdout_pump
        self._stderr = stderr

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
        # The pump reads stdout to its end (the process is gone); then the pipe can be closed.
        self._stdout_pump.join(timeout=5)
        if self._process.stdout:
            self._process.stdout.close()
        self._stderr.close()


def _ensure_node_modules() -> str:
    """Path of `node`; runs `npm ci` at the repo root when Medplum's router is not installed."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the in-memory FHIR server needs Node.js >= 20")
    if not (REPO_ROOT / "node_modules" / "@medplum" / "fhir-router").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("node_modules/@medplum/fhir-router is missing and npm is not installed")
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


def start_local_server(*args: str) -> LocalFhirServer:
    """Start server.mjs on a free loopback port and wait for its `LISTENING <port>` line."""
    node = _ensure_node_modules()
    # A file, not a pipe: it never fills up. It must outlive this function (stop() closes it).
    stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
    started = time.monotonic()
    process = subprocess.Popen(
        # --watch-stdin: the server exits when this process dies and its stdin pipe closes.
        [node, str(SERVER_SCRIPT), "--port", "0", "--watch-stdin", *args],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:  # keeps reading stdout for the server's whole life
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    pump_thread = threading.Thread(target=pump, daemon=True, name="fhir-server-stdout")
    pump_thread.start()
    deadline = started + START_TIMEOUT
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            line = None
        if line is not None and line.startswith("LISTENING "):
            port = int(line.split()[1])
            return LocalFhirServer(process, pump_thread, stderr, port, time.monotonic() - started)
        if line is None:  # exited, or timed out
            timed_out = process.poll() is None
            if timed_out:
                process.kill()
            process.wait()
            pump_thread.join(timeout=5)
            for pipe in (process.stdin, process.stdout):
                if pipe:
                    pipe.close()
            stderr.seek(0)
            what = f"did not start within {START_TIMEOUT:.0f} s" if timed_out else "exited"
            message = f"{SERVER_SCRIPT.name} {what} (exit code {process.returncode}). stderr:\n"
            output = stderr.read()
            stderr.close()
            pytest.fail(message + output)


class ServerFactory(Protocol):
    def __call__(self, *args: str) -> FhirTestServer: ...


@pytest.fixture(scope="session")
def fhir_server_factory() -> Iterator[ServerFactory]:
    started: list[LocalFhirServer] = []

    def factory(*args: str) -> FhirTestServer:
        server = start_local_server(*args)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


def _servers() -> list[Any]:
    if os.environ.get(ENV_VAR):
        return [pytest.param("external", id="external")]
    return [
        pytest.param("memory", id="memory"),
        pytest.param("hapi", id="hapi", marks=pytest.mark.hapi),
    ]


@pytest.fixture(scope="session", params=_servers())
def fhir_server(request: pytest.FixtureRequest) -> FhirTestServer:
    if request.param == "external":
        return FhirTestServer(os.environ[ENV_VAR], is_local=False, name="external")
    if request.param == "hapi":
        hapi: HapiServer = request.getfixturevalue("hapi_validating")
        return FhirTestServer(
            hapi.base_url, is_local=False, startup_seconds=hapi.startup_seconds, name="hapi"
        )
    factory: ServerFactory = request.getfixturevalue("fhir_server_factory")
    return factory()


@pytest.fixture(scope="session")
def hapi_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's FHIR package (scripts/make_fhir_package.py), as HAPI installs it."""
    out = tmp_path_factory.mktemp("fhir-package") / "meso-fhir-profiles.tgz"
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "make_fhir_package.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="session")
def hapi_validating(hapi_package: Path) -> Iterator[HapiServer]:
    """HAPI FHIR JPA validating every write against base R4 and the project's package
    (unknown profiles are errors), started once per session."""
    server = start_hapi(validate=True, package=str(hapi_package))
    yield server
    server.stop()
