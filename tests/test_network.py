"""The lean network backend under the async client (secondme/network.py): what httpcore's own backend did, the
client's fault tests (test_client.py, both clients) already check through it; these check what they do not."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from secondme import AsyncSecondMeClient
from secondme.errors import APIConnectionError
from secondme.network import LeanBackend, use_lean_backend

from .faults import http_head, read_request, reply


class RawServer:
    """Serves each connection to 127.0.0.1 on a free port with ``serve(conn)``, in a thread, until closed."""

    def __init__(self, serve: Callable[[socket.socket], None], wrap: ssl.SSLContext | None = None) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self._serve, self._wrap = serve, wrap
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            if self._wrap is not None:
                conn = self._wrap.wrap_socket(conn, server_side=True)
            conn.settimeout(10)
            self._serve(conn)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture()
def raw_server() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def start(serve: Callable[[socket.socket], None], wrap: ssl.SSLContext | None = None) -> RawServer:
        servers.append(RawServer(serve, wrap))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_the_async_client_reads_through_the_lean_backend() -> None:
    """httpx has no parameter for it, so use_lean_backend reaches into the transport: an httpx that moved it
    fails here, not by quietly reading through anyio again."""

    async def backend() -> object:
        async with AsyncSecondMeClient("http://127.0.0.1:9") as client:
            return client._http._transport._pool._network_backend  # type: ignore[attr-defined]

    assert isinstance(asyncio.run(backend()), LeanBackend)


def test_an_idle_connection_the_server_closed_is_not_reused(raw_server: Callable[..., RawServer]) -> None:
    def serve(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")  # kept alive, as far as it says
        conn.settimeout(0.05)
        try:
            conn.recv(1)  # then the server closes it while it is idle
        except TimeoutError:
            pass

    server = raw_server(serve)

    async def two_requests() -> list[str]:
        async with use_lean_backend(httpx.AsyncClient()) as http:
            first = await http.get(f"http://127.0.0.1:{server.port}/")
            await asyncio.sleep(0.3)
            second = await http.get(f"http://127.0.0.1:{server.port}/")
            return [first.text, second.text]

    assert asyncio.run(two_requests()) == ["ok", "ok"]
    assert server.connections == 2


def test_a_body_larger_than_the_buffer_pauses_reading_and_arrives_whole(raw_server: Callable[..., RawServer],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from secondme import network

    monkeypatch.setattr(network, "HIGH_WATER", 64 * 1024)
    body = bytes(range(256)) * (4 * 4096)  # 4 MiB

    def serve(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)

    server = raw_server(serve)

    async def read_slowly() -> tuple[bytes, bool]:
        received = bytearray()
        paused = False
        async with use_lean_backend(httpx.AsyncClient()) as http:
            async with http.stream("GET", f"http://127.0.0.1:{server.port}/") as response:
                reader = response.extensions["network_stream"]._reader
                async for piece in response.aiter_raw():
                    received += piece
                    if not paused:
                        await asyncio.sleep(0.2)  # the server goes on sending meanwhile
                        paused = reader.paused
        return bytes(received), paused

    received, paused = asyncio.run(read_slowly())
    assert paused, "reading never paused: the buffer would have grown without bound"
    assert received == body


def test_refused_and_reset_connections_are_httpx_errors(raw_server: Callable[..., RawServer]) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()

    def reset(conn: socket.socket) -> None:
        read_request(conn)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")

    server = raw_server(reset)

    async def failures(lean: bool) -> list[type[BaseException]]:
        kinds: list[type[BaseException]] = []
        async with use_lean_backend(httpx.AsyncClient()) if lean else httpx.AsyncClient() as http:
            for url in (f"http://127.0.0.1:{port}/", f"http://127.0.0.1:{server.port}/"):
                with pytest.raises(httpx.TransportError) as info:
                    await http.get(url)
                kinds.append(type(info.value))
        return kinds

    # As httpcore's own backend says them.
    assert asyncio.run(failures(lean=True)) == asyncio.run(failures(lean=False)) == [httpx.ConnectError,
                                                                                     httpx.ReadError]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (Debian's openssl)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def test_a_reply_over_https(raw_server: Callable[..., RawServer], certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)

    def serve(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(http_head() + reply("Over ", "TLS."))

    server = raw_server(serve, wrap=server_side)
    url = f"https://127.0.0.1:{server.port}"

    async def chat(trusted: bool) -> str:
        verify = ssl.create_default_context(cafile=str(cert)) if trusted else True
        http = use_lean_backend(httpx.AsyncClient(verify=verify))
        async with AsyncSecondMeClient(url, http_client=http) as client:
            return await client.chat("abc", [{"role": "user", "content": "Hi"}])

    assert asyncio.run(chat(trusted=True)) == "Over TLS."
    with pytest.raises(APIConnectionError):  # a certificate nobody vouches for: refused, as before
        asyncio.run(chat(trusted=False))


def test_the_handshake_and_the_connection_fail_as_httpcore_says_it(raw_server: Callable[..., RawServer],
                                                                   certificate: tuple[Path, Path]) -> None:
    """Bytes sent before the TLS handshake (a hostile proxy's, after its answer to CONNECT) never pass for the
    verified server's; a handshake that stalls is a connect timeout; a socket option the system refuses is a connect
    error. Each as httpcore's own backend says it."""
    import httpcore

    cert, _ = certificate
    trusted = ssl.create_default_context(cafile=str(cert))

    def silent(conn: socket.socket) -> None:
        conn.settimeout(3)
        while conn.recv(65536):  # whatever comes (a ClientHello) is never answered
            pass

    def early(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nEVIL!")
        silent(conn)

    injector, staller = raw_server(early), raw_server(silent)

    async def failures(backend: httpcore.AsyncNetworkBackend) -> list[type[BaseException]]:
        kinds: list[type[BaseException]] = []
        stream = await backend.connect_tcp("127.0.0.1", injector.port, timeout=5)
        await asyncio.sleep(0.3)  # the bytes are in
        with pytest.raises(httpcore.ConnectError) as info:
            await stream.start_tls(trusted, server_hostname="127.0.0.1", timeout=5)
        kinds.append(type(info.value))
        stream = await backend.connect_tcp("127.0.0.1", staller.port, timeout=5)
        with pytest.raises(httpcore.ConnectTimeout) as timed_out:
            await stream.start_tls(trusted, server_hostname="127.0.0.1", timeout=0.3)
        kinds.append(type(timed_out.value))
        with pytest.raises(httpcore.ConnectError) as refused:
            await backend.connect_tcp("127.0.0.1", staller.port, timeout=5,
                                      socket_options=[(socket.SOL_SOCKET, 9999, 1)])
        kinds.append(type(refused.value))
        return kinds

    expected = [httpcore.ConnectError, httpcore.ConnectTimeout, httpcore.ConnectError]
    assert asyncio.run(failures(LeanBackend())) == asyncio.run(failures(httpcore.AnyIOBackend())) == expected
