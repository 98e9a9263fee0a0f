"""The local backend's own options (``backends.local.*`` keys that are not recipe sections):
device, threads, batching, checkpoints and the multi-process strategy."""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field


class LocalOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="where to train: auto picks CUDA when available, else CPU")
    gradient_checkpointing: bool | None = Field(
        None, description="recompute activations to save memory; default: off on CPU, on for CUDA "
                          "(except prefix tuning)")
    cpu_threads: int | None = Field(
        None, ge=1, description="torch CPU threads; default: 1 for models under 20M parameters "
                                "(more threads only add overhead, and stall when cores are shared), "
                                "else torch's default")
    batching: Literal["grouped", "random"] = Field(
        "random", description="SFT batch order: random is TRL's order; grouped puts examples of "
                              "similar length together (seeded, every example once per epoch, the "
                              "same per-example loss, little padding; not yet replayed exactly by "
                              "--resume, so not the default)")
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
