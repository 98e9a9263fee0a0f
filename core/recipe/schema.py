"""The recipe schema. Unknown keys are errors; defaults come from fine-tuning practice."""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..eval.spec import TaskEvalSpec
from ..data.sources import MixSpec, ReplaySpec, SourceSpec
from .regularization import RegularizationSpec
from ..tracking.spec import TrackingSpec

Auto = Literal["auto"]


class Strict(BaseModel):
    # inf/nan are never a usable number here (an infinite learning rate passed validation)
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, v: Any, info: Any) -> Any:
        """YAML's ``true`` is not the number 1 (``epochs: true`` used to train one epoch)."""
        if isinstance(v, bool) and info.field_name and not _admits_bool(cls.model_fields[info.field_name].annotation):
            raise ValueError("must be a number, not true/false" if _admits_number(
                cls.model_fields[info.field_name].annotation) else "must not be true/false")
        return v


def _type_args(annotation: Any) -> set[Any]:
    from typing import get_args

    args = set(get_args(annotation))
    return {annotation} | set().union(*(_type_args(a) for a in args)) if args else {annotation}


def _admits_bool(annotation: Any) -> bool:
    return bool({bool, Any} & _type_args(annotation))


def _admits_number(annotation: Any) -> bool:
    return bool({int, float} & _type_args(annotation))



class DataSpec(Strict):
    train: Union[str, list[SourceSpec]] = Field(
        description="training data: a file (jsonl, json, csv, parquet) or hf:NAME, or a list of sources to mix")
    validation: str | None = Field(None, description="validation data; else split from train")
    split: float | None = Field(
        None, gt=0, lt=1,
        description="validation fraction split off train when no validation file is given "
                    "(default 0.2; 0.1 from 10,000 examples)")
    format: str = Field("auto", description="data format name, or auto to detect")
    stratify_by: str | None = Field(None, description="record field to stratify the split by")
    seed: int = Field(42, ge=0, le=2**32 - 1, description="seed of the train/validation split (and of the mix)")
    replay: ReplaySpec | None = Field(None, description="general data mixed in against forgetting")
    mix: MixSpec = Field(default_factory=MixSpec, description="how several sources become one training set")

    @model_validator(mode="after")
    def _split_or_validation(self) -> "DataSpec":
        if self.validation and self.split is not None:
            raise ValueError("give either data.validation or data.split, not both")
        if isinstance(self.train, list) and not self.train:
            raise ValueError("data.train needs at least one source")
        return self


class MethodSpec(BaseModel):
    """``name`` picks a method plugin; the other keys are that method's parameters."""

    model_config = ConfigDict(extra="allow")
    name: str = Field("lora", description="training method: full, lora, qlora, dora, prefix, prompt, ia3, ...")
    regularization: RegularizationSpec | None = Field(
        None, description="pull the trained weights toward the base model (l2sp, ewc; local backend)")


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
    beta: float | None = Field(None, gt=0, description="preference-objective beta (DPO, ORPO, KTO; default 0.1)")
    seed: int = Field(42, ge=0, le=2**32 - 1, description="training seed (numpy and torch take 0 to 2**32-1)")

    @field_validator("epochs", "batch_size")
    @classmethod
    def _positive(cls, v: Any) -> Any:
        if isinstance(v, int) and v < 1:
            raise ValueError("must be at least 1")
        return v


class EvalSpec(TaskEvalSpec):  # test, metrics, baselines, ...: see ftx.eval.spec
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
    objective: str = Field("sft", description="training objective: sft, dpo, orpo, kto, ... (objective plugins)")
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
