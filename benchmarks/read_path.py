"""Experiment: what reading the upstream costs the client, httpx's own transport against a lean one.

    python -m benchmarks.read_path

100 replies of 100 chunks, paced at 50 chunks/s as a Second Me sends them (so each chunk arrives in a read of
its own), read at once by ``AsyncSecondMeClient``: once through httpx's transport (httpcore and anyio), once
through ``LeanTransport``, a sketch on asyncio streams and h11 with a read timeout per read. The figure is the
CPU time of this process (the instance runs in its own). ``LeanTransport`` is not used by the package: it has
no connection pool, no TLS settings, no connect timeout and maps no errors; it shows what a transport built
for many concurrent streams could save.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import h11
import httpx

from secondme import AsyncSecondMeClient

from .run import direct_session, start_instance

READ_TIMEOUT = 60.0


class _LeanStream(httpx.AsyncByteStream):
    def __init__(self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.conn, self.reader, self.writer = conn, reader, writer

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                async with asyncio.timeout(READ_TIMEOUT):
                    self.conn.receive_data(await self.reader.read(65536))
            elif isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                return

    async def aclose(self) -> None:
        self.writer.close()


class LeanTransport(httpx.AsyncBaseTransport):
    """One connection per request, h11 on asyncio streams."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        reader, writer = await asyncio.open_connection(url.host, url.port or 80)
        conn = h11.Connection(h11.CLIENT)
        body = await request.aread()
        writer.write(conn.send(h11.Request(method=request.method, target=url.raw_path,
                                           headers=list(request.headers.raw))) or b"")
        writer.write((conn.send(h11.Data(data=body)) or b"") + (conn.send(h11.EndOfMessage()) or b""))
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                async with asyncio.timeout(READ_TIMEOUT):
                    conn.receive_data(await reader.read(65536))
            elif isinstance(event, h11.Response):
                return httpx.Response(event.status_code, headers=list(event.headers),
                                      stream=_LeanStream(conn, reader, writer))


async def measure(url: str, transport: httpx.AsyncBaseTransport | None, n: int = 100) -> tuple[float, int]:
    """CPU seconds this process spent while ``n`` replies streamed, and how many arrived whole."""
    limits = httpx.Limits(max_connections=None)
    http = httpx.AsyncClient(timeout=READ_TIMEOUT, limits=limits, transport=transport)
    client = AsyncSecondMeClient(url, http_client=http)
    start = asyncio.Event()
    tasks = [asyncio.create_task(direct_session(client, "Write 100 chunks.", 100, start)) for _ in range(n)]
    await asyncio.sleep(0.2)
    cpu = time.process_time()
    start.set()
    results = await asyncio.gather(*tasks)
    cpu = time.process_time() - cpu
    await http.aclose()
    return cpu, sum(r.ok and r.reply_chars > 0 for r in results)


def main() -> None:
    instance, url = start_instance(50)
    print("| round | reader | client CPU for 100 × 100 chunks | per chunk | replies whole |")
    print("| --- | --- | --- | --- | --- |")
    with instance:
        for round_ in (1, 2, 3):
            for name, transport in (("httpx's transport", None), ("LeanTransport", LeanTransport())):
                cpu, whole = asyncio.run(measure(url, transport))
                print(f"| {round_} | {name} | {cpu:.2f} s | {cpu / 10_000 * 1e6:.0f} µs | {whole} |", flush=True)


if __name__ == "__main__":
    main()
