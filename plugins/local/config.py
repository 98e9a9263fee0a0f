"""Recipe hyperparameters + device plan -> a TRL ``SFTConfig`` or ``DPOConfig``.

Packing and padding-free batching stay off unless the recipe asks: without a flash-attention
kernel the packed sequences attend across example boundaries (TRL warns of cross-contamination),
and with the short examples of typical fine-tuning sets the saving is small. ``packing: true``
is honoured (TRL's best-fit packing) for users who know their attention kernel supports it.
"""

from __future__ import annotations

import math
from typing import Any

from .device import DevicePlan

DEFAULT_EPOCHS = 3
DEFAULT_BATCH = 4
LOG_POINTS = 50  # aim for about this many logged training steps per run


def total_steps(n_train: int, epochs: int, batch: int, accumulation: int, max_steps: int | None) -> int:
    per_epoch = max(1, math.ceil(n_train / (batch * accumulation)))
    return max_steps or per_epoch * epochs


def common_args(recipe: Any, device: DevicePlan, output_dir: str, n_train: int, has_eval: bool) -> dict[str, Any]:
    """Trainer arguments shared by SFT and DPO."""
    hp = recipe.recipe.hyperparameters
    ev = recipe.recipe.eval
    epochs = hp.epochs if isinstance(hp.epochs, int) else DEFAULT_EPOCHS
    batch = hp.batch_size if isinstance(hp.batch_size, int) else DEFAULT_BATCH
    steps = total_steps(n_train, epochs, batch, hp.gradient_accumulation, hp.max_steps)
    strategy = ev.strategy if has_eval else "no"
    eval_steps = ev.steps or max(1, steps // 10)
    early = bool(ev.early_stopping_patience) and strategy != "no"
    args: dict[str, Any] = dict(
        output_dir=output_dir,
        num_train_epochs=epochs,
        max_steps=hp.max_steps or -1,
        per_device_train_batch_size=batch,
        per_device_eval_batch_size=batch,
        gradient_accumulation_steps=hp.gradient_accumulation,
        learning_rate=hp.learning_rate,
        lr_scheduler_type=hp.scheduler,
        warmup_steps=hp.warmup_ratio,  # a float below 1 is a ratio of the total steps
        weight_decay=hp.weight_decay,
        max_grad_norm=hp.max_grad_norm,
        max_length=hp.max_length,
        seed=hp.seed,
        data_seed=hp.seed,
        bf16=device.bf16,
        fp16=device.fp16,
        use_cpu=device.device == "cpu",
        dataloader_pin_memory=device.device == "cuda",
        eval_strategy=strategy,
        eval_steps=eval_steps if strategy == "steps" else None,
        logging_strategy="steps",
        logging_steps=max(1, steps // LOG_POINTS),
        logging_first_step=True,
        include_num_input_tokens_seen="non_padding",
        # Checkpoints only serve early stopping (to restore the best model); the final model is
        # saved by the backend itself.
        save_strategy=strategy if early else "no",
        save_total_limit=1 if early else None,
        load_best_model_at_end=early,
        metric_for_best_model="eval_loss" if early else None,
        greater_is_better=False if early else None,
        report_to="none",
        push_to_hub=False,
        disable_tqdm=True,  # our own progress display replaces the trainer's
        dataloader_num_workers=0,
    )
    if strategy == "steps" and early:
        args["save_steps"] = eval_steps
    args.update(checkpointing_args(device.gradient_checkpointing))
    return args


def checkpointing_args(enabled: bool) -> dict[str, Any]:
    """Set checkpointing under the name this transformers knows (``activation_checkpointing``
    since 5.x, ``gradient_checkpointing`` before); TRL defaults it to on, so it is always set."""
    import dataclasses

    from transformers import TrainingArguments

    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    key = "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
    return {key: enabled, f"{key}_kwargs": {"use_reentrant": False} if enabled else None}


def sft_config(recipe: Any, device: DevicePlan, output_dir: str, n_train: int, has_eval: bool, loss: str) -> Any:
    from trl import SFTConfig

    hp = recipe.recipe.hyperparameters
    args = common_args(recipe, device, output_dir, n_train, has_eval)
    args.update(
        packing=bool(hp.packing),
        assistant_only_loss=loss == "assistant-only",
        completion_only_loss=None,  # TRL: on for prompt/completion data, the loss covers the completion
        dataset_num_proc=None,
    )
    return SFTConfig(**args)


def dpo_config(recipe: Any, device: DevicePlan, output_dir: str, n_train: int, has_eval: bool) -> Any:
    from trl import DPOConfig

    hp = recipe.recipe.hyperparameters
    args = common_args(recipe, device, output_dir, n_train, has_eval)
    args.update(beta=hp.beta if hp.beta is not None else 0.1)
    return DPOConfig(**args)
