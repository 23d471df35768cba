"""A lean network layer for httpx on asyncio, for a process that reads many slow streams at once.

httpx reads through httpcore's anyio backend, which for every read of a stream turns the socket's reading on
and off again (two changes to the event loop's watch list), opens and closes a cancel scope for the timeout,
and wraps both in generator-based context managers. A Second Me sends a reply a token at a time, so each
chunk is a read of its own: in the app, with a hundred replies streaming, that was the largest single cost
of a reply (``benchmarks/README.md``).

``LeanBackend`` is an httpcore network backend on plain asyncio: a protocol that keeps reading (it stops only
when a megabyte is waiting unread) into a buffer, a read that takes what is there or waits for the next bytes,
and a timeout per read that is one timer, not a scope. It raises httpcore's own exceptions (``ReadTimeout``,
``ReadError``, ``ConnectError``...), so httpx maps them as it maps the anyio backend's. ``use_lean_backend``
puts it under an ``httpx.AsyncClient``'s transports (httpx has no parameter for it).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpcore
import httpx

__all__ = ["LeanBackend", "use_lean_backend", "no_cookies"]

# Reading stops while this much is waiting unread, and goes on once less than half of it is.
HIGH_WATER = 1 << 20


class _Reader(asyncio.Protocol):
    """Collects what a connection receives until a read takes it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None  # a read waiting for bytes
        self.drained: asyncio.Future[None] | None = None  # a write waiting for the socket to take its bytes
        self.paused = False
        self.writing_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) >= HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # close the transport

    def connection_lost(self, exc: BaseException | None) -> None:
        self.eof = True
        if exc is not None and self.error is None:
            self.error = exc
        self._wake()
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


async def _within(future: asyncio.Future[None], timeout: float | None, error: type[Exception]) -> None:
    """Wait for ``future``; past ``timeout`` seconds, raise ``error``."""
    if timeout is None:
        await future
        return
    timer = asyncio.get_running_loop().call_later(timeout, _expire, future, error)
    try:
        await future
    finally:
        timer.cancel()


def _expire(future: asyncio.Future[None], error: type[Exception]) -> None:
    if not future.done():
        future.set_exception(error("timed out"))


class LeanStream(httpcore.AsyncNetworkStream):
    """One connection, as httpcore reads and writes it."""

    def __init__(self, transport: asyncio.Transport, reader: _Reader) -> None:
        self._transport = transport
        self._reader = reader

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        reader = self._reader
        if not reader.buffer and not reader.eof:
            reader.waiter = asyncio.get_running_loop().create_future()
            try:
                await _within(reader.waiter, timeout, httpcore.ReadTimeout)
            finally:
                reader.waiter = None
        if reader.buffer:
            data = bytes(reader.buffer[:max_bytes])
            del reader.buffer[:max_bytes]
            if reader.paused and len(reader.buffer) < HIGH_WATER // 2:
                reader.paused = False
                self._transport.resume_reading()
            return data
        if reader.error is not None:
            raise httpcore.ReadError(str(reader.error) or type(reader.error).__name__)
        return b""  # the other side closed its end

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        reader = self._reader
        if reader.error is not None or self._transport.is_closing():
            raise httpcore.WriteError(str(reader.error or "the connection is closed"))
        self._transport.write(buffer)
        if reader.writing_paused:
            reader.drained = asyncio.get_running_loop().create_future()
            try:
                await _within(reader.drained, timeout, httpcore.WriteTimeout)
            finally:
                reader.drained = None
            if reader.error is not None:
                raise httpcore.WriteError(str(reader.error))

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        if self._reader.buffer:
            # Bytes that came before the handshake (after a proxy's answer to CONNECT, say) were never encrypted:
            # read after it, they would pass for the verified server's. httpcore's backend leaves them in the
            # socket, where they fail the handshake; here they fail it too.
            self._transport.close()
            raise httpcore.ConnectError("the server sent data before the TLS handshake")
        loop = asyncio.get_running_loop()
        try:
            # Our own timeout: asyncio's handshake timeout is a ConnectionAbortedError, and refuses 0.
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(self._transport, self._reader, ssl_context,
                                                 server_hostname=server_hostname)
        except TimeoutError as exc:
            self._transport.close()
            raise httpcore.ConnectTimeout(str(exc) or "the TLS handshake timed out") from exc
        except (ssl.SSLError, OSError) as exc:
            self._transport.close()
            raise httpcore.ConnectError(str(exc)) from exc
        if transport is None:
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        self._reader.transport = transport
        return LeanStream(transport, self._reader)

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        if info == "is_readable":
            # An idle connection the server has closed (or sent something on): it reads all the time, so it knows.
            return self._reader.eof or bool(self._reader.buffer)
        return None


def _on_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # another event loop (trio): httpcore's own backend serves it
        return False
    return True


class LeanBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend on plain asyncio (see the module's docstring); on another event loop (trio),
    httpcore's own."""

    def __init__(self) -> None:
        self._other = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        if not _on_asyncio():
            return await self._other.connect_tcp(host, port, timeout, local_address, socket_options)
        loop = asyncio.get_running_loop()
        connecting = loop.create_connection(_Reader, host, port,
                                            local_addr=(local_address, 0) if local_address else None)
        return await self._connected(connecting, timeout, socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        if not _on_asyncio():
            return await self._other.connect_unix_socket(path, timeout, socket_options)
        loop = asyncio.get_running_loop()
        return await self._connected(loop.create_unix_connection(_Reader, path), timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        if not _on_asyncio():
            await self._other.sleep(seconds)
            return
        await asyncio.sleep(seconds)

    @staticmethod
    async def _connected(connecting: Any, timeout: float | None,
                         socket_options: Iterable[Any] | None) -> httpcore.AsyncNetworkStream:
        transport: asyncio.Transport | None = None
        try:
            async with asyncio.timeout(timeout):
                transport, reader = await connecting
            sock = transport.get_extra_info("socket")
            for option in socket_options or ():
                sock.setsockopt(*option)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc) or "timed out") from exc
        except OSError as exc:  # socket.gaierror included
            if transport is not None:
                transport.close()
            raise httpcore.ConnectError(str(exc)) from exc
        return LeanStream(transport, reader)


def use_lean_backend(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """``client`` with ``LeanBackend`` under each of its transports (its own and its proxies'), so every
    connection it makes from now on is read through it. Returns ``client``."""
    backend = LeanBackend()
    transports = [client._transport, *client._mounts.values()]  # httpx has no public way to reach them
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        if isinstance(pool, httpcore.AsyncConnectionPool):
            pool._network_backend = backend
    return client


def no_cookies() -> CookieJar:
    """A cookie jar that keeps no cookie, for a client that serves many callers (the app's, the relay's): a cookie
    a server set in one caller's answer would otherwise go out with every caller's later requests."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
