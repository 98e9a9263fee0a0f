from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TogetherOptions(BaseModel):
    """``backends.together`` options."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built when first validated
    suffix: str | None = Field(None, min_length=1, max_length=24, pattern=r"^[A-Za-z0-9_-]+$",
                               description="added to the tuned model's name (ftx appends its key tag)")
    n_checkpoints: int = Field(1, ge=1, le=20, description="intermediate checkpoints to keep")
    n_evals: int | None = Field(None, ge=0, le=100, description="evaluations on the validation set "
                                                                 "(default: one per epoch when there is one)")
    train_on_inputs: bool | Literal["auto"] = Field("auto", description="SFT: also train on the prompt turns")
    download: Literal["none", "adapter", "merged"] = Field(
        "none", description="download the tuned weights into the run's folder when the job succeeds")
    wandb_project_name: str | None = Field(None, description="report to Weights & Biases (key: WANDB_API_KEY)")
