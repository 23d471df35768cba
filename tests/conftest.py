from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
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


# Test files run in parallel (tests/run.sh: pytest -n, --dist loadgroup). A file's tests stay together, so its
# module fixtures (an app, a browser) start once; the browser tests share one group, so one chromium runs at a
# time, and so do the tests that start a whole deployment or measure load.
GROUPS = {"browser": ("test_browser", "test_deploy", "test_space"), "load": ("test_benchmark", "test_sessions")}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        stem = item.path.stem
        group = next((name for name, prefixes in GROUPS.items() if stem.startswith(prefixes)), stem)
        item.add_marker(pytest.mark.xdist_group(group))


def stuck_threads(grace: float = 2.0) -> str:
    """The threads a test left running that are not daemons, each with where it is ("" when none).
    Such a thread keeps the interpreter from exiting after the summary, and CI waits for it until its own
    timeout. One that ends within ``grace`` seconds is not counted."""

    def running() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive()
                and not t.daemon and not t.name.startswith("ThreadPoolExecutor")]  # those exit when asked to

    deadline = time.monotonic() + grace
    for thread in running():
        thread.join(max(0.0, deadline - time.monotonic()))
    frames = sys._current_frames()
    said = []
    for thread in running():
        said.append(f"\nA test left a thread running: {thread.name}\n")
        frame = frames.get(thread.ident or 0)
        if frame is not None:
            said.extend(traceback.format_stack(frame, limit=8))
    return "".join(said)


_stuck: list[str] = []  # what this process found, and under xdist what its workers found


@pytest.hookimpl(trylast=True)  # after pytest's own, which ends the fixtures a stopped run (-x) left set up
def pytest_sessionfinish(session: pytest.Session) -> None:
    said = stuck_threads()
    if said:
        _stuck.append(said)
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller says it, and fails the run
        workeroutput["stuck_threads"] = said


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    said = getattr(node, "workeroutput", {}).get("stuck_threads")
    if said:
        _stuck.append(said)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Say the threads tests left running, and exit failed instead of waiting for them."""
    if not _stuck:
        return
    if not hasattr(config, "workeroutput"):  # a worker's threads are said by the controller
        print("".join(_stuck), file=sys.stderr)
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


def wait_until_serving(url: str, timeout: float = 60.0, process: subprocess.Popen[Any] | None = None) -> None:
    """Wait for a server started in another process to answer ``url`` (any HTTP status will do); when that
    ``process`` is given, stop waiting if it exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{process.args!r} exited with status {process.returncode} before it served {url}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered {url} within {timeout:g} s")


@contextmanager
def start_process(args: list[str], *, ready_url: str | None = None,
                  ready: Callable[[subprocess.Popen[Any]], object] | None = None, ready_timeout: float = 90.0,
                  stop_timeout: float = 10.0, **popen: Any) -> Iterator[subprocess.Popen[Any]]:
    """A process for a test: started, waited for (until ``ready_url`` answers, and ``ready(process)`` returns),
    and always ended, with every process it started, when the test is done or when starting it failed.

    It runs in a process group of its own: on the way out it is asked to stop (SIGTERM) unless it already
    exited, killed after ``stop_timeout`` seconds, and what is left of its group (children it started) killed."""
    process = subprocess.Popen(args, start_new_session=True, **popen)
    try:
        if ready_url is not None:
            wait_until_serving(ready_url, ready_timeout, process)
        if ready is not None:
            ready(process)
        yield process
    finally:
        end_process(process, stop_timeout)


def end_process(process: subprocess.Popen[Any], stop_timeout: float = 10.0) -> None:
    """Stop a process started by ``start_process`` and its process group (see there)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(stop_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    try:
        os.killpg(process.pid, signal.SIGKILL)  # its children, if it left any behind
    except (ProcessLookupError, PermissionError):
        pass
    for pipe in (process.stdout, process.stderr, process.stdin):
        if pipe is not None:
            pipe.close()


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
