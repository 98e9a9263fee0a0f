"""What a local run leaves in its folder.

``adapter/`` (PEFT format) or ``model/`` (full weights), each with the tokenizer; ``recipe.resolved.yaml``;
``metrics.jsonl``; ``loss.png``; ``summary.json``; while the run lasts (or always, with
``backends.local.keep_checkpoints``), ``checkpoints/`` (see :mod:`.resume`).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from ftx.data.atomic import atomic_write
from ftx.errors import BackendError
from ftx.home import ftx_home

SUMMARY = "summary.json"
ADAPTER_DIR = "adapter"
MODEL_DIR = "model"


def new_run_id() -> str:
    from ftx.registry import new_run_id as make

    return make()


def run_dir_for(recipe: Any, run_id: str) -> Path:
    """``output_dir`` from the recipe (relative to the working directory), else the ftx home's
    ``runs/<run id>``. An output folder that already holds a finished run is refused (one that
    holds a failed run is reused); so is one ftx did not write (see :mod:`.ownership`)."""
    from .ownership import claim, refusal

    if recipe.recipe.output_dir:
        path = configured_output_dir(recipe)
        problem = refusal(path)
        if problem:
            raise BackendError(problem, field="output_dir")
        if _finished_run(path):
            raise BackendError(f"output_dir {path} already holds a finished run; choose another folder "
                               "or remove it", field="output_dir")
        path.mkdir(parents=True, exist_ok=True)
        claim(path, run_id)  # a folder the user named: mark it as ftx's from now on
        return path
    path = ftx_home() / "runs" / run_id  # unique to the run: ftx's by construction
    path.mkdir(parents=True, exist_ok=True)
    return path


def configured_output_dir(recipe: Any) -> Path:
    """The recipe's ``output_dir``, relative to the working directory."""
    return Path(recipe.recipe.output_dir).expanduser().resolve()


def _finished_run(path: Path) -> bool:
    try:
        return read_summary(path).get("status") == "succeeded"
    except (OSError, ValueError):
        return False


def _readable(path: Path) -> None:
    """Atomic writes go through a private temporary file; outputs are as readable as the others."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def write_resolved_recipe(run_dir: Path, recipe: Any) -> None:
    import yaml

    with atomic_write(run_dir / "recipe.resolved.yaml") as fh:
        yaml.safe_dump(recipe.to_dict(), fh, sort_keys=False, allow_unicode=True)
    _readable(run_dir / "recipe.resolved.yaml")


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    """Replace ``path`` with one JSON line per record, atomically."""
    with atomic_write(path) as fh:
        fh.writelines(json.dumps(r) + "\n" for r in records)
    _readable(path)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The records of a JSON-lines file; a torn last line (the run was killed) is dropped."""
    out = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return out
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def save_artifact(model: Any, tokenizer: Any, run_dir: Path, adapter: bool) -> dict[str, str]:
    """Save the trained adapter (PEFT) or the whole model, with the tokenizer beside it."""
    target = run_dir / (ADAPTER_DIR if adapter else MODEL_DIR)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return {"kind": "adapter" if adapter else "model", "path": str(target)}


def save_with_trainer(trainer: Any, run_dir: Path, adapter: bool) -> dict[str, str]:
    """Save the trained model through the trainer, which gathers sharded weights (FSDP,
    DeepSpeed) from every process and writes on rank 0 only; every rank must call it."""
    target = run_dir / (ADAPTER_DIR if adapter else MODEL_DIR)
    trainer.save_model(str(target))
    return {"kind": "adapter" if adapter else "model", "path": str(target)}


def remove_checkpoints(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def plot_losses(records: list[dict[str, Any]], path: Path, title: str) -> bool:
    """Train and validation loss against the optimizer step; False when there is nothing to plot."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    def points(key: str) -> tuple[list[int], list[float]]:
        pts = [(r["step"], r[key]) for r in records if isinstance(r.get(key), (int, float))]
        return [p[0] for p in pts], [p[1] for p in pts]

    train, evals = points("loss"), points("eval_loss")
    if not train[0] and not evals[0]:
        return False
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
    try:
        if train[0]:
            ax.plot(*train, label="train loss", color="tab:blue")
        if evals[0]:
            ax.plot(*evals, label="validation loss", color="tab:orange", marker="o")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return True


def write_summary(run_dir: Path, summary: dict[str, Any]) -> None:
    with atomic_write(run_dir / SUMMARY) as fh:
        json.dump(summary, fh, indent=2, default=str)
        fh.write("\n")
    _readable(run_dir / SUMMARY)


def read_summary(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / SUMMARY).read_text(encoding="utf-8"))
