"""Warnings about records that are valid but probably not what the user meant, each with its
line: blank lines, exact duplicates of an earlier record, conversations that end on a turn with
no answer after it. ``ftx data validate`` shows them; they never fail validation."""

from __future__ import annotations

import json
from array import array
from pathlib import Path
from typing import Any, Callable

from ..errors import Problem


def _blank_lines(path: str) -> list[int]:
    if Path(path).suffix.lower() not in (".jsonl", ".ndjson"):
        return []
    out = []
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            if not raw.strip():
                out.append(number)
    # trailing blank lines at the very end are an editor's habit, not a problem
    return out


def _record_key() -> Callable[[Any], int]:
    """64 bits of a record's canonical JSON (sorted keys): equal for records equal as JSON.
    orjson writes the canonical form when installed; a record it cannot write or that holds a
    null (orjson writes NaN as null), and so each copy of it, takes the standard library's form."""
    from .fastjson import orjson_module
    from .hash64 import hash64

    orjson = orjson_module()
    sort = orjson.OPT_SORT_KEYS if orjson is not None else 0

    def key(data: Any) -> int:
        if orjson is not None:
            try:
                text = orjson.dumps(data, option=sort)
            except TypeError:
                text = None
            if text is not None and b"null" not in text:
                return hash64(text)
        return hash64(json.dumps(data, sort_keys=True, default=str, separators=(",", ":")).encode(), b"stdlib")

    return key


def exact_duplicates(keys: array, lines: array) -> list[tuple[int, int]]:
    """(line, line of the first copy) of each record whose key an earlier record has, in file
    order. The keys are collected while the file streams, 16 bytes per record with its line (a
    dict or set of them would take ~140), and compared once at the end as the duplicate index
    compares its keys (:func:`ftx.data.dedupe_runs.equal_runs`: one sort, numpy for large files)."""
    from .dedupe_runs import equal_runs

    n = len(keys)
    found = [(run[k], run[0]) for run in equal_runs(keys, n, b"\x01" * n) for k in range(1, len(run))]
    found.sort()
    return [(lines[i], lines[j]) for i, j in found]


def record_warnings(path: str, fmt: str = "auto", limit: int = 1000) -> tuple[list[Problem], int]:
    """(warnings up to ``limit``, total count) for ``path``."""
    from .load import iter_parsed

    found: list[Problem] = []
    total = 0

    def add(problem: Problem) -> None:
        nonlocal total
        total += 1
        if len(found) < limit:
            found.append(problem)

    blanks = _blank_lines(path)
    if blanks:
        shown = ", ".join(map(str, blanks[:5])) + (" ..." if len(blanks) > 5 else "")
        add(Problem(f"{len(blanks)} blank line{'s' if len(blanks) != 1 else ''} skipped (lines {shown})",
                    file=path, line=blanks[0]))
    keys, lines = array("q"), array("Q")  # each valid record's key and line, for the duplicates
    record_key = _record_key()
    for parsed in iter_parsed(path, fmt):
        src = parsed.record.source
        e = parsed.example
        if e is not None:
            keys.append(record_key(parsed.record.data))
            lines.append(src.line)
        if e is not None and e.kind == "chat" and e.messages and e.messages[-1].role not in ("assistant", "model"):
            add(Problem(f"the conversation ends on a {e.messages[-1].role} turn: no answer follows it "
                        "to learn from", file=src.file, line=src.line))
    duplicates = exact_duplicates(keys, lines)
    if duplicates:
        line, original = duplicates[0]
        more = ", ".join(str(d[0]) for d in duplicates[1:5]) + (" ..." if len(duplicates) > 5 else "")
        add(Problem(f"exact duplicate of line {original}" + (
            f" ({len(duplicates)} exact duplicates of earlier records in all; also lines {more})"
            if len(duplicates) > 1 else ""), file=path, line=line))
    return found, total
