"""``ftx estimate``: what a recipe would cost, take and need, side by side on every backend."""

from __future__ import annotations

import json

import click

from .common import overrides_argument


@click.command("estimate")
@click.argument("recipe")
@overrides_argument
@click.option("--backend", "-b", "backends", multiple=True, metavar="all|NAME",
              help="backend to estimate (repeatable, or comma-separated); default: all installed")
@click.option("--gpu", metavar="NAME", help="local backends: only this device (cpu, t4, l4, a10g, rtx4090, "
                                            "a100-40gb, a100-80gb, h100 or one from your gpus.yaml)")
@click.option("--json", "as_json", is_flag=True, help="print the estimates as JSON")
@click.option("--plot", type=click.Path(dir_okay=False), metavar="FILE.png",
              help="also write a cost/time comparison chart (PNG)")
def estimate(recipe: str, overrides: tuple[str, ...], backends: tuple[str, ...], gpu: str | None,
             as_json: bool, plot: str | None) -> None:
    """Compare cost, time and memory of RECIPE (a file or shipped name) on every backend.

    \b
    Spends nothing and calls no API: tokens are counted offline, prices come from dated
    tables (ftx's own, overridable by plugins), local time and memory from the model's size.
      ftx estimate lora-chat
      ftx estimate my.yaml --backend local --gpu a10g hyperparameters.epochs=2
      ftx estimate my.yaml --json --plot costs.png
    """
    from ..cost.compare import estimate_all

    results = estimate_all(recipe, list(backends) or None, overrides, gpu)
    if as_json:
        click.echo(json.dumps([e.to_dict() for e in results], indent=2, default=str))
    else:
        from ..cost.table import print_estimates

        print_estimates(results)
    if plot:
        from ..cost.plot import write_plot

        written = write_plot(results, plot, title=f"ftx estimate {recipe}: cost and time")
        click.echo(f"wrote {written}", err=as_json)


COMMANDS = [estimate]
