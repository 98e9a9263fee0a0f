"""The guard before paid inference: the same rules as a paid training launch (see
:mod:`ftx.cost.guard`): show the estimate, refuse above ``--max-cost`` (or when unknown), go on
with ``--yes``, refuse when nobody can be asked, else ask."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..cost.guard import SpendRefused, usd


def confirm_inference(costs: list[tuple[str, Any]], *, yes: bool, max_cost: float | None,
                      interactive: bool | None = None) -> float:
    """``costs``: (model label, :class:`ftx.inference.GenerationCost` or None when free). Return
    the total estimate when the evaluation may go on; raise :class:`SpendRefused` otherwise."""
    paid = [(label, c) for label, c in costs if c is not None and (c.usd > 0 or c.input_tokens)]
    if not paid:
        return 0.0
    total = sum(c.usd for _, c in paid)
    for label, c in paid:
        cached = f", {c.cached} cached (free)" if c.cached else ""
        click.echo(f"inference on {label}: ~{c.input_tokens:,} input + {c.output_tokens:,} output tokens "
                   f"= {usd(c.usd)}{cached}", err=True)
    click.echo(f"estimated evaluation cost: {usd(total)}", err=True)
    if total == 0:
        return 0.0  # everything is in the response cache
    if max_cost is not None and total > max_cost:
        raise SpendRefused(f"estimated evaluation cost {usd(total)} exceeds --max-cost {usd(max_cost)}; "
                           "nothing was sent")
    if yes:
        return total
    if interactive is None:
        interactive = sys.stdin.isatty()
    if not interactive:
        raise SpendRefused(f"evaluating spends money (estimated {usd(total)}); not started without confirmation",
                           hint="add --yes (and --max-cost USD to cap it)")
    if not click.confirm("Proceed?", default=False, err=True):
        raise SpendRefused("not evaluated: declined at the prompt; nothing was spent")
    return total
