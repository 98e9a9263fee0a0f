"""The recipe's task-evaluation settings (``eval.test``, ``eval.metrics``, ...): pydantic models
that :class:`ftx.recipe.schema.EvalSpec` embeds, validated with the rest of the recipe."""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

BASELINES = ("zero_shot", "few_shot", "prompt")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GenerationSpec(_Strict):
    max_new_tokens: int = Field(64, ge=1, le=32768, description="at most this many tokens per answer")
    temperature: float = Field(0.0, ge=0, le=2, description="0 = greedy (the default)")
    stop: list[str] = Field(default_factory=list, description="answers are cut at the first of these")
    seed: int = Field(0, description="sampling seed (temperature > 0)")


class FewShotSpec(_Strict):
    k: int = Field(3, ge=1, le=64, description="examples from train shown before each test item")
    seed: int = Field(0, description="seed of the draw (per test item)")


class ForgettingSpec(_Strict):
    probe: Union[Literal["builtin", "none"], str] = Field(
        "builtin", description="general-capability probe: builtin (arithmetic, formatting, copying), "
                               "none, or a file of chat/prompt-completion examples")
    threshold: float = Field(5.0, ge=0, description="warn when the tuned model loses more than this many "
                                                    "points of the probe's exact match (or of a 0-1 harness metric, x100)")
    perplexity: bool = Field(True, description="local models: perplexity on general text, base vs tuned")
    harness: list[str] = Field(default_factory=list,
                               description="lm-evaluation-harness tasks, base vs tuned (local models; ftx[harness]): "
                                           "task names, or local task YAML files / folders (relative to the recipe)")
    harness_limit: int | None = Field(None, ge=1, description="score at most this many documents of each harness "
                                                              "task, on both models (default: every document)")
    size: int = Field(60, ge=10, le=2000, description="items in the builtin probe")


MetricItem = Union[str, dict[str, Any]]


class TaskEvalSpec(_Strict):
    """Fields of ``eval`` about scoring the tuned model on a held-out test set."""

    test: str | None = Field(None, description="held-out test file (any supported format); never trained on")
    metrics: list[MetricItem] = Field(
        default_factory=lambda: ["exact_match", "rouge_l"],
        description="metrics, first = primary: exact_match, accuracy, f1, rouge_l, bleu, chrf, json_valid, "
                    "{json_schema: FILE}, {regex: PATTERN}, perplexity, or a plugin's")
    baselines: list[Literal["zero_shot", "few_shot", "prompt"]] = Field(
        default_factory=lambda: ["zero_shot", "few_shot"], description="base-model baselines to compare with")
    few_shot: FewShotSpec = Field(default_factory=FewShotSpec)
    prompt: str | None = Field(None, description="system prompt of the prompt baseline (best prompt engineering)")
    generation: GenerationSpec = Field(default_factory=GenerationSpec)
    forgetting: ForgettingSpec = Field(default_factory=ForgettingSpec)
    confidence: float = Field(0.95, gt=0.5, lt=1, description="confidence level of the intervals")
    bootstrap: int = Field(1000, ge=100, le=100000, description="bootstrap resamples")
    max_examples: int | None = Field(None, ge=1, description="score only the first N test items")

    @field_validator("metrics")
    @classmethod
    def _metric_items(cls, v: list[MetricItem]) -> list[MetricItem]:
        if not v:
            raise ValueError("name at least one metric")
        for item in v:
            if isinstance(item, dict) and len(item) != 1:
                raise ValueError("a metric with a setting is one key: {regex: PATTERN} or {json_schema: FILE}")
        return v

    @model_validator(mode="after")
    def _prompt_baseline(self) -> "TaskEvalSpec":
        if "prompt" in self.baselines and not self.prompt:
            raise ValueError("the prompt baseline needs eval.prompt (the system prompt to try)")
        return self
