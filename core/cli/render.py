"""Human-readable output of plans (rich is imported only when printing)."""

from __future__ import annotations

import json
from typing import Any


def _rows(data: dict[str, Any], indent: int = 0) -> list[tuple[str, str]]:
    rows = []
    for key, value in data.items():
        if isinstance(value, dict) and value and all(not isinstance(v, (dict, list)) for v in value.values()):
            rest = {k: v for k, v in value.items() if k != "name"}
            text = ", ".join(f"{k}={v}" for k, v in rest.items())
            rows.append(("  " * indent + str(key), f"{value['name']} ({text})" if "name" in value else text))
        elif isinstance(value, dict):
            rows.append(("  " * indent + str(key), ""))
            rows.extend(_rows(value, indent + 1))
        elif value is not None:
            rows.append(("  " * indent + str(key), str(value)))
    return rows


def _data_line(data: dict[str, Any]) -> str:
    if not data:
        return ""
    split = data.get("split") or {}
    if data.get("mix"):
        from ..data.mix import mix_lines

        line = (f"{data.get('train_examples', '?'):,} train + {data.get('validation_examples', 0):,} validation "
                f"examples mixed from {len(data['mix']['sources'])} sources:\n"
                + "\n".join("  " + s for s in mix_lines(data["mix"])))
        if data.get("tokens") is not None:
            line += f"\n{data['tokens']:,} {'characters' if data.get('counted_in') == 'chars' else 'tokens'} in train"
        return line
    where = (f"validation file {data.get('validation_file')}" if split.get("validation") == "file"
             else f"split {split.get('ratio', 0):.0%} of train, seed {split.get('seed')}"
             + (f", stratified by {split['stratify_by']}" if split.get("stratify_by") else ""))
    line = (f"{data.get('train_examples', '?'):,} train + {data.get('validation_examples', 0):,} validation "
            f"examples ({where})")
    if data.get("tokens") is not None:
        unit = ("characters (no tokenizer for this backend)" if data.get("counted_in") == "chars"
                else f"content tokens ({data.get('counted_in')})")
        line += f"\n{data['tokens']:,} {unit} in train"
    return line


def print_plan(plan: Any, dry_run: bool = True) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    r = plan.recipe
    note = "dry run: nothing is uploaded, launched or spent" if dry_run else "running"
    console.print(f"[bold]Plan: {r.recipe.name} on {plan.backend.name}[/bold] ({note})")
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("recipe", f"{r.path} (sha256 {r.snapshot_hash()[:12]})")
    table.add_row("model", str(r.model))
    table.add_row("data", f"{plan.data.get('train_file', '')}\n{_data_line(plan.data)}")
    details = {k: v for k, v in plan.details.items() if k not in ("request", "model")}
    for key, value in _rows(details):
        table.add_row(key, value)
    console.print(table)
    if "request" in plan.details:
        from rich.syntax import Syntax  # pygments' lexers: only for a request to show (~8 ms)

        console.print(f"[bold]Request {plan.backend.name} would receive:[/bold]")
        console.print(Syntax(json.dumps(plan.details["request"], indent=2, default=str), "json",
                             theme="ansi_dark", background_color="default", word_wrap=True))
