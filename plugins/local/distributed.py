"""Multi-process training: the strategy (DDP, FSDP, DeepSpeed) as trainer arguments, and the
plan ``--dry-run`` shows. Imports nothing heavy: the dry run uses it.

``hyperparameters.batch_size`` is per process (per device), as on a single process, so with N
processes each optimizer step sees N times the examples: the effective batch is
``batch_size x gradient_accumulation x world size`` and an epoch takes N times fewer steps.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from ftx.errors import BackendError

STRATEGIES = ("ddp", "fsdp", "deepspeed")

# DeepSpeed's own defaults for what the trainer already knows ("auto" = taken from the trainer).
DEFAULT_DEEPSPEED = {
    "zero_optimization": {"stage": 2},
    "train_micro_batch_size_per_gpu": "auto",
    "train_batch_size": "auto",
    "gradient_accumulation_steps": "auto",
    "gradient_clipping": "auto",
    "bf16": {"enabled": "auto"},
    "fp16": {"enabled": "auto"},
}


def communication(device: str) -> str:
    """The torch.distributed backend for ``device``: NCCL between GPUs, gloo between CPU processes."""
    return "nccl" if device == "cuda" else "gloo"


def check_strategy(options: Any, device: str | None = None) -> str:
    """The strategy the recipe asks for, refused in one line when it cannot run here."""
    strategy = getattr(options, "distributed", "ddp") or "ddp"
    if strategy == "deepspeed" and importlib.util.find_spec("deepspeed") is None:
        raise BackendError("backends.local.distributed is deepspeed, but the deepspeed package is not "
                           "installed (pip install deepspeed)", field="backends.local.distributed")
    if strategy != "ddp" and device == "cpu":
        # accelerate shards (FSDP) and offloads (DeepSpeed) between GPUs only; on CPU it would
        # silently fall back to DDP.
        raise BackendError(f"backends.local.distributed is {strategy}, which shards the model across CUDA "
                           "devices; on CPU use ddp", field="backends.local.distributed")
    return strategy


def strategy_args(options: Any, device: str, world_size: int) -> dict[str, Any]:
    """Trainer arguments for training on ``world_size`` processes (none for one process)."""
    if world_size <= 1:
        return {}
    strategy = check_strategy(options, device)
    args: dict[str, Any] = {"ddp_backend": communication(device)}
    if strategy == "fsdp":
        args["fsdp"] = getattr(options, "fsdp_options", None) or "full_shard auto_wrap"
        args["fsdp_config"] = dict(getattr(options, "fsdp_config", None) or {})
    elif strategy == "deepspeed":
        args["deepspeed"] = getattr(options, "deepspeed_config", None) or dict(DEFAULT_DEEPSPEED)
    else:
        # Every trainable weight of a fine-tuning method takes part in every step (frozen ones are
        # not DDP's concern), so DDP need not search the graph for unused ones after each step.
        args["ddp_find_unused_parameters"] = False
    return args


def _per_device_batch(recipe: Any) -> tuple[int, int]:
    from .config import DEFAULT_BATCH

    hp = recipe.recipe.hyperparameters
    batch = hp.batch_size if isinstance(hp.batch_size, int) else DEFAULT_BATCH
    return batch, hp.gradient_accumulation


def batch_and_steps(recipe: Any, data: dict[str, Any] | None, world: int, unit: str, units: str) -> dict[str, Any]:
    """The plan's ``effective batch`` over ``world`` processes (called ``unit``/``units``: process,
    worker) and, when the data size or ``max_steps`` is known, its ``optimizer steps``."""
    from .config import DEFAULT_EPOCHS, total_steps

    batch, accumulation = _per_device_batch(recipe)
    out: dict[str, Any] = {
        "effective batch": f"{batch * accumulation * world} ({batch} per {unit} x {accumulation} accumulation "
                           f"x {world} {units})"}
    hp = recipe.recipe.hyperparameters
    n_train = (data or {}).get("train_examples")
    if n_train or hp.max_steps:
        epochs = hp.epochs if isinstance(hp.epochs, int) else DEFAULT_EPOCHS
        out["optimizer steps"] = total_steps(n_train or 0, epochs, batch * world, accumulation, hp.max_steps)
    return out


def describe(recipe: Any, options: Any, processes: Any, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Updates to the plan ``--dry-run`` shows for ``processes``: a ``distributed`` section and
    the optimizer steps and effective batch over all of them."""
    world = processes.world_size
    device = getattr(options, "device", "auto") or "auto"
    strategy = check_strategy(options, device if device != "auto" else None)
    comm = {"cpu": "gloo", "cuda": "nccl"}.get(device, "nccl on CUDA, else gloo")
    batch, _ = _per_device_batch(recipe)
    launcher = (f"torchrun --standalone --nproc_per_node {processes.nproc}" if processes.nnodes == 1 else
                f"torchrun --nnodes {processes.nnodes} --node_rank {processes.node_rank} "
                f"--nproc_per_node {processes.nproc} --master_addr {processes.master_addr} "
                f"--master_port {processes.master_port}")
    nodes = f"{processes.nnodes} node{'s' if processes.nnodes > 1 else ''}"
    return {
        "distributed": {
            "name": strategy,
            "processes": f"{world} ({nodes} x {processes.nproc})",
            "communication": comm,
            "launcher": launcher,
            "batch per process": batch,
        },
        **batch_and_steps(recipe, data, world, "process", "processes"),
    }
