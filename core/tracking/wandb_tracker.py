"""Weights & Biases: offline unless ``mode``/``WANDB_MODE`` says otherwise (``wandb sync``
uploads later). The W&B run id is ftx's run id, so the local trainer's W&B integration (which
reuses the run ftx opened) and a later reattach resume the same run."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .base import Tracker


class WandbTracker(Tracker):
    name = "wandb"

    def __init__(self, *args: Any):
        super().__init__(*args)
        spec = self.spec
        self.mode = spec.mode or os.environ.get("WANDB_MODE") or "offline"
        self.project = spec.project or os.environ.get("WANDB_PROJECT") or "ftx"
        self.entity = spec.entity or os.environ.get("WANDB_ENTITY")
        self.dir = Path(os.environ.get("WANDB_DIR") or self.home / "wandb")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.id = re.sub(r"[^A-Za-z0-9_-]", "-", self.info.run_id)
        self.run = self._open()
        self.state["wandb_run_id"] = self.id
        self.state["wandb_dir"] = str(self.dir)

    def _open(self) -> Any:
        import wandb

        if wandb.run is not None and wandb.run.id == self.id:
            return wandb.run
        return wandb.init(project=self.project, entity=self.entity, id=self.id, name=self.info.run_id,
                          resume="allow", mode=self.mode, dir=str(self.dir),
                          tags=[*self.spec.tags, self.info.backend, self.info.recipe][:64],
                          config={**self.info.params, **self.info.tags()}, settings=wandb.Settings(silent=True),
                          reinit="finish_previous")

    def trainer_env(self) -> dict[str, str]:
        env = {"WANDB_PROJECT": self.project, "WANDB_MODE": self.mode, "WANDB_DIR": str(self.dir),
               "WANDB_RUN_ID": self.id, "WANDB_RESUME": "allow", "WANDB_NAME": self.info.run_id}
        if self.entity:
            env["WANDB_ENTITY"] = self.entity
        return env

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.run.log(dict(metrics), step=int(step))

    def log_summary(self, values: dict[str, float]) -> None:
        self.run.summary.update(dict(values))

    def set_tags(self, tags: dict[str, str]) -> None:
        self.run.config.update(dict(tags), allow_val_change=True)

    def log_artifact(self, path: Path, folder: str | None = None) -> None:
        self.run.save(str(path), base_path=str(path.parent), policy="now")

    def finish(self, status: str) -> None:
        self.run.finish(exit_code=0 if status == "succeeded" else 1)

    def close(self) -> None:
        self.run.finish()
