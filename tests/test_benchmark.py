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
    assert "### Against the bars" in out
    assert any(line.startswith("| 3 sessions: zero errors | 0 | yes |") for line in out.splitlines())


def test_the_bars_are_judged_from_what_was_measured() -> None:
    from benchmarks.run import Row, Session, bars

    def sessions(ttft: float, total: float, ok: bool = True) -> list[Session]:
        return [Session(ttft=ttft, total=total, ok=ok) for _ in range(100)]

    good = Row(100, app=sessions(0.5, 2.2), direct=sessions(0.1, 2.0), cpu=1.0, peak_rss=200 * 2**20)
    slow = Row(100, app=sessions(1.6, 3.0), direct=sessions(0.1, 2.0), cpu=1.0, peak_rss=600 * 2**20)
    failing = Row(200, app=sessions(1.0, 3.0, ok=False), direct=sessions(0.1, 2.0), cpu=1.0, peak_rss=0)
    long = {"chunks": 20_000, "app": Session(bytes_received=250_000, reply_chars=100_000)}
    verdicts = {line.split(" | ")[0].lstrip("| "): line.rsplit(" | ", 1)[1].rstrip(" |")
                for line in bars([good], {"SecondMeClient": 60_000.0}, long)[2:]}
    assert set(verdicts.values()) == {"yes"}, verdicts
    lines = bars([slow, failing], {"SecondMeClient": 10_000.0},
                 {"chunks": 20_000, "app": Session(bytes_received=400_000, reply_chars=100_000)})
    assert "| 100 sessions: p95 time to first token within 1 s of direct | +1.50 s | no |" in lines
    assert "| 100 sessions: total p95 within 1.2× direct | 1.50× | no |" in lines
    assert "| 100 sessions: zero errors; app peak RSS under 500 MB | 0 errors; 600 MB | no |" in lines
    assert "| 200 sessions: zero errors | 100 | no |" in lines
    assert "| sync client decoding ≥ 50,000 chunks/s | 10,000 chunks/s | no |" in lines
    assert "| bytes to the browser for a 20,000-chunk reply within 3× its size | 4.00× | no |" in lines


def test_against_prints_every_pair_and_the_median_ratio() -> None:
    from benchmarks.against import table
    from benchmarks.run import Row, Session

    def row(ttft: float, cpu: float) -> list[Row]:
        return [Row(100, app=[Session(ttft=ttft, total=4.0, ok=True)] * 10,
                    direct=[Session(ttft=0.0, total=2.0, ok=True)] * 10, cpu=cpu, peak_rss=200 * 2**20)]

    runs = {"abc1234": [row(4.0, 8.0), row(5.0, 8.0), row(6.0, 10.0)],
            "this": [row(2.0, 4.0), row(2.0, 6.0), row(6.0, 5.0)]}
    out = table(runs, rev="HEAD~1", sha="abc1234", this="this", levels=[100], chunks=100, rate=50.0)
    lines = out.splitlines()
    assert sum(line.startswith("| 1 | ") for line in lines) == 2  # both codes' rows of each pair
    assert "| 3 | this | 100 | 6.00 s / 0.00 s (+6.00 s) | 4.00 s / 2.00 s (2.00×) | 0 / 0 | 5.0 s | 200 MB |" in lines
    # TTFT: 2/4, 2/5, 6/6 → median 0.5 (0.40 and 1.0 around it); CPU: 0.5, 0.75, 0.5 → 0.5.
    assert lines[-1] == "| 100 | 0.50 | 1.00 | 0.50 | 1.00 |"
