"""The effect of replay on forgetting: the shipped ``mix-replay`` recipe with and without its 10%
replay of ftx's general set, trained locally on the tiny model.

Both variants train the same three task sources (two formats, weights 0.6/0.3/0.1) for the same
steps; each reports the general-text perplexity of the base and the fine-tuned model on
instructions held out of ftx:general (never replayed), and the validation loss per task. The
baseline is the variant without replay, measured in the same run: the ratio
``after / before`` of general perplexity is what replay should keep lower.

Writes benchmarks/results/replay.json. Run: .venv/bin/python benchmarks/bench_replay.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from results_file import write_result  # noqa: E402

HERE = Path(__file__).resolve().parent


def run_variant(overrides: list[str]) -> dict:
    from ftx.plugins.local.train import run_local
    from ftx.recipe import load_recipe

    recipe = load_recipe("mix-replay", overrides, backend="local")
    started = time.perf_counter()
    summary = run_local(recipe, None, echo=lambda _: None, progress=False)
    ppl = summary["general_perplexity"]
    return {
        "overrides": overrides,
        "steps": summary["steps"],
        "train_examples": summary["train_examples"],
        "trained_per_source": summary["data_mix"]["trained"],
        "general_perplexity_before": ppl["before"],
        "general_perplexity_after": ppl["after"],
        "general_perplexity_ratio": round(ppl["after"] / ppl["before"], 4),
        "eval_loss_by_task": summary.get("eval_loss_by_task"),
        "final_eval_loss": summary["final_eval_loss"],
        "seconds": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps only (a smoke run)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "replay.json")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("FTX_HOME", tempfile.mkdtemp(prefix="ftx-bench-replay-"))
    steps = ["hyperparameters.max_steps=6", "eval.strategy=steps", "eval.steps=6"] if args.quick else []
    result = {
        "quick": args.quick,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "without_replay": run_variant(["data.replay=null", *steps]),
        "with_replay": run_variant(steps),
    }
    result["ratio_with_over_without"] = round(result["with_replay"]["general_perplexity_ratio"]
                                              / result["without_replay"]["general_perplexity_ratio"], 4)
    write_result(args.out, result)
    print(f"{'variant':<16}{'steps':>6}{'ppl before':>12}{'ppl after':>12}{'after/before':>14}")
    for name in ("without_replay", "with_replay"):
        r = result[name]
        print(f"{name:<16}{r['steps']:>6}{r['general_perplexity_before']:>12.2f}"
              f"{r['general_perplexity_after']:>12.2f}{r['general_perplexity_ratio']:>14.3f}")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
