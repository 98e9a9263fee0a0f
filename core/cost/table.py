"""Estimates as a table (rich) with their assumptions underneath, for ``ftx estimate`` and the guard."""

from __future__ import annotations

from typing import Any, Iterable

from ..estimate import Estimate

DASH = "—"


def money(usd: float | None) -> str:
    if usd is None:
        return DASH
    if usd == 0:
        return "$0"
    if usd < 0.01:
        return "<$0.01"
    return f"${usd:,.2f}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


def tokens(n: int | None) -> str:
    return DASH if n is None else f"{n:,}"


def epochs(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}"


def memory(e: Estimate) -> str:
    if e.peak_memory_gb is None:
        return DASH
    of = f" / {e.memory_gb:g}" if e.memory_gb is not None else ""
    return f"{e.peak_memory_gb:.1f}{of} GB"


def fits(value: bool | None) -> str:
    return {True: "[green]yes[/]", False: "[red]no[/]"}.get(value, DASH)  # type: ignore[arg-type]


def build_table(estimates: Iterable[Estimate], title: str | None = None) -> Any:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title, title_justify="left", header_style="bold")
    for name, justify in (("backend", "left"), ("model", "left"), ("training tokens", "right"),
                          ("epochs", "right"), ("cost", "right"), ("time", "right"),
                          ("peak memory", "right"), ("fits", "center")):
        table.add_column(name, justify=justify, no_wrap=name != "model",  # type: ignore[arg-type]
                         max_width=56 if name == "model" else None)
    for e in estimates:
        if not e.available:
            reason = e.notes[0] if e.notes else "cannot estimate"
            table.add_row(escape(e.label), f"[dim]{escape(e.model or DASH)}: {escape(reason)}[/]",
                          DASH, DASH, DASH, DASH, DASH, DASH)
            continue
        table.add_row(escape(e.label), escape(e.model or DASH), tokens(e.billable_tokens), epochs(e.epochs), money(e.cost_usd),
                      duration(e.seconds), memory(e), fits(e.fits))
    return table


def assumption_lines(estimates: Iterable[Estimate]) -> list[str]:
    """The assumptions under the table: per backend, a value shared by all its rows once, values
    that differ by device grouped as ``value (device, device)``; then each row's notes."""
    rows = [e for e in estimates if e.available]
    lines: list[str] = []
    for backend in dict.fromkeys(e.backend for e in rows):
        mine = [e for e in rows if e.backend == backend]
        keys = list(dict.fromkeys(k for e in mine for k in e.assumptions))
        for key in keys:
            groups: dict[str, list[str]] = {}
            for e in mine:
                if key in e.assumptions:
                    groups.setdefault(str(e.assumptions[key]), []).append(e.device or e.label)
            if len(groups) == 1 and sum(map(len, groups.values())) == len(mine):
                lines.append(f"{backend}: {key}: {next(iter(groups))}")
            else:
                lines.append(f"{backend}: {key}: " + "; ".join(f"{v} ({', '.join(d)})" for v, d in groups.items()))
    for e in estimates:
        for note in e.notes[(0 if e.available else 1):]:
            lines.append(f"note: {e.label}: {note}")
    return lines


def print_estimates(estimates: list[Estimate], *, err: bool = False, title: str | None = None) -> None:
    """Print the table and its assumptions (to stderr with ``err``, e.g. before a launch)."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=err, highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console.width = 160  # piped or captured: do not squeeze the table into 80 columns
    console.print(build_table(estimates, title))
    for line in assumption_lines(estimates):
        console.print(escape(line), style="dim" if not line.startswith("note:") else None)
