"""The reports of :mod:`ftx.data.dedupe`: duplicate groups within a data set, and validation
examples that leak from the training set."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

DEFAULT_MAX_MB = 1024


def max_index_bytes() -> int:
    """The near-duplicate index's memory bound: ``FTX_DEDUPE_MAX_MB`` (default 1024) megabytes."""
    raw = os.environ.get("FTX_DEDUPE_MAX_MB")
    if raw is None:
        return DEFAULT_MAX_MB * 1024 * 1024
    try:
        mb = float(raw)
    except ValueError:
        mb = float("nan")
    if not mb >= 0 or mb == float("inf"):
        from ..errors import FtxError

        raise FtxError(f"FTX_DEDUPE_MAX_MB={raw!r} is not a number of megabytes (0 or more; default "
                       f"{DEFAULT_MAX_MB})", field="FTX_DEDUPE_MAX_MB")
    return int(mb * 1024 * 1024)


@dataclass
class DuplicateGroup:
    """Examples that are copies of each other (or, kind ``contradiction``, share a prompt with
    different answers: the first example of each answer): ``lines`` name them (file:line)."""

    kind: str  # "exact", "near" or "contradiction"
    lines: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "lines": self.lines}


@dataclass
class DuplicateReport:
    examples: int = 0
    exact_groups: list[DuplicateGroup] = field(default_factory=list)
    near_groups: list[DuplicateGroup] = field(default_factory=list)
    exact_duplicates: int = 0  # examples that exactly copy an earlier one
    near_duplicates: int = 0  # examples that nearly copy an earlier one (and are not exact copies)
    near_checked: int = 0  # examples the near-duplicate check covered (all unless near_limited)
    near_limited: bool = False  # FTX_DEDUPE_MAX_MB stopped the near-duplicate index
    contradictions: int = 0  # prompts trained toward more than one answer (ftx.data.contradictions)
    contradiction_groups: list[DuplicateGroup] = field(default_factory=list)

    @property
    def share(self) -> float:
        """Fraction of examples that are redundant copies (exact or near)."""
        return (self.exact_duplicates + self.near_duplicates) / self.examples if self.examples else 0.0

    def to_dict(self, max_groups: int = 100) -> dict[str, Any]:
        return {
            "exact_duplicates": self.exact_duplicates, "near_duplicates": self.near_duplicates,
            "share": round(self.share, 4),
            "exact_groups": [g.to_dict() for g in self.exact_groups[:max_groups]],
            "near_groups": [g.to_dict() for g in self.near_groups[:max_groups]],
            "groups_truncated": max(len(self.exact_groups), len(self.near_groups)) > max_groups,
            "near_checked": self.near_checked, "near_limited": self.near_limited,
            "contradictions": self.contradictions,
            "contradiction_groups": [g.to_dict() for g in self.contradiction_groups[:max_groups]],
        }

    def limit_note(self) -> str | None:
        """One line when the memory bound kept examples out of the near-duplicate check."""
        if not self.near_limited:
            return None
        return (f"the near-duplicate check covered the first {self.near_checked:,} of {self.examples:,} "
                f"examples (memory bound FTX_DEDUPE_MAX_MB={max_index_bytes() // (1024 * 1024)}); the rest "
                "were checked for exact copies only")


@dataclass
class Leak:
    """A validation example that copies training data."""

    line: str
    kind: str  # "exact" or "near"
    train_lines: list[str]
    similarity: float

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "kind": self.kind, "train_lines": self.train_lines,
                "similarity": round(self.similarity, 3)}


@dataclass
class OverlapReport:
    """Validation examples that exactly or nearly duplicate a training example."""

    validation_examples: int = 0
    leaks: list[Leak] = field(default_factory=list)
    near_checked: int = 0  # validation examples the near-duplicate comparison covered
    near_limited: bool = False  # FTX_DEDUPE_MAX_MB kept some out (they were compared exactly only)

    def __len__(self) -> int:
        return len(self.leaks)

    def __bool__(self) -> bool:
        return bool(self.leaks)

    @property
    def lines(self) -> list[str]:
        return [leak.line for leak in self.leaks]

    def to_dict(self) -> dict[str, Any]:
        return {"validation_examples": self.validation_examples, "leaked": len(self.leaks),
                "leaks": [leak.to_dict() for leak in self.leaks],
                "near_checked": self.near_checked, "near_limited": self.near_limited}
