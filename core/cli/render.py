"""Human-readable output of plans (rich is imported only when printing)."""

from __future__ import annotations

from typing import Any


def _rows(data: dict[str, Any], indent: int = 0) -> list[tuple[str, str]]:
    rows = []
    for key, value in data.items():
        if isinstance(value, dict):
            rows.append(("  " * indent + str(key), ""))
            rows.extend(_rows(value, indent + 1))
        else:
            rows.append(("  " * indent + str(key), "" if value is None else str(value)))
    return rows


def print_plan(plan: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    r = plan.recipe
    table = Table(title=f"plan: {r.recipe.name} on {plan.backend.name}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in _rows({"recipe": str(r.path), "data": plan.data, plan.backend.name: plan.details}):
        table.add_row(key, value)
    console.print(table)
