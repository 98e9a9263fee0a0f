"""A run's trackers together: opened from the recipe's ``tracking:`` section, each guarded (a
failure warns once and never fails the run), with their state (tracker run ids, the last step
logged per metric) kept in the registry under ``extra.tracking`` so a reattach, a second
process or a resumed run logs into the same tracker runs without duplicating a point."""

from __future__ import annotations

import importlib
import json
import math
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .base import Guarded, RunInfo

#: tracker name -> (module, class, the pip extra that installs it)
TRACKERS = {
    "mlflow": ("ftx.tracking.mlflow_tracker", "MlflowTracker", "mlflow"),
    "wandb": ("ftx.tracking.wandb_tracker", "WandbTracker", "wandb"),
    "tensorboard": ("ftx.tracking.tensorboard_tracker", "TensorBoardTracker", "tensorboard"),
}
#: The trainer integration each tracker uses for local runs (transformers' ``report_to`` names).
REPORT_TO_ENV = "FTX_REPORT_TO"
RUN_NAME_ENV = "FTX_TRACKING_RUN_NAME"
_NOT_METRICS = frozenset({"step", "total_steps"})


def _warn(message: str) -> None:
    import click

    click.echo(f"warning: {message}", err=True)


def spec_of(recipe_or_snapshot: Any) -> Any:
    """The tracking section of a resolved recipe or of a recorded snapshot (``None`` when absent)."""
    from .spec import TrackingSpec

    inner = getattr(recipe_or_snapshot, "recipe", recipe_or_snapshot)
    if isinstance(inner, dict):
        raw = inner.get("tracking")
        return TrackingSpec.model_validate(raw) if raw else None
    return getattr(inner, "tracking", None)


class Tracking:
    """The open trackers of one run (possibly none: every method is then a no-op)."""

    def __init__(self, registry: Any, run_id: str, trackers: list[Guarded], state: dict[str, Any]):
        self.registry, self.run_id, self.trackers, self.state = registry, run_id, trackers, state
        self.summary: dict[str, Any] | None = None  # a local run's summary, set before the run ends

    @classmethod
    def open(cls, spec: Any, registry: Any, run_id: str, warn: Callable[[str], None] = _warn) -> "Tracking":
        from ..home import ftx_home

        run = registry.get_run(run_id)
        state: dict[str, Any] = dict((run.extra or {}).get("tracking") or {})
        names = spec.enabled() if spec is not None else []
        if not names:
            return cls(registry, run_id, [], state)
        info = RunInfo.from_run(run)
        trackers = []
        for name in names:
            module, attr, extra = TRACKERS[name]
            try:
                tracker_cls = getattr(importlib.import_module(module), attr)
                tracker = tracker_cls(getattr(spec, name), info, state, ftx_home())
            except ImportError as exc:
                warn(f"tracking: {name} is not installed ({exc.name or exc}); pip install 'ftx[{extra}]'. "
                     "The run goes on without it")
                continue
            except Exception as exc:
                Guarded(_Failing(name, exc), warn).start()
                continue
            trackers.append(Guarded(tracker, warn))
        tracking = cls(registry, run_id, trackers, state)
        tracking.save()
        return tracking

    def __bool__(self) -> bool:
        return bool(self.trackers)

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.trackers if not t.broken]

    def save(self) -> None:
        try:
            self.registry.merge_json(self.run_id, "extra", {"tracking": self.state})
        except Exception as exc:  # the registry has its own errors to report elsewhere
            _warn(f"tracking: could not record the tracker state ({exc})")

    # -- the trainer's own integrations (local runs) -------------------------------------------
    def trainer_env(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for tracker in self.trackers:
            env.update(tracker.trainer_env() or {})
        names = [n for n in self.names if n in TRACKERS]
        env[REPORT_TO_ENV] = ",".join(names) if names else "none"
        env[RUN_NAME_ENV] = self.run_id
        return env

    @contextmanager
    def environment(self) -> Iterator[None]:
        """The trainer's integrations pointed at this run's tracker runs while the block runs
        (inherited by torchrun's training processes)."""
        from ..environ import environ

        with environ(self.trainer_env() if self.trackers else {}):
            yield

    # -- metric series -------------------------------------------------------------------------
    def log_rows(self, rows: Iterable[dict[str, Any]]) -> int:
        """Log per-step rows (``step`` plus metrics), each (metric, step) once: what was logged
        before (an earlier poll, a process that detached) is skipped. Returns points logged."""
        if not self.trackers:
            return 0
        last: dict[str, int] = self.state.setdefault("last_step", {})
        logged = 0
        for row in rows:
            step = row.get("step")
            if not isinstance(step, int):
                continue
            fresh = {k: float(v) for k, v in row.items() if k not in _NOT_METRICS and _number(v)
                     and step > last.get(k, -1)}
            if not fresh:
                continue
            for tracker in self.trackers:
                tracker.log_metrics(fresh, step)
            for key in fresh:
                last[key] = step
            logged += len(fresh)
        if logged:
            self.save()
        return logged

    # -- the end of a run ----------------------------------------------------------------------
    def finish(self, status: str | None = None, summary: dict[str, Any] | None = None) -> None:
        """Log what every run gets (estimate, actual cost, evaluation results, artifacts,
        lineage) and end the tracker runs."""
        if not self.trackers:
            return
        run = self.registry.get_run(self.run_id)
        status = status or run.status
        if self.state.get("finished") == status:
            return  # recorded already (`ftx jobs wait` on a finished run)
        values = {"estimated_cost_usd": run.estimated_cost_usd, "actual_cost_usd": run.actual_cost_usd}
        values.update(_flat_numbers(run.metrics, prefix="final."))  # not the series' own keys
        for key in ("evaluation", "eval", "evals"):
            values.update(_flat_numbers((run.extra or {}).get(key) or {}, prefix=f"{key}."))
        values = {k: float(v) for k, v in values.items() if _number(v)}
        model = run.model if run.backend != "local" else None
        artifact = (summary or {}).get("artifact") or {}
        if isinstance(artifact, dict) and artifact.get("path"):
            model = artifact["path"]
        tags = {"ftx.status": status}
        if model:
            tags["ftx.model"] = str(model)
            data = ", ".join(f"{role} {digest[:12]}" for role, digest in sorted(run.data_hashes.items()))
            tags["ftx.lineage"] = f"{data or 'no data hash'} -> {model}"
        if run.remote_job_id:
            tags["ftx.remote_job_id"] = run.remote_job_id
        files = _artifact_files(run, summary)
        for tracker in self.trackers:
            tracker.set_tags(tags)
            if values:
                tracker.log_summary(values)
            for path, folder in files:
                tracker.log_artifact(path, folder)
            tracker.finish(status)
        self.state["finished"] = status
        self.save()

    def close(self) -> None:
        """Stop logging without ending the tracker runs (detached: the job goes on)."""
        for tracker in self.trackers:
            tracker.close()


class _Failing:
    """Stands in for a tracker that failed to start, so the failure is warned about once."""

    def __init__(self, name: str, exc: Exception):
        self.name, self.exc = name, exc

    def start(self) -> None:
        raise self.exc


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _flat_numbers(data: Any, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, dict):
                out.update(_flat_numbers(value, f"{prefix}{key}."))
            elif _number(value):
                out[f"{prefix}{key}"] = value
    return out


def _artifact_files(run: Any, summary: dict[str, Any] | None) -> list[tuple[Path, str | None]]:
    """Small files worth keeping beside the tracker run: the resolved recipe, the loss plot,
    metrics.jsonl, the job's record; the model itself is a reference (tag ``ftx.model``)."""
    candidates: list[Any] = []
    files = (summary or {}).get("files") or {}
    candidates += [files.get("recipe"), files.get("loss_plot"), files.get("metrics")]
    arts = run.artifacts or {}
    candidates += [arts.get("metrics"), arts.get("job")]
    if run.output_dir:
        out = Path(run.output_dir)
        candidates += [out / "recipe.resolved.yaml", out / "loss.png", out / "summary.json"]
    seen: set[Path] = set()
    found: list[tuple[Path, str | None]] = []
    for item in candidates:
        if not item:
            continue
        path = Path(item)
        if path.is_file() and path not in seen and path.stat().st_size < 20_000_000:
            seen.add(path)
            found.append((path, "ftx"))
    if run.output_dir and not any(p.name.startswith("recipe.resolved") for p in seen):
        path = Path(run.output_dir) / "recipe.resolved.json"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(run.recipe_snapshot, indent=2, sort_keys=True), encoding="utf-8")
            found.append((path, "ftx"))
        except OSError:
            pass
    return found


@contextmanager
def tracked(recipe: Any, registry: Any, run_id: str) -> Iterator[Tracking]:
    """Around a run on a backend that trains through its own trainer (local): trackers opened,
    the trainer's integrations pointed at them, the common record logged at the end, whichever
    way the run ends."""
    tracking = Tracking.open(spec_of(recipe), registry, run_id)
    try:
        with tracking.environment():
            yield tracking
    except BaseException as exc:
        tracking.finish("interrupted" if isinstance(exc, KeyboardInterrupt) else "failed")
        raise
    tracking.finish(summary=tracking.summary)
