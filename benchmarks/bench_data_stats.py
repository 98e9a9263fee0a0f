"""``ftx data stats`` on generated chat files of 100k (and, with ``--million``, 1M) examples,
against a bare ``json.loads`` loop over the same file in the same run (the floor of any reader).

Issue 13's goal: 1M examples in under 2 minutes on the 2-core machine. Records wall and CPU
seconds and the peak RSS of each process (wait4).

Writes benchmarks/results/data_stats.json. Run: .venv/bin/python benchmarks/bench_data_stats.py [--million]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_foundation import BASELINE_LOOP, FTX, make_chat_file  # noqa: E402


def run(cmd: list[str]) -> dict[str, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return {"wall_s": round(time.perf_counter() - started, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--million", action="store_true", help="also 1,000,000 examples")
    parser.add_argument("--sizes", default=None, help="comma-separated sizes (overrides the defaults)")
    parser.add_argument("--out", default=str(HERE / "results" / "data_stats.json"))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [100_000] + ([1_000_000] if args.million else [])
    rows = []
    with tempfile.TemporaryDirectory(prefix="ftx-bench-stats-") as tmp:
        for n in sizes:
            path = Path(tmp) / f"chat_{n}.jsonl"
            make_chat_file(path, n)
            ftx = run([FTX, "data", "stats", str(path), "--json"])
            base = run([sys.executable, "-c", BASELINE_LOOP, str(path)])
            row = {"examples": n, "bytes": path.stat().st_size, "ftx": ftx, "json_loop": base,
                   "ratio_wall": round(ftx["wall_s"] / max(base["wall_s"], 1e-9), 1),
                   "examples_per_cpu_s": round(n / max(ftx["cpu_s"], 1e-9))}
            rows.append(row)
            print(f"  {n:>9,} examples: ftx data stats {ftx['wall_s']:.1f} s wall / {ftx['cpu_s']:.1f} s CPU, "
                  f"peak {ftx['peak_rss_mb']:,.0f} MB; json.loads loop {base['wall_s']:.1f} s", flush=True)
            path.unlink()
    result = {"load_average_at_end": [round(x, 2) for x in os.getloadavg()], "runs": rows,
              "goal": "1M examples in under 120 s"}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"-> {out}")


if __name__ == "__main__":
    main()
