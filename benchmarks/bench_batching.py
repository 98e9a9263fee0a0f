"""Real tokens/s of ftx's default batching (length-grouped) against TRL's defaults on variable-length chat (CPU).

Every variant trains one full epoch of the same 512 generated chat examples (answers of 3-300
words, log-uniform), so each trains exactly the same examples once: their real (non-padding)
token counts must be equal, and the script checks it. Variants, measured interleaved:

* ``ftx_grouped``: ftx's defaults: a recipe with only model, data and ``epochs: 1`` (length-grouped
  batches of 4, the default ``backends.local.batching``);
* ``ftx_random_order``: the same with ``backends.local.batching: random`` (isolates the batching);
* ``ftx_padding_free``: the same with ``backends.local.batching: padding_free`` (random order,
  each batch one row without padding);
* ``trl_defaults``: TRL's ``SFTConfig`` defaults (batch 8, activation checkpointing on) with
  ``use_cpu`` and ``bf16=False`` (bf16 on CPU is ~15x slower; see bench_local.py) on the same
  torch threads.

Then the loss of the same examples: each example's summed token loss under the untrained model,
in length-grouped padded batches of 4, in TRL's random padded batches of 8, and flattened
padding-free rows of 4 with position ids (they must agree: padding is masked, position ids keep
flattened examples apart); the same flattened rows *without* position ids are shown for contrast.

Writes benchmarks/results/batching.json. Run: .venv/bin/python benchmarks/bench_batching.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from local_support import count_params, run_ftx, run_trl, token_lengths, variable_rows, write_jsonl  # noqa: E402
from results_file import write_result  # noqa: E402


def per_example_losses(model_dir: str, rows: list[dict[str, Any]], work: Path) -> dict[str, Any]:
    """Each example's summed loss (untrained model): grouped padded batches of 4, random padded batches
    of 8 (TRL's), padding-free rows of 4 with and without position ids."""
    import torch

    from ftx.data.load import iter_examples
    from ftx.plugins.local.batching import grouped_order, padding_share, random_order
    from ftx.plugins.local.config import sft_config
    from ftx.plugins.local.device import plan_device
    from ftx.plugins.local.models import load_model, load_tokenizer
    from ftx.plugins.local.trainer import build_trainer
    from ftx.plugins.local.trl_data import build_datasets
    from ftx.plugins.methods.catalog import Lora
    from ftx.recipe import load_recipe

    path = work / "loss.yaml"
    path.write_text(json.dumps({"name": "loss", "model": {"local": "ftx/tiny-llama"},
                                "data": {"train": write_jsonl(work / "loss.jsonl", rows)}}))
    recipe = load_recipe(str(path), [], backend="local")
    tok = load_tokenizer(model_dir)
    data = build_datasets(list(iter_examples(str(work / "loss.jsonl"))), [], "sft", tok)
    args = sft_config(recipe, plan_device("cpu", Lora()), str(work / "ck"), len(data.train), False, data.loss)
    model = load_model(model_dir, "float32", "cpu")
    trainer = build_trainer("sft", model, tok, data, args, [])
    feats = [trainer.train_dataset[i] for i in range(len(data.train))]
    lengths = [len(f["input_ids"]) for f in feats]
    model.eval()

    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    pad_id = trainer.data_collator.pad_token_id
    padded = DataCollatorForLanguageModeling(pad_token_id=pad_id)
    flat = DataCollatorForLanguageModeling(pad_token_id=pad_id, padding_free=True)

    def token_losses(batch: dict[str, Any], **extra: Any) -> Any:
        with torch.no_grad():
            logits = model(input_ids=batch["input_ids"], **extra).logits
        return torch.nn.functional.cross_entropy(logits[:, :-1].transpose(1, 2), batch["labels"][:, 1:],
                                                 ignore_index=-100, reduction="none")

    def losses(order: list[int], batch: int) -> dict[int, float]:
        out = {}
        for start in range(0, len(order), batch):
            ids = order[start:start + batch]
            b = padded([feats[i] for i in ids])
            tok_loss = token_losses(b, attention_mask=b["attention_mask"])
            for row, i in enumerate(ids):
                out[i] = float(tok_loss[row].sum())
        return out

    def flattened(order: list[int], batch: int, positions: bool) -> dict[int, float]:
        out = {}
        for start in range(0, len(order), batch):
            ids = order[start:start + batch]
            b = flat([feats[i] for i in ids])
            tok_loss = token_losses(b, **({"position_ids": b["position_ids"]} if positions else {}))[0]
            at = 0
            for i in ids:
                width = len(feats[i]["input_ids"])
                out[i] = float(tok_loss[at:at + width - 1].sum())
                at += width
        return out

    def worst(a: dict[int, float], b: dict[int, float]) -> float:
        return max(abs(a[i] - b[i]) / max(abs(b[i]), 1e-9) for i in b)

    grouped_idx, random_idx = grouped_order(lengths, 4, 42), random_order(len(lengths), 42)
    grouped, shuffled = losses(grouped_idx, 4), losses(random_idx, 8)
    free, unbounded = flattened(random_idx, 4, True), flattened(random_idx, 4, False)
    return {"examples": len(grouped), "attention": str(model.config._attn_implementation),
            "max_relative_diff": worst(grouped, shuffled), "padding_free_max_relative_diff": worst(free, shuffled),
            "sum_grouped": round(sum(grouped.values()), 4), "sum_random": round(sum(shuffled.values()), 4),
            "sum_padding_free": round(sum(free.values()), 4),
            "sum_flattened_without_position_ids": round(sum(unbounded.values()), 4),
            "without_position_ids_max_relative_diff": worst(unbounded, shuffled),
            "padding_grouped": round(padding_share(lengths, grouped_idx, 4), 3),
            "padding_random": round(padding_share(lengths, random_idx, 8), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="64 examples, one repeat (smoke test)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "results" / "batching.json"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from bench_local import warm_imports

    from ftx.plugins.local.device import cpu_threads
    from ftx.plugins.local.tiny_model import ensure_tiny_model

    n = 64 if args.quick else 512
    repeats = 1 if args.quick else args.repeats
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ftx-bench-batching-") as tmp:
        work = Path(tmp)
        os.environ["FTX_HOME"] = str(work / "home")
        warm_imports()
        model_dir = str(ensure_tiny_model())
        threads = cpu_threads(count_params(model_dir), None)
        rows = variable_rows(n)
        train = write_jsonl(work / "train.jsonl", rows)
        # A validation file (never evaluated) keeps ftx from holding 20% of the rows out of training.
        held = write_jsonl(work / "val.jsonl", variable_rows(8, seed=1))
        base = {"model": {"local": "ftx/tiny-llama"}, "data": {"train": train, "validation": held},
                "hyperparameters": {"epochs": 1}, "eval": {"strategy": "no", "baseline": False, "samples": []}}
        ftx_recipe = {"name": "grouped", **base}  # ftx's defaults: length-grouped batches
        random_recipe = {"name": "random", **base, "backends": {"local": {"batching": "random"}}}
        free_recipe = {"name": "padding-free", **base, "backends": {"local": {"batching": "padding_free"}}}
        trl_hp = dict(steps=math.ceil(n / 8), lora_r=16, lora_alpha=32, lora_dropout=0.05, logging_steps=10, seed=42)
        runs: dict[str, list[dict[str, Any]]] = {"ftx_grouped": [], "ftx_random_order": [], "ftx_padding_free": [],
                                                 "trl_defaults": []}
        for _ in range(repeats):  # interleaved: load on the shared cores hits every variant alike
            for key, fn in (("ftx_grouped", lambda: run_ftx(ftx_recipe, work)),
                            ("ftx_random_order", lambda: run_ftx(random_recipe, work)),
                            ("ftx_padding_free", lambda: run_ftx(free_recipe, work)),
                            ("trl_defaults", lambda: run_trl(model_dir, rows, trl_hp, "trl-default-cpu", work,
                                                             threads))):
                run = fn()
                summary = run.pop("summary", None)
                run.pop("losses", None)
                if summary is not None:
                    run["mean_train_loss"] = summary.get("mean_train_loss")
                    run["batching"] = summary.get("batching", {}).get("mode")
                runs[key].append(run)
                print(f"  {key:<18} {run['tokens_per_s']:>9,.0f} real tokens/s  padding {run['padding_fraction']:.0%}"
                      f"  {run['real_tokens']:,} real tokens", flush=True)
        losses = per_example_losses(model_dir, rows, work)
        lengths = token_lengths(rows)
    variants = {k: {"tokens_per_s": statistics.median(r["tokens_per_s"] for r in v),
                    "tokens_per_s_runs": [r["tokens_per_s"] for r in v], "padding_fraction": v[0]["padding_fraction"],
                    "real_tokens": v[0]["real_tokens"], "steps": v[0]["steps"],
                    "mean_train_loss": v[0].get("mean_train_loss"), "batching": v[0].get("batching")}
                for k, v in runs.items()}
    same_tokens = len({v["real_tokens"] for v in variants.values()}) == 1
    result = {
        "quick": args.quick, "seconds": round(time.perf_counter() - started, 1), "examples": n, "data": lengths,
        "threads": threads, "repeats": repeats,
        "settings": {"ftx_grouped": "ftx's defaults: the recipe sets model, data (train + an unused validation file), "
                                    "epochs 1; length-grouped batches of 4, float32, no activation checkpointing",
                     "ftx_random_order": "the same with backends.local.batching: random",
                     "ftx_padding_free": "the same with backends.local.batching: padding_free (random order, one "
                                         "row per batch, no padding)",
                     "trl_defaults": "SFTConfig defaults (batch 8, activation checkpointing on) + use_cpu, "
                                     f"bf16=False; LoRA r16 all-linear as ftx; {threads} torch thread(s) as ftx"},
        "variants": variants, "same_examples_every_variant": same_tokens,
        "ratio_vs_trl_defaults": round(variants["ftx_grouped"]["tokens_per_s"]
                                       / variants["trl_defaults"]["tokens_per_s"], 2),
        "ratio_grouped_vs_random_order": round(variants["ftx_grouped"]["tokens_per_s"]
                                               / variants["ftx_random_order"]["tokens_per_s"], 2),
        "ratio_padding_free_vs_trl_defaults": round(variants["ftx_padding_free"]["tokens_per_s"]
                                                    / variants["trl_defaults"]["tokens_per_s"], 2),
        "ratio_padding_free_vs_random_order": round(variants["ftx_padding_free"]["tokens_per_s"]
                                                    / variants["ftx_random_order"]["tokens_per_s"], 2),
        "per_example_loss": losses,
    }
    out = write_result(args.out, result)
    print(json.dumps({k: result[k] for k in ("ratio_vs_trl_defaults", "ratio_grouped_vs_random_order",
                                            "ratio_padding_free_vs_trl_defaults", "same_examples_every_variant")}))
    print(f"-> {out}")
    if not same_tokens:
        raise SystemExit("the variants did not train the same tokens: the comparison is void")


if __name__ == "__main__":
    main()
