"""Start and stop the HAPI FHIR JPA test server (tests/hapi) from Python.

    server = start_hapi()                 # builds the jar if needed, waits for /metadata
    ...  httpx.get(server.base_url + "/Patient")
    server.stop()

The server is tests/hapi/run.sh run as a child in its own process group, on a free loopback
port, with its log in a temporary file (``server.log_path``). It needs Java 17+ and Maven on
PATH; the first build downloads about 300 MB from Maven Central into ~/.m2.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

HAPI_DIR = Path(__file__).resolve().parent / "hapi"
RUN_SH = HAPI_DIR / "run.sh"
# A fresh machine downloads HAPI's dependencies on the first build (measured: a few minutes).
BUILD_TIMEOUT = 1200.0

_running: set[HapiServer] = set()


class HapiStartError(RuntimeError):
    """The server could not be built or did not come up; the message ends with its log."""


@dataclass(eq=False)
class HapiServer:
    base_url: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    startup_seconds: float = 0.0  # from starting the JVM to the first answer of /metadata

    def log_tail(self, lines: int = 60) -> str:
        return _tail(self.log_path, lines)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 30.0, keep_log: bool = False) -> None:
        """SIGTERM to the server's process group (run.sh and its java), then SIGKILL."""
        _running.discard(self)
        if self.process.poll() is None:
            _signal_group(self.process, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.process, signal.SIGKILL)
                self.process.wait(10)
        # run.sh waits for java before it exits, but make sure nothing of the group survives.
        _signal_group(self.process, signal.SIGKILL)
        if not keep_log:
            self.log_path.unlink(missing_ok=True)


def build_hapi(timeout: float = BUILD_TIMEOUT) -> None:
    """Build tests/hapi/target (a no-op when the jar is newer than its sources)."""
    fd, log_name = tempfile.mkstemp(prefix="hapi-build-", suffix=".log")
    log_path = Path(log_name)
    with os.fdopen(fd, "wb") as log:
        proc = subprocess.Popen(
            ["bash", str(RUN_SH), "--build-only"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # On a time-out Maven must die with the script, not run on orphaned.
            start_new_session=True,
        )
    try:
        returncode = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        _signal_group(proc, signal.SIGKILL)
        proc.wait()
        raise HapiStartError(
            f"building the HAPI server took over {timeout:.0f} s\n{_tail(log_path)}"
        ) from None
    if returncode != 0:
        raise HapiStartError(
            f"building the HAPI server failed (exit {returncode})\n{_tail(log_path)}"
        )
    log_path.unlink(missing_ok=True)


def start_hapi(
    port: int | None = None,
    validate: bool = False,
    package: str | None = None,
    timeout: float = 240,
) -> HapiServer:
    """Build if needed, start the server and return once GET /metadata answers 200.

    validate: validate every write (HAPI_VALIDATE=1); unknown meta.profile is an error.
    package: absolute path of a FHIR package .tgz to load (its profiles become known).
    timeout: seconds for the start-up alone (the build has its own, longer limit).
    """
    build_hapi()
    if package is not None:
        package = str(Path(package).resolve())
        if not Path(package).is_file():
            raise HapiStartError(f"no FHIR package at {package}")
    port = port or _free_port()
    base_url = f"http://127.0.0.1:{port}/fhir"
    env = dict(os.environ)
    env.update(
        HAPI_PORT=str(port),
        HAPI_VALIDATE="true" if validate else "false",
        HAPI_PACKAGE=package or "",
        HAPI_START_TIMEOUT=str(int(timeout) + 30),
    )
    fd, log_name = tempfile.mkstemp(prefix=f"hapi-{port}-", suffix=".log")
    log_path = Path(log_name)
    # The child keeps its own copy of the descriptor; this process needs none.
    with os.fdopen(fd, "wb") as log:
        proc = subprocess.Popen(
            ["bash", str(RUN_SH)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            # Its own process group, so stop() can signal run.sh and java together.
            start_new_session=True,
        )
    server = HapiServer(base_url, port, proc, log_path)
    _running.add(server)
    began = time.monotonic()
    deadline = began + timeout
    with httpx.Client(timeout=10) as client:
        while True:
            if proc.poll() is not None:
                server.stop(keep_log=True)
                raise HapiStartError(
                    f"HAPI server exited with {proc.returncode} before answering\n{_tail(log_path)}"
                )
            try:
                if client.get(f"{base_url}/metadata").status_code == 200:
                    server.startup_seconds = time.monotonic() - began
                    return server
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                server.stop(keep_log=True)
                raise HapiStartError(
                    f"HAPI server did not answer {base_url}/metadata in {timeout:.0f} s\n"
                    f"{_tail(log_path)}"
                )
            time.sleep(0.5)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return f"--- last {lines} lines of {path} ---\n" + "\n".join(text.splitlines()[-lines:])


@atexit.register
def _stop_all() -> None:
    # A test session that dies without running its fixture finalisers must not leave a JVM.
    for server in list(_running):
        server.stop(timeout=10)
