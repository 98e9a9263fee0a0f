"""Train a local-backend run on a Ray cluster through Ray Train (``ftx run --ray``).

The ``ftx run`` process is Ray's driver: it prepares the run folder and records the run exactly as
for torchrun (:mod:`.launch`), starts or attaches to Ray, and hands Ray Train's ``TorchTrainer``
the worker loop of :mod:`.ray_worker` with a launch spec (recipe path, overrides, run id and
folder). Ray starts the workers, joins them into one torch process group (gloo on CPU, NCCL on
GPUs) and, when one dies, restarts the whole group from the latest checkpoint reported to the
storage path, up to ``max_failures`` times. The driver never trains; the workers never touch the
registry. Rank 0 writes the outputs and the summary the driver reads, as under torchrun.

Ray is imported here only, and only when a run asks for it.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any, Callable

from ftx.errors import BackendError

from .ray_plan import Cluster, resolve

# Ray reads these when it is imported or started: no usage report, no dashboard downloads, no
# log deduplication (only rank 0 prints, and a repeated loss line is news, not noise).
QUIET_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_DEDUP_LOGS": "0", "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0",
             "RAY_TRAIN_ENABLE_PRINT_PATCH": "0"}


def _quiet_ray() -> None:
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)


def connect(address: str | None, cluster: Cluster | None = None) -> Any:
    """``ray``, initialised: attached to ``address``, or a new local instance sized for ``cluster``."""
    _quiet_ray()
    import ray

    if ray.is_initialized():
        ray.shutdown()
    # The workers' own output (Ray's per-checkpoint notices, library chatter) stays in Ray's logs;
    # what rank 0 means for the user reaches this terminal through a queue (see _Lines).
    # FTX_DEBUG=1 shows everything.
    common = {"include_dashboard": False, "log_to_driver": bool(os.environ.get("FTX_DEBUG")),
              "configure_logging": True, "logging_level": "error"}
    if address is None:
        cpus = cluster.workers * cluster.cpus_per_worker if cluster else 1
        ray.init(address="local", num_cpus=max(1, int(-(-cpus // 1))),
                 object_store_memory=(cluster.object_store_mb if cluster else 128) * 1024 * 1024,
                 **common)
    else:
        ray.init(address=address, **common)
    return ray


def disconnect() -> None:
    """Leave the cluster (a local instance this process started stops with it)."""
    import ray

    if ray.is_initialized():
        ray.shutdown()


def run_ray(recipe: Any, plan: Any, echo: Callable[[str], None], progress: bool = True) -> dict[str, Any]:
    """Train ``recipe`` on the Ray cluster its ``backends.local.ray`` names; returns rank 0's summary."""
    from .context import prepare_run
    from .models import resolve_model
    from .outputs import write_summary

    if recipe.path is None:
        raise BackendError("training on Ray needs the recipe in a file (each worker reads it)")
    cluster = resolve(recipe.options)
    ctx = prepare_run(recipe, plan)
    ctx.world_size, ctx.strategy, ctx.launch_id = cluster.workers, "ddp", uuid.uuid4().hex
    resolve_model(recipe.model)  # builds the embedded tiny model once, before the workers race to
    spec = {"recipe": str(Path(recipe.path).resolve()), "overrides": list(getattr(plan, "overrides", ()) or ()),
            "recipe_hash": recipe.snapshot_hash(), "progress": progress, **ctx.to_spec(),
            "resume_checkpoint": str(ctx.checkpoint) if ctx.checkpoint else None}
    record = getattr(plan, "record", None)
    if callable(record):
        record(engine="ray", strategy="ddp", world_size=cluster.workers, ray=cluster.to_dict())
    where = "a local Ray instance" if cluster.local else f"the Ray cluster at {cluster.address}"
    echo(f"launching {cluster.workers} Ray Train workers on {where} (ddp over "
         f"{'nccl' if cluster.use_gpu else 'gloo'}; checkpoints in {cluster.storage_path}, up to "
         f"{cluster.max_failures} failures recovered)")
    try:
        connect(cluster.address, cluster)
    except Exception as exc:  # noqa: BLE001 - Ray raises many kinds; the user needs one line
        raise BackendError(f"could not {'start a local Ray instance' if cluster.local else 'attach to ' + where}: "
                           f"{_reason(exc)}") from None
    error: BaseException | None = None
    try:
        with _Lines(echo) as lines:
            spec["echo"] = lines.queue
            try:
                _trainer(cluster, ctx.run_id, spec).fit()
            except Exception as exc:  # noqa: BLE001 - Ray wraps the workers' errors; reported below
                error = exc
    finally:
        disconnect()
    summary = _summary_of(ctx.run_dir, ctx.launch_id)
    if error is None and summary and summary.get("status") == "succeeded":
        summary["engine"] = "ray"
        write_summary(ctx.run_dir, summary)
        if not getattr(recipe.options, "keep_checkpoints", False):
            _remove_storage(cluster, ctx.run_id)
        return summary
    if summary and summary.get("error"):
        raise BackendError(f"training failed: {summary['error']}")
    raise BackendError(f"the Ray Train run failed: {_reason(error)}")


class _Lines:
    """Rank 0's lines for the user, carried from the worker (on any node) to this terminal by a
    Ray queue and echoed by a thread while ``fit()`` blocks."""

    def __init__(self, echo: Callable[[str], None]):
        from ray.util.queue import Queue

        self.echo = echo
        self.queue = Queue(actor_options={"num_cpus": 0})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pump, name="ftx-ray-lines", daemon=True)

    def __enter__(self) -> "_Lines":
        self._thread.start()
        return self

    def _pump(self) -> None:
        from ray.util.queue import Empty

        while True:
            try:
                self.echo(self.queue.get(timeout=0.3))
            except Empty:
                if self._stop.is_set():
                    return
            except Exception:  # noqa: BLE001 - the queue's actor is gone (Ray shut down)
                return

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        try:
            self.queue.shutdown()
        except Exception:  # noqa: BLE001 - nothing to stop any more
            pass


def _trainer(cluster: Cluster, run_id: str, spec: dict[str, Any]) -> Any:
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    from .ray_worker import train_loop

    resources = {"CPU": cluster.cpus_per_worker}
    if cluster.use_gpu:
        resources["GPU"] = cluster.gpus_per_worker
    # The run id names the Ray run: a resumed ftx run (same id) finds its checkpoints again.
    return TorchTrainer(
        train_loop,
        train_loop_config=spec,
        torch_config=TorchConfig(backend="nccl" if cluster.use_gpu else "gloo"),
        scaling_config=ScalingConfig(num_workers=cluster.workers, use_gpu=cluster.use_gpu,
                                     resources_per_worker=resources),
        run_config=RunConfig(name=run_id, storage_path=cluster.storage_path,
                             failure_config=FailureConfig(max_failures=cluster.max_failures),
                             checkpoint_config=CheckpointConfig(num_to_keep=2)),
    )


def _reason(error: BaseException | None) -> str:
    if error is None:
        return "no summary was written (see the output above)"
    text = [line for line in str(error).strip().splitlines() if line.strip()]
    return text[-1] if text else type(error).__name__


def _summary_of(run_dir: Path, launch_id: str | None) -> dict[str, Any] | None:
    from .launch import _summary_of as summary_of

    return summary_of(run_dir, launch_id)


def _remove_storage(cluster: Cluster, run_id: str) -> None:
    """A finished run has nothing to resume: drop its Ray checkpoints (local storage only; a
    bucket's retention is the user's)."""
    if "://" in cluster.storage_path:
        return
    folder = Path(cluster.storage_path) / run_id
    if folder.is_dir():
        shutil.rmtree(folder, ignore_errors=True)
