"""N Second Me Chat processes behind HAProxy, on one machine.

    python deploy/replicas.py --replicas 2 --port 7860            # against SECONDME_BASE_URL
    python deploy/replicas.py --replicas 2 --port 7860 -- --demo  # each replica with a demo Second Me

Replica k listens on 127.0.0.1:(port + k) and HAProxy on --bind (default 127.0.0.1:port), with
deploy/haproxy.cfg. Each replica trusts HAProxy's X-Forwarded-For (SECONDME_TRUSTED_PROXIES=127.0.0.1)
for the rate limit; every other SECONDME_* setting is passed on from this environment. A replica that
exits is started again on its port (HAProxy's health check takes it out meanwhile and back after).
Ctrl-C or SIGTERM stops everything.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
CONFIG = Path(__file__).resolve().parent / "haproxy.cfg"


def haproxy_config(ports: list[int]) -> str:
    """deploy/haproxy.cfg with a server line per replica."""
    servers = "".join(f"    server app{k} 127.0.0.1:{port} cookie app{k}\n" for k, port in enumerate(ports, 1))
    return CONFIG.read_text() + servers


class Replicas:
    def __init__(self, ports: list[int], app_args: list[str], bind: str) -> None:
        self.ports, self.app_args, self.bind = ports, app_args, bind
        self.apps: dict[int, subprocess.Popen[bytes]] = {}
        self.haproxy: subprocess.Popen[bytes] | None = None
        self.stopping = False
        self.workdir = Path(tempfile.mkdtemp(prefix="secondme-replicas-"))

    def start_app(self, port: int) -> None:
        # Its port or none: Gradio would take the next free one of 100, where HAProxy never looks.
        env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
               "GRADIO_NUM_PORTS": "1", "SECONDME_TRUSTED_PROXIES": "127.0.0.1", "GRADIO_ANALYTICS_ENABLED": "False"}
        self.apps[port] = subprocess.Popen([sys.executable, "app.py", *self.app_args], cwd=ROOT, env=env)

    def start(self) -> None:
        haproxy = shutil.which("haproxy")
        if haproxy is None:
            raise SystemExit("haproxy is not installed (Debian: apt-get install -y haproxy)")
        for port in self.ports:
            self.start_app(port)
        config = self.workdir / "haproxy.cfg"
        config.write_text(haproxy_config(self.ports))
        for port in self.ports:
            self.wait_for(port)
        subprocess.run([haproxy, "-c", "-f", str(config)], check=True, env={**os.environ,
                                                                               "SECONDME_BIND": self.bind})
        self.haproxy = subprocess.Popen([haproxy, "-db", "-f", str(config)],
                                        env={**os.environ, "SECONDME_BIND": self.bind})
        print(f"HAProxy on http://{self.bind} in front of {len(self.ports)} replicas on ports "
              f"{', '.join(map(str, self.ports))}", flush=True)

    def wait_for(self, port: int, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            app = self.apps.get(port)
            if app is not None and app.poll() is not None:  # its port taken, say: no use waiting
                raise SystemExit(f"the replica on port {port} exited ({app.returncode}) before it started")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"the replica on port {port} did not start")

    def watch(self) -> None:
        """Restart a replica that exits; stop when HAProxy does or when told to."""
        while not self.stopping:
            time.sleep(0.2)
            if self.haproxy is not None and self.haproxy.poll() is not None:
                print("HAProxy exited; stopping", file=sys.stderr, flush=True)
                break
            for port, proc in list(self.apps.items()):
                if proc.poll() is not None and not self.stopping:
                    print(f"replica on port {port} exited ({proc.returncode}); starting it again",
                          file=sys.stderr, flush=True)
                    self.start_app(port)
        self.stop()

    def stop(self, *_: object) -> None:
        self.stopping = True
        procs = [p for p in (*self.apps.values(), self.haproxy) if p is not None and p.poll() is None]
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", type=int, default=2, help="how many app processes (default 2)")
    parser.add_argument("--port", type=int, default=7860, help="HAProxy's port; replica k gets port + k")
    parser.add_argument("--bind", help="HAProxy's address (default 127.0.0.1:PORT; 0.0.0.0:PORT for all)")
    parser.add_argument("app_args", nargs="*", help="passed to each `python app.py` (after --)")
    args = parser.parse_args(argv)
    if args.replicas < 1:
        parser.error("--replicas must be at least 1")
    replicas = Replicas([args.port + k for k in range(1, args.replicas + 1)], args.app_args,
                        args.bind or f"127.0.0.1:{args.port}")

    def on_signal(signum: int, frame: FrameType | None) -> None:
        replicas.stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        replicas.start()
    except BaseException:
        replicas.stop()
        raise
    replicas.watch()


if __name__ == "__main__":
    main()
