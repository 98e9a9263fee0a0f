"""The local backend's own options: ``backends.local.device`` and ``backends.local.gradient_checkpointing``."""

from __future__ import annotations

from typing import Literal

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
