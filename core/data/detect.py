"""Tell which data format a file holds, from its first records."""

from __future__ import annotations

import contextlib
from typing import Any, Iterable, Mapping

from ..errors import DataError, Problem
from ..formats import DataFormat
from .readers import read_records


class NoValidRecords(DataError):
    """The file has no readable record to detect a format from (empty, or every record bad)."""


def detect_format(path: str, sample: int = 50) -> DataFormat:
    """Score every registered format's ``detect()`` over the first ``sample`` readable records
    of ``path`` and return the best; raise :class:`DataError` when none matches."""
    from ..components import formats

    records: list[dict[str, Any]] = []
    with contextlib.closing(read_records(path)) as stream:
        for record in stream:
            if record.error is None:
                records.append(record.data)
                if len(records) >= sample:
                    break
    if not records:
        raise NoValidRecords(f"{path}: no readable records to tell the data format from")
    table = formats()
    best = best_format(records, table)
    if best is None:
        keys = ", ".join(sorted(records[0])) or "none"
        raise DataError(f"{path}: cannot tell the data format; the first record has keys: {keys}",
                        problems=[Problem(f"format {f.name}: {_keys(f)}") for f in table.values()],
                        hint="fix the keys, or name the format with --format / data.format")
    return best


def best_format(records: Iterable[dict[str, Any]], table: Mapping[str, DataFormat]) -> DataFormat | None:
    """The format that best matches the most ``records`` (None if no format matches any).

    Each record votes for its highest-scoring format; ties in votes go to the higher total
    score, then to the format registered first, so built-ins keep a stable answer.
    """
    votes = {name: 0 for name in table}
    totals = {name: 0 for name in table}
    for record in records:
        scores = {name: _score(fmt, record) for name, fmt in table.items()}
        top = max(scores, key=lambda n: scores[n], default=None)
        if top is None or scores[top] == 0:
            continue
        votes[top] += 1
        for name, score in scores.items():
            totals[name] += score
    name = max(votes, key=lambda n: (votes[n], totals[n]), default=None)
    return table[name] if name is not None and votes[name] > 0 else None


def _score(fmt: DataFormat, record: dict[str, Any]) -> int:
    try:
        return max(0, int(fmt.detect(record)))
    except Exception:  # a third-party detect() must not break detection for the rest
        return 0


def _keys(fmt: DataFormat) -> str:
    text = "keys " + ", ".join(fmt.keys) if fmt.keys else "no keys (never detected)"
    if fmt.optional_keys:
        text += f" (optional: {', '.join(fmt.optional_keys)})"
    return text
