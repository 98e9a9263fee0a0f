"""MLflow: one MLflow run per ftx run, named after the ftx run id.

Offline by default: without ``tracking_uri`` or ``MLFLOW_TRACKING_URI`` the store is SQLite in
the ftx home (``mlflow ui --backend-store-uri sqlite:///$FTX_HOME/mlflow/mlflow.db`` shows it),
MLflow's own recommended local backend since its file store went into maintenance. ftx creates
the run through ``MlflowClient`` and hands its id to the trainer (``MLFLOW_RUN_ID``), so the
trainer's own MLflow integration logs the training curves into the same run.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from .base import Tracker

_STATUS = {"succeeded": "FINISHED", "failed": "FAILED", "cancelled": "KILLED", "interrupted": "KILLED"}
MAX_PARAM = 6000  # MLflow's limit on a parameter value


class MlflowTracker(Tracker):
    name = "mlflow"

    def __init__(self, *args: Any):
        super().__init__(*args)
        from mlflow.tracking import MlflowClient

        spec = self.spec
        root = self.home / "mlflow"
        default = not (spec.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI"))
        if default:
            root.mkdir(parents=True, exist_ok=True)
        self.uri = spec.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{root / 'mlflow.db'}"
        self.experiment = spec.experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or "ftx"
        self.client = MlflowClient(tracking_uri=self.uri)
        found = self.client.get_experiment_by_name(self.experiment)
        if found is not None:
            experiment_id = found.experiment_id
        else:
            location = (root / "artifacts").as_uri() if default else None
            experiment_id = self.client.create_experiment(self.experiment, artifact_location=location)
        run_id = self.state.get("mlflow_run_id")
        if run_id and not self._exists(run_id):
            run_id = None  # the store was moved or wiped: start a new run
        if not run_id:
            run = self.client.create_run(experiment_id, run_name=self.info.run_id,
                                         tags={**self.info.tags(), **spec.tags})
            self.run_id = run.info.run_id
            self.state["mlflow_run_id"] = self.run_id
            self.state["mlflow_uri"] = self.uri
            self.log_params({f"ftx.{k}": v for k, v in self.info.params.items()})
        self.run_id = run_id or self.run_id

    def _exists(self, run_id: str) -> bool:
        try:
            self.client.get_run(run_id)
            return True
        except Exception:
            return False

    def trainer_env(self) -> dict[str, str]:
        return {"MLFLOW_TRACKING_URI": self.uri, "MLFLOW_EXPERIMENT_NAME": self.experiment,
                "MLFLOW_RUN_ID": self.run_id}

    def log_params(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, str(v)[:MAX_PARAM]) for k, v in sorted(params.items())]
        for start in range(0, len(items), 100):  # MLflow takes at most 100 params a batch
            self.client.log_batch(self.run_id, params=items[start:start + 100])

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, int(step)) for k, v in sorted(metrics.items())]
        if items:
            self.client.log_batch(self.run_id, metrics=items)

    def set_tags(self, tags: dict[str, str]) -> None:
        from mlflow.entities import RunTag

        if tags:
            self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in sorted(tags.items())])

    def log_summary(self, values: dict[str, float]) -> None:
        self.log_metrics(values, 0)

    def log_artifact(self, path: Path, folder: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(path), folder)

    def finish(self, status: str) -> None:
        self.client.set_terminated(self.run_id, _STATUS.get(status, "FINISHED"))
