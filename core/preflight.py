"""Shared pieces of a hosted provider's pre-flight check of the records it is about to upload."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import Problem


@dataclass
class Checked:
    """The verdict on one file: problems, plus token counts of the valid examples."""

    problems: list[Problem] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # shown with the plan (e.g. how tokens were counted)

    @property
    def total_tokens(self) -> int:
        return sum(self.tokens)


class RecordCheck:
    """Collects problems about one record at its source location (the user's file:line)."""

    def __init__(self, file: str | None, line: int | None, out: list[Problem]):
        self.file, self.line, self.out = file, line, out
        self.ok = True

    def bad(self, field_path: str | None, message: str) -> None:
        self.ok = False
        self.out.append(Problem(message, file=self.file, line=self.line, field=field_path))
