"""The guard before any paid launch: show the estimate, enforce ``--max-cost``, ask or need ``--yes``.

Rules, in order:

1. print the estimate (one short table on stderr, with the price it assumes);
2. ``--max-cost USD``: refuse when the estimate is above it, and also when there is no estimate
   to compare (an unknown cost is not under any limit);
3. ``--yes``: go on without asking;
4. not interactive (no terminal on stdin, e.g. CI): refuse; a script must say ``--yes``;
5. otherwise ask ``Proceed? [y/N]``; anything but yes refuses.

Every refusal is a :class:`SpendRefused` (an ``FtxError``): one line, non-zero exit, nothing spent.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from .catalog import CostError


def usd(amount: float) -> str:
    """Dollars for messages: cents, or every digit given when below a cent (a --max-cost 0.001)."""
    return f"${amount:,.2f}" if amount >= 0.01 or amount == 0 else f"${amount:g}"


class SpendRefused(CostError):
    """A paid launch was not started: over ``--max-cost``, unconfirmed, or declined."""

    exit_code = 3


def _label(plan: Any) -> str:
    backend = getattr(plan, "backend", None)
    return str(getattr(backend, "provider_label", None) or getattr(backend, "name", "the backend"))


def confirm_spend(plan: Any, estimate: Any = None, *, yes: bool | None = None, max_cost: float | None = None,
                  interactive: bool | None = None) -> None:
    """Return when the launch may spend money; raise :class:`SpendRefused` otherwise.

    ``yes`` and ``max_cost`` default to the run's options (``plan.options``); ``interactive``
    defaults to whether stdin is a terminal."""
    from .table import print_estimates

    options = getattr(plan, "options", None)
    if yes is None:
        yes = bool(getattr(options, "yes", False))
    if max_cost is None:
        max_cost = getattr(options, "max_cost", None)
    if interactive is None:
        interactive = sys.stdin.isatty()
    label = _label(plan)
    cost = getattr(estimate, "cost_usd", None)
    if estimate is not None:
        print_estimates([estimate], err=True, title=f"Estimated cost of this run on {label}")
    else:
        click.echo(f"estimated cost on {label}: unknown (no estimator answered)", err=True)
    if max_cost is not None:
        if cost is None:
            raise SpendRefused(f"--max-cost {usd(max_cost)}: there is no cost estimate for {label}, "
                               "so the limit cannot be checked; not launched")
        if cost > max_cost:
            raise SpendRefused(f"estimated cost {usd(cost)} on {label} exceeds --max-cost {usd(max_cost)}; "
                               "not launched")
    if yes:
        return
    shown = usd(cost) if cost is not None else "an unknown amount"
    if not interactive:
        raise SpendRefused(f"launching on {label} spends money (estimated {shown}); not launched without "
                           "confirmation", hint="add --yes to launch from a script (and --max-cost USD to cap it)")
    if not click.confirm("Proceed?", default=False, err=True):
        raise SpendRefused("not launched: declined at the prompt; nothing was spent")
