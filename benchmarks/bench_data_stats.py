"""``ftx data stats`` on generated chat files of 100k (and, with ``--million``, 1M) examples,
against a bare ``json.loads`` loop over the same file in the same run (the floor of any reader).

Issue 13's goal: 1M examples in under 2 minutes on the 2-core machine. Records wall and CPU
seconds and the peak RSS of each process (wait4).

Generated files can be kept and reused (``--data-dir``: ``chat_N.jsonl`` there is made once);
each size runs ``--repeat`` times, ftx and the loop interleaved, and the figures are medians. The
machine is shared: the load average is recorded beside them.

Writes benchmarks/results/data_stats.json. Run:
.venv/bin/python benchmarks/bench_data_stats.py [--million] [--repeat 3] [--data-dir /tmp/chat]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_foundation import BASELINE_LOOP, FTX, make_chat_file, measured, median_row  # noqa: E402
from results_file import write_result  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--million", action="store_true", help="also 1,000,000 examples")
    parser.add_argument("--sizes", default=None, help="comma-separated sizes (overrides the defaults)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (1M: at most this, default 1)")
    parser.add_argument("--data-dir", default=None, help="keep and reuse the generated files here")
    parser.add_argument("--out", default=str(HERE / "results" / "data_stats.json"))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [100_000] + ([1_000_000] if args.million else [])
    rows = []
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="ftx-bench-stats-") as tmp:
        folder = Path(args.data_dir or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for n in sizes:
            path = folder / f"chat_{n}.jsonl"
            if not path.exists():
                make_chat_file(path.with_suffix(".part"), n)
                path.with_suffix(".part").rename(path)
            repeat = args.repeat if n < 1_000_000 else 1
            ftx_runs, one_runs, base_runs = [], [], []
            for _ in range(repeat):
                ftx_runs.append(measured([FTX, "data", "stats", str(path), "--json"]))
                # the duplicate index in the command's own process (no forked child)
                one_runs.append(measured([FTX, "data", "stats", str(path), "--json"], {**os.environ, "FTX_DATA_WORKERS": "0"}))
                base_runs.append(measured([sys.executable, "-c", BASELINE_LOOP, str(path)]))
            ftx, one, base = median_row(ftx_runs), median_row(one_runs), median_row(base_runs)
            row = {"examples": n, "bytes": path.stat().st_size, "repeats": repeat, "ftx": ftx, "ftx_one_process": one,
                   "json_loop": base,
                   "ratio_wall": round(ftx["wall_s"] / max(base["wall_s"], 1e-9), 1),
                   "ratio_cpu": round(ftx["cpu_s"] / max(base["cpu_s"], 1e-9), 1),
                   "examples_per_cpu_s": round(n / max(ftx["cpu_s"], 1e-9)),
                   "load_average": [round(x, 2) for x in os.getloadavg()]}
            rows.append(row)
            print(f"  {n:>9,} examples: ftx data stats {ftx['wall_s']:.1f} s wall / {ftx['cpu_s']:.1f} s CPU, "
                  f"peak {ftx['peak_rss_mb']:,.0f} MB (one process: {one['wall_s']:.1f} s); json.loads loop "
                  f"{base['wall_s']:.1f} s", flush=True)
            if not args.data_dir:
                path.unlink()
    result = {"load_average_before": load_before, "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
              "runs": rows, "goal": "1M examples in under 120 s"}
    out = write_result(args.out, result)
    print(f"-> {out}")


if __name__ == "__main__":
    main()
