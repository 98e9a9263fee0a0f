"""``ftx run`` with ``eval.test`` set: check the eval settings before training, evaluate after it."""

from __future__ import annotations

from typing import Any

import click


def prepare(plan: Any) -> None:
    """Refuse a bad ``eval`` section (unknown metric, missing test or harness task file, harness tasks
    where they cannot run) before anything is spent."""
    from pathlib import Path

    from ..errors import FtxError

    spec = plan.recipe.recipe.eval
    if not spec.test:
        return
    from ..eval.runner import check_harness, check_spec

    check_spec(plan.recipe)
    if can_generate(plan.backend):
        check_harness(plan.backend, plan.recipe)
    path = plan.recipe.data_path(spec.test)
    if not path.startswith("hf:") and not Path(path).is_file():
        file, line = plan.recipe.located.where(("eval", "test"))
        raise FtxError(f"test file not found: {path}", file=file, line=line, field="eval.test")


def describe(plan: Any) -> str | None:
    """The plan's evaluation step, in one line (``None`` when eval.test is not set)."""
    spec = plan.recipe.recipe.eval
    if not spec.test:
        return None
    if not can_generate(plan.backend):
        return f"after training: not evaluated (backend {plan.backend.name!r} cannot generate answers)"
    metrics = ", ".join(str(m) if not isinstance(m, dict) else f"{next(iter(m))}" for m in spec.metrics)
    forgetting = "" if spec.forgetting.probe == "none" else f"; forgetting probe: {spec.forgetting.probe}"
    if spec.forgetting.harness and plan.backend.hosted:
        forgetting += "; lm-evaluation-harness skipped (it scores local models only)"
    elif spec.forgetting.harness:
        limit = f", at most {spec.forgetting.harness_limit} documents each" if spec.forgetting.harness_limit else ""
        forgetting += f"; lm-evaluation-harness, base vs tuned: {', '.join(spec.forgetting.harness)}{limit}"
    return (f"after training: ftx eval on {spec.test} ({metrics}; tuned vs {', '.join(spec.baselines)}"
            f"{forgetting})")


def can_generate(backend: Any) -> bool:
    """Whether ``backend`` implements the inference contract (``Backend.generator``)."""
    from ..backends import Backend

    return getattr(type(backend), "generator", Backend.generator) is not Backend.generator


def _run_id(plan: Any, summary: Any) -> str | None:
    if plan.run_id:
        return plan.run_id
    if isinstance(summary, dict):
        return summary.get("run_id")
    return getattr(summary, "run_id", None)


def evaluate_after(plan: Any, summary: Any, yes: bool, max_cost: float | None) -> None:
    """Evaluate the run just finished (and say so when it cannot be yet)."""
    if not plan.recipe.recipe.eval.test:
        return
    status = summary.get("status") if isinstance(summary, dict) else getattr(summary, "status", None)
    run_id = _run_id(plan, summary)
    if run_id is None or status not in ("succeeded", None) or (isinstance(summary, dict) and summary.get("detached")):
        if run_id:
            click.echo(f"evaluate once the job succeeds: ftx eval {run_id}", err=True)
        return
    if not can_generate(plan.backend):
        click.echo(f"not evaluated: backend {plan.backend.name!r} cannot generate answers, so ftx eval cannot "
                   f"score its model (eval.test is kept for a backend that can)", err=True)
        return
    from ..eval.runner import EvalOptions, evaluate
    from ..registry import Registry
    from .eval import print_report

    with Registry() as registry:
        registry.merge_json(run_id, "extra", {"recipe_path": str(plan.recipe.path) if plan.recipe.path else None,
                                              "overrides": list(plan.overrides)})
        run = registry.get_run(run_id)
    click.echo(f"\nevaluating run {run_id} on {plan.recipe.recipe.eval.test}", err=True)
    report = evaluate(plan.recipe, plan.backend, run,
                      EvalOptions(yes=yes, max_cost=max_cost, echo=lambda s: click.echo(s, err=True)))
    print_report(report)
