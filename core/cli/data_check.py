"""``ftx data validate`` and ``ftx data convert``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import DataError


def _objective(name: str | None) -> str | None:
    """An installed objective's name (objectives are plugins, so the choice is known only now)."""
    if name is None:
        return None
    from ..components import objectives

    installed = objectives()
    if name not in installed:
        raise click.BadParameter(f"{name!r} is not an installed objective; installed: "
                                 f"{', '.join(sorted(installed)) or 'none'}", param_hint="'--objective'")
    return name


@click.command("validate")
@click.argument("files", nargs=-1, required=True)
@click.option("--format", "fmt", default="auto", show_default=True,
              help="Data format (chat, alpaca, sharegpt, ...); auto detects it.")
@click.option("--objective", callback=lambda ctx, param, value: _objective(value), metavar="NAME",
              help="Also check the data fits this training objective (sft, dpo, orpo, kto, ...).")
@click.option("--max-problems", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Print at most this many problems per file (all are counted).")
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON on stdout.")
def validate(files: tuple[str, ...], fmt: str, objective: str | None, max_problems: int, as_json: bool) -> None:
    """Check data files; print every bad record as file:line: field: reason.

    FILE is .jsonl, .json, .csv, .parquet, a datasets.save_to_disk directory or hf:NAME[:SPLIT].
    Exits 1 when any record (or the file as a whole) has a problem.
    """
    from ..data.validate import validate_file

    failed = False
    reports = []
    for path in files:
        try:
            report = validate_file(path, fmt=fmt, objective=objective, max_problems=max_problems)
        except DataError as exc:
            failed = True
            for line in exc.lines():
                click.echo(line if line.startswith("hint:") else f"error: {line}", err=True)
            reports.append({"path": path, "ok": False, "error": [str(p) for p in exc.problems]})
            continue
        failed = failed or not report.ok
        reports.append(report.to_dict())
        for problem in report.problems:
            click.echo(f"error: {problem}", err=True)
        hidden = report.problems_total - len(report.problems)
        if hidden:
            click.echo(f"error: {path}: {hidden:,} more problems not shown (--max-problems)", err=True)
        warned, warned_total = _warnings(path, fmt, max_problems)
        for warning in warned:
            click.echo(f"warning: {warning}", err=True)
        if warned_total > len(warned):
            click.echo(f"warning: {path}: {warned_total - len(warned):,} more warnings not shown", err=True)
        reports[-1]["warnings"] = [str(w) for w in warned]
        if not as_json:
            noun = "record" if report.records == 1 else "records"
            click.echo(f"{path}: {report.records:,} {noun}, format {report.format}, {report.invalid:,} invalid")
    if as_json:
        click.echo(json.dumps(reports, indent=2))
    if failed:
        click.get_current_context().exit(1)


def _warnings(path: str, fmt: str, limit: int) -> tuple[list, int]:
    """Located warnings (blank lines, duplicates, unanswered last turns); none for inputs the
    line-based scan does not apply to (hf: datasets, saved datasets)."""
    from ..data.record_warnings import record_warnings

    if path.startswith("hf:") or Path(path).is_dir():
        return [], 0
    try:
        return record_warnings(path, fmt, limit)
    except DataError:
        return [], 0


@click.command("convert")
@click.argument("src")
@click.argument("dst")
@click.option("--to", "to", required=True, help="Target format: chat (OpenAI chat JSONL), openai-dpo, gemini, "
                                                "or any format that can be written.")
@click.option("--format", "fmt", default="auto", show_default=True, help="Format of SRC; auto detects it.")
def convert(src: str, dst: str, to: str, fmt: str) -> None:
    """Convert SRC to format --to and write DST (.jsonl or .json), all or nothing."""
    from ..data.convert import convert_file

    report = convert_file(src, dst, to=to, fmt=fmt)
    noun = "example" if report.examples == 1 else "examples"
    click.echo(f"wrote {report.examples:,} {noun} to {report.dst} ({report.from_format} -> {report.to_format})")


COMMANDS = [validate, convert]
