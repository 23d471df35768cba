from __future__ import annotations

import asyncio
import os
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from secondme import AsyncSecondMeClient, SecondMeClient, SecondMeError
from secondme.server import LocalInstance, ServerThread, create_app
from secondme.web import Settings, build_app, launch_options

from .faults import FaultServer


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--screenshots", default="", metavar="DIR",
                     help="also save the browser tests' screenshots in DIR (e.g. assets)")


def pytest_unconfigure(config: pytest.Config) -> None:
    """A test that leaves a thread running which is not a daemon would keep the interpreter from
    exiting after the summary, and CI would wait for it until its own timeout. Name such threads,
    with where they are, and exit failed instead."""
    frames = sys._current_frames()
    stuck = [t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive()
             and not t.daemon and not t.name.startswith("ThreadPoolExecutor")]  # those exit when asked to
    if not stuck:
        return
    for thread in stuck:
        print(f"\nA test left a thread running: {thread.name}", file=sys.stderr)
        frame = frames.get(thread.ident or 0)
        if frame is not None:
            traceback.print_stack(frame, limit=8, file=sys.stderr)
    sys.stderr.flush()
    sys.stdout.flush()
    os._exit(3)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's own settings."""
    for name in list(os.environ):
        if name.startswith(("SECONDME_", "GRADIO_SERVER_")):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    server = FaultServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def faults() -> Iterator[FaultServer]:
    """A fault server shared by a module's tests (each uses paths of its own)."""
    server = FaultServer().start()
    yield server
    server.stop()


@contextmanager
def launched_app(settings: Settings) -> Iterator[tuple[Any, str]]:
    """The app built and launched as ``python app.py`` launches it, on a free port: (Blocks, URL)."""
    app = build_app(settings)
    _, url, _ = app.launch(prevent_thread_lock=True, quiet=True, **launch_options(app))
    try:
        yield app, url
    finally:
        app.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_serving(url: str, timeout: float = 60.0) -> None:
    """Wait for a server started in another process to answer ``url`` (any HTTP status will do)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered {url} within {timeout:g} s")


def local_instances() -> list[LocalInstance]:
    return [
        LocalInstance("demo", chunks_per_second=400),
        LocalInstance("slow", chunks_per_second=5),
        LocalInstance("offline", online=False),
    ]


@pytest.fixture(scope="session")
def local_server() -> Iterator[ServerThread]:
    """The local Second Me instance, shared: demo (fast), slow (5 chunks/s), offline."""
    with ServerThread(create_app(local_instances(), heartbeat_interval=0.2)) as server:
        yield server


@pytest.fixture(params=["sync", "async"])
def collect(request: pytest.FixtureRequest) -> Any:
    """Runs one streamed chat through the sync or the async client and returns
    ``(deltas, error)``: every delta received, and the SecondMeError raised, if any."""

    def run(base_url: str, instance_id: str, messages: list[dict[str, str]], *,
            client_options: dict[str, Any] | None = None, **kwargs: Any) -> tuple[list[str], SecondMeError | None]:
        deltas: list[str] = []
        if request.param == "sync":
            client = SecondMeClient(base_url, **(client_options or {}))
            try:
                for delta in client.stream_chat(instance_id, messages, **kwargs):
                    deltas.append(delta)
            except SecondMeError as exc:
                return deltas, exc
            finally:
                client.close()
            return deltas, None

        async def main() -> SecondMeError | None:
            async with AsyncSecondMeClient(base_url, **(client_options or {})) as client:
                try:
                    async with client.stream_chat(instance_id, messages, **kwargs) as stream:
                        async for delta in stream:
                            deltas.append(delta)
                except SecondMeError as exc:
                    return exc
            return None

        return deltas, asyncio.run(main())

    run.kind = request.param  # type: ignore[attr-defined]
    return run
