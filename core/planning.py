"""``ftx run --dry-run``: resolve, check the backend's capabilities, validate data, plan. Spends nothing."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from .errors import BackendError, Problem


@dataclass
class Processes:
    """How many training processes, on how many machines (``--nproc``, ``--nnodes``...)."""

    nproc: int = 1  # processes on this machine
    nnodes: int = 1  # machines taking part
    node_rank: int = 0  # this machine's place among them
    master_addr: str | None = None  # where rank 0's machine listens (several machines)
    master_port: int | None = None

    @property
    def world_size(self) -> int:
        return self.nproc * self.nnodes

    def problems(self) -> list[str]:
        """What is wrong with this combination of flags (empty when nothing)."""
        out = []
        if self.nproc < 1 or self.nnodes < 1:
            out.append("--nproc and --nnodes must be at least 1")
        if not 0 <= self.node_rank < max(self.nnodes, 1):
            out.append(f"--node-rank must be between 0 and {max(self.nnodes, 1) - 1} (--nnodes {self.nnodes})")
        if self.nnodes > 1 and not self.master_addr:
            out.append("--nnodes above 1 needs --master-addr (the address of the machine with --node-rank 0)")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "world_size": self.world_size}


@dataclass
class RunOptions:
    """How the user asked to run: flags of ``ftx run`` that are not recipe fields."""

    yes: bool = False  # skip the cost confirmation of paid backends
    max_cost: float | None = None  # refuse to launch above this many dollars
    watch: bool = True  # follow a hosted job until it ends (else return after launch)
    resume: bool = False  # continue an interrupted run
    resume_run: str | None = None  # ... this one (an id or unique prefix); else the newest resumable
    processes: Processes = field(default_factory=Processes)  # training processes (local backends)
    extra: dict[str, Any] = field(default_factory=dict)  # backend-specific flags


@dataclass
class RunPlan:
    recipe: Any  # ResolvedRecipe
    backend: Any  # Backend
    data: dict[str, Any]
    details: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    options: RunOptions = field(default_factory=RunOptions)
    run_id: str | None = None  # set once the run is recorded in the registry
    overrides: tuple[str, ...] = ()  # the KEY=VALUE overrides the recipe was loaded with
    resume_from: Any = None  # the registry Run being continued (``--resume``), set by execute()
    recorder: Callable[..., None] | None = None  # set by execute(); see record()

    def record(self, output_dir: Any = None, **extra: Any) -> None:
        """Note facts about the started run in its registry row: where its outputs go, and
        ``extra`` keys merged into its ``extra`` column. ``resume_marker``, a file that exists
        once the run has a checkpoint, makes a killed run resumable by ``--resume``. Does
        nothing when the run is not recorded (a backend called directly)."""
        if self.recorder is not None:
            self.recorder(output_dir, extra)


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
    options = options or RunOptions()
    details = backend.plan(recipe, data)
    details.update(_distribution(recipe, backend, options.processes, data))
    plan = RunPlan(recipe, backend, data, details, warnings, options, overrides=tuple(overrides))
    if options.resume and getattr(backend, "hosted", False):
        raise BackendError(_HOSTED_RESUME.format(backend=backend.name))
    if options.resume:
        from .registry import Registry

        with Registry() as registry:
            run = find_resumable(registry, plan)
        plan.details["resume"] = f"run {run.id} ({run.status}, started {run.created_at})"
    return plan


_HOSTED_RESUME = "--resume continues runs on this machine; {backend} jobs run remotely (`ftx jobs` follows them)"


def _distribution(recipe: Any, backend: Any, processes: Processes, data: dict[str, Any]) -> dict[str, Any]:
    """The backend's plan for several training processes (empty for one)."""
    problems = processes.problems()
    if problems:
        raise BackendError(problems[0])
    if processes.world_size == 1:
        return {}
    if getattr(backend, "hosted", False):
        raise BackendError(f"--nproc and --nnodes apply to training on this machine; backend {backend.name!r} "
                           "trains remotely")
    described = backend.distribution_plan(recipe, processes, data)
    if described is None:
        raise BackendError(f"backend {backend.name!r} does not train on several processes (--nproc, --nnodes)")
    return described


def execute(plan: RunPlan) -> Any:
    """Run a plan. Hosted backends record their own runs (their orchestrator must write the
    idempotency key before any remote call); for the others the run is recorded here, before
    training starts and again with its outcome, whichever way it ends. With ``--resume`` the
    run continued is the registry's (see :mod:`ftx.resume`): its row is reused, not a new one."""
    if getattr(plan.backend, "hosted", False):
        if plan.options.resume:
            raise BackendError(_HOSTED_RESUME.format(backend=plan.backend.name))
        return plan.backend.run(plan.recipe, plan)
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
                registry.update_run(run.id, **_recorded(summary))
                tracking.summary = summary
        except BaseException as exc:
            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            registry.update_run(run.id, status=status, error=f"{type(exc).__name__}: {exc}")
            raise
        finally:
            plan.recorder = None
    return summary


# -- resuming -------------------------------------------------------------------------------------
RESUMABLE = ("running", "interrupted", "failed")


def process_identity() -> dict[str, Any]:
    """This process as recorded in a run's ``extra``, so a later ``--resume`` can tell whether a
    run still marked running (its process was killed) is really still running."""
    import os
    import socket

    return {"pid": os.getpid(), "host": socket.gethostname(), "pid_started": _started(os.getpid())}


def _started(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), which tells a live process
    from a later one that reused its pid; ``None`` where /proc is missing."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19] if len(fields) > 19 and fields[0] != "Z" else None


def process_alive(extra: dict[str, Any]) -> bool | None:
    """Whether the process recorded in ``extra`` still runs: ``None`` when it cannot be told
    (another machine, nothing recorded)."""
    import os
    import socket

    pid, host = extra.get("pid"), extra.get("host")
    if not isinstance(pid, int) or host != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process holds the pid
    started = _started(pid)
    if started is None and os.path.exists("/proc/self/stat"):
        return False  # gone, or a zombie waiting for its parent
    recorded = extra.get("pid_started")
    return not (recorded and started and recorded != started)


def _not_resumable(run: Any, backend: str, recipe_hash: str, named: bool = False) -> str | None:
    """Why ``run`` cannot be continued by this plan, or ``None`` when it can. A run marked
    running whose process cannot be checked (another machine) resumes only when ``named``."""
    from pathlib import Path

    if run.backend != backend:
        return f"it ran on backend {run.backend!r}, not {backend!r}"
    if run.recipe_hash != recipe_hash:
        return "it was started from a different recipe (or other KEY=VALUE overrides)"
    if run.status not in RESUMABLE:
        return f"it is {run.status}; only running (killed), interrupted or failed runs resume"
    if run.status == "running":
        alive = process_alive(run.extra)
        if alive is None and not named:
            return f"it may still be running (process {run.extra.get('pid', '?')} on {run.extra.get('host', '?')})"
        if alive:
            return f"it is still running (process {run.extra['pid']})"
    marker = run.extra.get("resume_marker")
    if not marker or not Path(marker).exists():
        return "it saved no checkpoint before it stopped"
    return None


def find_resumable(registry: Any, plan: RunPlan) -> Any:
    """The run ``--resume`` continues: the one named by ``--resume RUN_ID``, else the newest run
    of the same recipe (same snapshot hash) on the same backend that is interrupted, failed, or
    marked running by a process of this machine that is gone, and that saved a checkpoint."""
    backend, recipe_hash = plan.backend.name, plan.recipe.snapshot_hash()
    if plan.options.resume_run:
        run = registry.get_run(plan.options.resume_run)
        reason = _not_resumable(run, backend, recipe_hash, named=True)
        if reason:
            raise BackendError(f"cannot resume run {run.id}: {reason}")
        return run
    for run in registry.list_runs(limit=None, backend=backend):
        if run.recipe_hash == recipe_hash and not _not_resumable(run, backend, recipe_hash):
            return run
    raise BackendError(f"no run of recipe {plan.recipe.recipe.name!r} on {backend} to resume: none was "
                       "interrupted, failed or killed after saving a checkpoint (run without --resume to start afresh)")


def _processes_extra(processes: Processes) -> dict[str, Any]:
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
