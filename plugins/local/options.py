"""The local backend's own options (``backends.local.*`` keys that are not recipe sections):
device, threads, batching, checkpoints, the multi-process strategy and the Ray cluster."""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field


class LocalOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built when first validated

    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="where to train: auto picks CUDA when available, else CPU")
    gradient_checkpointing: bool | None = Field(
        None, description="recompute activations to save memory; default: off on CPU, on for CUDA "
                          "(except prefix tuning)")
    cpu_threads: int | None = Field(
        None, ge=1, description="torch CPU threads; default: 1 for models under 20M parameters "
                                "(more threads only add overhead, and stall when cores are shared), "
                                "else torch's default")
    batching: Literal["grouped", "random", "padding_free"] | None = Field(
        None, description="SFT batches: grouped (the default) puts examples of similar length together "
                          "(seeded, every example once per epoch, the same per-example loss, little "
                          "padding); random is TRL's order; padding_free flattens each batch into one "
                          "row without padding, where a check on the model before training proves "
                          "each example keeps its padded loss. Other objectives use random order")
    checkpoint_steps: int | None = Field(
        None, ge=1, description="save a resumable checkpoint (weights, optimizer, scheduler, RNG "
                                "states) every this many optimizer steps; default: once per epoch")
    save_total_limit: int = Field(
        1, ge=1, description="checkpoints kept on disk (the newest; with early stopping the best is "
                             "kept as well)")
    keep_checkpoints: bool = Field(
        False, description="keep checkpoints/ after a run succeeds (by default it is removed: a "
                           "finished run has nothing to resume)")
    distributed: Literal["ddp", "fsdp", "deepspeed"] = Field(
        "ddp", description="strategy when training on several processes (ftx run --nproc/--nnodes)")
    fsdp_options: str = Field(
        "full_shard auto_wrap", description="with distributed: fsdp, the sharding options "
                                            "(transformers' TrainingArguments.fsdp)")
    fsdp_config: dict[str, Any] | None = Field(
        None, description="with distributed: fsdp, passed as TrainingArguments.fsdp_config")
    deepspeed_config: Union[dict[str, Any], str, None] = Field(
        None, description="with distributed: deepspeed, a DeepSpeed config (mapping or JSON file) "
                          "passed as TrainingArguments.deepspeed; default: ZeRO stage 2")
    ray: "RayOptions | None" = Field(
        None, description="train on a Ray cluster through Ray Train (see RayOptions; `ftx run --ray`)")


class RayOptions(BaseModel):
    """``backends.local.ray``: train on a Ray cluster through Ray Train (``ftx run --ray``)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built when first validated

    enabled: bool = Field(True, description="train through Ray (set by `ftx run --ray`)")
    address: str | None = Field(
        None, description="the cluster: host:port (its GCS), ray://host:port (Ray Client), auto (one "
                          "already running here) or local (a new instance); default: $RAY_ADDRESS when "
                          "set, else a new local instance")
    workers: int = Field(2, ge=1, description="training workers (processes; one GPU each on GPUs)")
    cpus_per_worker: float = Field(1, gt=0, description="CPUs Ray reserves for each worker")
    gpus_per_worker: float | None = Field(
        None, ge=0, description="GPUs for each worker; default: 1 when backends.local.device is cuda, else 0")
    storage_path: str | None = Field(
        None, description="where Ray keeps the run's checkpoints: a directory every node shares, or any "
                          "URI Ray's storage accepts (s3://, gs://); default: ray/ in the ftx home")
    max_failures: int = Field(
        3, ge=0, description="worker failures Ray recovers from (restarting from the latest checkpoint) "
                             "before the run fails")
    object_store_mb: int = Field(
        128, ge=80, description="object store of a local instance, in MB (ftx passes no data through it)")
    autoscaling: bool = Field(
        False, description="the cluster adds nodes on demand: do not refuse requests above its current "
                           "resources")


LocalOptions.model_rebuild()
