"""Fixtures shared by the test files; the FHIR server fixtures (fhir_server,
fhir_server_factory) live in tests/fhir_server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from .helpers import ClientFactory, FakeTime, with_example_photos

pytest_plugins = ["tests.fhir_server"]


@pytest.fixture(autouse=True)
def no_user_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The CLI reads server profiles from $MESO_FHIR_CONFIG or $XDG_CONFIG_HOME: never the
    developer's own (a test that wants one sets it)."""
    monkeypatch.delenv("MESO_FHIR_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.getbasetemp() / "no-config"))


@pytest.fixture(autouse=True)
def example_photos(request: pytest.FixtureRequest) -> None:
    """The example's photo files in a test's tmp_path, where a copy of the example export is
    written (its photo paths are relative to the export's folder)."""
    if "tmp_path" in request.fixturenames:
        with_example_photos(request.getfixturevalue("tmp_path"))


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture(scope="session")
def http_transport() -> httpx.HTTPTransport:
    # One transport for the session: building its TLS context takes ~0.2 s. pytest-httpx patches
    # HTTPTransport.handle_request, so nothing reaches the network.
    return httpx.HTTPTransport()


@pytest.fixture
def make_client(
    fake_time: FakeTime, http_transport: httpx.HTTPTransport
) -> Iterator[ClientFactory]:
    """``make_client(base_url=..., auth=..., retry=..., random=...)``: a FhirClient that never
    sleeps or reads a clock (``fake_time`` records the delays); all are closed after the test."""
    factory = ClientFactory(fake_time, http_transport)
    yield factory
    factory.close()


@pytest.fixture(autouse=True)
def logger_levels() -> Iterator[None]:
    """The CLI sets logger levels for the process (-v/-vv): give each test the levels it found."""
    import logging

    names = ("meso_fhir", "httpx", "httpcore")
    saved = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)
