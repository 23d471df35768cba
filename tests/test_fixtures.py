"""The tests' own helpers: a process a test starts ends with the test, even when starting it failed."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from .conftest import free_port, start_process

# Starts a child of its own (as deploy/replicas.py starts app.py and HAProxy), writes both process IDs, waits.
FAMILY = 'sleep 300 & echo "$$ $!" > "$1.tmp" && mv "$1.tmp" "$1"; wait'


def ended(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE  # ended, not yet reaped by its new parent
    except psutil.NoSuchProcess:
        return True


def gone(pids: list[int], timeout: float = 10.0) -> bool:
    """Whether every one of ``pids`` ends within ``timeout`` seconds (a signal takes a moment to land)."""
    deadline = time.monotonic() + timeout
    while not all(ended(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def pids_of(path: Path) -> list[int]:
    deadline = time.monotonic() + 30
    while not path.exists():
        assert time.monotonic() < deadline, "the process did not start"
        time.sleep(0.05)
    return [int(pid) for pid in path.read_text().split()]


def test_a_start_that_fails_leaves_no_process(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    started: list[int] = []

    def never_ready(process: subprocess.Popen[Any]) -> None:
        started.extend(pids_of(pid_file))
        raise AssertionError("it did not come up")

    with pytest.raises(AssertionError, match="did not come up"):
        with start_process(["bash", "-c", FAMILY, "family", str(pid_file)], ready=never_ready):
            pytest.fail("a process that never got ready was handed to the test")
    assert len(started) == 2 and gone(started), started


def test_a_server_that_never_answers_is_ended_after_its_wait(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    with pytest.raises(AssertionError, match="nothing answered"):
        with start_process(["bash", "-c", FAMILY, "family", str(pid_file)],
                           ready_url=f"http://127.0.0.1:{free_port()}/", ready_timeout=1):
            pass
    assert gone(pids_of(pid_file))


def test_a_process_that_exits_while_starting_is_said_at_once() -> None:
    started = time.monotonic()
    with pytest.raises(AssertionError, match="exited with status 7 before it served"):
        with start_process([sys.executable, "-c", "raise SystemExit(7)"],
                           ready_url=f"http://127.0.0.1:{free_port()}/", ready_timeout=60):
            pass
    assert time.monotonic() - started < 30  # not the whole wait


def test_after_the_test_the_process_and_its_children_end(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    with start_process(["bash", "-c", FAMILY, "family", str(pid_file)]) as process:
        pids = pids_of(pid_file)
        assert pids[0] == process.pid and not any(ended(pid) for pid in pids)
    assert gone(pids)
