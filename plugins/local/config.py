"""Recipe hyperparameters + device plan -> a TRL ``SFTConfig`` or ``DPOConfig``.

SFT batches are length-grouped by default (:mod:`.batching`): the same examples once per epoch,
with little padding, and the same loss per example; ``backends.local.batching`` picks random or
proven padding-free batches instead. Packing stays off unless the recipe asks: without a flash-attention kernel
the packed sequences can attend across example boundaries (TRL warns of cross-contamination).
``packing: true`` is honoured (TRL's best-fit packing) for users who know their attention kernel
supports it.
"""

from __future__ import annotations

import math
from typing import Any

from ftx.errors import BackendError

from .device import DevicePlan

DEFAULT_EPOCHS = 3
DEFAULT_BATCH = 4
LOG_POINTS = 50  # aim for about this many logged training steps per run


def total_steps(n_train: int, epochs: int, batch: int, accumulation: int, max_steps: int | None) -> int:
    per_epoch = max(1, math.ceil(n_train / (batch * accumulation)))
    return max_steps or per_epoch * epochs


def common_args(recipe: Any, device: DevicePlan, output_dir: str, n_train: int, has_eval: bool, *,
                checkpoints: bool = False, world_size: int = 1, eval_first: bool = False) -> dict[str, Any]:
    """Trainer arguments shared by SFT and DPO. ``checkpoints``: save resumable checkpoints
    (``backends.local.checkpoint_steps``, else once per epoch); ``world_size``: the number of
    training processes (``batch_size`` is per process); ``eval_first``: evaluate the untrained
    model as training starts (the baseline; inside ``train()``, once the model is wrapped for
    distribution: an evaluation before it leaves the model unwrapped, unsynchronised)."""
    from ftx.tracking.trainer import trainer_args as tracking_args

    from .distributed import strategy_args

    hp = recipe.recipe.hyperparameters
    ev = recipe.recipe.eval
    epochs = hp.epochs if isinstance(hp.epochs, int) else DEFAULT_EPOCHS
    batch = hp.batch_size if isinstance(hp.batch_size, int) else DEFAULT_BATCH
    world_size = max(1, world_size)
    steps = total_steps(n_train, epochs, batch * world_size, hp.gradient_accumulation, hp.max_steps)
    per_epoch = total_steps(n_train, 1, batch * world_size, hp.gradient_accumulation, None)
    strategy = ev.strategy if has_eval else "no"
    eval_steps = ev.steps or max(1, steps // 10)
    early = bool(ev.early_stopping_patience) and strategy != "no"
    save = save_args(recipe.options, strategy, eval_steps, early, checkpoints)
    interval = save.get("save_steps") or per_epoch
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
        eval_on_start=eval_first and has_eval,
        logging_strategy="steps",
        logging_steps=aligned_logging_steps(max(1, steps // LOG_POINTS), interval if save["save_strategy"] != "no" else None),
        logging_first_step=True,
        include_num_input_tokens_seen="non_padding",
        load_best_model_at_end=early,
        metric_for_best_model="eval_loss" if early else None,
        greater_is_better=False if early else None,
        **tracking_args(),  # the trackers ftx opened for this run (recipe `tracking:`), else "none"
        push_to_hub=False,
        disable_tqdm=True,  # our own progress display replaces the trainer's
        dataloader_num_workers=0,
        **save,
    )
    args.update(checkpointing_args(device.gradient_checkpointing))
    args.update(strategy_args(recipe.options, device.device, world_size))
    return args


def save_args(options: Any, eval_strategy: str, eval_steps: int, early: bool, checkpoints: bool) -> dict[str, Any]:
    """When the trainer saves checkpoints. Early stopping saves at every evaluation (the best is
    restored at the end); resumable runs save every ``checkpoint_steps`` or once per epoch."""
    every = getattr(options, "checkpoint_steps", None) if checkpoints else None
    limit = getattr(options, "save_total_limit", 1) or 1
    if early:
        out: dict[str, Any] = {"save_strategy": eval_strategy, "save_total_limit": limit if checkpoints else 1}
        if eval_strategy == "steps":
            out["save_steps"] = eval_steps
        if every:
            if eval_strategy != "steps" or every % eval_steps:
                raise BackendError(
                    f"with early stopping, checkpoints are saved at evaluations: checkpoint_steps ({every}) "
                    f"must be a multiple of eval.steps ({eval_steps if eval_strategy == 'steps' else 'per epoch'})",
                    field="backends.local.checkpoint_steps")
            out["save_steps"] = every
        return out
    if not checkpoints:
        return {"save_strategy": "no", "save_total_limit": None}
    if every:
        return {"save_strategy": "steps", "save_steps": every, "save_total_limit": limit}
    return {"save_strategy": "epoch", "save_total_limit": limit}


def aligned_logging_steps(wanted: int, save_interval: int | None) -> int:
    """The largest logging interval up to ``wanted`` that divides the checkpoint interval. A
    logged loss averages the steps since the previous log, and a resumed trainer starts that
    average afresh: with logs on checkpoint boundaries a resumed run logs what an uninterrupted
    one would have."""
    if not save_interval:
        return wanted
    for every in range(min(wanted, save_interval), 0, -1):
        if save_interval % every == 0:
            return every
    return 1


def checkpointing_args(enabled: bool) -> dict[str, Any]:
    """Set checkpointing under the name this transformers knows (``activation_checkpointing``
    since 5.x, ``gradient_checkpointing`` before); TRL defaults it to on, so it is always set."""
    import dataclasses

    from transformers import TrainingArguments

    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    key = "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
    return {key: enabled, f"{key}_kwargs": {"use_reentrant": False} if enabled else None}


def sft_config(recipe: Any, device: DevicePlan, output_dir: str, n_train: int, has_eval: bool, loss: str,
               **run: Any) -> Any:
    """TRL's ``SFTConfig``; ``run`` takes :func:`common_args`' keywords (checkpoints, world_size)."""
    from trl import SFTConfig

    from .batching import effective_mode, trainer_args

    hp = recipe.recipe.hyperparameters
    args = common_args(recipe, device, output_dir, n_train, has_eval, **run)
    args.update(trainer_args(recipe))
    args.update(
        packing=bool(hp.packing),
        assistant_only_loss=loss == "assistant-only",
        completion_only_loss=None,  # TRL: on for prompt/completion data, the loss covers the completion
        dataset_num_proc=None,
    )
    config = SFTConfig(**args)
    config.ftx_batching = effective_mode(recipe)  # read by batching.install (not a TRL field)
    return config


def dpo_config(recipe: Any, device: DevicePlan, output_dir: str, n_train: int, has_eval: bool, **run: Any) -> Any:
    """TRL's ``DPOConfig``; ``run`` takes :func:`common_args`' keywords (checkpoints, world_size)."""
    from trl import DPOConfig

    hp = recipe.recipe.hyperparameters
    args = common_args(recipe, device, output_dir, n_train, has_eval, **run)
    args.update(beta=hp.beta if hp.beta is not None else 0.1)
    return DPOConfig(**args)
