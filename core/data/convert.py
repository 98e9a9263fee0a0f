"""Convert a data file from one format to another, all or nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import DataError, Problem
from ..example import Example
from ..formats import CannotConvert, DataFormat, RecordInvalid
from .atomic import atomic_write
from .load import iter_parsed, resolve_format

WRITABLE = (".jsonl", ".ndjson", ".json")


@dataclass
class ConvertReport:
    src: str
    dst: str
    examples: int
    from_format: str
    to_format: str


def convert_file(src: str, dst: str, to: str, fmt: str = "auto") -> ConvertReport:
    """Write every example of ``src`` to ``dst`` in format ``to``.

    Everything is checked first: when any record is invalid or has no form in ``to``, raise
    :class:`DataError` listing every problem and write nothing. The output goes through
    :func:`atomic_write`, so ``dst`` is either complete or untouched. ``dst`` is JSON Lines
    (``.jsonl``/``.ndjson``) or a JSON array (``.json``).
    """
    from ..components import formats, get_format

    target = get_format(to)
    if not target.can_dump:
        writable = ", ".join(n for n, f in formats().items() if f.can_dump)
        raise DataError(f"format {to!r} cannot be written", hint=f"formats that can: {writable}")
    suffix = Path(dst).suffix.lower()
    if suffix not in WRITABLE:
        raise DataError(f"{dst}: cannot write {suffix or 'a file without extension'}",
                        hint=f"name the output {', '.join('*' + s for s in WRITABLE)}")
    source_format = resolve_format(src, fmt)

    problems: list[Problem] = []
    count = 0
    for parsed in iter_parsed(src, source_format):
        if parsed.example is None:
            problems.extend(parsed.problems)
            continue
        try:
            dump_checked(target, parsed.example)
        except CannotConvert as exc:
            where = parsed.record.source
            problems.append(Problem(f"cannot convert to {target.name}: {exc}", where.file, where.line))
        count += 1
    if problems:
        raise DataError(problems=problems, hint=f"nothing was written to {dst}")
    if count == 0:
        raise DataError(f"{src}: no examples to convert")

    written = 0
    with atomic_write(dst) as out:
        writer = _JsonArrayWriter(out) if suffix == ".json" else _JsonLinesWriter(out)
        for parsed in iter_parsed(src, source_format):
            if parsed.example is None:  # the file changed since the check: keep all or nothing
                raise DataError(problems=parsed.problems, hint=f"nothing was written to {dst}")
            writer.write(dump_checked(target, parsed.example))
            written += 1
        writer.close()
    return ConvertReport(str(src), str(dst), written, source_format.name, target.name)


def dump_checked(target: DataFormat, example: Example) -> dict[str, Any]:
    """``target.dump(example)``, read back with ``target.parse`` so nothing invalid is written."""
    record = target.dump(example)
    try:
        target.parse(record)
    except RecordInvalid as exc:
        raise CannotConvert(str(exc)) from exc
    return record


class _JsonLinesWriter:
    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def write(self, record: dict[str, Any]) -> None:
        self.out.write(json.dumps(record, ensure_ascii=False) + "\n")

    def close(self) -> None:
        pass


class _JsonArrayWriter:
    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.first = True

    def write(self, record: dict[str, Any]) -> None:
        self.out.write(("[\n" if self.first else ",\n") + json.dumps(record, ensure_ascii=False))
        self.first = False

    def close(self) -> None:
        self.out.write("[]\n" if self.first else "\n]\n")
