"""``ftx data inspect RECIPE --backend NAME``: the recipe's data as the backend tokenizes it."""

from __future__ import annotations

import json

import click

from .common import overrides_argument


@click.command("inspect")
@click.argument("recipe")
@overrides_argument
@click.option("--backend", "-b", required=True, help="the backend whose tokenizer and chat template to use")
@click.option("--show", type=click.IntRange(min=0), default=3, show_default=True,
              help="examples to print with their trained tokens marked [[like this]]")
@click.option("--json", "as_json", is_flag=True, help="print the plan as JSON on stdout")
def inspect(recipe: str, overrides: tuple[str, ...], backend: str, show: int, as_json: bool) -> None:
    """Token-exact data plan: tokens per example, truncated examples, and examples whose trained
    tokens are all masked or cut off by max_length (listed by file:line; a run drops them with a
    count). Spends nothing."""
    from ..components import get_backend
    from ..data.plan import load_splits
    from ..errors import BackendError
    from ..recipe import load_recipe

    chosen = get_backend(backend)
    resolved = load_recipe(recipe, overrides, backend=backend)
    train, validation, _ = load_splits(resolved)
    plan = chosen.token_plan(resolved, train, validation, show)
    if plan is None:
        raise BackendError(f"backend {backend!r} cannot show its tokenization offline")
    if as_json:
        click.echo(json.dumps(plan, indent=2, ensure_ascii=False))
        return
    click.echo(f"tokenizer {plan['tokenizer']}, max_length {plan['max_length']}")
    for side in ("train", "validation"):
        s = plan.get(side)
        if not s:
            continue
        per = s["tokens_per_example"] or {}
        click.echo(f"{side:<11} {s['examples']:>6,} examples; tokens per example min {per.get('min')} / "
                   f"median {per.get('median')} / max {per.get('max')}; truncated {s['truncated']:,}; "
                   f"no trained token left {s['no_trained_tokens']:,}")
        for where in s["no_trained_tokens_at"]:
            click.echo(f"  {where}: every trained token is masked or past max_length (dropped by a run)")
    for row in plan["shown"]:
        click.echo(f"\n{row['where']} ({row['tokens']} tokens, {row['kept']} of {row['trained']} trained kept):")
        click.echo(row["text"])


COMMANDS = [inspect]
