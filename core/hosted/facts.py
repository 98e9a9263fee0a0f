"""Retired and retiring models, and where a recipe could move to.

Providers retire tunable models on their own schedules (OpenAI stops new fine-tuning jobs on
2027-01-06; Vertex retired Gemini 2.5 for tuning in October 2026). A price-table entry may carry
``shutdown`` (the date training on it stops) and ``replacement``; ftx then says so in
``ftx run --dry-run`` and ``ftx estimate`` and names live models on the other hosted backends, read
from their price tables (entries marked ``suggest: true``), so moving is one ``--backend`` away.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

WARN_DAYS = 120  # a retirement this close is worth a warning


def today() -> dt.date:
    """Today; ``FTX_TODAY`` (YYYY-MM-DD) pins it so dated checks are testable."""
    pinned = os.environ.get("FTX_TODAY")
    return dt.date.fromisoformat(pinned) if pinned else dt.date.today()


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def alternatives(exclude: str, when: dt.date | None = None) -> list[str]:
    """``backend: model`` for live models other hosted backends suggest (``suggest: true``)."""
    from ..cost.catalog import price_tables

    now = when or today()
    out: list[str] = []
    for table in price_tables():
        if table.backend == exclude:
            continue
        for name, entry in table.entries.items():
            end = _date(entry.get("shutdown"))
            if entry.get("suggest") and (end is None or end > now):
                item = f"{table.backend}: {name}"
                if item not in out:
                    out.append(item)
    return out


def retirement(backend: str, model: str, entry: dict[str, Any] | None,
               when: dt.date | None = None) -> list[tuple[str, str]]:
    """(level, message) about ``model``'s retirement on ``backend``: an error once retired, a
    warning within :data:`WARN_DAYS`, each naming a replacement and other backends' live models."""
    end = _date((entry or {}).get("shutdown"))
    if end is None:
        return []
    now = when or today()
    days = (end - now).days
    if days > WARN_DAYS:
        return []
    replacement = (entry or {}).get("replacement")
    moves = ([f"{backend}: {replacement}"] if replacement else []) + alternatives(backend, now)
    move = f"; the recipe could move to {', '.join(moves)}" if moves else ""
    source = (entry or {}).get("shutdown_source")
    cited = f" (reported: {source})" if source else ""
    if days <= 0:
        return [("error", f"{model} was retired for tuning on {backend} on {end.isoformat()}{cited}{move}")]
    return [("warning", f"{model} retires for tuning on {backend} on {end.isoformat()} ({days} days){cited}{move}")]
