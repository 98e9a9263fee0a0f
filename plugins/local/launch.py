"""Launch a local run on several processes through torchrun.

The ``ftx run`` process (the parent) prepares the run folder, writes a launch spec (recipe path,
overrides, run id, folder, checkpoint to resume from) and starts ``python -m torch.distributed.run
... -m ftx.plugins.local.worker SPEC``. Each worker rebuilds the recipe from the spec and trains
as one rank; rank 0 alone prints and writes the outputs. The parent never trains and the workers
never touch the registry: the parent records the run before the launch and its outcome after,
from the summary rank 0 wrote.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any, Callable

from ftx.errors import BackendError

from . import outputs
from .context import prepare_run
from .distributed import check_strategy, communication

DEFAULT_PORT = 29500
STOP_GRACE_S = 30  # how long workers get to stop after Ctrl-C before they are killed


def torchrun_command(processes: Any, spec: Path) -> list[str]:
    """The torchrun command line for ``processes`` running the worker on ``spec``."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes.nproc)]
    if processes.nnodes == 1 and not processes.master_addr and not processes.master_port:
        cmd.append("--standalone")  # a free port on this machine: runs side by side do not collide
    else:
        cmd += ["--nnodes", str(processes.nnodes), "--node_rank", str(processes.node_rank),
                "--master_addr", processes.master_addr or "127.0.0.1",
                "--master_port", str(processes.master_port or DEFAULT_PORT)]
    return cmd + ["-m", "ftx.plugins.local.worker", str(spec)]


def worker_env(nproc: int) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"  # rank 0's lines reach the screen as they are printed
    # torchrun would set 1 thread per worker (with a warning); share the cores instead.
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // max(nproc, 1))))
    return env


# Runs before torchrun, in its process: ask Linux for SIGTERM when the parent (ftx run) dies, even
# by SIGKILL, so torchrun stops its workers rather than leaving them training unrecorded; then
# become torchrun (the request survives exec). A trampoline, not preexec_fn: forking a threaded
# process and running Python before exec can deadlock.
_GUARD = """import os, signal, sys
try:
    import ctypes
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass
if os.getppid() != int(sys.argv[1]):
    sys.exit(143)  # the parent died before the request was made
os.execvp(sys.argv[2], sys.argv[2:])
"""


def dies_with_parent(cmd: list[str]) -> list[str]:
    """``cmd`` run so that it gets SIGTERM when this process dies (on Linux; elsewhere it just runs)."""
    return [sys.executable, "-c", _GUARD, str(os.getpid()), *cmd]


def run_distributed(recipe: Any, plan: Any, echo: Callable[[str], None], progress: bool = True) -> dict[str, Any]:
    """Train ``recipe`` on ``plan.options.processes`` through torchrun; returns rank 0's summary."""
    from .device import current_plan
    from .models import resolve_model

    processes = plan.options.processes
    if recipe.path is None:
        raise BackendError("training on several processes needs the recipe in a file (each process reads it)")
    device = current_plan(recipe.method, recipe.options)
    strategy = check_strategy(recipe.options, device.device)
    if device.device == "cuda" and processes.nproc > 1 and getattr(recipe.method, "quantized", False):
        # The quantized base is loaded with device_map {"": 0}: every process would put it on GPU 0.
        raise BackendError(f"method {recipe.recipe.method.name} loads a quantized model onto the first GPU; "
                           "on several GPUs of one machine it cannot train yet (use --nproc 1, or lora)")
    ctx = prepare_run(recipe, plan)
    ctx.world_size, ctx.strategy, ctx.launch_id = processes.world_size, strategy, uuid.uuid4().hex
    resolve_model(recipe.model)  # builds the embedded tiny model once, before the ranks race to
    spec = {"recipe": str(recipe.path), "overrides": list(getattr(plan, "overrides", ()) or ()),
            "recipe_hash": recipe.snapshot_hash(), "progress": progress, **ctx.to_spec()}
    record = getattr(plan, "record", None)
    if callable(record):
        record(strategy=strategy, world_size=processes.world_size)
    with tempfile.TemporaryDirectory(prefix="ftx-launch-") as folder:
        spec_path = Path(folder) / "spec.json"
        spec_path.write_text(json.dumps(spec, indent=2), encoding="utf-8")
        cmd = torchrun_command(processes, spec_path)
        echo(f"launching {processes.world_size} training processes ({strategy} over "
             f"{communication(device.device)}, {processes.nproc} on this machine) with torchrun")
        code = _wait(subprocess.Popen(dies_with_parent(cmd), env=worker_env(processes.nproc)))
    if processes.node_rank != 0:
        # Global rank 0, and so the summary, lives on the machine with --node-rank 0.
        if code != 0:
            raise BackendError(f"the training processes on this machine failed (torchrun exit status {code})")
        return {"run_id": ctx.run_id, "run_dir": str(ctx.run_dir), "status": "succeeded",
                "world_size": processes.world_size, "strategy": strategy, "node_rank": processes.node_rank}
    summary = _summary_of(ctx.run_dir, ctx.launch_id)
    if code == 0 and summary and summary.get("status") == "succeeded":
        return summary
    if summary and summary.get("error"):
        raise BackendError(f"training failed: {summary['error']}")
    raise BackendError(f"the training processes failed (torchrun exit status {code}); see the output above")


def _wait(proc: subprocess.Popen) -> int:
    """torchrun's exit status. Ctrl-C reaches the workers too (same terminal); they get a grace
    period to stop before they are killed, and the interrupt goes on to the caller."""
    try:
        return proc.wait()
    except KeyboardInterrupt:
        try:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=STOP_GRACE_S)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            proc.kill()
            proc.wait()
        raise


def _summary_of(run_dir: Path, launch_id: str | None) -> dict[str, Any] | None:
    """The summary rank 0 wrote for this launch (not one left by an earlier attempt)."""
    try:
        summary = outputs.read_summary(run_dir)
    except (OSError, ValueError):
        return None
    return summary if summary.get("launch_id") == launch_id else None
