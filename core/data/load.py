"""Records -> :class:`Example` objects, each located by file and line; bad records become problems."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from ..errors import Problem
from ..example import Example
from ..formats import DataFormat, RecordInvalid
from .readers import Record, read_records


@dataclass
class Parsed:
    """One record and what became of it: an example, or the problems that stopped it."""

    record: Record
    example: Example | None = None
    problems: list[Problem] = field(default_factory=list)


def resolve_format(path: str, fmt: str | DataFormat = "auto") -> DataFormat:
    """The format object for ``fmt``: given, named, or detected from ``path`` when ``"auto"``."""
    if isinstance(fmt, DataFormat):
        return fmt
    if fmt == "auto":
        from .detect import detect_format

        return detect_format(path)
    from ..components import get_format

    return get_format(fmt)


def parse_record(data_format: DataFormat, record: Record) -> Parsed:
    """Parse one record with ``data_format``, turning every failure into located problems."""
    src = record.source
    if record.error is not None:
        return Parsed(record, problems=[Problem(record.error, src.file, src.line)])
    try:
        example = data_format.parse(record.data)
    except Exception as exc:
        return _failed(data_format, record, exc)
    example.source = src
    return Parsed(record, example)


def _failed(data_format: DataFormat, record: Record, exc: Exception) -> Parsed:
    """What became of a record whose ``parse`` raised ``exc``."""
    src = record.source
    if not isinstance(exc, RecordInvalid):  # a plugin's parse() bug must not hide the other records' problems
        return Parsed(record, problems=[Problem(
            f"format {data_format.name!r} failed on this record: {type(exc).__name__}: {exc}", src.file, src.line)])
    other = _other_format(data_format, record.data)
    if other is not None:
        return Parsed(record, problems=[Problem(
            f"record is {other} data, but this file holds {data_format.name} (one file must hold one format)",
            src.file, src.line)])
    problems = exc.problems or [(None, "invalid record")]
    return Parsed(record, problems=[Problem(msg, src.file, src.line, fld) for fld, msg in problems])


def iter_parsed(path: str, fmt: str | DataFormat = "auto") -> Iterator[Parsed]:
    """Stream every record of ``path`` with its example or problems."""
    data_format = resolve_format(path, fmt)
    for record in read_records(path):
        yield parse_record(data_format, record)


def iter_examples(path: str, fmt: str = "auto", problems: list[Problem] | None = None) -> Iterator[Example]:
    """Stream the valid examples of ``path`` (``source`` set on each).

    Invalid records are skipped; their problems are appended to ``problems`` when given.
    """
    data_format = resolve_format(path, fmt)
    parse = data_format.parse
    for record in read_records(path):
        # What parse_record does, without a Parsed per record for the valid ones.
        if record.error is None:
            try:
                example = parse(record.data)
            except Exception as exc:
                parsed = _failed(data_format, record, exc)
            else:
                example.source = record.source
                yield example
                continue
        else:
            parsed = parse_record(data_format, record)
        if problems is not None:
            problems.extend(parsed.problems)


def _other_format(current: DataFormat, data: dict) -> str | None:
    """Name of another format that clearly matches a record ``current`` rejects and does not match."""
    from ..components import formats

    if current.detect(data) > 0:
        return None
    others = {name: f for name, f in formats().items() if name != current.name}
    from .detect import best_format

    best = best_format([data], others)
    return best.name if best is not None else None
