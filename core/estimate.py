"""Types of cost estimation: dated price tables and per-backend estimates."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class PriceTable:
    """Prices for one backend, with the date they were read and where from."""

    name: str
    backend: str
    date: str
    source: str
    # model or GPU name -> fields such as {"train_per_1m_tokens": 3.0} or {"usd_per_hour": 2.5}
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Estimate:
    """What one backend would cost, take and need for one recipe."""

    backend: str
    model: str | None
    billable_tokens: int | None = None
    epochs: float | None = None
    cost_usd: float | None = None
    seconds: float | None = None
    peak_memory_gb: float | None = None
    fits: bool | None = None
    assumptions: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
