"""One Ray Train worker of a ``ftx run --ray`` run: the loop ``TorchTrainer`` runs on each worker.

Ray has already joined the workers into one torch process group; the worker rebuilds the recipe
from the spec (as a torchrun worker does, :mod:`.worker`) and trains as its rank with the same
code as a single process (:func:`.train.run_prepared`), the trainer prepared for Ray Train and
reporting each checkpoint to Ray (Ray's Hugging Face integration). When Ray restarts the workers
after a failure, ``ray.train.get_checkpoint()`` is the latest reported checkpoint and training
continues from it; an ``ftx run --resume`` of a run whose driver died continues from the run's
own checkpoint instead.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any


def _restored(ray_checkpoint: Any, stack: contextlib.ExitStack) -> Path | None:
    """The Hugging Face checkpoint inside the Ray checkpoint Ray restarted the workers from."""
    from ray.train.huggingface.transformers import RayTrainReportCallback

    if ray_checkpoint is None:
        return None
    folder = Path(stack.enter_context(ray_checkpoint.as_directory()))
    inner = folder / RayTrainReportCallback.CHECKPOINT_NAME
    return inner if inner.is_dir() else None


def _barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def prepare_for_ray(trainer: Any) -> Any:
    """The trainer as Ray Train runs it: its checkpoints reported to Ray (which keeps them in the
    storage path and restarts failed workers from the latest)."""
    from ray.train.huggingface.transformers import RayTrainReportCallback, prepare_trainer

    trainer.add_callback(RayTrainReportCallback())
    return prepare_trainer(trainer)


def _use_ray_device(recipe: Any) -> None:
    """On GPUs, the device Ray Train assigned this worker becomes the current one."""
    from .device import detect_device

    if detect_device(getattr(recipe.options, "device", "auto") or "auto") == "cuda":
        import torch
        from ray.train.torch import get_device

        torch.cuda.set_device(get_device())


def _echo_to(queue: Any) -> Any:
    """Rank 0's echo: onto the driver's queue (its terminal), else this worker's output."""
    from .train import default_echo

    if queue is None:
        return default_echo

    def echo(message: str) -> None:
        queue.put(message)

    return echo


def train_loop(spec: dict[str, Any]) -> None:
    """Ray Train's ``train_loop_per_worker``."""
    import ray.train
    from ftx.errors import FtxError

    context = ray.train.get_context()
    try:
        recipe = _rebuild(spec, context.get_world_size())
    except FtxError as exc:
        # The same on every worker and every retry (a recipe changed, a folder missing): Ray
        # would restart the workers max_failures times for nothing. Rank 0 tells the driver.
        if context.get_world_rank() == 0:
            _write_failure(spec, exc)
        return
    _train(recipe, spec, context)


def _rebuild(spec: dict[str, Any], world: int) -> Any:
    from ftx.errors import BackendError
    from ftx.recipe import load_recipe

    if world != spec["world_size"]:
        raise BackendError(f"the launch planned {spec['world_size']} workers but Ray started {world}")
    recipe = load_recipe(spec["recipe"], spec.get("overrides") or (), backend="local")
    if recipe.snapshot_hash() != spec["recipe_hash"]:
        raise BackendError(f"{spec['recipe']} changed after the run started; run it again")
    run_dir = Path(spec["run_dir"])
    if not run_dir.is_dir():
        raise BackendError(f"the run folder {run_dir} is not on this worker's node: on a cluster, set "
                           "output_dir to storage every node shares")
    return recipe


def _write_failure(spec: dict[str, Any], exc: Exception) -> None:
    from . import outputs

    run_dir = Path(spec["run_dir"])
    if run_dir.is_dir():
        outputs.write_summary(run_dir, {"run_id": spec["run_id"], "run_dir": str(run_dir), "status": "failed",
                                        "error": " ".join(exc.lines()), "launch_id": spec.get("launch_id")})


def _train(recipe: Any, spec: dict[str, Any], context: Any) -> None:
    import ray.train

    from . import resume
    from .context import RunContext
    from .quiet import no_deprecation_notices
    from .train import _silent, run_prepared

    _use_ray_device(recipe)
    ctx = RunContext.from_spec(spec, rank=context.get_world_rank(), local_rank=context.get_local_rank())
    with contextlib.ExitStack() as stack:
        echo = _echo_to(spec.get("echo")) if ctx.is_main else _silent
        # Ray's latest checkpoint when it restarted the workers (or found the run's checkpoints
        # in the storage path, after `ftx run --resume`); else the one `--resume` found.
        checkpoint = _restored(ray.train.get_checkpoint(), stack)
        if checkpoint is not None and not spec.get("resume_checkpoint"):
            echo("Ray restarted the workers after a failure: continuing from its latest checkpoint")
        elif checkpoint is None and spec.get("resume_checkpoint"):
            checkpoint = Path(spec["resume_checkpoint"])
        if checkpoint is not None:
            ctx.checkpoint = checkpoint
            ctx.resume_step = int(resume.checkpoint_state(checkpoint).get("global_step") or 0)
            if ctx.is_main:
                # Ray restarted the workers: the steps logged after the checkpoint are redone.
                resume.trim_metrics(ctx.metrics_path, ctx.resume_step)
            _barrier()
        with no_deprecation_notices():
            run_prepared(recipe, ctx, echo=echo, progress=False, prepare=prepare_for_ray)
