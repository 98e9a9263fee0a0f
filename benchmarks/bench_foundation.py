"""Foundation benchmarks: CLI start-up, validation throughput, memory as the data grows.

Writes benchmarks/results/foundation.json. Baselines are measured in the same run.
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
FTX = str(BIN / "ftx")

WORDS = ("the quick brown fox jumps over a lazy dog while models learn to follow instructions "
         "and answer questions about data formats tokens epochs adapters").split()


def make_chat_file(path: Path, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with path.open("w") as f:
        for i in range(n):
            q = " ".join(rng.choices(WORDS, k=rng.randint(5, 30)))
            a = " ".join(rng.choices(WORDS, k=rng.randint(10, 80)))
            msgs = [{"role": "system", "content": "You are helpful."},
                    {"role": "user", "content": f"{i}: {q}?"},
                    {"role": "assistant", "content": a}]
            f.write(json.dumps({"messages": msgs}) + "\n")


def timed(cmd: list[str], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out.append(time.perf_counter() - t)
    return out


# ``ru_maxrss`` of a child counts the image it was forked from (Linux keeps the larger of the
# forking process's peak and its own across exec), so a child of this process, which grows as it
# builds data, would report at least this process's size. GNU time forks the command from its own
# small image and reports the command's peak alone; without it, the figure is marked inherited.
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def _run(cmd: list[str], env: dict[str, str] | None, cwd: str | None, stderr: int) -> tuple[float, Any, float | None, str]:
    """(wall seconds, rusage, peak RSS MB of the command alone or None, stderr text)."""
    started = time.perf_counter()
    with tempfile.NamedTemporaryFile("r", prefix="ftx-bench-rss-", suffix=".txt") as out:
        wrapped = [GNU_TIME, "-q", "-f", "%M", "-o", out.name, *cmd] if GNU_TIME else cmd
        proc = subprocess.Popen(wrapped, stdout=subprocess.DEVNULL, stderr=stderr, env=env, cwd=cwd)
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""  # drained as it runs
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}\n{err[-2000:]}")
        text = out.read().strip().splitlines() if GNU_TIME else []
    peak = float(text[-1]) / 1024 if text and text[-1].isdigit() else None
    return elapsed, usage, peak, err


def measured(cmd: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> dict[str, float]:
    """Wall seconds, CPU seconds (user + system, from wait4) and peak RSS of one child process
    (the command's own, through GNU time: see ``GNU_TIME``), its output discarded; a failure stops
    the benchmark with the tail of its stderr."""
    elapsed, usage, peak, _ = _run(cmd, env, cwd, subprocess.PIPE)
    out = {"wall_s": round(elapsed, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
           "peak_rss_mb": round(peak if peak is not None else usage.ru_maxrss / 1024, 1)}
    if peak is None:
        out["peak_rss_inherited"] = 1.0  # at least the benchmark process's own size at the fork
    return out


def median_row(rows: list[dict[str, float]]) -> dict[str, float]:
    """The median of each figure over rows of the same figures."""
    return {k: round(statistics.median(r[k] for r in rows), 2) for k in rows[0]}


def peak_rss_mb(cmd: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one child process (see :func:`measured`)."""
    elapsed, usage, peak, _ = _run(cmd, None, None, subprocess.DEVNULL)
    return elapsed, peak if peak is not None else usage.ru_maxrss / 1024


BASELINE_LOOP = ("import json,sys\n"
                 "n=0\n"
                 "for line in open(sys.argv[1]):\n"
                 "    json.loads(line); n+=1\n")


def main() -> None:
    results: dict = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                 "platform": platform.platform()}}
    help_t = timed([FTX, "--help"], 7)
    base_t = timed([sys.executable, "-c", "pass"], 7)
    results["startup"] = {
        "ftx_help_s": statistics.median(help_t), "python_pass_s": statistics.median(base_t),
        "ratio": statistics.median(help_t) / statistics.median(base_t)}

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        big = tmp_path / "chat_100k.jsonl"
        make_chat_file(big, 100_000)
        secs, rss = peak_rss_mb([FTX, "data", "validate", str(big)])
        base_secs, base_rss = peak_rss_mb([sys.executable, "-c", BASELINE_LOOP, str(big)])
        results["validate_100k"] = {
            "examples": 100_000, "bytes": big.stat().st_size, "seconds": secs,
            "examples_per_s": 100_000 / secs, "peak_rss_mb": rss,
            "baseline_json_loop_seconds": base_secs, "baseline_peak_rss_mb": base_rss,
            "ratio_vs_json_loop": secs / base_secs}
        growth = []
        for n in (10_000, 50_000, 100_000, 200_000):
            f = tmp_path / f"chat_{n}.jsonl"
            if not f.exists():
                make_chat_file(f, n)
            s, r = peak_rss_mb([FTX, "data", "validate", str(f)])
            growth.append({"examples": n, "seconds": s, "peak_rss_mb": r})
        results["memory_growth"] = growth
        results["memory_growth_ratio_200k_vs_10k"] = growth[-1]["peak_rss_mb"] / growth[0]["peak_rss_mb"]

    out = HERE / "results" / "foundation.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    s, v = results["startup"], results["validate_100k"]
    print(f"ftx --help            {s['ftx_help_s']*1000:7.0f} ms   (python -c pass {s['python_pass_s']*1000:.0f} ms, x{s['ratio']:.1f})")
    print(f"validate 100k chat    {v['seconds']:7.2f} s    {v['examples_per_s']:,.0f} ex/s "
          f"(json.loads loop {v['baseline_json_loop_seconds']:.2f} s, x{v['ratio_vs_json_loop']:.1f})")
    for g in results["memory_growth"]:
        print(f"  {g['examples']:>7,} examples  {g['seconds']:6.2f} s  peak RSS {g['peak_rss_mb']:6.1f} MB")
    print(f"peak RSS 200k / 10k   x{results['memory_growth_ratio_200k_vs_10k']:.2f}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
