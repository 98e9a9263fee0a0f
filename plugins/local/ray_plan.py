"""The Ray cluster plan of a local-backend run (``ftx run --ray``): which cluster, how many
workers with which resources, where checkpoints go; and the refusals of what cannot run.

Imports nothing heavy for a local instance (``--dry-run`` starts nothing). With an address it
first checks the address answers (a TCP connection, no Ray import), then asks the cluster for its
resources through Ray itself, so an impossible request is refused before anything is recorded.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ftx.errors import BackendError

FIELD = "backends.local.ray"
DEFAULT_GCS_PORT = 6379
DEFAULT_CLIENT_PORT = 10001
CONNECT_TIMEOUT_S = 5.0


@dataclass
class Cluster:
    """What a Ray run asks for, resolved from ``backends.local.ray`` and the environment."""

    address: str | None  # None: a new local instance
    workers: int
    cpus_per_worker: float
    gpus_per_worker: float
    storage_path: str
    max_failures: int
    object_store_mb: int
    autoscaling: bool

    @property
    def local(self) -> bool:
        return self.address is None

    @property
    def use_gpu(self) -> bool:
        return self.gpus_per_worker > 0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "address": self.address or "local instance"}


def ray_options(options: Any) -> Any:
    """The recipe's ``backends.local.ray`` section when it asks for Ray, else ``None``."""
    section = getattr(options, "ray", None)
    return section if section is not None and section.enabled else None


def resolve(options: Any) -> Cluster:
    """The cluster the recipe's options and ``$RAY_ADDRESS`` name."""
    from ftx.home import ftx_home

    ray = ray_options(options)
    if ray is None:
        raise BackendError("the recipe does not ask for Ray (backends.local.ray)")
    address = ray.address if ray.address is not None else (os.environ.get("RAY_ADDRESS") or None)
    if address in ("local", ""):
        address = None
    gpus = ray.gpus_per_worker
    if gpus is None:
        gpus = 1.0 if (getattr(options, "device", "auto") or "auto") == "cuda" else 0.0
    storage = ray.storage_path or str(ftx_home() / "ray")
    if "://" not in storage:
        storage = str(Path(storage).expanduser().resolve())
    return Cluster(address=address, workers=ray.workers, cpus_per_worker=ray.cpus_per_worker,
                   gpus_per_worker=float(gpus), storage_path=storage, max_failures=ray.max_failures,
                   object_store_mb=ray.object_store_mb, autoscaling=ray.autoscaling)


def endpoint(address: str) -> tuple[str, int] | None:
    """(host, port) an address connects to; ``None`` for ``auto`` (found through this machine)."""
    if address == "auto":
        return None
    if "://" in address:
        url = urlparse(address)
        if url.scheme != "ray" or not url.hostname:
            raise BackendError(f"Ray address {address!r} is not host:port or ray://host:port", field=f"{FIELD}.address")
        return url.hostname, url.port or DEFAULT_CLIENT_PORT
    host, _, port = address.rpartition(":")
    if not host:
        host, port = address, str(DEFAULT_GCS_PORT)
    if not port.isdigit():
        raise BackendError(f"Ray address {address!r} is not host:port or ray://host:port", field=f"{FIELD}.address")
    return host, int(port)


def check_reachable(address: str) -> None:
    """One clear line when nothing answers at ``address`` (before Ray's own long retries)."""
    target = endpoint(address)
    if target is None:
        return
    try:
        with socket.create_connection(target, timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise BackendError(f"cannot reach the Ray cluster at {address} ({reason.lower()}); start it "
                           "(`ray start --head`, `ray up`) or check the address", field=f"{FIELD}.address") from None


def local_gpus() -> int:
    """GPUs a local instance would have (without importing torch or Ray)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"])
    smi = shutil.which("nvidia-smi")
    if not smi:
        return 0
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


def local_resources(cluster: Cluster) -> dict[str, float]:
    """The resources ftx gives a local instance: what the workers need, and this machine's GPUs."""
    return {"CPU": cluster.workers * cluster.cpus_per_worker, "GPU": float(local_gpus())}


def cluster_resources(address: str) -> dict[str, float]:
    """The attached cluster's total resources (connects through Ray, then disconnects)."""
    from .ray_engine import connect, disconnect

    try:
        ray = connect(address)
    except Exception as exc:  # noqa: BLE001 - Ray raises many kinds; the user needs one line
        raise BackendError(f"cannot connect to the Ray cluster at {address}: {_first_line(exc)}",
                           field=f"{FIELD}.address") from None
    try:
        return {k: float(v) for k, v in ray.cluster_resources().items()}
    finally:
        disconnect()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def check_request(cluster: Cluster, resources: dict[str, float]) -> None:
    """Refuse a request the cluster cannot hold: Ray would wait for it forever."""
    if cluster.autoscaling:
        return
    where = "this machine" if cluster.local else f"the Ray cluster at {cluster.address}"
    gpus = cluster.workers * cluster.gpus_per_worker
    if gpus > resources.get("GPU", 0):
        raise BackendError(f"{cluster.workers} workers x {cluster.gpus_per_worker:g} GPUs need {gpus:g} GPUs; "
                           f"{where} has {resources.get('GPU', 0):g}", field=f"{FIELD}.gpus_per_worker")
    cpus = cluster.workers * cluster.cpus_per_worker
    if not cluster.local and cpus > resources.get("CPU", 0):
        raise BackendError(f"{cluster.workers} workers x {cluster.cpus_per_worker:g} CPUs need {cpus:g} CPUs; "
                           f"{where} has {resources.get('CPU', 0):g}", field=f"{FIELD}.cpus_per_worker")


def check_engine(options: Any, method: Any) -> list[str]:
    """What the Ray engine cannot honour in these options (one message each)."""
    out = []
    strategy = getattr(options, "distributed", "ddp") or "ddp"
    if strategy != "ddp":
        out.append(f"backends.local.distributed is {strategy}; the Ray engine trains with ddp only "
                   "(use torchrun, --nproc, for fsdp or deepspeed)")
    ray = ray_options(options)
    device = getattr(options, "device", "auto") or "auto"
    if ray is not None and device == "cuda" and ray.gpus_per_worker == 0:
        out.append("backends.local.device is cuda but backends.local.ray.gpus_per_worker is 0")
    gpus = (ray.gpus_per_worker if ray.gpus_per_worker is not None else float(device == "cuda")) if ray else 0
    if ray is not None and getattr(method, "quantized", False) and gpus > 0 and ray.workers > 1:
        # The quantized base is loaded with device_map {"": 0}: workers sharing a node would all
        # put it on that node's first GPU.
        out.append("a quantized method on several GPU workers would load every base model onto one GPU; "
                   "use workers: 1, or lora")
    if ray is not None and device == "cpu" and (ray.gpus_per_worker or 0) > 0:
        out.append("backends.local.device is cpu but backends.local.ray.gpus_per_worker asks for GPUs")
    return out


def plan(recipe: Any, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Updates to the plan ``--dry-run`` shows: the cluster, and the batch and steps over its
    workers. Refuses (one line) what the cluster cannot run."""
    from .distributed import _per_device_batch, batch_and_steps

    problems = check_engine(recipe.options, recipe.method)
    if problems:
        raise BackendError(problems[0], field=FIELD)
    cluster = resolve(recipe.options)
    if cluster.local:
        resources = local_resources(cluster)
    else:
        check_reachable(cluster.address)
        resources = cluster_resources(cluster.address)
    check_request(cluster, resources)
    world = cluster.workers
    batch, _ = _per_device_batch(recipe)
    per_worker = f"{cluster.cpus_per_worker:g} CPU" + (f", {cluster.gpus_per_worker:g} GPU" if cluster.use_gpu else "")
    have = ", ".join(f"{resources.get(k, 0):g} {k}" for k in ("CPU", "GPU"))
    return {
        "cluster": {
            "engine": "ray (Ray Train TorchTrainer)",
            "address": cluster.address or ("local instance (started for this run)"),
            "workers": f"{world} x ({per_worker})",
            "resources": f"{have} ({'would be given to the local instance' if cluster.local else 'in the cluster now'})",
            "communication": "nccl" if cluster.use_gpu else "gloo",
            "storage": cluster.storage_path,
            "max failures": cluster.max_failures,
            "batch per worker": batch,
        },
        **batch_and_steps(recipe, data, world, "worker", "workers"),
    }
