"""``ftx run --dry-run``: resolve, check the backend's capabilities, validate data, plan. Spends nothing.

A run in three modules by responsibility: this one plans (and is the one place that tells a
backend training here from a hosted one, :func:`is_hosted`), :mod:`ftx.execute` runs a plan and
records it, :mod:`ftx.resume` finds the run ``--resume`` continues. Their public names are
importable from here too.
"""

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
    launching: bool = False  # the plan is for a launch, not a dry run: what the launch needs may load ahead


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
    ahead = None if problems else _ahead(backend, recipe, launching=bool(options and options.launching))
    data, data_problems, data_warnings = plan_data(recipe, backend, ahead)
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
    if options.resume and is_hosted(backend):
        raise BackendError(HOSTED_RESUME.format(backend=backend.name))
    if options.resume:
        from .registry import Registry
        from .resume import find_resumable

        with Registry() as registry:
            run = find_resumable(registry, plan)
        plan.details["resume"] = f"run {run.id} ({run.status}, started {run.created_at})"
    return plan


def _ahead(backend: Any, recipe: Any, launching: bool) -> Any:
    """What the data plan may do while its forked child counts a share of the texts and builds
    the duplicate index (a :class:`ftx.data.token_share.Meanwhile`, or None). A hosted backend
    whose plan is the shared one prepares its job there (converts, checks and serialises the
    upload files; offline, nothing sent), which that plan then takes from the recipe's cache
    (:func:`ftx.prepared.prepare_once`); a launch (not a dry run) also imports the provider's SDK
    (:attr:`~ftx.hosted.HostedBackend.sdk_modules`), which connecting to it would import anyway.
    A problem found there is not raised there: the plan or the launch meets it again in its
    usual place, after the data's own problems."""
    if not is_hosted(backend):
        return None
    from .data.token_share import LAUNCH_SHARE, Meanwhile
    from .hosted.contract import HostedBackend

    if type(backend).plan is not HostedBackend.plan:
        return None
    modules = tuple(getattr(backend, "sdk_modules", ()) or ()) if launching else ()

    def prepare() -> None:
        from .prepared import prepare_once

        try:
            prepare_once(backend, recipe)
        except Exception:  # noqa: BLE001 - raised again by backend.plan, where it belongs
            pass

    def load_sdk() -> None:
        import importlib

        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - connect() imports it again and says what is wrong
                pass

    if modules:
        return Meanwhile(prepare, load_sdk, LAUNCH_SHARE)
    return Meanwhile(prepare)


HOSTED_RESUME = "--resume continues runs on this machine; {backend} jobs run remotely (`ftx jobs` follows them)"


def is_hosted(backend: Any) -> bool:
    """Whether ``backend`` trains remotely and records its own runs (``Backend.hosted``), rather
    than on this machine with the run recorded by ftx: the one place a run asks."""
    return bool(getattr(backend, "hosted", False))


def _distribution(recipe: Any, backend: Any, processes: Processes, data: dict[str, Any]) -> dict[str, Any]:
    """The backend's plan for several training processes (empty for one)."""
    problems = processes.problems()
    if problems:
        raise BackendError(problems[0])
    if processes.world_size == 1:
        return {}
    if is_hosted(backend):
        raise BackendError(f"--nproc and --nnodes apply to training on this machine; backend {backend.name!r} "
                           "trains remotely")
    described = backend.distribution_plan(recipe, processes, data)
    if described is None:
        raise BackendError(f"backend {backend.name!r} does not train on several processes (--nproc, --nnodes)")
    return described


from .execute import data_hashes, execute  # noqa: E402,F401  (re-exported; they import this module)
from .resume import RESUMABLE, find_resumable, process_alive, process_identity  # noqa: E402,F401
