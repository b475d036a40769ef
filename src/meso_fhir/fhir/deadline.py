"""A whole-request deadline enforced at the socket.

httpx's timeouts apply to each read, so a server that sends its status line and headers one byte
a second keeps a request going for hours (h11 reads headers of up to 16 KiB), and the headers are
read inside httpcore, where the client's own check between body chunks cannot see them. Here
every read and write of a connection gets as its timeout what is left until the deadline of the
request under way, so an attempt ends at the deadline whatever the server does; past it, a read
raises ``httpcore.ReadTimeout``, which httpx turns into ``httpx.ReadTimeout``.

The deadline is a context variable set around one attempt (``until``): connections are pooled and
shared between requests, the deadline belongs to the request, not the connection.
"""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from functools import partial
from typing import Any, TypeVar

import httpcore
import httpx

# The words of the timeout raised at the deadline, by which the client tells it from httpx's own.
REACHED = "whole-request time limit reached"

_T = TypeVar("_T")
_DEADLINE: ContextVar[float | None] = ContextVar("meso_fhir_request_deadline", default=None)


@contextlib.contextmanager
def until(deadline: float) -> Iterator[None]:
    """Bound every socket operation in the block by ``deadline`` (``time.monotonic()`` seconds)."""
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _bounded(
    operation: type[httpcore.TimeoutException],
    call: Callable[[float | None], _T],
    timeout: float | None,
) -> _T:
    """``call(timeout)`` with the timeout cut to what is left until the deadline; a timeout that
    the deadline caused says so (``REACHED``), one of httpx's own keeps its words."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return call(timeout)
    left = deadline - time.monotonic()
    if left <= 0:
        raise operation(REACHED)
    if timeout is not None and timeout < left:
        return call(timeout)
    try:
        return call(left)
    except httpcore.TimeoutException:
        raise operation(REACHED) from None


class _Stream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return _bounded(httpcore.ReadTimeout, partial(self._stream.read, max_bytes), timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        _bounded(httpcore.WriteTimeout, partial(self._stream.write, buffer), timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = partial(self._stream.start_tls, ssl_context, server_hostname)
        return _Stream(_bounded(httpcore.ConnectTimeout, tls, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        connect = partial(
            self._backend.connect_tcp, host, port, local_address=local_address,
            socket_options=socket_options,
        )  # fmt: skip
        return _Stream(_bounded(httpcore.ConnectTimeout, connect, timeout))

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        connect = partial(self._backend.connect_unix_socket, path, socket_options=socket_options)
        return _Stream(_bounded(httpcore.ConnectTimeout, connect, timeout))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def install(client: httpx.Client) -> None:
    """Put the deadline under every network transport of ``client`` (direct and proxies).

    httpx offers no public way to give its transport a network backend, so this sets the one
    attribute of httpcore's pool that holds it (httpx 0.28, httpcore 1.0: both pinned). A
    transport that is not httpx's own (a test's mock) has no socket to bound and is left alone.
    ``tests/test_client_safety.py`` drips headers from a real socket, so a change in httpx that
    defeats this fails there.
    """
    for transport in [client._transport, *client._mounts.values()]:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.NetworkBackend) and not isinstance(backend, _Backend):
            pool._network_backend = _Backend(backend)  # type: ignore[union-attr]
