"""deploy/: two replicas behind HAProxy, as `python deploy/replicas.py` runs them. Each session stays on
its replica (browsers, gradio_client, and callers without cookies); a replica that dies loses only its
own sessions, and comes back."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from gradio_client import Client

from secondme.server import LocalInstance, ServerThread, create_app

from .conftest import free_port, start_process
from .test_browser import ChatPage, browser, open_page, wait_until  # noqa: F401 - fixtures
from .test_hostile_callers import attempt, event_ids, reply_tricks, spend_the_limit

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed "
                                "(tests/run.sh installs Debian's haproxy)")


class NotStarted(AssertionError):
    """The deployment ended before it said it was up (deploy/replicas.py: a replica exited before it started)."""


class Deployment:
    """``deploy/replicas.py`` with ``replicas`` replicas, or ``command(port)`` (which starts as many), ended with
    every process it started (``start_process``). ``PORT`` in its environment is HAProxy's port too."""

    def __init__(self, replicas: int = 2, command: Callable[[int], list[str]] | None = None) -> None:
        self.replicas, self.command = replicas, command
        self._choose_ports()

    def _choose_ports(self) -> None:
        self.port = free_port()
        while any(_busy(self.port + k) for k in range(1, self.replicas + 1)):
            self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"

    @contextmanager
    def running(self, upstream: str, **settings: str) -> Iterator[Deployment]:
        """Started against ``upstream``, with ``settings`` added to its environment. Started again on other ports
        when it could not start on these (a test running beside it took one of them after they were chosen)."""
        for tries in range(3):
            env = {**os.environ, "SECONDME_BASE_URL": upstream, "SECONDME_INSTANCE_ID": "slow",
                   "GRADIO_ANALYTICS_ENABLED": "False", "PORT": str(self.port), **settings}
            args = self.command(self.port) if self.command else [
                "deploy/replicas.py", "--replicas", str(self.replicas), "--port", str(self.port)]
            with ExitStack() as stack:
                try:
                    stack.enter_context(start_process([sys.executable, *args], cwd=ROOT, env=env,
                                                      stdout=subprocess.PIPE, text=True, ready=self._started,
                                                      stop_timeout=20))
                except NotStarted:
                    if tries == 2:
                        raise
                    self._choose_ports()
                    continue
                yield self
                return

    def _started(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        deadline = time.monotonic() + 120
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if "HAProxy on" in line or not line:
                break
        if "HAProxy on" not in line:
            raise NotStarted("the deployment did not start")
        for k in range(1, self.replicas + 1):
            self.wait_up(f"app{k}")

    def replica_pid(self, name: str) -> int:
        port = str(self.port + int(name.removeprefix("app")))
        for child in psutil.Process(self.proc.pid).children():
            if child.environ().get("GRADIO_SERVER_PORT") == port and child.is_running():
                return int(child.pid)
        raise LookupError(name)

    def wait_up(self, name: str, timeout: float = 90) -> None:
        """Until HAProxy sends new sessions to ``name`` again (it is up, and past its health checks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                seen = {httpx.get(f"{self.url}gradio_api/info").headers.get("x-secondme-replica") for _ in range(4)}
            except httpx.HTTPError:  # HAProxy is not listening yet
                seen = set()
            if name in seen:
                return
            time.sleep(0.5)
        raise AssertionError(f"{name} did not come up")



def _busy(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
        return True
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    with ServerThread(create_app([LocalInstance("slow", chunks_per_second=12)])) as upstream:
        with Deployment().running(upstream.url) as deployed:
            yield deployed


def test_gradio_client_calls_through_haproxy(deployment: Deployment) -> None:
    for _ in range(3):
        client = Client(deployment.url, verbose=False)
        assert set(client.cookies) == {"SECONDME_REPLICA"}  # what keeps its session on one replica
        reply = client.predict("Hello through HAProxy", api_name="/chat")
        assert "Hello through HAProxy" in reply
        job = client.submit("A streamed one", [], "slow", "", 0.7, 200, False, "", "chat", api_name="/send")
        states = list(job)
        assert len(states) > 2 and "A streamed one" in json.dumps(job.result())
        client.close()


def _raw_get(port: int, target: str) -> tuple[int, bytes]:
    """``GET target`` as written (no client tidies it): the status and the body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer.partition(b"\r\n\r\n")[2]


def test_metrics_are_each_replicas_own_and_not_served_through_haproxy(deployment: Deployment) -> None:
    for k in (1, 2):
        assert "secondme_replies_total" in httpx.get(f"http://127.0.0.1:{deployment.port + k}/metrics").text
        assert _raw_get(deployment.port + k, "/%6detrics")[0] == 200  # what a replica reads as /metrics
    for target in ("/metrics", "/%6detrics", "/%6D%65trics", "//metrics", "/metrics/", "/METRICS", "/./metrics",
                   "/gradio_api/../metrics", "/%2e/metrics", "/%2E%2E/metrics", "/metrics?x=1", "/%2Fmetrics",
                   "http://x/metrics", "http://x/%6detrics"):
        status, body = _raw_get(deployment.port, target)
        assert status in (400, 404) and b"secondme_" not in body, target
    assert _raw_get(deployment.port, "/gradio_api/info")[0] == 200


def test_a_forged_forwarded_header_is_replaced_by_haproxy(deployment: Deployment) -> None:
    """The replicas trust HAProxy's X-Forwarded-For; HAProxy writes it from the connection, whatever came in."""
    seen = httpx.get(f"{deployment.url}gradio_api/info", headers={"X-Forwarded-For": "203.0.113.7"})
    assert seen.status_code == 200  # (the rate limit's visitor is checked in tests/test_protect.py)
    config = (ROOT / "deploy" / "haproxy.cfg").read_text()
    assert "http-request set-header X-Forwarded-For %[src]" in config and "option forwardfor" not in config


def test_a_browser_conversation_with_stop_and_retry(open_page: Any, deployment: Deployment) -> None:  # noqa: F811
    chat: ChatPage = open_page(deployment.url)
    chat.send("First through HAProxy")
    chat.wait_for_bot(lambda t: "First through HAProxy" in t)
    chat.button("Stop").click()
    # Send comes back when the cancelled reply ends, which may be before the Stopped notice is in.
    wait_until(lambda: "Stopped" in chat.last_bot(), 10, "the stopped notice")
    wait_until(chat.idle, 10, "Send after Stop")
    chat.button("Retry").click()
    chat.wait_for_bot(lambda t: t.endswith("max tokens 2000."), timeout=60)
    assert [role for role, _ in chat.messages()] == ["user", "bot"]


async def _session(http: httpx.AsyncClient, url: str, fn_index: int, started: list[str]) -> dict[str, Any]:
    """One cookie-less caller's message, routed by its session_hash: its replica, and how it ended."""
    session = uuid.uuid4().hex[:11]
    joined = await http.post(f"{url}gradio_api/queue/join", json={
        "data": ["Keep talking", [], "slow", "", 0.7, 200, False, "", "chat"], "fn_index": fn_index,
        "session_hash": session, "event_data": None, "trigger_id": None})
    result: dict[str, Any] = {"replica": joined.headers.get("x-secondme-replica"), "ok": False}
    try:
        async with http.stream("GET", f"{url}gradio_api/queue/data", params={"session_hash": session}) as stream:
            result["streamed_from"] = stream.headers.get("x-secondme-replica")
            async for line in stream.aiter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("msg") == "process_generating" and session not in started:
                    started.append(session)
                if message.get("msg") == "process_completed":
                    conversation = message["output"]["data"][0]
                    said = [m for m in conversation if (m.get("metadata") or {}).get("id") != "stats"]
                    result["ok"] = message["success"] and said[-1].get("metadata") is None
                    return result
    except httpx.HTTPError as exc:
        result["error"] = type(exc).__name__
    return result


def test_a_replica_that_dies_loses_only_its_own_sessions_and_comes_back(deployment: Deployment) -> None:
    config = httpx.get(f"{deployment.url}config").json()
    send = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "send")

    async def scenario() -> list[dict[str, Any]]:
        started: list[str] = []
        async with httpx.AsyncClient(timeout=60) as http:
            # No cookies (a jar given to httpx would be copied, without its policy): routed by session_hash alone.
            http.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
            tasks = [asyncio.create_task(_session(http, deployment.url, send, started)) for _ in range(12)]
            while len(started) < 12 and not any(t.done() for t in tasks):
                await asyncio.sleep(0.05)
            os.kill(deployment.replica_pid("app1"), signal.SIGKILL)
            return list(await asyncio.gather(*tasks))

    with ThreadPoolExecutor(1) as thread:  # Playwright's event loop runs in this one
        results = thread.submit(asyncio.run, scenario()).result()
    on = {name: [r for r in results if r["replica"] == name] for name in ("app1", "app2")}
    assert on["app1"] and on["app2"], results  # 12 session hashes spread over both replicas
    assert all(r["replica"] == r["streamed_from"] for r in results if "streamed_from" in r)  # one replica each
    assert all(r["ok"] for r in on["app2"]), on["app2"]  # the other replica's streams complete
    assert not any(r["ok"] for r in on["app1"])  # the dead one's sessions are lost, and only those
    deployment.wait_up("app1")  # the launcher started it again, and HAProxy sends it sessions again
    assert "Back again" in Client(deployment.url, verbose=False).predict("Back again", api_name="/chat")


@pytest.fixture(scope="module")
def limited_deployment() -> Iterator[tuple[Deployment, ServerThread]]:
    """One replica behind HAProxy, with a rate limit of 2 a minute and the MCP tool."""
    with ServerThread(create_app([LocalInstance("limited")])) as upstream:
        with Deployment(replicas=1).running(upstream.url, SECONDME_RATE_LIMIT="2/minute", SECONDME_MCP="1",
                                            SECONDME_INSTANCE_ID="limited") as deployed:
            yield deployed, upstream


def test_no_spelling_of_a_reply_gets_past_a_spent_limit_through_haproxy(
        limited_deployment: tuple[Deployment, ServerThread]) -> None:
    deployed, _ = limited_deployment
    with httpx.Client(base_url=deployed.url, timeout=30) as http:
        config = http.get("/config").json()
        spend_the_limit(http, 2)
        tricks = [*reply_tricks(config), ("run/ with the API's index", "/gradio_api/run/predict", json.dumps(
            {"fn_index": event_ids(config)["chat"], "data": ["Hi", "limited", "", 0.7, 100]}), {})]
        answers = {what: attempt(http, path, body, headers) for what, path, body, headers in tricks}
    assert {what: status for what, status in answers.items() if status not in (404, 422, 429)} == {}
    assert answers["run/ with the API's index"] == 404


def test_a_replica_whose_port_is_taken_stops_the_start_at_once() -> None:
    """Gradio would start it on the next free port, where HAProxy never looks: the launcher says so and ends."""
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port + 1))
        taken.listen()
        done = subprocess.run([sys.executable, "deploy/replicas.py", "--replicas", "1", "--port", str(port)], cwd=ROOT,
                              capture_output=True, text=True, timeout=110,
                              env={**os.environ, "SECONDME_BASE_URL": "http://127.0.0.1:9"})
    assert done.returncode != 0
    assert f"the replica on port {port + 1} exited" in done.stderr
