"""lm-evaluation-harness tasks on a loaded local model (``eval.forgetting.harness``).

The harness's own ``hf`` model class (``HFLM``) wraps the model ftx already loaded for the
evaluation (the base model, or the adapter on its base), so the scores are the harness's, with its
prompts, metrics and seeds, and comparable with numbers published from it. Task names come from
the harness's registry; local task YAMLs (see :mod:`ftx.eval.harness_tasks`) are indexed with
``TaskManager(include_path=...)`` and run from their own folder, so a relative
``dataset_kwargs.data_files`` is read next to the YAML. Only a run imports ``lm_eval``.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from typing import Any, Iterator

from ftx.errors import BackendError

INSTALL_HINT = "pip install 'ftx[harness]' torch==2.13.0 (lm-eval); or remove eval.forgetting.harness"
_MANAGERS: dict[tuple, Any] = {}  # (include paths, built-ins too) -> TaskManager: base and tuned share one


def _lm_eval() -> Any:
    try:
        import lm_eval
    except ImportError as exc:
        raise BackendError("eval.forgetting.harness needs lm-evaluation-harness, which is not installed",
                           field="eval.forgetting.harness", hint=INSTALL_HINT) from exc
    return lm_eval


@contextmanager
def _cwd(folder: str | None) -> Iterator[None]:
    before = os.getcwd()
    if folder:
        os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


@contextmanager
def _quiet() -> Iterator[None]:
    """The harness logs at INFO/WARNING for every task (and warns that it was handed a loaded
    model, which is what ftx means to do): only its errors are shown."""
    logger = logging.getLogger("lm_eval")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def scores_of(out: dict[str, Any]) -> dict[str, Any]:
    """Per task: the evaluated document count and each metric's value, stderr and direction, from
    ``simple_evaluate``'s result (metric keys ``name,filter``; the filter is kept unless ``none``)."""
    tasks: dict[str, Any] = {}
    samples = out.get("n-samples") or {}
    directions = out.get("higher_is_better") or {}
    for task, values in (out.get("results") or {}).items():
        metrics: dict[str, Any] = {}
        for key, value in values.items():
            if "," not in key or "_stderr," in key or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            name, filt = key.split(",", 1)
            stderr = values.get(f"{name}_stderr,{filt}")
            metrics[name if filt == "none" else key] = {
                "value": float(value),
                "stderr": float(stderr) if isinstance(stderr, (int, float)) and not isinstance(stderr, bool) else None,
                "higher_is_better": (directions.get(task) or {}).get(name)}
        n = (samples.get(task) or {}).get("effective")
        tasks[task] = {"n": int(n) if isinstance(n, int) else values.get("sample_len"), "metrics": metrics}
    return tasks


def run_tasks(model: Any, tokenizer: Any, plan: Any, batch_size: int = 8, limit: int | None = None) -> dict[str, Any]:
    """Scores of ``model`` on ``plan`` (a :class:`ftx.eval.harness_tasks.HarnessPlan`)."""
    lm_eval = _lm_eval()
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    groups: dict[str | None, list[str]] = {}
    if plan.named:
        groups[None] = list(plan.named)
    for task in plan.local:
        groups.setdefault(task.folder, []).append(task.name)
    scores: dict[str, Any] = {}
    with _quiet():
        # Built-in tasks are indexed (thousands of YAMLs, seconds) only when one is named.
        key = (tuple(plan.include_paths), bool(plan.named))
        if key not in _MANAGERS:
            _MANAGERS.clear()
            _MANAGERS[key] = TaskManager(include_path=list(key[0]) or None, include_defaults=key[1])
        manager = _MANAGERS[key]
        lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size)
        for folder, names in groups.items():
            try:
                with _cwd(folder):
                    out = lm_eval.simple_evaluate(model=lm, tasks=names, task_manager=manager, limit=limit,
                                                  log_samples=False)
            except Exception as exc:  # unknown task names, datasets missing offline: the harness says which
                raise BackendError(f"lm-evaluation-harness could not run {', '.join(names)}: {_first_line(exc)}",
                                   field="eval.forgetting.harness",
                                   hint="a named task needs its dataset in the Hugging Face cache (offline); "
                                        "or write a local task YAML (docs/evaluation.md)") from exc
            scores.update(scores_of(out if isinstance(out, dict) else {}))
    return scores
