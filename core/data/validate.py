"""Validate a data file in one streaming pass, reporting every bad record by file:line and field."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import Problem
from ..formats import DataFormat
from .detect import NoValidRecords
from .load import parse_record, resolve_format
from .readers import read_records

KIND_WORDS = {"chat": "chat examples", "completion": "prompt/completion examples", "preference": "preference pairs"}


def kind_words(kind: str) -> str:
    """A kind of example in a message; kinds that format plugins add read "<kind> examples"."""
    return KIND_WORDS.get(kind, f"{kind} examples")


@dataclass
class ValidationReport:
    """The outcome of :func:`validate_file`. ``problems`` is capped; ``problems_total`` is not."""

    path: str
    format: str
    records: int = 0
    valid: int = 0
    invalid: int = 0
    problems: list[Problem] = field(default_factory=list)
    problems_total: int = 0
    kinds: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.problems_total == 0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["problems"] = [asdict(p) for p in self.problems]
        out["ok"] = self.ok
        return out


def validate_file(path: str, fmt: str | DataFormat = "auto", objective: str | None = None,
                  max_problems: int = 1000) -> ValidationReport:
    """Check every record of ``path`` against its format (detected when ``fmt`` is ``"auto"``).

    Also reports file-level problems: no records, examples of mixed kinds, and data that does
    not fit ``objective`` (``"sft"`` or ``"dpo"``). Raises :class:`DataError` only when the file
    cannot be read at all or its format cannot be told.
    """
    try:
        data_format: DataFormat | None = resolve_format(str(path), fmt)
    except NoValidRecords:
        data_format = None  # every record is unreadable (or there are none): report them below
    report = ValidationReport(str(path), data_format.name if data_format else "unknown")

    def add(problem: Problem) -> None:
        report.problems_total += 1
        if len(report.problems) < max_problems:
            report.problems.append(problem)

    kinds: Counter[str] = Counter()
    first_line: dict[str, int] = {}
    for record in read_records(str(path)):
        report.records += 1
        if data_format is None:
            report.invalid += 1
            add(Problem(record.error or "unreadable record", record.source.file, record.source.line))
            continue
        parsed = parse_record(data_format, record)
        if parsed.example is None:
            report.invalid += 1
            for problem in parsed.problems:
                add(problem)
            continue
        report.valid += 1
        kinds[parsed.example.kind] += 1
        first_line.setdefault(parsed.example.kind, record.source.line)
    report.kinds = dict(kinds)

    for problem in _file_problems(str(path), report, first_line, objective):
        add(problem)
    return report


def _file_problems(path: str, report: ValidationReport, first_line: dict[str, int],
                   objective: str | None) -> list[Problem]:
    out = []
    if report.records == 0:
        out.append(Problem("the file holds no records", path))
    kinds = report.kinds
    if len(kinds) > 1:
        main = max(kinds, key=lambda k: kinds[k])
        for kind in sorted(k for k in kinds if k != main):
            out.append(Problem(
                f"mixes {kind_words(kind)} ({kinds[kind]:,}, the first here) with "
                f"{kind_words(main)} ({kinds[main]:,}); one file must hold one kind",
                path, first_line[kind]))
    if objective and kinds:
        from ..components import get_objective

        wanted = get_objective(objective)
        wrong = {k: n for k, n in kinds.items() if k not in wanted.data_kinds}
        if wrong:
            kind = min(wrong, key=lambda k: first_line[k])
            out.append(Problem(
                f"objective {objective} needs {wanted.data_needed}, "
                f"but this file holds {kind_words(kind)}", path, first_line[kind]))
    return out
