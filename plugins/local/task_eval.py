"""Validation loss per task of a mixed recipe (``data.train`` as a list of sources, replay).

After each of the trainer's own evaluations (the overall ``eval_loss``), the validation set is
evaluated again one task at a time, so a user sees which task improves and whether the general
(replay) loss rises: forgetting. The losses are logged as ``eval_task_<TASK>_loss`` (in
``metrics.jsonl``) and the run summary gets each task's baseline and final loss.
"""

from __future__ import annotations

from typing import Any

PREFIX = "eval_task_"


def prepare_like(trainer: Any, dataset: Any, name: str) -> Any:
    """``dataset`` (rows as ftx builds them) processed the way the trainer processed its own
    validation set (tokenized, truncated; TRL drops rows that truncation left without loss)."""
    args = trainer.args
    if hasattr(args, "beta"):  # DPO
        return trainer._prepare_dataset(dataset, trainer.processing_class, args, name)
    packing = args.packing if getattr(args, "eval_packing", None) is None else args.eval_packing
    return trainer._prepare_dataset(dataset, trainer.processing_class, args, packing, None, name)


def add_task_eval(trainer: Any, raw_eval: Any, tasks: list[str | None]) -> list[str]:
    """Evaluate the validation set per task after every evaluation of ``trainer``; ``raw_eval``
    holds the rows before the trainer processed them, ``tasks`` the task of each. Returns the
    tasks (none when the set holds fewer than two)."""
    from transformers import TrainerCallback

    names = sorted({t for t in tasks if t})
    if len(names) < 2 or raw_eval is None or len(raw_eval) != len(tasks):
        return []
    subsets = {}
    for t in names:
        subset = prepare_like(trainer, raw_eval.select([i for i, x in enumerate(tasks) if x == t]), f"eval_{t}")
        if len(subset):
            subsets[t] = subset

    class TaskEval(TrainerCallback):
        busy = False

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            if self.busy or not metrics or "eval_loss" not in metrics:
                return
            self.busy = True  # the per-task evaluations below end in on_evaluate too
            try:
                for task, subset in subsets.items():
                    trainer.evaluate(eval_dataset=subset, metric_key_prefix=f"{PREFIX}{task}")
            finally:
                self.busy = False

    trainer.add_callback(TaskEval())
    return names


def task_losses(records: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """``{task: {"baseline": loss at step 0 or None, "final": last loss}}`` from metrics records."""
    out: dict[str, dict[str, float | None]] = {}
    for r in records:
        for key, value in r.items():
            if key.startswith(PREFIX) and key.endswith("_loss") and isinstance(value, (int, float)):
                task = key[len(PREFIX):-len("_loss")]
                entry = out.setdefault(task, {"baseline": None, "final": None})
                if r.get("step") == 0:
                    entry["baseline"] = value
                entry["final"] = value
    return out
