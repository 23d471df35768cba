"""The Docker Space's entry (deploy/Dockerfile): one app process per core behind HAProxy, on one port.

    python deploy/space.py                      # as the Dockerfile runs it
    SECONDME_REPLICAS=3 PORT=8000 python deploy/space.py -- --demo

HAProxy listens on ``GRADIO_SERVER_NAME:PORT`` (0.0.0.0:7860 unless set: what a Space serves), and
``SECONDME_REPLICAS`` app processes (default: the cores this container may use) on the ports after it,
through ``deploy/replicas.py``: sessions kept on their replica, a replica that exits started again.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import replicas  # noqa: E402 - deploy/ is a folder of scripts, not a package


def available_cores(cgroup: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """The cores this process may use: the CPUs it may run on, capped by a cgroup v2 CPU quota (a container
    limited to 2 CPUs on a 16-core host has 2)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = cgroup.read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(int(quota) / int(period) + 0.5)))
    except (OSError, ValueError):
        pass  # no cgroup v2 quota: every core we may run on
    return cores


def arguments(environ: Mapping[str, str], app_args: list[str]) -> list[str]:
    """deploy/replicas.py's arguments for this environment."""
    port = int(environ.get("PORT") or 7860)
    count = environ.get("SECONDME_REPLICAS") or str(available_cores())
    host = environ.get("GRADIO_SERVER_NAME") or "0.0.0.0"
    return ["--replicas", count, "--port", str(port), "--bind", f"{host}:{port}", *app_args]


if __name__ == "__main__":
    extra = sys.argv[1:]
    replicas.main(arguments(os.environ, extra[1:] if extra[:1] == ["--"] else extra))
