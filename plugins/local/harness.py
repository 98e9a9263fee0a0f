"""lm-evaluation-harness tasks on a local model (``eval.forgetting.harness``), base and tuned.

Runs the harness's own ``hf`` model (``pretrained=BASE`` plus ``peft=ADAPTER`` for an adapter),
so its scores are the harness's. Needs ``lm-eval`` installed and its task datasets in the local
Hugging Face cache; offline without them the harness's own error is shown in one line.
"""

from __future__ import annotations

from typing import Any

from ftx.errors import BackendError


def run_tasks(pretrained: str, adapter: str | None, tasks: list[str], limit: int | None = None) -> dict[str, Any]:
    try:
        import lm_eval
    except ImportError as exc:
        raise BackendError("eval.forgetting.harness needs lm-evaluation-harness, which is not installed",
                           hint="pip install lm-eval") from exc
    args = f"pretrained={pretrained}" + (f",peft={adapter}" if adapter else "")
    try:
        out = lm_eval.simple_evaluate(model="hf", model_args=args, tasks=list(tasks), limit=limit)
    except Exception as exc:  # missing datasets offline, unknown task names: the harness says which
        raise BackendError(f"lm-evaluation-harness could not run {', '.join(tasks)}: "
                           f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                           hint="cache the task datasets while online (or check the task names)") from exc
    results = out.get("results", {}) if isinstance(out, dict) else {}
    return {task: {k: v for k, v in values.items() if isinstance(v, (int, float))} for task, values in results.items()}
