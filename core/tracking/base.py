"""What every tracker does, and the guard that keeps a failing tracker from failing a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


@dataclass
class RunInfo:
    """The run as trackers see it: ftx's run id is the tracker's run name."""

    run_id: str
    recipe: str
    backend: str
    recipe_hash: str
    model: str | None = None
    method: str | None = None
    objective: str | None = None
    data_hashes: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_run(cls, run: Any) -> "RunInfo":
        snap = run.recipe_snapshot or {}
        method = snap.get("method") or {}
        hp = snap.get("hyperparameters") or {}
        params = {f"hyperparameters.{k}": v for k, v in hp.items() if v is not None}
        params.update({f"method.{k}": v for k, v in method.items() if v is not None})
        return cls(run.id, run.name, run.backend, run.recipe_hash,
                   model=(run.extra or {}).get("base_model") or _base_model(snap, run.backend) or run.model,
                   method=method.get("name"), objective=snap.get("objective"), data_hashes=dict(run.data_hashes),
                   params=params)

    def tags(self) -> dict[str, str]:
        """Lineage: which recipe and data made this run (and, once known, which model it made)."""
        tags = {"ftx.run_id": self.run_id, "ftx.recipe": self.recipe, "ftx.recipe_hash": self.recipe_hash,
                "ftx.backend": self.backend}
        for key in ("model", "method", "objective"):
            if getattr(self, key):
                tags[f"ftx.{'base_model' if key == 'model' else key}"] = str(getattr(self, key))
        for role, digest in sorted(self.data_hashes.items()):
            tags[f"ftx.data.{role}"] = digest
        return tags


def _base_model(snapshot: dict[str, Any], backend: str) -> str | None:
    model = snapshot.get("model")
    return model.get(backend) if isinstance(model, dict) else model


class Tracker:
    """One experiment tracker for one run. ``state`` is what the tracker needs to find its run
    again (a reattach, a second process); it is stored in the registry."""

    name = "tracker"

    def __init__(self, spec: Any, info: RunInfo, state: dict[str, Any], home: Path):
        self.spec, self.info, self.state, self.home = spec, info, state, home

    def trainer_env(self) -> dict[str, str]:
        """Environment for the trainer's own integration (local runs): the same run, same store."""
        return {}

    def log_params(self, params: dict[str, Any]) -> None: ...

    def log_metrics(self, metrics: dict[str, float], step: int) -> None: ...

    def set_tags(self, tags: dict[str, str]) -> None: ...

    def log_summary(self, values: dict[str, float]) -> None:
        """Single values of the whole run (cost, estimate, final evaluation)."""

    def log_artifact(self, path: Path, folder: str | None = None) -> None: ...

    def finish(self, status: str) -> None: ...

    def close(self) -> None:
        """Release resources without ending the run (a detach: the run goes on)."""


class Guarded:
    """A tracker whose first failure is warned about once and switches it off: tracking never
    fails or loses a training run."""

    def __init__(self, tracker: Tracker, warn: Callable[[str], None]):
        self.tracker = tracker
        self.name = tracker.name
        self.warn = warn
        self.broken = False

    def __getattr__(self, method: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if self.broken:
                return None
            try:
                return getattr(self.tracker, method)(*args, **kwargs)
            except Exception as exc:  # any tracker bug or outage: warn once, carry on
                self.broken = True
                self.warn(f"tracking: {self.name} failed ({type(exc).__name__}: {_short(exc)}); "
                          "the run goes on without it")
                return None

        return call


def _short(exc: BaseException) -> str:
    from ..redact import redact_text

    text = " ".join(str(exc).split())
    return redact_text(text[:300])
