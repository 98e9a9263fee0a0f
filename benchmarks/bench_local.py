"""Local backend benchmarks (CPU), each comparison measured in the same run on the same machine.

(a) overhead: ftx (``run_local`` on a recipe) against the hand-written TRL ``SFTTrainer`` script of
    ``trl_baseline.py`` with the same tiny model, data, hyperparameters, steps, seed and torch
    threads: real tokens/s ratio and the max loss difference per logged step (expected: 0);
(b) defaults: real (non-padding) tokens/s of ftx's defaults against TRL's ``SFTConfig`` defaults
    (literal: bf16 + activation checkpointing; and CPU-sane: bf16 off) on generated chat data
    whose lengths vary ~100x;
(c) methods: peak memory and tokens/s of every method on the tiny model and on a ~26M-parameter
    random-weight Llama built from a config. Each run's peak is the process's peak RSS (VmHWM,
    reset before the run through /proc/self/clear_refs) minus the RSS it started from, so runs
    measured one after another in one process do not see each other's memory.

Tokens are counted where the trainer consumes them (each ``training_step``'s attention mask), the
time is the wall time of ``trainer.train()``; both the same way for ftx and the baselines.
Writes benchmarks/results/local.json and local.md.
Run: .venv/bin/python benchmarks/bench_local.py [--quick]   (full: ~6 min on 2 cores; quick: <1 min)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
QUICKSTART = HERE.parent / "recipes" / "data" / "quickstart.jsonl"
METHODS = ("full", "lora", "qlora", "dora", "prefix", "prompt", "ia3")
LARGER = dict(hidden_size=512, intermediate_size=1376, num_hidden_layers=8, num_attention_heads=8,
              num_key_value_heads=8)
LARGER_QUICK = dict(hidden_size=128, intermediate_size=344, num_hidden_layers=2, num_attention_heads=4,
                    num_key_value_heads=4)
# Full mode / quick mode sizes.
SIZES = {False: dict(overhead_steps=120, repeats=3, defaults_steps=20, bf16_steps=4, method_steps=30,
                     larger_steps=6),
         True: dict(overhead_steps=8, repeats=1, defaults_steps=4, bf16_steps=2, method_steps=2, larger_steps=1)}


# -- data and models -------------------------------------------------------------------------------
def quickstart_rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in QUICKSTART.read_text(encoding="utf-8").splitlines() if line.strip()]


def variable_rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Chat examples whose answers run from 3 to 300 words (log-uniform): batches pad a lot."""
    words = sorted({w for r in quickstart_rows() for m in r["messages"] for w in m["content"].split()})
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        question = " ".join(rng.choices(words, k=rng.randint(4, 24))) + "?"
        answer = " ".join(rng.choices(words, k=int(math.exp(rng.uniform(math.log(3), math.log(300))))))
        rows.append({"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]})
    return rows


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def build_larger_model(out: Path, quick: bool) -> dict[str, Any]:
    """A seeded random-weight Llama with the tiny model's tokenizer (no download)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from ftx.plugins.local.tiny_model import ensure_tiny_model

    tokenizer = AutoTokenizer.from_pretrained(str(ensure_tiny_model()))
    config = LlamaConfig(vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         max_position_embeddings=1024, tie_word_embeddings=False,
                         **(LARGER_QUICK if quick else LARGER))
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return {"path": str(out), "parameters": sum(p.numel() for p in model.parameters()),
            **{k: getattr(config, k) for k in ("hidden_size", "num_hidden_layers", "intermediate_size")}}


# -- measuring -------------------------------------------------------------------------------------
class Meter:
    """Counts the tokens each training step consumes and times ``trainer.train()``, less the
    evaluations that run inside it (they consume no training tokens)."""

    def __init__(self) -> None:
        self.real = self.padded = self.steps = 0
        self.seconds = self.eval_seconds = 0.0
        self._training = False

    def attach(self, trainer: Any) -> None:
        step, train, evaluate = trainer.training_step, trainer.train, trainer.evaluate

        def counting(model, inputs, *args, **kwargs):
            ids, mask = inputs["input_ids"], inputs.get("attention_mask")
            self.real += int(mask.sum()) if mask is not None else ids.numel()
            self.padded += ids.numel()
            self.steps += 1
            return step(model, inputs, *args, **kwargs)

        def timed(*args, **kwargs):
            started, self._training = time.perf_counter(), True
            try:
                return train(*args, **kwargs)
            finally:
                self._training = False
                self.seconds += time.perf_counter() - started

        def timed_eval(*args, **kwargs):
            started = time.perf_counter()
            try:
                return evaluate(*args, **kwargs)
            finally:
                if self._training:
                    self.eval_seconds += time.perf_counter() - started

        trainer.training_step, trainer.train, trainer.evaluate = counting, timed, timed_eval

    def result(self) -> dict[str, Any]:
        seconds = max(self.seconds - self.eval_seconds, 1e-9)
        return {"steps": self.steps, "real_tokens": self.real, "padded_tokens": self.padded,
                "padding_fraction": round(1 - self.real / max(self.padded, 1), 3),
                "train_s": round(seconds, 3), "eval_s_excluded": round(self.eval_seconds, 3),
                "tokens_per_s": round(self.real / seconds, 1)}


@contextlib.contextmanager
def metered_ftx(meter: Meter):
    """Instrument the trainer ftx builds (the training run itself is untouched)."""
    from ftx.plugins.local import trainer as module

    real = module.build_trainer

    def build(*args, **kwargs):
        trainer = real(*args, **kwargs)
        meter.attach(trainer)
        return trainer

    module.build_trainer = build
    try:
        yield
    finally:
        module.build_trainer = real


def run_ftx(recipe: dict[str, Any], work: Path) -> dict[str, Any]:
    """One ftx run of ``recipe`` (a dict); its summary plus the meter's counts and wall time."""
    from ftx.plugins.local.train import run_local
    from ftx.recipe import load_recipe

    path = work / f"{recipe['name']}.yaml"
    path.write_text(json.dumps(recipe), encoding="utf-8")
    resolved = load_recipe(str(path), [], backend="local")
    meter = Meter()
    started = time.perf_counter()
    with metered_ftx(meter):
        summary = run_local(resolved, None, echo=lambda _: None, progress=False)
    return {**meter.result(), "end_to_end_s": round(time.perf_counter() - started, 3), "summary": summary}


def run_trl(model_dir: str, rows: list[dict[str, Any]], hp: dict[str, Any], flavour: str, work: Path,
            threads: int | None) -> dict[str, Any]:
    """One run of the hand-written TRL script (its printed logs silenced)."""
    import torch

    import trl_baseline

    meter = Meter()
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            out = trl_baseline.train(model_dir, rows, hp, flavour, tempfile.mkdtemp(dir=work), meter.attach)
    finally:
        torch.set_num_threads(before)
    return {**meter.result(), "end_to_end_s": round(out["total_s"], 3), "losses": out["losses"],
            "threads": threads or before}


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 3)


def _summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keep = ("steps", "real_tokens", "padding_fraction", "threads")
    return {**{k: runs[0][k] for k in keep if k in runs[0]}, "tokens_per_s": _median(runs, "tokens_per_s"),
            "train_s": _median(runs, "train_s"), "end_to_end_s": _median(runs, "end_to_end_s"),
            "tokens_per_s_runs": [r["tokens_per_s"] for r in runs]}


# -- (a) overhead ------------------------------------------------------------------------------------
def bench_overhead(work: Path, size: dict[str, int]) -> dict[str, Any]:
    from ftx.plugins.local.config import LOG_POINTS
    from ftx.plugins.local.device import cpu_threads
    from ftx.plugins.local.tiny_model import ensure_tiny_model

    rows = quickstart_rows()
    train, val = rows[:-8], rows[-8:]
    steps = size["overhead_steps"]
    hp = dict(steps=steps, batch_size=8, learning_rate=3e-3, scheduler="cosine", warmup_ratio=0.03,
              weight_decay=0.0, max_grad_norm=1.0, max_length=64, seed=42, lora_r=16, lora_alpha=32,
              lora_dropout=0.05, logging_steps=max(1, steps // LOG_POINTS))  # ftx's logging interval
    recipe = {"name": "overhead", "model": {"local": "ftx/tiny-llama"},
              "data": {"train": write_jsonl(work / "oh-train.jsonl", train),
                       "validation": write_jsonl(work / "oh-val.jsonl", val)},
              "method": {"name": "lora", "r": hp["lora_r"], "alpha": hp["lora_alpha"], "dropout": hp["lora_dropout"]},
              "hyperparameters": {"max_steps": steps, "batch_size": hp["batch_size"],
                                  "learning_rate": hp["learning_rate"], "scheduler": hp["scheduler"],
                                  "warmup_ratio": hp["warmup_ratio"], "weight_decay": hp["weight_decay"],
                                  "max_grad_norm": hp["max_grad_norm"], "max_length": hp["max_length"],
                                  "seed": hp["seed"]},
              "eval": {"strategy": "no", "baseline": False}}
    model_dir = str(ensure_tiny_model())
    threads = cpu_threads(_count_params(model_dir), None)  # as ftx picks them for this model size
    ftx_runs, base_runs, default_runs = [], [], []
    for _ in range(size["repeats"]):  # interleaved, so load on the machine hits both alike
        ftx_runs.append(run_ftx(recipe, work))
        base_runs.append(run_trl(model_dir, train, hp, "equivalent", work, threads))
        default_runs.append(run_trl(model_dir, train, hp, "equivalent", work, None))
    ftx_losses = [_ftx_losses(r["summary"]) for r in ftx_runs]
    pairs = [(step, loss, base_runs[0]["losses"].get(step)) for step, loss in ftx_losses[0].items()]
    diffs = [abs(a - b) for _, a, b in pairs if b is not None]
    ftx, base = _summarise(ftx_runs), _summarise(base_runs)
    return {
        "model": "ftx/tiny-llama", "method": "lora", "data": "quickstart chat (312 train examples)",
        "hyperparameters": hp, "threads": threads, "repeats": size["repeats"],
        "ftx": {**ftx, "threads": threads}, "baseline": {**base, "script": "benchmarks/trl_baseline.py (equivalent)"},
        "baseline_default_threads": _summarise(default_runs),
        "tokens_per_s_ratio": round(ftx["tokens_per_s"] / base["tokens_per_s"], 3),
        "end_to_end_time_ratio": round(ftx["end_to_end_s"] / base["end_to_end_s"], 3),
        "logged_steps": len(diffs), "max_loss_diff": max(diffs) if diffs else None,
        "ftx_losses_repeat_exactly": all(l == ftx_losses[0] for l in ftx_losses),
    }


def _count_params(model_dir: str) -> int:
    from safetensors import safe_open

    with safe_open(str(Path(model_dir) / "model.safetensors"), "pt") as f:
        return sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys())


def _ftx_losses(summary: dict[str, Any]) -> dict[int, float]:
    path = Path(summary["run_dir"]) / "metrics.jsonl"
    return {r["step"]: r["loss"] for r in map(json.loads, path.read_text().splitlines()) if "loss" in r}


# -- (b) defaults ------------------------------------------------------------------------------------
def bench_defaults(work: Path, size: dict[str, int], rows: list[dict[str, Any]]) -> dict[str, Any]:
    import trl_baseline

    from ftx.plugins.local.tiny_model import ensure_tiny_model

    model_dir = str(ensure_tiny_model())
    steps = size["defaults_steps"]
    recipe = {"name": "defaults", "model": {"local": "ftx/tiny-llama"},
              "data": {"train": write_jsonl(work / "var-train.jsonl", rows)},
              "hyperparameters": {"max_steps": 2 * steps}}  # ftx's batch is 4, TRL's 8: the same examples
    lora = dict(lora_r=16, lora_alpha=32, lora_dropout=0.05, logging_steps=10, seed=42)
    ftx = run_ftx(recipe, work)
    ftx.pop("summary")
    cpu = run_trl(model_dir, rows, {**lora, "steps": steps}, "trl-default-cpu", work, None)
    literal = run_trl(model_dir, rows, {**lora, "steps": size["bf16_steps"]}, "trl-default", work, None)
    for r in (cpu, literal):
        r.pop("losses")
    return {
        "model": "ftx/tiny-llama", "method": "lora (r 16, alpha 32, all-linear) in every variant",
        "variants": {
            "ftx_defaults": {**ftx, "settings": "recipe sets only model, data.train, max_steps: batch 4, float32, "
                                                "no activation checkpointing, 1 torch thread (tiny model)"},
            "trl_default_cpu_sane": {**cpu, "settings": "SFTConfig defaults with bf16=False: batch 8, float32, "
                                                        "activation checkpointing on, torch default threads"},
            "trl_default_literal": {**literal, "settings": "SFTConfig defaults + use_cpu=True (needed to start): batch 8, "
                                                           "bf16 autocast on CPU, activation checkpointing on, torch default threads"},
        },
        "literal_defaults_on_this_machine": trl_baseline.literal_defaults_error() or "accepted",
        "ratio_vs_trl_default_cpu_sane": round(ftx["tokens_per_s"] / cpu["tokens_per_s"], 2),
        "ratio_vs_trl_default_literal": round(ftx["tokens_per_s"] / literal["tokens_per_s"], 2),
    }


def token_lengths(rows: list[dict[str, Any]]) -> dict[str, int]:
    from transformers import AutoTokenizer

    from ftx.plugins.local.tiny_model import ensure_tiny_model

    tok = AutoTokenizer.from_pretrained(str(ensure_tiny_model()))
    lengths = sorted(len(tok.apply_chat_template(r["messages"], tokenize=True, return_dict=True)["input_ids"])
                     for r in rows)
    return {"examples": len(rows), "min": lengths[0], "median": lengths[len(lengths) // 2], "max": lengths[-1]}


# -- (c) methods -------------------------------------------------------------------------------------
def method_recipe(model: str, method: str, steps: int, train: str, val: str) -> dict[str, Any]:
    return {"name": f"method-{method}", "model": {"local": model}, "data": {"train": train, "validation": val},
            "method": {"name": method}, "hyperparameters": {"max_steps": steps, "batch_size": 4, "max_length": 256},
            "eval": {"strategy": "no", "baseline": False, "samples": ["Why?"]}}


def reset_high_water() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0), so that one
    process can measure the peak of each run in turn."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="utf-8") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def high_water_mb() -> float | None:
    """This process's peak RSS since the last reset (VmHWM): it sees peaks between ftx's
    per-step samples."""
    try:
        with open("/proc/self/status", encoding="utf-8") as fh:
            line = next((x for x in fh if x.startswith("VmHWM:")), None)
    except OSError:
        return None
    return int(line.split()[1]) / 1024 if line else None


def measure_method(recipe: dict[str, Any], work: Path) -> dict[str, Any]:
    """One method run: tokens/s, and its peak memory over the RSS it started from."""
    import gc

    import psutil

    gc.collect()
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
    models = {"tiny": ("ftx/tiny-llama", {"parameters": _count_params(str(ensure_tiny_model()))}, size["method_steps"]),
              "larger": (larger.pop("path"), larger, size["larger_steps"])}
    out: dict[str, Any] = {"data": "variable-length chat, max_length 256, batch 4", "models": {}}
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
        print(f"(b) ftx defaults vs TRL defaults on variable-length chat  [{time.perf_counter() - started:.0f} s]", flush=True)
        defaults = {"data": token_lengths(rows), **bench_defaults(work, size, rows)}
        print(f"(c) methods  [{time.perf_counter() - started:.0f} s]", flush=True)
        methods = bench_methods(work, size, rows, args.quick)
    result = {"quick": args.quick, "seconds": round(time.perf_counter() - started, 1), "machine": machine,
              "overhead": overhead, "defaults": defaults, "methods": methods}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    markdown = local_report.markdown(result)
    out.with_suffix(".md").write_text(markdown, encoding="utf-8")
    print(markdown)
    print(f"-> {out} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
