"""Local backend benchmarks (CPU), each comparison measured in the same run on the same machine.

(a) overhead: ftx (``run_local`` on a recipe) against the hand-written TRL ``SFTTrainer`` script of
    ``trl_baseline.py`` with the same tiny model, data, hyperparameters, steps, seed and torch
    threads: real tokens/s ratio and the max loss difference per logged step (expected: 0);
(b) defaults: real (non-padding) tokens/s of ftx's defaults against TRL's ``SFTConfig`` defaults
    (literal: bf16 + activation checkpointing; and CPU-sane: bf16 off) on generated chat data
    whose lengths vary ~100x;
(c) methods: peak memory and tokens/s of every method on the tiny model and on a larger
    random-weight Llama built from a config (~23M parameters). Each run's peak is the process's peak RSS (VmHWM,
    reset before the run through /proc/self/clear_refs) minus the RSS it started from, so runs
    measured one after another in one process do not see each other's memory.

Tokens are counted where the trainer consumes them (each ``training_step``'s attention mask), the
time is the wall time of ``trainer.train()``; both the same way for ftx and the baselines.
Writes benchmarks/results/local.json and local.md.
Run: .venv/bin/python benchmarks/bench_local.py [--quick]   (full: ~3 min on 2 cores; quick: <1 min)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from local_support import (build_larger_model, count_params, high_water_mb, quickstart_rows,  # noqa: E402
                           release_free_memory, reset_high_water, run_ftx, run_trl, summarise, token_lengths,
                           variable_rows, write_jsonl)
from results_file import write_result  # noqa: E402

METHODS = ("full", "lora", "qlora", "dora", "prefix", "prompt", "ia3")
# Full mode / quick mode sizes.
SIZES = {False: dict(overhead_steps=120, repeats=3, defaults_steps=20, bf16_steps=4, method_steps=30,
                     larger_steps=4),
         True: dict(overhead_steps=6, repeats=1, defaults_steps=2, bf16_steps=1, method_steps=2, larger_steps=1)}


# -- (a) overhead ------------------------------------------------------------------------------------
def bench_overhead(work: Path, size: dict[str, int]) -> dict[str, Any]:
    from ftx.plugins.local.device import cpu_threads
    from ftx.plugins.local.tiny_model import ensure_tiny_model

    rows = quickstart_rows()
    train, val = rows[:-8], rows[-8:]
    steps = size["overhead_steps"]
    hp = dict(steps=steps, batch_size=8, learning_rate=3e-3, scheduler="cosine", warmup_ratio=0.03,
              weight_decay=0.0, max_grad_norm=1.0, max_length=64, seed=42, lora_r=16, lora_alpha=32,
              lora_dropout=0.05)
    recipe = {"name": "overhead", "model": {"local": "ftx/tiny-llama"},
              "data": {"train": write_jsonl(work / "oh-train.jsonl", train),
                       "validation": write_jsonl(work / "oh-val.jsonl", val)},
              "method": {"name": "lora", "r": hp["lora_r"], "alpha": hp["lora_alpha"], "dropout": hp["lora_dropout"]},
              "hyperparameters": {"max_steps": steps, "batch_size": hp["batch_size"],
                                  "learning_rate": hp["learning_rate"], "scheduler": hp["scheduler"],
                                  "warmup_ratio": hp["warmup_ratio"], "weight_decay": hp["weight_decay"],
                                  "max_grad_norm": hp["max_grad_norm"], "max_length": hp["max_length"],
                                  "seed": hp["seed"]},
              "eval": {"strategy": "no", "baseline": False},
              # the equivalent script takes TRL's random order: compare batches with the same examples
              "backends": {"local": {"batching": "random"}}}
    model_dir = str(ensure_tiny_model())
    threads = cpu_threads(count_params(model_dir), None)  # as ftx picks them for this model size
    ftx_runs, base_runs, default_runs = [], [], []
    for repeat in range(size["repeats"]):  # interleaved, so load on the machine hits both alike
        ftx_runs.append(run_ftx(recipe, work))
        if repeat == 0:  # the baseline logs at ftx's interval, so the logged losses are the same averages
            hp["logging_steps"] = _logging_interval(_ftx_losses(ftx_runs[0]["summary"]))
        base_runs.append(run_trl(model_dir, train, hp, "equivalent", work, threads))
        if repeat == 0:  # once: on shared cores it can be much slower
            default_runs.append(run_trl(model_dir, train, hp, "equivalent", work, None))
    ftx_losses = [_ftx_losses(r["summary"]) for r in ftx_runs]
    pairs = [(step, loss, base_runs[0]["losses"].get(step)) for step, loss in ftx_losses[0].items()]
    diffs = [abs(a - b) for _, a, b in pairs if b is not None]
    ftx, base = summarise(ftx_runs), summarise(base_runs)
    return {
        "model": "ftx/tiny-llama", "method": "lora", "data": "quickstart chat (312 train examples)",
        "hyperparameters": hp, "threads": threads, "repeats": size["repeats"],
        "ftx": {**ftx, "threads": threads}, "baseline": {**base, "script": "benchmarks/trl_baseline.py (equivalent)"},
        "baseline_default_threads": summarise(default_runs),
        "tokens_per_s_ratio": round(ftx["tokens_per_s"] / base["tokens_per_s"], 3),
        "tokens_per_s_ratio_best": round(max(ftx["tokens_per_s_runs"]) / max(base["tokens_per_s_runs"]), 3),
        # ftx saves resumable checkpoints (once per epoch by default); the hand-written script none.
        "tokens_per_s_ratio_without_checkpoint_saves": round(statistics.median(
            r["real_tokens"] / max(r["train_s"] - r["checkpoint_s"], 1e-9) for r in ftx_runs)
            / base["tokens_per_s"], 3),
        "end_to_end_time_ratio": round(ftx["end_to_end_s"] / base["end_to_end_s"], 3),
        "logged_steps": len(diffs), "max_loss_diff": max(diffs) if diffs else None,
        "ftx_losses_repeat_exactly": all(l == ftx_losses[0] for l in ftx_losses),
    }


def _logging_interval(losses: dict[int, float]) -> int:
    """The interval ftx logged at (it also logs the first step)."""
    steps = sorted(losses)
    gaps = [b - a for a, b in zip(steps[1:], steps[2:])]
    return min(gaps) if gaps else 1


def _ftx_losses(summary: dict[str, Any]) -> dict[int, float]:
    path = Path(summary["run_dir"]) / "metrics.jsonl"
    return {r["step"]: r["loss"] for r in map(json.loads, path.read_text().splitlines()) if "loss" in r}


# -- (b) defaults ------------------------------------------------------------------------------------
def bench_defaults(work: Path, size: dict[str, int], rows: list[dict[str, Any]]) -> dict[str, Any]:
    import trl_baseline

    from ftx.plugins.local.device import cpu_threads
    from ftx.plugins.local.tiny_model import ensure_tiny_model

    model_dir = str(ensure_tiny_model())
    threads = cpu_threads(count_params(model_dir), None)
    steps = size["defaults_steps"]
    recipe = {"name": "defaults", "model": {"local": "ftx/tiny-llama"},
              "data": {"train": write_jsonl(work / "var-train.jsonl", rows)},
              "hyperparameters": {"max_steps": 2 * steps}}  # ftx's batch is 4, TRL's 8: the same examples
    lora = dict(lora_r=16, lora_alpha=32, lora_dropout=0.05, logging_steps=10, seed=42)
    ftx = run_ftx(recipe, work)
    ftx.pop("summary")
    cpu = run_trl(model_dir, rows, {**lora, "steps": steps}, "trl-default-cpu", work, None)
    cpu_threads_ftx = run_trl(model_dir, rows, {**lora, "steps": steps}, "trl-default-cpu", work, threads)
    literal = run_trl(model_dir, rows, {**lora, "steps": size["bf16_steps"]}, "trl-default", work, None)
    for r in (cpu, cpu_threads_ftx, literal):
        r.pop("losses")
    trl = "SFTConfig defaults: batch 8, activation checkpointing on"
    return {
        "model": "ftx/tiny-llama", "method": "lora (r 16, alpha 32, all-linear) in every variant",
        "variants": {
            "ftx_defaults": {**ftx, "settings": "recipe sets only model, data.train, max_steps: batch 4, float32, "
                                                f"no activation checkpointing, {threads} torch thread(s) (tiny model)"},
            "trl_default_literal": {**literal, "settings": f"{trl}, bf16 autocast on CPU, torch default threads; "
                                                           "+ use_cpu=True, without which it does not start"},
            "trl_default_cpu_sane": {**cpu, "settings": f"{trl}, bf16=False, torch default threads"},
            "trl_default_cpu_sane_ftx_threads": {**cpu_threads_ftx, "settings": f"{trl}, bf16=False, "
                                                                                f"{threads} torch thread(s) as ftx"},
        },
        "literal_defaults_on_this_machine": trl_baseline.literal_defaults_error() or "accepted",
        "ratio_vs_trl_default_literal": round(ftx["tokens_per_s"] / literal["tokens_per_s"], 2),
        "ratio_vs_trl_default_cpu_sane": round(ftx["tokens_per_s"] / cpu["tokens_per_s"], 2),
        "ratio_vs_trl_default_cpu_sane_ftx_threads": round(ftx["tokens_per_s"] / cpu_threads_ftx["tokens_per_s"], 2),
    }


# -- (c) methods -------------------------------------------------------------------------------------
def method_recipe(model: str, method: str, steps: int, train: str, val: str) -> dict[str, Any]:
    return {"name": f"method-{method}", "model": {"local": model}, "data": {"train": train, "validation": val},
            "method": {"name": method}, "hyperparameters": {"max_steps": steps, "batch_size": 4, "max_length": 128},
            "eval": {"strategy": "no", "baseline": False, "samples": ["Why?"]},
            # One thread for every model and method: comparable on a 2-core machine whose cores are shared.
            "backends": {"local": {"cpu_threads": 1}}}


def measure_method(recipe: dict[str, Any], work: Path) -> dict[str, Any]:
    """One method run: tokens/s, and its peak memory over the RSS it started from."""
    import psutil

    release_free_memory()
    exact = reset_high_water()
    rss_before = psutil.Process().memory_info().rss / 2**20
    run = run_ftx(recipe, work)
    summary = run.pop("summary")
    peak = max(summary["peak_rss_mb"], (high_water_mb() or 0) if exact else 0)
    return {"tokens_per_s": run["tokens_per_s"], "steps": run["steps"], "train_s": run["train_s"],
            "steps_per_s": round(run["steps"] / max(run["train_s"], 1e-9), 2),
            "trainable_parameters": summary["trainable_parameters"], "total_parameters": summary["total_parameters"],
            "peak_rss_mb": round(peak, 1), "rss_before_mb": round(rss_before, 1),
            "peak_over_start_mb": round(peak - rss_before, 1), "final_train_loss": summary["final_train_loss"],
            "peak_measured_by": "VmHWM, reset before the run" if exact else "RSS sampled every step"}


def bench_methods(work: Path, size: dict[str, int], rows: list[dict[str, Any]], quick: bool) -> dict[str, Any]:
    from ftx.plugins.local.tiny_model import ensure_tiny_model

    train = write_jsonl(work / "m-train.jsonl", rows[:-8])
    val = write_jsonl(work / "m-val.jsonl", rows[-8:])
    larger = build_larger_model(work / "larger-llama", quick)
    models = {"tiny": ("ftx/tiny-llama", {"parameters": count_params(str(ensure_tiny_model()))}, size["method_steps"]),
              "larger": (larger.pop("path"), larger, size["larger_steps"])}
    out: dict[str, Any] = {"data": "variable-length chat, max_length 128, batch 4, 1 torch thread", "models": {}}
    for key, (model, info, steps) in models.items():
        results = {}
        for method in METHODS:
            results[method] = measure_method(method_recipe(model, method, steps, train, val), work)
            print(f"  {key:<6} {method:<6} {results[method]['tokens_per_s']:>9,.0f} tokens/s  "
                  f"peak {results[method]['peak_rss_mb']:,.0f} MB", flush=True)
        out["models"][key] = {**info, "steps": steps, "methods": results}
    return out


def warm_imports() -> None:
    """Import every library a run touches first, so no measured run pays for the imports."""
    import bitsandbytes  # noqa: F401
    import datasets  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    import peft  # noqa: F401
    import trl  # noqa: F401

    import ftx.plugins.local.train  # noqa: F401
    from ftx.plugins.local.quiet import quiet_libraries

    quiet_libraries()


# -- main --------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny version of every measurement (smoke test)")
    parser.add_argument("--out", default=str(HERE / "results" / "local.json"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import local_report

    size = SIZES[args.quick]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ftx-bench-local-") as tmp:
        work = Path(tmp)
        os.environ["FTX_HOME"] = str(work / "home")  # runs, registry and the tiny model stay out of ~/.ftx
        machine = local_report.machine_info()
        warm_imports()
        rows = variable_rows(64 if args.quick else 512)
        print("(a) ftx vs the equivalent hand-written TRL script", flush=True)
        overhead = bench_overhead(work, size)
        print(f"(b) ftx defaults vs TRL defaults on variable-length chat  [{time.perf_counter() - started:.0f} s]",
              flush=True)
        defaults = {"data": token_lengths(rows), **bench_defaults(work, size, rows)}
        print(f"(c) methods  [{time.perf_counter() - started:.0f} s]", flush=True)
        methods = bench_methods(work, size, rows, args.quick)
    machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result = {"quick": args.quick, "seconds": round(time.perf_counter() - started, 1), "machine": machine,
              "overhead": overhead, "defaults": defaults, "methods": methods}
    out = write_result(args.out, result)
    markdown = local_report.markdown(result)
    out.with_suffix(".md").write_text(markdown, encoding="utf-8")
    print(markdown)
    print(f"-> {out} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
