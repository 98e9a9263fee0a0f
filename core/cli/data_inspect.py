"""``ftx data stats`` and ``ftx data split``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import click

from .common import echo_warnings


def _ratio(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and not 0 < value < 1:
        raise click.BadParameter("must be between 0 and 1 (exclusive), e.g. 0.2")
    return value


def _examples(path: str, fmt: str, invalid: dict[str, list]) -> Iterator:
    """The valid examples of ``path``; its problems are kept in ``invalid[path]``."""
    from ..data.load import iter_examples

    invalid[path] = []
    yield from iter_examples(path, fmt, invalid[path])


@click.command("stats")
@click.argument("file")
@click.option("--validation", "validation", metavar="FILE",
              help="Validation data: also its stats and train/validation leakage.")
@click.option("--tokenizer", metavar="SPEC", help="chars (default), o200k_base, cl100k_base, an OpenAI model "
                                                  "name, or hf:PATH / a local tokenizer directory.")
@click.option("--max-length", type=click.IntRange(min=1),
              help="Count examples longer than this many tokens (estimated from characters without --tokenizer).")
@click.option("--stratify-by", metavar="FIELD", help="Count examples per value of this record field (dotted path).")
@click.option("--format", "fmt", default="auto", show_default=True, help="Data format; auto detects it.")
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON on stdout.")
def stats(file: str, validation: str | None, tokenizer: str | None, max_length: int | None,
          stratify_by: str | None, fmt: str, as_json: bool) -> None:
    """Statistics of a data file: kinds, roles, turns, lengths, duplicates, and warnings.

    Warnings from fine-tuning practice (too few examples, duplicates, leakage, no validation
    set, truncation, imbalanced strata) go to stderr as `warning: ...` lines.
    """
    from ..data.advice import dataset_warnings
    from ..data.dedupe_fork import index_for_files
    from ..data.stats import compute_stats
    from ..data.tokens import get_counter

    counter = get_counter(tokenizer)
    invalid: dict[str, list] = {}
    paths = [file] + ([validation] if validation else [])
    # One index: each set's duplicates, then the leak check; for large files built by a forked
    # child that reads them too, while this process computes the statistics.
    index = index_for_files([lambda p=p: _examples(p, fmt, {}) for p in paths], paths)
    try:
        train_stats = compute_stats(_examples(file, fmt, invalid), counter, max_length, stratify_by, index=index)
        val_stats = leaks = None
        if validation:
            val_stats = compute_stats(_examples(validation, fmt, invalid), counter, max_length, stratify_by,
                                      index=index, side=1)
            leaks = index.leaks()
    finally:
        index.close()
    warnings = []
    for path, found in invalid.items():
        if found:
            n = len({(p.file, p.line) for p in found})
            warnings.append(f"{path}: {n:,} invalid record{'s' if n != 1 else ''} skipped (first: {found[0]}); "
                            f"run 'ftx data validate {path}'")
    warnings += dataset_warnings(train_stats, val_stats, leaks)
    if as_json:
        out = {"train": {"file": file, **train_stats.to_dict()},
               "validation": {"file": validation, **val_stats.to_dict()} if val_stats else None,
               "overlap": leaks.to_dict() if leaks is not None else None,
               "invalid_records": {path: len({(p.file, p.line) for p in found}) for path, found in invalid.items()},
               "warnings": warnings}
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        from rich.console import Console
        from rich.markup import escape

        console = Console(highlight=False, soft_wrap=True, emoji=False)  # data text as written (":x:" stays)
        console.print(train_stats.render(f"train {file}"))
        if val_stats is not None:
            console.print()
            console.print(val_stats.render(f"validation {validation}"))
        if leaks is not None:
            console.print(f"\nleakage: {len(leaks)} of {leaks.validation_examples} validation examples "
                          f"duplicate training examples")
            for leak in leaks.leaks[:20]:
                console.print(escape(f"  {leak.line} ({leak.kind}, {leak.similarity:.2f}) ~ "
                                     f"{', '.join(leak.train_lines)}"))
    echo_warnings(warnings)


def _default_out(path: str, side: str) -> str:
    if path.startswith("hf:"):
        return f"{path[3:].replace('/', '_').replace(':', '_')}.{side}.jsonl"
    p = Path(path)
    return str(p.with_name(f"{p.stem if p.is_file() else p.name}.{side}.jsonl"))


@click.command("split")
@click.argument("file")
@click.option("--out-train", metavar="PATH", help="Training output (default: <stem>.train.jsonl beside FILE).")
@click.option("--out-val", metavar="PATH", help="Validation output (default: <stem>.val.jsonl beside FILE).")
@click.option("--ratio", type=float, callback=_ratio,
              help="Validation share (default 0.2; 0.1 from 10,000 examples).")
@click.option("--stratify-by", metavar="FIELD",
              help="Split each value of this record field (dotted path) in proportion.")
@click.option("--seed", type=int, default=42, show_default=True, help="Seed: the same seed gives the same split.")
@click.option("--format", "fmt", default="auto", show_default=True, help="Data format; auto detects it.")
def split(file: str, out_train: str | None, out_val: str | None, ratio: float | None,
          stratify_by: str | None, seed: int, fmt: str) -> None:
    """Split FILE into training and validation JSON Lines files, deterministically.

    Records are copied unchanged. Any invalid record stops the split with every problem listed,
    and nothing is written.
    """
    from ..data.split import split_file

    report = split_file(file, out_train or _default_out(file, "train"), out_val or _default_out(file, "val"),
                        ratio=ratio, stratify_by=stratify_by, seed=seed, fmt=fmt)
    total = report.train + report.validation
    click.echo(f"split {file} ({total:,} records, {report.format}) "
               f"with validation share {report.ratio:g}, seed {report.seed}")
    click.echo(f"train       {report.train:>8,}  {report.train_path}")
    click.echo(f"validation  {report.validation:>8,}  {report.validation_path}")
    if report.strata is not None:
        click.echo(f"by {report.stratify_by}: (train / validation)")
        width = max(len(name) for name in report.strata)
        for name, (t, v) in report.strata.items():
            click.echo(f"  {name:<{width}}  {t:>8,} / {v:,}")
    echo_warnings(report.notes)


COMMANDS = [stats, split]
