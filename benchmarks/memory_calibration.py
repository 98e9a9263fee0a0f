"""Measured vs estimated peak memory of local runs on a spread of shapes (CPU).

Each case trains a seeded random-weight Llama for two steps with ``run_local`` in a fresh
process (so the process high-water mark is the run's own), on data whose every sequence is
truncated at ``max_length`` (so the estimate's sequence length is the real one), and reads the
summary's measured peak (VmHWM) and predicted peak (the local estimate for this machine's CPU).

``CASES`` spans tiny / ~20M / ~100M parameters, vocabularies of 525 (the tiny tokenizer) and
32k, LoRA and full fine-tuning and two sequence lengths. ``QUICK`` is the subset the
calibration test runs (tests/cost/test_memory_calibration.py).

Run: .venv/bin/python benchmarks/memory_calibration.py [--quick]  -> benchmarks/results/memory.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TOLERANCE = 0.15

SHAPES = {
    "tiny": None,  # ftx/tiny-llama itself
    "20m-v525": dict(hidden_size=512, intermediate_size=1376, num_hidden_layers=6, num_attention_heads=8,
                     num_key_value_heads=8, vocab_size=None),
    "20m-v32k": dict(hidden_size=384, intermediate_size=1024, num_hidden_layers=4, num_attention_heads=6,
                     num_key_value_heads=6, vocab_size=32_000),
    "100m-v32k": dict(hidden_size=640, intermediate_size=1728, num_hidden_layers=12, num_attention_heads=10,
                      num_key_value_heads=10, vocab_size=32_000),
}
CASES = [(shape, method, seq) for shape in SHAPES for method in ("lora", "full") for seq in (128, 512)]
QUICK = [("tiny", "lora", 128), ("20m-v32k", "lora", 128), ("20m-v32k", "full", 512), ("20m-v525", "full", 512)]

CHILD = r"""
import json, os, sys
os.environ["FTX_HOME"] = sys.argv[1]
from ftx.plugins.local.train import run_local
from ftx.recipe import load_recipe
summary = run_local(load_recipe(sys.argv[2], [], backend="local"), None, echo=lambda _: None, progress=False)
print("RESULT " + json.dumps({k: summary.get(k) for k in (
    "peak_memory_mb", "predicted_peak_memory_mb", "peak_memory_error", "peak_rss_sampled_mb", "total_parameters")}))
"""


def build(shape: str, out: Path) -> str:
    """The model folder (or name) for ``shape``."""
    if SHAPES[shape] is None:
        return "ftx/tiny-llama"
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from ftx.plugins.local.tiny_model import ensure_tiny_model

    tokenizer = AutoTokenizer.from_pretrained(str(ensure_tiny_model()))
    dims = dict(SHAPES[shape])
    dims["vocab_size"] = dims["vocab_size"] or len(tokenizer)
    config = LlamaConfig(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, max_position_embeddings=1024,
                         tie_word_embeddings=False, **dims)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return str(out)


def long_rows(n: int) -> list[dict[str, Any]]:
    """Chat rows longer than any max_length used here: every sequence is truncated to it."""
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
    answer = " ".join(words[i % len(words)] for i in range(900))
    return [{"messages": [{"role": "user", "content": f"question {i}?"}, {"role": "assistant", "content": answer}]}
            for i in range(n)]


def measure(cases: list[tuple[str, str, int]], work: Path) -> list[dict[str, Any]]:
    os.environ.setdefault("FTX_HOME", str(work / "home"))
    home = os.environ["FTX_HOME"]
    from ftx.plugins.local.tiny_model import ensure_tiny_model

    ensure_tiny_model()
    train = work / "train.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in long_rows(16)), encoding="utf-8")
    models: dict[str, str] = {}
    out = []
    for shape, method, seq in cases:
        if shape not in models:
            models[shape] = build(shape, work / shape)
        recipe = work / f"{shape}-{method}-{seq}.yaml"
        recipe.write_text(json.dumps({
            "name": f"mem-{shape}-{method}-{seq}", "model": {"local": models[shape]}, "data": {"train": str(train)},
            "method": {"name": method}, "hyperparameters": {"max_steps": 2, "batch_size": 4, "max_length": seq},
            "eval": {"strategy": "no", "baseline": False, "samples": []},
            "backends": {"local": {"cpu_threads": 2}}}), encoding="utf-8")
        proc = subprocess.run([sys.executable, "-c", CHILD, home, str(recipe)], capture_output=True, text=True,
                              env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=900)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
        if proc.returncode != 0 or line is None:
            raise RuntimeError(f"{shape} {method} {seq} failed: {proc.stderr[-2000:]}")
        row = {"shape": shape, "method": method, "max_length": seq, **json.loads(line[7:])}
        out.append(row)
        print(f"  {shape:<10} {method:<5} seq {seq:<4} measured {row['peak_memory_mb']:>7,.0f} MB  "
              f"estimated {row['predicted_peak_memory_mb']:>7,.0f} MB  error {row['peak_memory_error']:+.1%}",
              flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the calibration test's subset")
    parser.add_argument("--out", default=str(HERE / "results" / "memory.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ftx-memory-") as tmp:
        rows = measure(QUICK if args.quick else CASES, Path(tmp))
    worst = max(abs(r["peak_memory_error"]) for r in rows)
    result = {"quick": args.quick, "tolerance": TOLERANCE, "worst_error": worst,
              "all_within_tolerance": worst <= TOLERANCE, "cases": rows}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"worst error {worst:+.1%} (tolerance {TOLERANCE:.0%}) -> {out}")


if __name__ == "__main__":
    main()
