"""Wall-clock time of local fine-tuning from FLOPs, utilisation and fixed overheads.

Training FLOPs per token, with N the parameters a token multiplies by (``compute_params``:
no embedding lookup, only the experts it visits) and P the trained parameters:

* full fine-tuning: 6N (forward 2N, backward 4N: gradients of activations and of weights);
* adapters (LoRA, QLoRA, DoRA, prefix, prompt, IA3): forward 2N + backward through the frozen
  weights for the activation gradients only, 2N, so 4N, plus 6P for the adapter itself;
* gradient checkpointing recomputes the forward: + 2N;
* DPO also runs the frozen reference model forward on every sequence: + 2N;
* attention scores: 6 x layers x s x (heads x head_dim) per token for an average sequence of
  s tokens (causal: each token attends to s/2 on average; 2 matmuls; x3 for training).

Evaluation: a forward pass, 2N per validation token, per evaluation (each epoch with
``eval.strategy: epoch``, plus one before training with ``eval.baseline``).

seconds = FLOPs / (peak FLOP/s x MFU) + steps x per-step overhead + evaluation batches x a third
of it (forward only) + startup + weights / load speed. QLoRA's 4-bit matmuls dequantize first:
its MFU is taken as 0.7 x the device's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ftx.cost.catalog import Device

from .model_shape import ModelShape

QLORA_EFFICIENCY = 0.7


EVAL_OVERHEAD_SHARE = 1 / 3  # a forward-only batch's fixed cost, as a share of a training step's


@dataclass
class TimeEstimate:
    train_flops: float
    eval_flops: float
    steps: int
    mfu: float
    parts: dict[str, float]  # train_compute_s, step_overhead_s, eval_s, startup_s, load_s

    @property
    def seconds(self) -> float:
        return sum(self.parts.values())

    @property
    def train_seconds(self) -> float:
        """The optimizer steps alone: what a run's measured tokens/s covers."""
        return self.parts["train_compute_s"] + self.parts["step_overhead_s"]

    @property
    def hours(self) -> float:
        return self.seconds / 3600


def flops_per_token(shape: ModelShape, full: bool, trained: int, avg_seq: float,
                    checkpointing: bool = False, reference: bool = False) -> float:
    n = shape.compute_params
    base = 6 * n if full else 4 * n + 6 * trained
    if checkpointing:
        base += 2 * n
    if reference:
        base += 2 * n
    attention = 6 * shape.layers * avg_seq * shape.heads * shape.head_dim
    return base + attention


def optimizer_steps(n_train: int, epochs: float, batch: int, accumulation: int, max_steps: int | None) -> int:
    per_epoch = math.ceil(n_train / max(1, batch * accumulation)) if n_train else 0
    steps = int(math.ceil(per_epoch * epochs))
    return min(steps, max_steps) if max_steps else steps


def eval_passes(recipe: Any, epochs: float, steps: int) -> int:
    spec = recipe.recipe.eval
    passes = 1 if spec.baseline else 0
    if spec.strategy == "epoch":
        passes += int(math.ceil(epochs))
    elif spec.strategy == "steps" and spec.steps:
        passes += steps // spec.steps
    return passes


def train_time(shape: ModelShape, device: Device, *, full: bool, quantized: bool, trained: int,
               train_tokens: float, avg_seq: float, val_tokens: float, evals: int, steps: int,
               weights_gb: float, checkpointing: bool = False, reference: bool = False,
               eval_batches: int = 0) -> TimeEstimate:
    """Seconds to train (see the module docstring for every term); ``eval_batches`` is the
    number of validation batches of one evaluation."""
    per_token = flops_per_token(shape, full, trained, avg_seq, checkpointing, reference)
    train_flops = per_token * train_tokens
    eval_flops = 2 * shape.compute_params * val_tokens * evals
    mfu = device.mfu * (QLORA_EFFICIENCY if quantized else 1.0)
    rate = device.peak_tflops * 1e12 * mfu
    parts = {
        "train_compute_s": train_flops / rate,
        "step_overhead_s": steps * device.step_overhead_s,
        "eval_s": eval_flops / rate + evals * eval_batches * device.step_overhead_s * EVAL_OVERHEAD_SHARE,
        "startup_s": device.startup_s,
        "load_s": weights_gb / device.load_gb_per_s,
    }
    return TimeEstimate(train_flops, eval_flops, steps, mfu, parts)
