"""The hand-written TRL script ftx is compared with: what a user would write without ftx.

Load the model and tokenizer, wrap the model in a LoRA adapter, hand chat rows to ``SFTTrainer``
with an ``SFTConfig`` holding the hyperparameters, train. ``trl_config`` builds that config in
one of three flavours:

* ``equivalent``: every hyperparameter ftx derives from the recipe, set by hand to the same
  value (the baseline of the overhead comparison);
* ``trl-default``: TRL's ``SFTConfig`` defaults (bf16 autocast and activation checkpointing on,
  batch 8, lr 2e-5), only the step count, logging and saving set, plus ``use_cpu=True``: on a
  machine without a GPU the literal defaults do not start (transformers refuses bf16 without
  ``use_cpu``; see :func:`literal_defaults_error`);
* ``trl-default-cpu``: the same with ``bf16=False``, the change that makes the defaults sane on
  a CPU (bfloat16 matmuls are emulated there and run many times slower).

Run alone: ``.venv/bin/python benchmarks/trl_baseline.py MODEL_DIR DATA.jsonl --steps 50``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

FLAVOURS = ("equivalent", "trl-default", "trl-default-cpu")


def lora_config(hp: dict[str, Any]) -> Any:
    from peft import LoraConfig

    return LoraConfig(task_type="CAUSAL_LM", r=hp["lora_r"], lora_alpha=hp["lora_alpha"],
                      lora_dropout=hp["lora_dropout"], target_modules="all-linear")


def trl_config(flavour: str, hp: dict[str, Any], output_dir: str) -> Any:
    """The ``SFTConfig`` of one flavour (see the module docstring)."""
    from trl import SFTConfig

    common = dict(output_dir=output_dir, max_steps=hp["steps"], report_to="none", save_strategy="no",
                  logging_steps=hp.get("logging_steps", 10), logging_first_step=True, disable_tqdm=True)
    if flavour == "trl-default":
        return SFTConfig(**common, use_cpu=True)
    if flavour == "trl-default-cpu":
        return SFTConfig(**common, use_cpu=True, bf16=False)
    if flavour != "equivalent":
        raise ValueError(f"unknown flavour {flavour!r}; one of {FLAVOURS}")
    return SFTConfig(
        **common,
        per_device_train_batch_size=hp["batch_size"],
        gradient_accumulation_steps=1,
        learning_rate=hp["learning_rate"],
        lr_scheduler_type=hp["scheduler"],
        warmup_steps=hp["warmup_ratio"],  # below 1: a ratio of the total steps
        weight_decay=hp["weight_decay"],
        max_grad_norm=hp["max_grad_norm"],
        max_length=hp["max_length"],
        seed=hp["seed"],
        bf16=False,
        gradient_checkpointing=False,
        assistant_only_loss=True,
    )


def literal_defaults_error() -> str | None:
    """What ``SFTConfig()`` says on this machine, untouched (None: the defaults are accepted)."""
    from trl import SFTConfig

    try:
        SFTConfig(output_dir=tempfile.mkdtemp(prefix="trl-defaults-"), report_to="none")
    except ValueError as exc:
        return str(exc)
    return None


def train(model_dir: str, rows: list[dict[str, Any]], hp: dict[str, Any], flavour: str, output_dir: str,
          wrap_trainer: Callable[[Any], None] | None = None) -> dict[str, Any]:
    """Train LoRA on ``rows`` (``{"messages": [...]}``); returns logged losses and timings.

    ``wrap_trainer`` lets a benchmark instrument the trainer (count tokens) before training."""
    import torch
    from datasets import Dataset
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed
    from trl import SFTTrainer

    started = time.perf_counter()
    set_seed(hp["seed"])
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    set_seed(hp["seed"])
    model = get_peft_model(model, lora_config(hp))
    trainer = SFTTrainer(model=model, args=trl_config(flavour, hp, output_dir),
                         train_dataset=Dataset.from_list(rows), processing_class=tokenizer)
    if wrap_trainer is not None:
        wrap_trainer(trainer)
    t0 = time.perf_counter()
    trainer.train()
    train_s = time.perf_counter() - t0
    model.save_pretrained(Path(output_dir) / "adapter")
    losses = {r["step"]: r["loss"] for r in trainer.state.log_history if "loss" in r}
    return {"losses": losses, "train_s": train_s, "total_s": time.perf_counter() - started,
            "steps": trainer.state.global_step}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir")
    parser.add_argument("data", help="JSONL of {\"messages\": [...]} rows")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--flavour", choices=FLAVOURS, default="equivalent")
    parser.add_argument("--out", default="trl-baseline-out")
    args = parser.parse_args()
    rows = [json.loads(line) for line in Path(args.data).read_text(encoding="utf-8").splitlines() if line.strip()]
    hp = dict(steps=args.steps, batch_size=8, learning_rate=3e-3, scheduler="cosine", warmup_ratio=0.03,
              weight_decay=0.0, max_grad_norm=1.0, max_length=64, seed=42, lora_r=16, lora_alpha=32,
              lora_dropout=0.05, logging_steps=1)
    result = train(args.model_dir, rows, hp, args.flavour, args.out)
    losses = result.pop("losses")
    print(json.dumps({**result, "final_loss": list(losses.values())[-1] if losses else None}))


if __name__ == "__main__":
    main()
