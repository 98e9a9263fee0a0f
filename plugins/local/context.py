"""Where a local run stands before training starts: its id and folder, whether it resumes (and
from which checkpoint), and this process's place among the training processes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftx.errors import BackendError

from . import outputs, resume


@dataclass
class RunContext:
    run_id: str
    run_dir: Path
    rank: int = 0  # this process among all training processes (0 writes the outputs)
    local_rank: int = 0  # ... among those on this machine (its GPU)
    world_size: int = 1
    strategy: str | None = None  # ddp, fsdp or deepspeed with several processes
    checkpoint: Path | None = None  # the checkpoint a resumed run continues from
    resume_step: int | None = None
    launch_id: str | None = None  # ties a distributed launch to the summary its rank 0 writes
    batching: str | None = None  # the order a resumed run started in (kept: batching.keep_on_resume)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def metrics_path(self) -> Path:
        return self.run_dir / "metrics.jsonl"

    def summary_fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"world_size": self.world_size}
        if self.world_size > 1:
            out["strategy"] = self.strategy
        if self.checkpoint is not None:
            out["resumed_from"] = {"step": self.resume_step, "checkpoint": str(self.checkpoint)}
        if self.launch_id:
            out["launch_id"] = self.launch_id
        return out

    def to_spec(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "run_dir": str(self.run_dir), "world_size": self.world_size,
                "strategy": self.strategy, "checkpoint": str(self.checkpoint) if self.checkpoint else None,
                "resume_step": self.resume_step, "launch_id": self.launch_id, "batching": self.batching}

    @classmethod
    def from_spec(cls, spec: dict[str, Any], rank: int, local_rank: int) -> "RunContext":
        return cls(run_id=spec["run_id"], run_dir=Path(spec["run_dir"]), rank=rank, local_rank=local_rank,
                   world_size=int(spec["world_size"]), strategy=spec.get("strategy"),
                   checkpoint=Path(spec["checkpoint"]) if spec.get("checkpoint") else None,
                   resume_step=spec.get("resume_step"), launch_id=spec.get("launch_id"),
                   batching=spec.get("batching"))


def prepare_run(recipe: Any, plan: Any) -> RunContext:
    """The run's folder, made ready: a fresh one (old checkpoints cleared), or for ``--resume``
    the continued run's, with its checkpoint found and its metrics cut back to it. Records the
    folder and the resume marker in the registry (through ``plan.record``)."""
    run_id = getattr(plan, "run_id", None) or outputs.new_run_id()
    previous = getattr(plan, "resume_from", None)
    checkpoint = step = started = None
    if previous is not None:
        if not previous.output_dir or not Path(previous.output_dir).is_dir():
            raise BackendError(f"run {previous.id} cannot be resumed: its folder {previous.output_dir or '(none)'} "
                               "is gone")
        run_dir = Path(previous.output_dir)
        found = resume.find_checkpoint(run_dir)
        if found is None:
            raise BackendError(f"run {previous.id} cannot be resumed: no complete checkpoint in "
                               f"{resume.checkpoints_dir(run_dir)}")
        checkpoint, step = found
        from .batching import keep_on_resume

        started = resume.started_batching(checkpoint)
        keep_on_resume(recipe, started, previous.id)  # before anything is cut or written
        resume.trim_metrics(run_dir / "metrics.jsonl", step)
    else:
        run_dir = outputs.run_dir_for(recipe, run_id)
        outputs.remove_checkpoints(resume.checkpoints_dir(run_dir))  # a failed run's, in a reused output_dir
    outputs.write_resolved_recipe(run_dir, recipe)
    record = getattr(plan, "record", None)
    if callable(record):
        record(output_dir=run_dir, resume_marker=str(resume.marker_path(run_dir)))
    return RunContext(run_id=run_id, run_dir=run_dir, checkpoint=checkpoint, resume_step=step, batching=started)
