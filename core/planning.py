"""``ftx run --dry-run``: resolve, check the backend's capabilities, validate data, plan. Spends nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import BackendError, Problem


@dataclass
class RunOptions:
    """How the user asked to run: flags of ``ftx run`` that are not recipe fields."""

    yes: bool = False  # skip the cost confirmation of paid backends
    max_cost: float | None = None  # refuse to launch above this many dollars
    watch: bool = True  # follow a hosted job until it ends (else return after launch)
    resume: bool = False  # continue an interrupted run
    extra: dict[str, Any] = field(default_factory=dict)  # backend-specific flags (e.g. nproc)


@dataclass
class RunPlan:
    recipe: Any  # ResolvedRecipe
    backend: Any  # Backend
    data: dict[str, Any]
    details: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    options: RunOptions = field(default_factory=RunOptions)


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
    return RunPlan(recipe, backend, data, backend.plan(recipe, data), warnings, options or RunOptions())
