"""The recipe schema. Unknown keys are errors; defaults come from fine-tuning practice."""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..tracking.spec import TrackingSpec

Auto = Literal["auto"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataSpec(Strict):
    train: str = Field(description="training data: a file (jsonl, json, csv, parquet) or hf:NAME")
    validation: str | None = Field(None, description="validation data; else split from train")
    split: float | None = Field(
        None, gt=0, lt=1,
        description="validation fraction split off train when no validation file is given "
                    "(default 0.2; 0.1 from 10,000 examples)")
    format: str = Field("auto", description="data format name, or auto to detect")
    stratify_by: str | None = Field(None, description="record field to stratify the split by")
    seed: int = Field(42, description="seed of the train/validation split")

    @model_validator(mode="after")
    def _split_or_validation(self) -> "DataSpec":
        if self.validation and self.split is not None:
            raise ValueError("give either data.validation or data.split, not both")
        return self


class MethodSpec(BaseModel):
    """``name`` picks a method plugin; the other keys are that method's parameters."""

    model_config = ConfigDict(extra="allow")
    name: str = Field("lora", description="training method: full, lora, qlora, dora, prefix, prompt, ia3, ...")


class Hyperparameters(Strict):
    epochs: Union[int, Auto] = Field(3, description="passes over the training data; auto lets a hosted backend pick")
    learning_rate: float | None = Field(None, gt=0, description="peak learning rate; default from the method (LoRA 2e-4, full 2e-5)")
    learning_rate_multiplier: Union[float, Auto, None] = Field(None, description="hosted backends: multiplier of their base rate")
    batch_size: Union[int, Auto] = Field(4, description="examples per device per step")
    gradient_accumulation: int = Field(1, ge=1, description="steps accumulated per optimizer update")
    warmup_ratio: float = Field(0.03, ge=0, le=0.5, description="share of steps spent warming up the learning rate")
    scheduler: Literal["cosine", "linear", "constant", "constant_with_warmup"] = "cosine"
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float = Field(1.0, gt=0)
    max_length: int = Field(1024, ge=8, description="tokens per example; longer examples are truncated")
    packing: bool | None = Field(None, description="pack short examples together; default: backend decides")
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps")
    beta: float | None = Field(None, gt=0, description="DPO beta (default 0.1)")
    seed: int = 42

    @field_validator("epochs", "batch_size")
    @classmethod
    def _positive(cls, v: Any) -> Any:
        if isinstance(v, int) and v < 1:
            raise ValueError("must be at least 1")
        return v


class EvalSpec(Strict):
    strategy: Literal["no", "steps", "epoch"] = "epoch"
    steps: int | None = Field(None, ge=1, description="evaluate every N steps (strategy: steps)")
    baseline: bool = Field(True, description="evaluate the base model before training, to compare against")
    samples: list[str] = Field(default_factory=list, description="prompts answered before and after training")
    early_stopping_patience: int | None = Field(None, ge=1)


class Recipe(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str | None = None
    model: dict[str, str] = Field(description="base model per backend: {local: ..., openai: ..., vertex: ...}")
    data: DataSpec
    method: MethodSpec = Field(default_factory=MethodSpec)
    objective: Literal["sft", "dpo"] = "sft"
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)
    eval: EvalSpec = Field(default_factory=EvalSpec)
    output_dir: str | None = Field(None, description="where run outputs go; default: the ftx home's runs/")
    tracking: TrackingSpec = Field(default_factory=TrackingSpec,
                                   description="experiment trackers the run reports to: mlflow, wandb, tensorboard")
    backends: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="per-backend overrides: recipe sections to merge, plus the backend's own options")

    @field_validator("model")
    @classmethod
    def _some_model(cls, v: dict[str, str]) -> dict[str, str]:
        if not v:
            raise ValueError("name a base model for at least one backend")
        return v


# Top-level sections a ``backends.NAME`` block may override; its other keys are backend options.
SECTIONS = ("data", "method", "objective", "hyperparameters", "eval", "output_dir")
