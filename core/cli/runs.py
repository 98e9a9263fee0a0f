"""``ftx runs``: list and inspect the runs in the registry (rich is imported only when printing)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ..registry import Event, Run

# Kept literal so `ftx --help` does not import the registry just to build a Choice.
_STATUSES = ("planned", "uploading", "queued", "running", "succeeded", "failed", "cancelled", "interrupted")
_STATUS_STYLE = {
    "succeeded": "green", "failed": "red", "cancelled": "yellow", "interrupted": "yellow",
    "running": "cyan", "queued": "blue", "uploading": "blue", "planned": "dim",
}
_LEVEL_STYLE = {"error": "red", "warning": "yellow", "info": "", "debug": "dim"}


@click.group("runs")
def runs_group() -> None:
    """List and inspect recorded runs (every backend, one registry)."""


@runs_group.command("list")
@click.option("--backend", "-b", default=None, help="only runs on this backend")
@click.option("--status", "-s", type=click.Choice(_STATUSES), default=None, help="only runs in this status")
@click.option("--recipe", "-r", default=None, help="only runs of the recipe with this name")
@click.option("--user", "-u", default=None, help="only runs launched by this user (a shared registry)")
@click.option("--limit", "-n", type=click.IntRange(min=1), default=50, show_default=True, help="at most N runs")
@click.option("--json", "as_json", is_flag=True, help="print the runs as JSON")
def list_runs(backend: str | None, status: str | None, recipe: str | None, user: str | None, limit: int,
              as_json: bool) -> None:
    """List runs, newest first."""
    from ..registry import Registry

    with Registry() as registry:
        runs = registry.list_runs(limit=limit, backend=backend, status=status, recipe=recipe, user=user)
    from ..registry.liveness import shown_status

    if as_json:
        click.echo(json.dumps([{**r.to_dict(), "shown_status": shown_status(r)[0], "status_note": shown_status(r)[1]}
                               for r in runs], indent=2))
        return
    if not runs:
        click.echo("no runs recorded" + (" matching the filters" if backend or status or recipe or user else " yet"))
        return
    _print_run_table(runs)


@runs_group.command("show")
@click.argument("run")
@click.option("--events", "n_events", type=click.IntRange(min=0), default=20, show_default=True,
              help="how many recent events to show")
@click.option("--json", "as_json", is_flag=True, help="print the run (with its events) as JSON")
def show_run(run: str, n_events: int, as_json: bool) -> None:
    """Show everything recorded about RUN (an id or a unique prefix of one)."""
    from ..registry import Registry

    with Registry() as registry:
        found = registry.get_run(run)
        events = registry.events(found.id, limit=n_events) if n_events else []
    if as_json:
        click.echo(json.dumps(run_json(found, events), indent=2))
        return
    _print_run(found, events)


@runs_group.command("migrate")
@click.option("--to", "target", required=True, metavar="URL",
              help="the registry to copy into, e.g. postgresql://user@host/ftx (a team's shared registry)")
@click.option("--from", "source", default=None, metavar="PATH",
              help="the SQLite registry to copy from (default: this machine's, $FTX_REGISTRY or the ftx home's)")
def migrate_runs(target: str, source: str | None) -> None:
    """Copy every run (with its events) into another registry; running it again copies nothing twice."""
    from ..registry import Registry
    from ..registry.copy import copy_registry
    from ..registry.db import registry_path

    with Registry(source or registry_path()) as src, Registry(target) as dst:
        if src.location == dst.location:
            raise click.UsageError("--from and --to name the same registry")
        report = copy_registry(src, dst)
        where = dst.location
    click.echo(f"copied {len(report.copied)} run(s) and {report.events} event(s) into {where}; "
               f"{len(report.already)} already there")
    for line in report.conflicts:
        click.echo(f"skipped {line}", err=True)


def run_json(run: "Run", events: list["Event"]) -> dict[str, Any]:
    """A run as JSON-ready data, with duration, cost difference and events added."""
    data = run.to_dict()
    data["duration_s"] = run.duration_s
    diff = run.cost_difference()
    data["cost_difference"] = None if diff is None else {"usd": round(diff[0], 6),
                                                         "percent": None if diff[1] is None else round(diff[1], 2)}
    data["events"] = [e.to_dict() for e in events]
    return data


def money(value: float | None) -> str:
    """Dollars for people: ``$12.30``, ``$0.0042`` for sub-cent amounts, ``-`` when unknown."""
    if value is None:
        return "-"
    if value and abs(value) < 0.01:
        return f"${value:.4f}"
    return f"${value:,.2f}"


def cost_difference_text(run: "Run") -> str | None:
    """``+$0.50 (+25.0%)``: how far the actual cost landed from the estimate; ``None`` unless both known."""
    diff = run.cost_difference()
    if diff is None:
        return None
    usd, pct = diff
    sign = "+" if usd >= 0 else "-"
    pct_text = "n/a: estimate was $0" if pct is None else f"{pct:+.1f}%"
    return f"{sign}{money(abs(usd))} ({pct_text})"


def _when(text: str | None) -> str:
    """``2026-11-23T07:15:30.123Z`` -> ``2026-11-23 07:15:30Z`` (UTC, like run ids)."""
    if not text:
        return "-"
    return text.replace("T", " ")[:19] + "Z"


def _duration(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows.extend(_flatten(value, name + "."))
        else:
            rows.append((name, _value(value)))
    return rows


def _status(status: str) -> str:
    style = _STATUS_STYLE.get(status)
    return f"[{style}]{status}[/{style}]" if style else status


def _print_run_table(runs: list["Run"]) -> None:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    console = _console()
    # Ids, statuses and costs stay whole (people copy ids); free text folds. On a narrow terminal
    # the year is dropped from the creation time so the free-text columns keep some room.
    narrow = console.width < 110
    table = Table(title=f"{len(runs)} run(s), newest first", title_justify="left", box=box.SIMPLE_HEAD,
                  padding=0, show_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("name", overflow="fold")
    table.add_column("backend", overflow="fold")
    table.add_column("model", overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("created" if narrow else "created (UTC)", no_wrap=True)
    table.add_column("est." if narrow else "est. cost", justify="right", no_wrap=True)
    table.add_column("actual" if narrow else "actual cost", justify="right", no_wrap=True)
    from ..registry.liveness import shown_status

    notes = []
    for r in runs:
        created = _when(r.created_at)[5 if narrow else 0:16]
        status, note = shown_status(r)
        if note:
            notes.append(f"{r.id}: {note}")
        table.add_row(r.id, escape(r.name), escape(r.backend), escape(r.model or "-"), _status(status),
                      created, money(r.estimated_cost_usd), money(r.actual_cost_usd))
    console.print(table)
    for note in notes:
        console.print(escape(note))


def _console() -> Any:
    """A console; when output is not a terminal (piped, captured) it is 120 columns, not rich's 80,
    so tables of runs stay readable in files and logs."""
    from rich.console import Console

    console = Console()
    if not console.is_terminal and console.width < 120:
        console = Console(width=120)
    return console


def _kv_table(title: str, rows: list[tuple[str, str]]) -> Any:
    from rich.table import Table

    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    return table


def _print_run(run: "Run", events: list["Event"]) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = _console()
    overview = [
        ("id", run.id), ("name", run.name), ("status", _status(run.status)), ("backend", run.backend),
        ("model", run.model), ("remote job", run.remote_job_id), ("client key", run.client_key),
        ("created", _when(run.created_at)), ("started", run.started_at and _when(run.started_at)),
        ("finished", run.finished_at and _when(run.finished_at)), ("updated", _when(run.updated_at)),
        ("duration", _duration(run.duration_s)), ("recipe hash", run.recipe_hash), ("output dir", run.output_dir),
        ("error", run.error),
    ]
    rows = [(k, v if k == "status" else escape(v)) for k, v in overview if v]
    console.print(_kv_table(f"run {run.id}", rows))
    costs = [("estimated", money(run.estimated_cost_usd)), ("actual", money(run.actual_cost_usd))]
    diff = cost_difference_text(run)
    if diff:
        costs.append(("difference", diff))
    console.print(_kv_table("cost (USD)", costs))
    for title, data in (("metrics", run.metrics), ("artifacts", run.artifacts), ("data (sha256)", run.data_hashes),
                        ("recipe", run.recipe_snapshot), ("extra", run.extra)):
        if data:
            console.print(_kv_table(title, [(escape(k), escape(v)) for k, v in _flatten(data)]))
    evaluation = (run.extra or {}).get("evaluation")
    if isinstance(evaluation, dict) and evaluation.get("verdict"):
        console.print(f"evaluation ({evaluation.get('n')} test items): {escape(str(evaluation['verdict']))}")
    if events:
        table = Table(title=f"last {len(events)} event(s)", title_justify="left")
        table.add_column("time (UTC)", no_wrap=True)
        table.add_column("level", no_wrap=True)
        table.add_column("message", overflow="fold")
        for e in events:
            style = _LEVEL_STYLE.get(e.level, "")
            level = f"[{style}]{e.level}[/{style}]" if style else e.level
            table.add_row(_when(e.time), level, escape(e.message))
        console.print(table)


COMMANDS = [runs_group]
