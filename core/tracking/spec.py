"""The recipe's ``tracking:`` section: which experiment trackers a run reports to.

    tracking:
      mlflow: {experiment: support-bot}      # or `mlflow: true` for the defaults
      wandb: {project: support-bot}          # offline unless WANDB_MODE / mode says otherwise
      tensorboard: {}                        # event files under the ftx home's tensorboard/

A tracker is used when the recipe names it; the usual environment variables fill what the
recipe leaves out (``MLFLOW_TRACKING_URI``, ``MLFLOW_EXPERIMENT_NAME``, ``WANDB_PROJECT``,
``WANDB_ENTITY``, ``WANDB_MODE``, ``WANDB_DIR``, ``TENSORBOARD_LOGGING_DIR``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MlflowSpec(_Strict):
    experiment: str | None = Field(None, description="experiment name (default: $MLFLOW_EXPERIMENT_NAME, else ftx)")
    tracking_uri: str | None = Field(
        None, description="tracking server or store (default: $MLFLOW_TRACKING_URI, else a SQLite store "
                          "in the ftx home: offline)")
    tags: dict[str, str] = Field(default_factory=dict, description="extra tags on every run")


class WandbSpec(_Strict):
    project: str | None = Field(None, description="project (default: $WANDB_PROJECT, else ftx)")
    entity: str | None = Field(None, description="team or user (default: $WANDB_ENTITY)")
    mode: Literal["offline", "online", "disabled"] | None = Field(
        None, description="default: $WANDB_MODE, else offline (sync later with `wandb sync`)")
    tags: list[str] = Field(default_factory=list)


class TensorBoardSpec(_Strict):
    log_dir: str | None = Field(
        None, description="root folder; each run writes to LOG_DIR/RUN_ID (default: $TENSORBOARD_LOGGING_DIR's "
                          "parent, else the ftx home's tensorboard/)")


def _enable(value: Any) -> Any:
    """``true`` turns a tracker on with its defaults, ``false``/null leaves it off."""
    if value is True:
        return {}
    if value is False:
        return None
    return value


class TrackingSpec(_Strict):
    mlflow: MlflowSpec | None = Field(None, description="log to MLflow")
    wandb: WandbSpec | None = Field(None, description="log to Weights & Biases")
    tensorboard: TensorBoardSpec | None = Field(None, description="write TensorBoard event files")

    @field_validator("mlflow", "wandb", "tensorboard", mode="before")
    @classmethod
    def _switch(cls, value: Any) -> Any:
        return _enable(value)

    def enabled(self) -> list[str]:
        return [name for name in ("mlflow", "wandb", "tensorboard") if getattr(self, name) is not None]
