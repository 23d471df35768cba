"""The benchmark's smoke mode still runs end to end (its figures are not judged here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_smoke_mode_runs_and_reports_every_section() -> None:
    done = subprocess.run([sys.executable, "-m", "benchmarks.run", "--smoke"], cwd=ROOT, capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    for heading in ("### Concurrency", "### Client decoding throughput", "### Long reply (500 chunks"):
        assert heading in out
    row = next(line for line in out.splitlines() if line.startswith("| 3 |"))
    assert "| 0 / 0 |" in row, row  # every session, through the app and direct, got its whole reply
    assert "| SecondMeClient |" in out and "| AsyncSecondMeClient |" in out
    long_row = next(line for line in out.splitlines() if line.startswith("| app |"))
    assert "| 2,390 |" in long_row  # 500 chunks of the benchmark instance's words arrived whole
