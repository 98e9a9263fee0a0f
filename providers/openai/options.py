from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class OpenAIOptions(BaseModel):
    """``backends.openai`` options."""

    model_config = ConfigDict(extra="forbid")
    suffix: str | None = Field(None, max_length=64, description="added to the fine-tuned model's name")
    metadata: dict[str, str] = Field(default_factory=dict, description="job metadata (at most 16 pairs)")
    wandb_project: str | None = Field(None, description="report to Weights & Biases (needs the integration)")
