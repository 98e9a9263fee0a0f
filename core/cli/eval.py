"""``ftx eval``: was the fine-tune worth it? Tuned model vs base-model baselines on a held-out test set."""

from __future__ import annotations

import json
from typing import Any

import click

from .common import echo_warnings


class _DefaultGroup(click.Group):
    """``ftx eval TARGET`` runs the default command; ``ftx eval compare ...`` a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["score", *args]
        return super().parse_args(ctx, args)


@click.group("eval", cls=_DefaultGroup)
def eval_group() -> None:
    """Score a run's tuned model against base-model baselines, with intervals and a verdict.

    \b
      ftx eval RUN                                  tuned model vs zero-/few-shot on eval.test
      ftx eval RECIPE --backend NAME --baseline-only  the base model, before any training
      ftx eval compare RUN RUN...                   the same test set across runs and backends
    """


@eval_group.command("score", hidden=True)
@click.argument("target")
@click.option("--backend", "-b", help="backend of the base model (with a recipe; default: the run's)")
@click.option("--baseline-only", is_flag=True, help="score the base model's baselines only (TARGET is a recipe)")
@click.option("--recipe", "recipe_file", metavar="FILE", help="the run's recipe file, when ftx cannot find it")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.option("--yes", "-y", is_flag=True, help="do not ask before paid inference (hosted backends)")
@click.option("--max-cost", type=float, metavar="USD", help="refuse when the inference estimate exceeds this")
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True,
              help="hosted backends: requests in flight at once")
@click.option("--batch-size", type=click.IntRange(1, 1024), help="local backend: prompts per forward pass")
@click.option("--out", type=click.Path(file_okay=False), help="folder for the report (default: the run's eval/)")
def score(target: str, backend: str | None, baseline_only: bool, recipe_file: str | None, as_json: bool, yes: bool,
          max_cost: float | None, concurrency: int, batch_size: int | None, out: str | None) -> None:
    """Evaluate TARGET: a run id (or prefix), or with --baseline-only a recipe."""
    from pathlib import Path

    from ..eval.runner import EvalOptions, evaluate

    options = EvalOptions(yes=yes, max_cost=max_cost, concurrency=concurrency, batch_size=batch_size,
                          out_dir=Path(out) if out else None, echo=lambda s: click.echo(s, err=True))
    recipe, backend_obj, run = resolve_target(target, backend, baseline_only, recipe_file)
    report = evaluate(recipe, backend_obj, run, options)
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        print_report(report)


def resolve_target(target: str, backend: str | None, baseline_only: bool, recipe_file: str | None) -> tuple[Any, Any, Any]:
    from ..components import get_backend
    from ..errors import FtxError
    from ..recipe import load_recipe

    if baseline_only:
        if not backend:
            raise FtxError("--baseline-only needs --backend NAME (whose base model to score)")
        return load_recipe(target, (), backend=backend), get_backend(backend), None
    from ..registry import Registry

    with Registry() as registry:
        run = registry.get_run(target)
    if backend and backend != run.backend:
        raise FtxError(f"run {run.id} ran on {run.backend!r}, not {backend!r}")
    ref = recipe_file or run.extra.get("recipe_path") or run.name
    try:
        recipe = load_recipe(ref, tuple(run.extra.get("overrides") or ()), backend=run.backend)
    except FtxError as exc:
        raise FtxError(f"cannot find the recipe of run {run.id} ({ref}): {exc.problems[0].message}",
                       hint="name it with --recipe FILE") from exc
    return recipe, get_backend(run.backend), run


def print_report(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=False, highlight=False)
    table = Table(title=f"{report['recipe']} on {report['backend']}: {report['n']} test items, "
                        f"{report['confidence']:.0%} intervals", title_justify="left")
    table.add_column("system")
    table.add_column("model", overflow="fold")
    for m in report["metrics"]:
        table.add_column(m, justify="right")
    for name, s in report["systems"].items():
        cells = []
        for m in report["metrics"]:
            v = s["scores"].get(m) or {}
            ci = v.get("ci")
            cells.append(f"{v.get('value', 0):.1f}" + (f" [{ci[0]:.1f}, {ci[1]:.1f}]" if ci else ""))
        table.add_row(name, s["model"]["name"], *cells)
    console.print(table)
    forgetting = report.get("forgetting") or {}
    if forgetting.get("probe"):
        p = forgetting["probe"]
        console.print(f"forgetting probe ({p['n']} general items, exact match): base {p['base']:.1f}, "
                      f"tuned {p['tuned']:.1f} ({p['delta']:+.1f} [{p['ci'][0]:+.1f}, {p['ci'][1]:+.1f}])")
    if forgetting.get("general_perplexity"):
        g = forgetting["general_perplexity"]
        console.print(f"perplexity on general text: base {g['base']:.1f}, tuned {g['tuned']:.1f}")
    if forgetting.get("harness"):
        from ..eval.report import harness_rows

        for row in harness_rows(forgetting["harness"]):
            console.print(row, markup=False)
    echo_warnings(forgetting.get("warnings", []))
    console.print(f"report: {report['files']['report_md']}")
    console.print(f"verdict: {report['verdict']}", markup=False)


@eval_group.command("compare")
@click.argument("runs", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="print the comparison as JSON")
def compare(runs: tuple[str, ...], as_json: bool) -> None:
    """RUNS side by side: primary metric, delta vs the best baseline, training cost, cost per point."""
    from ..eval.compare import compare_runs

    rows = compare_runs(list(runs))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="evaluations compared", title_justify="left")
    for col in ("run", "backend", "test", "metric", "tuned", "best baseline", "delta [CI]", "training cost",
                "$ per point", "verdict"):
        table.add_column(col, overflow="fold")
    for r in rows:
        ci = r["ci"]
        table.add_row(r["run"], r["backend"], str(r["test"]), r["metric"], f"{r['tuned']:.1f}",
                      f"{r['baseline']} {r['baseline_value']:.1f}",
                      f"{r['delta']:+.1f} [{ci[0]:+.1f}, {ci[1]:+.1f}]" if ci else f"{r['delta']:+.1f}",
                      "-" if r["cost_usd"] is None else f"${r['cost_usd']:.4f}",
                      "-" if r["usd_per_point"] is None else f"${r['usd_per_point']:.4f}", r["verdict"])
    Console(highlight=False).print(table)
    tests = {r["test"] for r in rows}
    if len(tests) > 1:
        click.echo("warning: these runs were scored on different test sets; their scores do not compare",
                   err=True)


COMMANDS = [eval_group]
