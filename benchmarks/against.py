"""``python -m benchmarks.run --against REV``: this checkout against commit REV, in one run.

REV is checked out into a temporary git worktree; then both apps are measured in turn at the same levels
(pairs, at least three, the first of each pair alternating), each against a fresh local instance, with the
same load generator: this checkout's (so REV's send event must take the inputs this benchmark sends). It
prints each run's row and, per level, the median over the pairs of this checkout's figure divided by REV's.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.run import ROOT, Row, concurrency, fmt_s

HEADER = ("| pair | code | N | TTFT p95 app / direct (Δ) | total p95 app / direct (ratio) | errors app / direct "
          "| app CPU | app peak RSS |")


def _row(pair: int, code: str, r: Row) -> str:
    t95a, t95d = r.stat("app", "ttft", 95), r.stat("direct", "ttft", 95)
    tot95a, tot95d = r.stat("app", "total", 95), r.stat("direct", "total", 95)
    return (f"| {pair} | {code} | {r.n} | {fmt_s(t95a)} / {fmt_s(t95d)} (+{t95a - t95d:.2f} s) "
            f"| {fmt_s(tot95a)} / {fmt_s(tot95d)} ({tot95a / tot95d:.2f}×) | {r.errors('app')} / {r.errors('direct')} "
            f"| {r.cpu:.1f} s | {r.peak_rss / 2**20:.0f} MB |")


def _figures(r: Row) -> dict[str, float]:
    return {"TTFT p95 above direct": r.stat("app", "ttft", 95) - r.stat("direct", "ttft", 95),
            "total p95 / direct": r.stat("app", "total", 95) / r.stat("direct", "total", 95),
            "app CPU": r.cpu, "app peak RSS": float(r.peak_rss)}


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def against(rev: str, levels: list[int], chunks: int, rate: float, *, pairs: int = 3, replicas: int = 1) -> str:
    pairs = max(pairs, 3)
    sha = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout.strip()
    here = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip())
    this = f"this ({here}{' + changes' if dirty else ''})"
    with tempfile.TemporaryDirectory(prefix="secondme-bench-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(tree), sha], cwd=ROOT, check=True)
        try:
            runs: dict[str, list[list[Row]]] = {sha: [], this: []}
            order = [(sha, tree), (this, ROOT)]
            for pair in range(pairs):
                for code, root in (order if pair % 2 == 0 else order[::-1]):
                    print(f"pair {pair + 1}/{pairs}: {code}", file=sys.stderr, flush=True)
                    runs[code].append(concurrency(levels, chunks, rate, replicas, root=root))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
    return table(runs, rev=rev, sha=sha, this=this, levels=levels, chunks=chunks, rate=rate, replicas=replicas)


def table(runs: dict[str, list[list[Row]]], *, rev: str, sha: str, this: str, levels: list[int], chunks: int,
          rate: float, replicas: int = 1) -> str:
    """Each run's rows, then per level the median over the pairs of this checkout's figures ÷ REV's."""
    pairs = len(runs[sha])
    lines = [f"This checkout against {sha} ({rev}), {pairs} pairs, alternating; upstream reply {chunks} chunks at "
             f"{rate:g} chunks/s" + (f"; {replicas} replicas behind HAProxy" if replicas > 1 else "") + ".",
             "", HEADER, "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for pair in range(pairs):
        for code in (sha, this):
            lines += [_row(pair + 1, code, r) for r in runs[code][pair]]
    lines += ["", f"Median over the pairs of this ÷ {sha} (below 1: this is better):", "",
              "| N | TTFT p95 above direct | total p95 / direct | app CPU | app peak RSS |",
              "| --- | --- | --- | --- | --- |"]
    for i, n in enumerate(levels):
        ratios = {key: statistics.median(_ratio(_figures(runs[this][p][i])[key], _figures(runs[sha][p][i])[key])
                                         for p in range(pairs))
                  for key in ("TTFT p95 above direct", "total p95 / direct", "app CPU", "app peak RSS")}
        lines.append(f"| {n} | " + " | ".join(f"{v:.2f}" for v in ratios.values()) + " |")
    return "\n".join(lines)
