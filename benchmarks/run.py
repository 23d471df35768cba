"""Benchmark: the app against its limit, the upstream itself.

    python -m benchmarks.run            # the full run (about two minutes)
    python -m benchmarks.run --smoke    # a few seconds, to check that it works

It starts the local Second Me instance and the app (`python app.py`) as processes of their own on loopback
ports, then measures concurrency (N sessions through Gradio's queue protocol, as a browser speaks it, against
the same N streams straight to the instance), the clients' decoding throughput against a raw read, and the
bytes a long reply costs the browser. It prints Markdown tables; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any

import httpx
import psutil
import requests
import sseclient

from secondme import AsyncSecondMeClient, SecondMeClient

ROOT = Path(__file__).resolve().parent.parent
SYSTEM = "You are a helpful assistant."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def process(args: list[str], env: dict[str, str], ready_url: str, cwd: Path = ROOT) -> Iterator[psutil.Popen]:
    proc = psutil.Popen(args, cwd=cwd, env={**os.environ, **env},
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(ready_url)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except psutil.TimeoutExpired:
            proc.kill()


def start_instance(rate: float) -> tuple[Any, str]:
    port = free_port()
    cmd = [sys.executable, "-m", "benchmarks.instance", "--port", str(port), "--rate", str(rate)]
    url = f"http://127.0.0.1:{port}"
    return process(cmd, {}, f"{url}/api/upload/list"), url


def start_app(instance_url: str, replicas: int = 1, root: Path = ROOT) -> tuple[Any, str]:
    """``python app.py``, or with ``replicas`` > 1, that many behind HAProxy (``deploy/replicas.py``), from the
    checkout at ``root`` (another commit's worktree, for ``--against``)."""
    port = free_port()
    env = {"SECONDME_BASE_URL": instance_url, "SECONDME_INSTANCE_ID": "bench", "GRADIO_SERVER_PORT": str(port),
           "GRADIO_ANALYTICS_ENABLED": "False"}
    url = f"http://127.0.0.1:{port}/"
    if replicas > 1:
        cmd = [sys.executable, "deploy/replicas.py", "--replicas", str(replicas), "--port", str(port)]
        return process(cmd, env, url, root), url
    return process([sys.executable, "app.py"], env, url, root), url


def app_processes(proc: psutil.Process) -> list[psutil.Process]:
    """The app's processes: ``proc`` itself, or the replicas a launcher started (HAProxy not counted)."""
    children = [c for c in proc.children() if "app.py" in " ".join(c.cmdline())]
    return children or [proc]


class Monitor:
    """CPU seconds and peak RSS of the app's processes (summed over replicas), sampled every 20 ms."""

    def __init__(self, procs: list[psutil.Process]) -> None:
        self.procs = procs
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _cpu(self) -> float:
        return sum(float(t.user + t.system) for t in (p.cpu_times() for p in self.procs))

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_rss = max(self.peak_rss, sum(p.memory_info().rss for p in self.procs))
            time.sleep(0.02)

    def __enter__(self) -> Monitor:
        self.cpu_start = self._cpu()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.cpu = self._cpu() - self.cpu_start


@dataclass
class Session:
    ttft: float = float("nan")
    total: float = float("nan")
    ok: bool = False
    bytes_received: int = 0
    reply_chars: int = 0
    updates: int = 0
    error: str = ""


def _has_reply(chatbot_output: Any) -> bool:
    """Whether one update of the Chatbot (a whole value, or a list of diff edits) carries reply text."""
    text = json.dumps(chatbot_output)
    return '"assistant"' in text or '"append"' in text


async def queue_event(http: httpx.AsyncClient, app_url: str, session_hash: str, fn_index: int, data: list[Any],
                      result: Session, t0: float) -> dict[str, Any] | None:
    """Join the queue for one event and read the queue's event stream until it completes, as the page
    does; returns the completed message (None if the queue refused)."""
    payload = {"data": data, "fn_index": fn_index, "session_hash": session_hash, "event_data": None,
               "trigger_id": None}
    joined = await http.post(f"{app_url}gradio_api/queue/join", json=payload)
    if joined.status_code != 200:
        result.error = f"join {joined.status_code}: {joined.text[:100]}"
        return None
    event_id = joined.json()["event_id"]
    async with http.stream("GET", f"{app_url}gradio_api/queue/data", params={"session_hash": session_hash}) as response:
        buffer = b""
        async for piece in response.aiter_bytes():
            result.bytes_received += len(piece)
            buffer += piece
            while b"\n\n" in buffer:
                line, buffer = buffer.split(b"\n\n", 1)
                if not line.startswith(b"data:"):
                    continue
                msg = json.loads(line[5:])
                if msg.get("event_id") != event_id:
                    continue
                if msg.get("msg") == "process_generating":
                    result.updates += 1
                    if result.ttft != result.ttft and _has_reply(msg["output"]["data"][0]):
                        result.ttft = time.perf_counter() - t0
                elif msg.get("msg") == "process_completed":
                    return dict(msg)
    result.error = "the event stream ended early"
    return None


async def app_session(http: httpx.AsyncClient, app_url: str, fns: dict[str, int], message: str, max_tokens: int,
                      start: asyncio.Event) -> Session:
    """One browser sending one message: the page's send event, streamed through the queue."""
    result = Session()
    session_hash = uuid.uuid4().hex[:11]
    turn = ["bench", SYSTEM, 0.7, max_tokens, False, "", "chat"]
    await start.wait()
    t0 = time.perf_counter()
    try:
        done = await queue_event(http, app_url, session_hash, fns["send"], [message, [], *turn], result, t0)
        if done is None:
            return result
        result.total = time.perf_counter() - t0
        conversation = (done.get("output", {}).get("data") or [[]])[0] or []
        # The reply is the last message but its stats line; a notice instead of it (an error) is a failure.
        said = [m for m in conversation if (m.get("metadata") or {}).get("id") != "stats"]
        reply = said[-1] if said else {}
        result.ok = bool(done.get("success")) and reply.get("role") == "assistant" \
            and not (reply.get("metadata") or {}).get("title")
        result.reply_chars = sum(len(p.get("text", "")) for p in reply.get("content", []))
        if not result.ok:
            result.error = str(done.get("output", {}).get("error") or reply)[:200]
    except httpx.HTTPError as exc:
        result.error = type(exc).__name__
    return result


async def direct_session(client: AsyncSecondMeClient, message: str, max_tokens: int, start: asyncio.Event) -> Session:
    result = Session()
    await start.wait()
    t0 = time.perf_counter()
    try:
        chars = 0
        async with client.stream_chat("bench", [{"role": "system", "content": SYSTEM},
                                                {"role": "user", "content": message}],
                                      max_tokens=max_tokens) as stream:
            async for delta in stream:
                if chars == 0:
                    result.ttft = time.perf_counter() - t0
                chars += len(delta)
        result.total, result.ok, result.reply_chars = time.perf_counter() - t0, True, chars
    except Exception as exc:  # noqa: BLE001 - every failure is counted as an error
        result.error = f"{type(exc).__name__}: {exc}"
    return result


def page_fns(app_url: str) -> dict[str, int]:
    """The fn_index of the page's send event."""
    config = requests.get(f"{app_url}config", timeout=10).json()
    return {d["api_name"]: d["id"] for d in config["dependencies"] if d.get("api_name") == "send"}


async def run_sessions(kind: str, n: int, *, app_url: str, instance_url: str, fns: dict[str, int], chunks: int,
                       timeout: float) -> list[Session]:
    start = asyncio.Event()
    message = f"Write {chunks} chunks."  # the benchmark's instance answers with exactly that many
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    if kind == "app":
        # Each session is a browser of its own, with its own connections (and no cookies: each session is routed
        # by its session_hash alone, as behind HAProxy). One pool shared by a hundred sessions was not that:
        # httpcore looks through every connection of its pool for each request, so with a hundred the load
        # generator itself held back its sessions' requests by up to seconds (half its CPU in that search).
        ssl = httpx.create_ssl_context()  # made once: each client would load the CA certificates again
        browsers = [httpx.AsyncClient(timeout=httpx.Timeout(timeout), verify=ssl) for _ in range(n)]
        try:
            for browser in browsers:
                browser.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # (a jar given is copied)
            tasks = [asyncio.create_task(app_session(browser, app_url, fns, message, min(chunks, 2000), start))
                     for browser in browsers]
            await asyncio.sleep(0.2)
            start.set()
            return list(await asyncio.gather(*tasks))
        finally:
            await asyncio.gather(*(browser.aclose() for browser in browsers))
    # The direct streams share one client, as the app's own streams do.
    async with httpx.AsyncClient(timeout=httpx.Timeout(timeout), limits=limits) as http:
        client = AsyncSecondMeClient(instance_url, timeout=timeout, http_client=http)
        tasks = [asyncio.create_task(direct_session(client, message, chunks, start)) for _ in range(n)]
        await asyncio.sleep(0.2)
        start.set()
        return list(await asyncio.gather(*tasks))


def pct(values: list[float], q: float) -> float:
    values = sorted(v for v in values if v == v)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, round(q / 100 * len(values) + 0.5) - 1))]


@dataclass
class Row:
    n: int
    app: list[Session]
    direct: list[Session]
    cpu: float
    peak_rss: int
    extra: dict[str, Any] = field(default_factory=dict)

    def stat(self, which: str, attr: str, q: float) -> float:
        return pct([getattr(s, attr) for s in getattr(self, which)], q)

    def errors(self, which: str) -> int:
        return sum(not s.ok for s in getattr(self, which))


def concurrency(levels: list[int], chunks: int, rate: float, replicas: int = 1, root: Path = ROOT) -> list[Row]:
    rows = []
    instance_ctx, instance_url = start_instance(rate)
    with instance_ctx:
        app_ctx, app_url = start_app(instance_url, replicas, root)
        with app_ctx as app_proc:
            fns = page_fns(app_url)
            timeout = 60.0 + chunks / max(rate, 1)
            # One session first, so start-up costs are not measured.
            asyncio.run(run_sessions("app", 1, app_url=app_url, instance_url=instance_url, fns=fns,
                                     chunks=chunks, timeout=timeout))
            for n in levels:
                direct = asyncio.run(run_sessions("direct", n, app_url=app_url, instance_url=instance_url,
                                                  fns=fns, chunks=chunks, timeout=timeout))
                with Monitor(app_processes(app_proc)) as monitor:
                    app = asyncio.run(run_sessions("app", n, app_url=app_url, instance_url=instance_url,
                                                   fns=fns, chunks=chunks, timeout=timeout))
                rows.append(Row(n, app, direct, monitor.cpu, monitor.peak_rss))
                print(f"  N={n}: done", file=sys.stderr, flush=True)
    return rows


def throughput(chunks: int) -> dict[str, float]:
    """Chunks per second decoded from a stream sent as fast as possible, against a raw read of it."""
    from tests.faults import FaultServer, http_head, reply  # the byte-exact server the tests use

    server = FaultServer().start()
    blob = reply(*(["word "] * chunks))
    try:
        results: dict[str, float] = {}
        for name in ("raw read", "raw read + sseclient-py framing", "SecondMeClient", "AsyncSecondMeClient"):
            server.script("/api/chat/bench", [http_head(), blob])
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                if name.startswith("raw read"):
                    response = requests.post(f"{server.url}/api/chat/bench", json={}, stream=True)
                    source = iter(partial(response.raw.read1, 65536), b"")
                    if "framing" in name:
                        count = sum(1 for _ in sseclient.SSEClient(source).events()) - 2
                    else:
                        count = chunks if sum(len(b) for b in source) == len(blob) else 0
                    response.close()
                elif name == "SecondMeClient":
                    count = sum(1 for _ in SecondMeClient(server.url).stream_chat("bench", [{"role": "user",
                                                                                         "content": "x"}]))
                else:
                    async def consume() -> int:
                        async with AsyncSecondMeClient(server.url) as client:
                            return len([d async for d in client.stream_chat("bench", [{"role": "user",
                                                                                        "content": "x"}])])
                    count = asyncio.run(consume())
                best = min(best, time.perf_counter() - t0)
            results[name] = chunks / best
            assert count >= chunks, (name, count)
        return results
    finally:
        server.stop()


def long_reply(chunks: int) -> dict[str, Any]:
    instance_ctx, instance_url = start_instance(0)
    with instance_ctx:
        app_ctx, app_url = start_app(instance_url)
        with app_ctx:
            fns = page_fns(app_url)
            session = asyncio.run(run_sessions("app", 1, app_url=app_url, instance_url=instance_url,
                                               fns=fns, chunks=chunks, timeout=300))[0]
            direct = asyncio.run(run_sessions("direct", 1, app_url=app_url, instance_url=instance_url,
                                              fns=fns, chunks=chunks, timeout=300))[0]
    return {"chunks": chunks, "app": session, "direct": direct}


# The bars the app is held to; the verdicts below are computed from what was measured.
BAR_TTFT_DELTA_AT_100 = 1.0  # p95 time to first token at most this many seconds above direct
BAR_TOTAL_RATIO_AT_100 = 1.2  # p95 total time at most this many times direct
BAR_RSS_AT_100 = 500 * 2**20  # app peak memory
BAR_SYNC_DECODE = 50_000  # chunks/s SecondMeClient decodes
BAR_BYTES_RATIO = 3.0  # bytes the browser receives for a long reply, at most this many times its size


def bars(rows: list[Row], tput: dict[str, float], long: dict[str, Any]) -> list[str]:
    """The table of bars, each with its measured figure and whether it is met."""
    def line(bar: str, measured: str, met: bool) -> str:
        return f"| {bar} | {measured} | {'yes' if met else 'no'} |"

    lines = ["| bar | measured | met? |", "| --- | --- | --- |"]
    at = {r.n: r for r in rows}
    if 100 in at:
        r = at[100]
        delta = r.stat("app", "ttft", 95) - r.stat("direct", "ttft", 95)
        ratio = r.stat("app", "total", 95) / r.stat("direct", "total", 95)
        lines += [
            line(f"100 sessions: p95 time to first token within {BAR_TTFT_DELTA_AT_100:g} s of direct",
                 f"+{delta:.2f} s", delta <= BAR_TTFT_DELTA_AT_100),
            line(f"100 sessions: total p95 within {BAR_TOTAL_RATIO_AT_100:g}× direct", f"{ratio:.2f}×",
                 ratio <= BAR_TOTAL_RATIO_AT_100),
            line(f"100 sessions: zero errors; app peak RSS under {BAR_RSS_AT_100 / 2**20:.0f} MB",
                 f"{r.errors('app')} errors; {r.peak_rss / 2**20:.0f} MB",
                 r.errors("app") == 0 and r.peak_rss < BAR_RSS_AT_100),
        ]
    lines += [line(f"{r.n} sessions: zero errors", str(r.errors("app")), r.errors("app") == 0)
              for r in rows if r.n != 100]
    sync = tput["SecondMeClient"]
    lines.append(line(f"sync client decoding ≥ {BAR_SYNC_DECODE:,} chunks/s", f"{sync:,.0f} chunks/s",
                      sync >= BAR_SYNC_DECODE))
    app = long["app"]
    size_ratio = app.bytes_received / max(app.reply_chars, 1)
    lines.append(line(f"bytes to the browser for a {long['chunks']:,}-chunk reply within {BAR_BYTES_RATIO:g}× its size",
                      f"{size_ratio:.2f}×", size_ratio <= BAR_BYTES_RATIO))
    return lines


def fmt_s(v: float) -> str:
    return "n/a" if v != v else f"{v:.2f} s"


def report(rows: list[Row], tput: dict[str, float], long: dict[str, Any], *, chunks: int, rate: float,
           elapsed: float, replicas: int = 1) -> str:
    lines = [
        f"Machine: {platform.machine()}, {psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}; upstream reply {chunks} chunks at "
        f"{rate:g} chunks/s; run took {elapsed:.0f} s.",
        "",
        "### Concurrency (app = the page's send event through Gradio's queue, as a browser sends it"
        + (f", to {replicas} replicas behind HAProxy; CPU and memory summed over the replicas" if replicas > 1 else
           ", to one process") + "; direct = the same streams straight to the instance)",
        "",
        "| N | TTFT p50 app / direct | TTFT p95 app / direct (Δ) | total p50 app / direct | total p95 app / direct "
        "(ratio) | errors app / direct | app CPU | app peak RSS |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        t95a, t95d = r.stat("app", "ttft", 95), r.stat("direct", "ttft", 95)
        tot95a, tot95d = r.stat("app", "total", 95), r.stat("direct", "total", 95)
        lines.append(
            f"| {r.n} | {fmt_s(r.stat('app', 'ttft', 50))} / {fmt_s(r.stat('direct', 'ttft', 50))} "
            f"| {fmt_s(t95a)} / {fmt_s(t95d)} (+{t95a - t95d:.2f} s) "
            f"| {fmt_s(r.stat('app', 'total', 50))} / {fmt_s(r.stat('direct', 'total', 50))} "
            f"| {fmt_s(tot95a)} / {fmt_s(tot95d)} ({tot95a / tot95d:.2f}×) "
            f"| {r.errors('app')} / {r.errors('direct')} | {r.cpu:.1f} s | {r.peak_rss / 2**20:.0f} MB |")
    errors = [s.error for r in rows for s in r.app + r.direct if s.error]
    if errors:
        lines += ["", f"First errors: {errors[:3]}"]
    raw = tput["raw read"]
    lines += ["", "### Client decoding throughput (best of 3, one stream sent as fast as possible)", "",
              "| reader | chunks/s | share of raw read |", "| --- | --- | --- |"]
    lines += [f"| {name} | {value:,.0f} | {value / raw:.0%} |" for name, value in tput.items()]
    app, direct = long["app"], long["direct"]
    lines += ["", f"### Long reply ({long['chunks']:,} chunks through the app)", "",
              "| | time | reply chars | bytes to the browser | bytes per chunk | bytes / reply size | UI updates |",
              "| --- | --- | --- | --- | --- | --- | --- |",
              f"| app | {fmt_s(app.total)} | {app.reply_chars:,} | {app.bytes_received:,} | "
              f"{app.bytes_received / long['chunks']:.1f} | {app.bytes_received / max(app.reply_chars, 1):.2f}× | "
              f"{app.updates} |",
              f"| direct | {fmt_s(direct.total)} | {direct.reply_chars:,} | | | | |"]
    lines += ["", "### Against the bars", "", *bars(rows, tput, long)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a short run that checks the benchmark works")
    parser.add_argument("--sessions", help="concurrency levels, comma-separated (default 10,50,100,200,500; "
                        "with --against, 100)")
    parser.add_argument("--replicas", type=int, default=1,
                        help="measure N app processes behind HAProxy (deploy/replicas.py) instead of one")
    parser.add_argument("--against", metavar="REV",
                        help="measure this checkout against commit REV, alternating, at --sessions (default 100)")
    parser.add_argument("--pairs", type=int, default=3, help="with --against: how many pairs of runs (at least 3)")
    args = parser.parse_args()
    if args.against:
        from benchmarks.against import against

        chunks, rate = (20, 50.0) if args.smoke else (100, 50.0)
        levels = [int(n) for n in args.sessions.split(",")] if args.sessions else [3] if args.smoke else [100]
        print(against(args.against, levels, chunks, rate, pairs=args.pairs, replicas=args.replicas))
        return
    chunks, rate = (20, 50.0) if args.smoke else (100, 50.0)
    levels = [3] if args.smoke else [int(n) for n in (args.sessions or "10,50,100,200,500").split(",")]
    t0 = time.monotonic()
    rows = concurrency(levels, chunks, rate, args.replicas)
    tput = throughput(2_000 if args.smoke else 50_000)
    long = long_reply(500 if args.smoke else 20_000)
    print(report(rows, tput, long, chunks=chunks, rate=rate, elapsed=time.monotonic() - t0, replicas=args.replicas))


if __name__ == "__main__":
    main()
