"""Deterministic, optionally stratified train/validation splits.

The validation share defaults to 0.2 (80/20), and 0.1 (90/10) from 10,000 examples. With a
stratify field each stratum is split in proportion, and a stratum of two or more records always
gives at least one to validation and keeps at least one for training. The same seed gives the
same split (byte-identical files); each stratum is shuffled by its own generator seeded with
``"{seed}:{stratum}"``, so one stratum's membership does not depend on the others.
"""

from __future__ import annotations

import json
import math
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..errors import DataError, Problem
from .atomic import atomic_write
from .stats import MISSING, field_value, stratum_name

LARGE = 10_000
JSONL = (".jsonl", ".ndjson")


def default_ratio(n: int) -> float:
    """The validation share for ``n`` examples: 0.2, or 0.1 from 10,000 examples."""
    return 0.1 if n >= LARGE else 0.2


def validation_count(size: int, ratio: float) -> int:
    """How many of a stratum of ``size`` go to validation: ``ratio`` of it, rounded half up,
    at least 1 and at most ``size - 1`` when it has two or more records."""
    if size < 2:
        return 0
    return min(size - 1, max(1, math.floor(size * ratio + 0.5)))


def _key(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def split_indices(n_or_strata: int | Sequence[Any], ratio: float | None = None,
                  seed: int = 42) -> tuple[list[int], list[int]]:
    """Split positions ``0..n-1`` into (train, validation), both ascending.

    ``n_or_strata`` is a count (no strata) or one stratum value per position (any JSON-able
    value; None, e.g. a missing field, is a stratum of its own). Strings equal to the JSON of
    other values are the same stratum: ``"1"`` and ``1`` (values read from CSV are strings). ``ratio`` None picks
    :func:`default_ratio`.
    """
    if isinstance(n_or_strata, int):
        n, keys = n_or_strata, None
    else:
        n, keys = len(n_or_strata), [_key(v) for v in n_or_strata]
    if ratio is None:
        ratio = default_ratio(n)
    if not 0 < ratio < 1:
        raise ValueError(f"validation ratio must be between 0 and 1, not {ratio}")
    groups: dict[str, list[int]] = {}
    if keys is None:
        groups[""] = list(range(n))
    else:
        for i, k in enumerate(keys):
            groups.setdefault(k, []).append(i)
    validation: list[int] = []
    for key, members in groups.items():
        rng = random.Random(f"{seed}:{key}")
        validation.extend(rng.sample(members, validation_count(len(members), ratio)))
    chosen = set(validation)
    return [i for i in range(n) if i not in chosen], sorted(validation)


@dataclass
class SplitReport:
    """What :func:`split_file` wrote."""

    source: str
    train_path: str
    validation_path: str
    format: str
    ratio: float
    seed: int
    train: int = 0
    validation: int = 0
    stratify_by: str | None = None
    strata: dict[str, list[int]] | None = None  # stratum -> [train, validation]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "train_path": self.train_path,
                "validation_path": self.validation_path, "format": self.format, "ratio": self.ratio,
                "seed": self.seed, "train": self.train, "validation": self.validation,
                "stratify_by": self.stratify_by, "strata": self.strata, "notes": self.notes}


def _scan(path: str, fmt: str, stratify_by: str | None):
    """First pass: (format name, source line of each valid record, its stratum, any field found)."""
    from .load import parse_record, resolve_format
    from .readers import read_records

    data_format = resolve_format(path, fmt)
    problems: list[Problem] = []
    lines: list[int] = []
    strata: list[str] = []
    found_any = False
    for record in read_records(path):
        parsed = parse_record(data_format, record)
        if parsed.problems:
            problems.extend(parsed.problems)
            continue
        lines.append(record.source.line)
        if stratify_by:
            found, value = field_value(record.data, stratify_by)
            found_any = found_any or found
            strata.append(stratum_name(found, value))
    if problems:
        raise DataError(problems=problems, hint=f"nothing was written; fix the records "
                                                f"(ftx data validate {path}) and split again")
    if not lines:
        raise DataError(f"{path}: no records to split")
    if stratify_by and not found_any:
        raise DataError(f"no record has the field {stratify_by!r} to stratify by", file=path,
                        hint="give a dotted path into the records, e.g. label or meta.task")
    return data_format.name, lines, strata


def _write(path: str, lines: list[int], sides: bytearray, train, val) -> None:
    """Second pass: each record to its side, unchanged (JSON Lines: the very line)."""
    outs = (train, val)
    count = 0
    if Path(path).suffix.lower() in JSONL:
        wanted = iter(zip(lines, sides))
        line, side = next(wanted, (None, 0))
        with open(path, "rb") as handle:
            for number, raw in enumerate(handle, 1):
                if number == line:
                    text = raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8").rstrip("\r\n")
                    outs[side].write(text + "\n")
                    count += 1
                    line, side = next(wanted, (None, 0))
    else:
        from .readers import read_records

        for record, side in zip(read_records(path), sides):
            outs[side].write(json.dumps(record.data, ensure_ascii=False, default=str) + "\n")
            count += 1
    if count != len(lines):
        raise DataError(f"{path} changed while it was being split; nothing was written")


def split_file(path: str | os.PathLike, train_out: str | os.PathLike, val_out: str | os.PathLike,
               ratio: float | None = None, stratify_by: str | None = None, seed: int = 42,
               fmt: str = "auto") -> SplitReport:
    """Split a data file into training and validation JSON Lines files, in two streaming passes.

    The first pass validates every record and notes only its line and stratum; any invalid
    record raises :class:`DataError` with every problem and nothing is written. The second
    writes each record unchanged (JSON Lines input: the original line; other inputs: the raw
    record as JSON), in file order, both outputs replaced atomically.
    """
    path, train_out, val_out = str(path), str(train_out), str(val_out)
    resolved = {os.path.abspath(p) for p in (path, train_out, val_out)}
    if len(resolved) < 3:
        raise DataError("the input and the two outputs must be three different files",
                        file=path)
    if ratio is not None and not 0 < ratio < 1:
        raise DataError(f"the validation ratio must be between 0 and 1, not {ratio}")
    format_name, lines, strata = _scan(path, fmt, stratify_by)
    n = len(lines)
    ratio = default_ratio(n) if ratio is None else ratio
    _, val_idx = split_indices(strata if stratify_by else n, ratio, seed)
    sides = bytearray(n)
    for i in val_idx:
        sides[i] = 1
    with atomic_write(train_out) as train, atomic_write(val_out) as val:
        _write(path, lines, sides, train, val)
    report = SplitReport(path, train_out, val_out, format_name, ratio, seed,
                         train=n - len(val_idx), validation=len(val_idx), stratify_by=stratify_by)
    if stratify_by:
        counts: dict[str, list[int]] = {}
        for name, side in zip(strata, sides):
            counts.setdefault(name, [0, 0])[side] += 1
        report.strata = dict(sorted(counts.items(), key=lambda kv: (-sum(kv[1]), kv[0])))
        single = [name for name, (t, v) in report.strata.items() if t + v == 1]
        if single:
            shown = ", ".join(repr(name) for name in single[:5]) + (", ..." if len(single) > 5 else "")
            report.notes.append(f"{len(single)} strat{'a have' if len(single) > 1 else 'um has'} a single "
                                f"record ({shown}): in the training set only")
        if MISSING in counts:
            report.notes.append(f"{sum(counts[MISSING])} records have no {stratify_by!r}: "
                                f"they are split as a stratum of their own")
    if not val_idx:
        report.notes.append("the validation set is empty: a single record cannot be split")
    return report
