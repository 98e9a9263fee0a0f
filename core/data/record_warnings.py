"""Warnings about records that are valid but probably not what the user meant, each with its
line: blank lines, exact duplicates of an earlier record, conversations that end on a turn with
no answer after it. ``ftx data validate`` shows them; they never fail validation."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

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
    first_seen: dict[str, int] = {}
    duplicates: list[tuple[int, int]] = []  # (line, line of the first copy)
    for parsed in iter_parsed(path, fmt):
        src = parsed.record.source
        e = parsed.example
        if e is not None:
            digest = hashlib.sha256(json.dumps(parsed.record.data, sort_keys=True, default=str).encode()).hexdigest()
            if digest in first_seen:
                duplicates.append((src.line, first_seen[digest]))
            else:
                first_seen[digest] = src.line
        if e is not None and e.kind == "chat" and e.messages and e.messages[-1].role not in ("assistant", "model"):
            add(Problem(f"the conversation ends on a {e.messages[-1].role} turn: no answer follows it "
                        "to learn from", file=src.file, line=src.line))
    if duplicates:
        line, original = duplicates[0]
        more = ", ".join(str(d[0]) for d in duplicates[1:5]) + (" ..." if len(duplicates) > 5 else "")
        add(Problem(f"exact duplicate of line {original}" + (
            f" ({len(duplicates)} exact duplicates of earlier records in all; also lines {more})"
            if len(duplicates) > 1 else ""), file=path, line=line))
    return found, total
