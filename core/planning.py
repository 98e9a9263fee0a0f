"""``ftx run --dry-run``: resolve, check the backend's capabilities, validate data, plan. Spends nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import BackendError, Problem


@dataclass
class RunOptions:
    """How the user asked to run: flags of ``ftx run`` that are not recipe fields."""

    yes: bool = False  # skip the cost confirmation of paid backends
    max_cost: float | None = None  # refuse to launch above this many dollars
    watch: bool = True  # follow a hosted job until it ends (else return after launch)
    resume: bool = False  # continue an interrupted run
    extra: dict[str, Any] = field(default_factory=dict)  # backend-specific flags (e.g. nproc)


@dataclass
class RunPlan:
    recipe: Any  # ResolvedRecipe
    backend: Any  # Backend
    data: dict[str, Any]
    details: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    options: RunOptions = field(default_factory=RunOptions)
    run_id: str | None = None  # set once the run is recorded in the registry


def plan_run(recipe_ref: str, backend_name: str, overrides: tuple[str, ...] = (),
             options: RunOptions | None = None) -> RunPlan:
    from .components import get_backend
    from .data.plan import plan_data
    from .recipe import load_recipe

    backend = get_backend(backend_name)
    recipe = load_recipe(recipe_ref, overrides, backend=backend_name)
    findings = backend.check(recipe)
    problems: list[Problem] = []
    for f in findings:
        if f.level == "error":
            path = tuple(int(p) if p.isdigit() else p for p in f.field.split(".")) if f.field else ()
            file, line = recipe.located.where(path)
            problems.append(Problem(f.message, file=file, line=line, field=f.field))
    data, data_problems, data_warnings = plan_data(recipe, backend)
    problems.extend(data_problems)
    if problems:
        raise BackendError(problems=problems)
    warnings = [str(w) for w in recipe.warnings]
    warnings += [f"{f.field}: {f.message}" if f.field else f.message for f in findings if f.level == "warning"]
    warnings += data_warnings
    return RunPlan(recipe, backend, data, backend.plan(recipe, data), warnings, options or RunOptions())


def execute(plan: RunPlan) -> Any:
    """Run a plan. Hosted backends record their own runs (their orchestrator must write the
    idempotency key before any remote call); for the others the run is recorded here, before
    training starts and again with its outcome, whichever way it ends."""
    if getattr(plan.backend, "hosted", False):
        return plan.backend.run(plan.recipe, plan)
    from .registry import Registry

    recipe = plan.recipe
    with Registry() as registry:
        run = registry.create_run(recipe.recipe.name, plan.backend.name, recipe.to_dict(), recipe.snapshot_hash(),
                                  model=recipe.model, data_hashes=data_hashes(recipe), status="running")
        plan.run_id = run.id
        try:
            summary = plan.backend.run(recipe, plan)
        except BaseException as exc:
            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            registry.update_run(run.id, status=status, error=f"{type(exc).__name__}: {exc}")
            raise
        registry.update_run(run.id, **_recorded(summary))
    return summary


def _recorded(summary: Any) -> dict[str, Any]:
    """Registry fields from a backend's summary mapping (status, metrics, artifacts, output dir)."""
    if not isinstance(summary, dict):
        return {"status": "succeeded"}
    metric_keys = ("final_train_loss", "final_eval_loss", "baseline_eval_loss", "best_eval_loss", "best_eval_step",
                   "steps", "epochs", "train_time_s", "tokens_per_second", "peak_memory_mb", "health")
    artifacts = dict(summary.get("files") or {})
    artifact = summary.get("artifact")
    if isinstance(artifact, dict) and artifact.get("path"):
        artifacts[artifact.get("kind", "model")] = artifact["path"]
    fields: dict[str, Any] = {
        "status": summary.get("status", "succeeded"),
        "metrics": {k: summary[k] for k in metric_keys if summary.get(k) is not None},
        "artifacts": artifacts,
    }
    if summary.get("run_dir"):
        fields["output_dir"] = summary["run_dir"]
    if summary.get("error"):
        fields["error"] = summary["error"]
    return fields


def data_hashes(recipe: Any) -> dict[str, str]:
    """sha256 of each local data file the recipe names (``hf:`` datasets are named, not hashed)."""
    import hashlib
    from pathlib import Path

    out: dict[str, str] = {}
    spec = recipe.recipe.data
    for role, ref in (("train", spec.train), ("validation", spec.validation)):
        if not ref:
            continue
        path = Path(recipe.data_path(ref))
        if not path.is_file():
            continue
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        out[role] = digest.hexdigest()
    return out
