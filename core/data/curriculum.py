"""Curriculum ordering of a mixed training set (``data.mix.curriculum``), deterministic.

* ``by: length``: shortest first (``descending: true`` for longest first); ties keep the seeded
  shuffle's order, so the order is the same on every run.
* ``by: field``: by a record field (dotted path into the record's other fields), missing values last.
* ``by: source``: general data first, the task share rising along the set. Position ``f`` in
  [0, 1] of the set draws task examples with density ``start_ratio + (1 - start_ratio) * f``;
  the totals per source stay those of the mix, only their order changes. A hosted backend trains
  the file in order, every epoch; the local backend keeps the order (no shuffling) when a
  curriculum is set.
"""

from __future__ import annotations

from typing import Any

from ..example import Example


def _field(example: Example, name: str) -> Any:
    value: Any = example.meta
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _by_source(examples: list[Example], start: float, general: frozenset[str]) -> list[Example]:
    task = [e for e in examples if (getattr(e, "task", None) or "") not in general]
    rest = [e for e in examples if (getattr(e, "task", None) or "") in general]
    n = len(examples)
    if not task or not rest:
        return list(examples)
    norm = start + (1 - start) / 2

    def wanted(f: float) -> float:  # task examples due by position f (the schedule's integral)
        return len(task) * (start * f + (1 - start) * f * f / 2) / norm

    out: list[Example] = []
    ti = ri = 0
    for p in range(n):
        take_task = ri >= len(rest) or (ti < len(task) and ti < round(wanted((p + 1) / n)))
        if take_task:
            out.append(task[ti])
            ti += 1
        else:
            out.append(rest[ri])
            ri += 1
    return out


def order(examples: list[Example], spec: Any, general: frozenset[str] = frozenset({"replay", "general"})
          ) -> list[Example]:
    """``examples`` (already shuffled) in curriculum order; ``general`` names the replay tasks."""
    if spec.by == "length":
        return sorted(examples, key=lambda e: len(e.text()), reverse=spec.descending)
    if spec.by == "field":
        present = [e for e in examples if _field(e, spec.field) is not None]
        missing = [e for e in examples if _field(e, spec.field) is None]
        try:
            present.sort(key=lambda e: _field(e, spec.field), reverse=spec.descending)
        except TypeError:  # mixed types: order by their text form
            present.sort(key=lambda e: str(_field(e, spec.field)), reverse=spec.descending)
        return present + missing
    return _by_source(examples, spec.start_ratio, general)
