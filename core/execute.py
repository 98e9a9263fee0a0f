"""Run a plan (:func:`execute`) and record it in the registry: before training starts, and again
with the backend's outcome, whichever way it ends."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from .errors import BackendError
from .resume import find_resumable, process_identity

if TYPE_CHECKING:  # pragma: no cover
    from .planning import Processes, RunPlan


def execute(plan: "RunPlan") -> Any:
    """Run a plan. Hosted backends record their own runs (their orchestrator must write the
    idempotency key before any remote call); for the others the run is recorded here, before
    training starts and again with its outcome, whichever way it ends. With ``--resume`` the
    run continued is the registry's (see :mod:`ftx.resume`): its row is reused, not a new one."""
    from .paid import guard_paid, hosted_launch
    from .planning import HOSTED_RESUME, is_hosted

    if is_hosted(plan.backend):
        if plan.options.resume:
            raise BackendError(HOSTED_RESUME.format(backend=plan.backend.name))
        return hosted_launch(plan)
    guard_paid(plan)
    from .registry import Registry
    from .tracking import tracked

    recipe = plan.recipe
    launched = {**process_identity(), **_processes_extra(plan.options.processes)}
    with Registry() as registry:
        if plan.options.resume:
            previous = find_resumable(registry, plan)
            attempt = int(previous.extra.get("resumes") or 0) + 1
            run = registry.update_run(previous.id, status="running", error=None,
                                      extra={**previous.extra, **launched, "resumes": attempt})
            registry.add_event(run.id, "info", f"resumed (attempt {attempt}) by process {launched['pid']} "
                                               f"on {launched['host']}")
            plan.resume_from = run
        else:
            run = registry.create_run(recipe.recipe.name, plan.backend.name, recipe.to_dict(),
                                      recipe.snapshot_hash(), model=recipe.model, data_hashes=data_hashes(recipe),
                                      status="running", extra=launched)
        plan.run_id = run.id
        plan.recorder = _recorder(registry, run.id)
        try:
            with tracked(recipe, registry, run.id) as tracking:  # recipe `tracking:` (ftx.tracking)
                summary = plan.backend.run(recipe, plan)
                registry.update_run(run.id, **_outcome(plan.backend, summary).registry_fields())
                tracking.summary = summary
        except BaseException as exc:
            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            registry.update_run(run.id, status=status, error=f"{type(exc).__name__}: {exc}")
            raise
        finally:
            plan.recorder = None
    return summary


def _processes_extra(processes: "Processes") -> dict[str, Any]:
    if processes.world_size == 1:
        return {}
    return {"processes": processes.to_dict()}


def _recorder(registry: Any, run_id: str) -> Callable[..., None]:
    def record(output_dir: Any, extra: dict[str, Any]) -> None:
        if output_dir is not None:
            registry.update_run(run_id, output_dir=str(output_dir))
        if extra:
            registry.merge_json(run_id, "extra", extra)

    return record


def _outcome(backend: Any, summary: Any) -> Any:
    """The backend's reading of its summary (``Backend.outcome``); the documented default for an
    object that does not inherit :class:`ftx.backends.Backend`."""
    from .outcome import generic_outcome

    outcome = getattr(backend, "outcome", None)
    return outcome(summary) if outcome is not None else generic_outcome(summary)


def data_hashes(recipe: Any) -> dict[str, str]:
    """sha256 of each local data file the recipe names (``hf:`` datasets are named, not hashed)."""
    import hashlib
    from pathlib import Path

    out: dict[str, str] = {}
    spec = recipe.recipe.data
    from .data.sources import source_locations

    roles = [(dotted.removesuffix(".path").removeprefix("data."), s.path) for dotted, _, s in source_locations(recipe)]
    for role, ref in roles + [("validation", spec.validation)]:
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
