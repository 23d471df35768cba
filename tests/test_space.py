"""The Docker Space variant: deploy/Dockerfile runs deploy/space.py, which runs one replica per core behind
HAProxy on one port. Docker is not run here: the entry script is, as the Dockerfile's CMD names it."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from pathlib import Path

from gradio_client import Client

from secondme.server import LocalInstance, ServerThread, create_app

from .test_deploy import Deployment, pytestmark  # noqa: F401 - skipped where haproxy is missing

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "deploy" / "Dockerfile").read_text()
sys.path.insert(0, str(ROOT / "deploy"))

import space  # noqa: E402 - deploy/ is a folder of scripts


def test_the_dockerfile_installs_haproxy_and_runs_the_entry_script_on_7860() -> None:
    assert re.search(r"apt-get install .*\bhaproxy\b", DOCKERFILE)
    assert "pip install --no-cache-dir --user -r requirements.txt" in DOCKERFILE
    assert json.loads(DOCKERFILE.split("\nCMD ", 1)[1].splitlines()[0]) == ["python", "deploy/space.py"]
    assert "EXPOSE 7860" in DOCKERFILE and "PORT=7860" in DOCKERFILE and "GRADIO_SERVER_NAME=0.0.0.0" in DOCKERFILE
    assert "USER user" in DOCKERFILE  # Spaces run containers as user 1000


def test_one_replica_per_core_the_container_may_use(tmp_path: Path) -> None:
    affinity = len(os.sched_getaffinity(0))
    quota = tmp_path / "cpu.max"
    assert space.available_cores(quota) == affinity  # no cgroup file: every core it may run on
    quota.write_text("max 100000\n")
    assert space.available_cores(quota) == affinity
    quota.write_text("50000 100000\n")
    assert space.available_cores(quota) == 1  # half a core still runs one replica
    quota.write_text(f"{100000 * (affinity + 8)} 100000\n")
    assert space.available_cores(quota) == affinity  # a quota above the CPUs it may run on
    quota.write_text("garbage\n")
    assert space.available_cores(quota) == affinity


def test_the_entry_arguments_come_from_the_environment() -> None:
    assert space.arguments({}, []) == ["--replicas", str(space.available_cores()), "--port", "7860",
                                       "--bind", "0.0.0.0:7860"]
    assert space.arguments({"PORT": "8000", "SECONDME_REPLICAS": "3", "GRADIO_SERVER_NAME": "127.0.0.1"},
                           ["--demo"]) == ["--replicas", "3", "--port", "8000", "--bind", "127.0.0.1:8000", "--demo"]


def test_the_entry_script_serves_every_replica_through_haproxy_and_restarts_a_dead_one() -> None:
    cores = space.available_cores()
    with ServerThread(create_app([LocalInstance("slow", chunks_per_second=40)])) as upstream:
        with Deployment(replicas=cores, command=lambda port: ["deploy/space.py"]).running(
                upstream.url, GRADIO_SERVER_NAME="127.0.0.1") as deployment:
            assert "Hello, every core" in Client(deployment.url, verbose=False).predict("Hello, every core",
                                                                                        api_name="/chat")
            os.kill(deployment.replica_pid("app1"), signal.SIGKILL)
            deployment.wait_up("app1")  # started again, and HAProxy sends it sessions again
            assert "Back" in Client(deployment.url, verbose=False).predict("Back", api_name="/chat")
