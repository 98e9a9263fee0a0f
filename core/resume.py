"""``ftx run --resume``: which recorded run continues, and whether its process still lives."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import BackendError

if TYPE_CHECKING:  # pragma: no cover
    from .planning import RunPlan


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


def find_resumable(registry: Any, plan: "RunPlan") -> Any:
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
    from .resume_hint import near_miss

    raise BackendError(f"no run of recipe {plan.recipe.recipe.name!r} on {backend} to resume: none was "
                       "interrupted, failed or killed after saving a checkpoint (run without --resume to start afresh)",
                       hint=near_miss(registry, plan, _not_resumable))
