"""Memory of sampling from a large source: ftx's mixer against holding the source in memory.

A recipe mixes a small task source with a large one it only samples from (1,000 examples per
epoch, by ``count``). The mixer keeps the smallest seeded hash keys in a bounded heap and reads a
source over ``KEEP`` (20,000) examples twice instead of holding it, so its peak memory should not
grow with the large source's size. The baseline, measured in the same run, is what a plain
``list(iter_examples(path))`` of the same source holds. Peak = tracemalloc's peak of Python
allocations during the call.

Writes benchmarks/results/mix.json. Run: .venv/bin/python benchmarks/bench_mix.py [--sizes 30000 120000]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import tempfile
import time
import tracemalloc
from pathlib import Path
from results_file import write_result  # noqa: E402

HERE = Path(__file__).resolve().parent


def _write(path: Path, n: int, tag: str) -> None:
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"messages": [
                {"role": "user", "content": f"{tag} question number {i}: what comes after {i}?"},
                {"role": "assistant", "content": f"After {i} comes {i + 1}."}]}) + "\n")


def _peak(fn) -> tuple[float, float, object]:
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20, seconds, out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[30_000, 120_000])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "mix.json")
    args = parser.parse_args(argv)
    os.environ.setdefault("FTX_HOME", tempfile.mkdtemp(prefix="ftx-bench-mix-"))
    from ftx.data.load import iter_examples
    from ftx.data.plan import load_splits
    from ftx.recipe import load_recipe

    tmp = Path(tempfile.mkdtemp(prefix="ftx-bench-mix-data-"))
    _write(tmp / "task.jsonl", 500, "task")
    rows = []
    for n in args.sizes:
        big = tmp / f"big-{n}.jsonl"
        _write(big, n, "general")
        recipe_path = tmp / f"r{n}.yaml"
        recipe_path.write_text(
            "name: bench\nmodel: {local: ftx/tiny-llama}\ndata:\n  train:\n    - {path: task.jsonl}\n"
            f"    - {{path: {big.name}, count: 1000}}\n  split: 0.1\n", encoding="utf-8")
        recipe = load_recipe(str(recipe_path), backend="local")
        mix_mb, mix_s, (train, val, info) = _peak(lambda: load_splits(recipe))
        base_mb, base_s, held = _peak(lambda: list(iter_examples(str(big))))
        assert len(held) == n and info["mix"]["sources"][1]["actual"] == 1000
        del held
        rows.append({"source_examples": n, "sampled": 1000, "mixer_peak_mb": round(mix_mb, 1),
                     "mixer_seconds": round(mix_s, 2), "hold_all_peak_mb": round(base_mb, 1),
                     "hold_all_seconds": round(base_s, 2), "peak_ratio": round(mix_mb / base_mb, 3)})
        print(f"{n:>9,} examples: mixer peak {mix_mb:8.1f} MB ({mix_s:.1f} s)   "
              f"holding the source {base_mb:8.1f} MB ({base_s:.1f} s)   ratio {mix_mb / base_mb:.3f}")
    result = {"rows": rows, "growth": round(rows[-1]["mixer_peak_mb"] / rows[0]["mixer_peak_mb"], 3)
              if len(rows) > 1 else None}
    write_result(args.out, result)
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
