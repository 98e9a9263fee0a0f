"""``ftx run``: run a recipe on a backend (``--dry-run`` plans and spends nothing)."""

from __future__ import annotations

import json

import click

from .common import echo_warnings, overrides_argument


@click.command("run")
@click.argument("recipe")
@overrides_argument
@click.option("--backend", "-b", default="local", show_default=True, help="backend to run on")
@click.option("--dry-run", is_flag=True, help="resolve, validate and print the plan; spend nothing")
@click.option("--json", "as_json", is_flag=True, help="print the plan as JSON (with --dry-run)")
@click.option("--yes", "-y", is_flag=True, help="do not ask before spending money (paid backends)")
@click.option("--max-cost", type=float, metavar="USD", help="refuse to launch if the estimate exceeds this")
@click.option("--detach", is_flag=True, help="hosted backends: return once the job is launched")
@click.option("--resume", is_flag=True, help="continue an interrupted run of this recipe")
def run(recipe: str, overrides: tuple[str, ...], backend: str, dry_run: bool, as_json: bool, yes: bool,
        max_cost: float | None, detach: bool, resume: bool) -> None:
    """Run RECIPE (a file or shipped name) on a backend. KEY=VALUE pairs override recipe fields."""
    from ..planning import RunOptions, execute, plan_run
    from .render import print_plan

    options = RunOptions(yes=yes, max_cost=max_cost, watch=not detach, resume=resume)
    plan = plan_run(recipe, backend, overrides, options)
    if as_json:
        click.echo(json.dumps({"backend": backend, "recipe": plan.recipe.to_dict(), "data": plan.data,
                               "plan": plan.details, "warnings": plan.warnings}, indent=2, default=str))
    else:
        print_plan(plan, dry_run)
    echo_warnings(plan.warnings)
    if dry_run:
        return
    execute(plan)


COMMANDS = [run]
