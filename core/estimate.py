"""Types of cost estimation: dated price tables and per-backend estimates.

Plugins return these from the ``ftx_estimate`` and ``ftx_register_price_tables`` hooks; the
logic that fills them lives in :mod:`ftx.cost` and in each backend's ``estimate`` module.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class PriceTable:
    """Prices for one backend, with the date they were read and where from.

    ``entries`` maps a model (hosted backends) or a device (local backend) to its fields, e.g.
    ``{"train_per_1m_tokens": 3.0}`` or ``{"usd_per_hour": 2.5}``. An entry may carry its own
    ``date`` and ``source`` when they differ from the table's, and ``aliases`` (other names
    of the same model). A table registered later for the same backend and model overrides an
    earlier one (see :func:`ftx.cost.catalog.price_for`).
    """

    name: str
    backend: str
    date: str
    source: str
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    currency: str = "USD"


@dataclass
class Estimate:
    """What one backend would cost, take and need for one recipe.

    ``None`` means unknown or not applicable (a hosted backend has no peak memory). When the
    backend cannot estimate the recipe at all (no model for it, no price), ``available`` is
    False and ``notes`` say why; the row is still shown.
    """

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
    device: str | None = None  # what it runs on, for backends with a choice (local: a GPU or cpu)
    memory_gb: float | None = None  # memory the device offers (what ``fits`` compared against)
    breakdown: dict[str, float] = field(default_factory=dict)  # peak memory parts, GB
    time_breakdown: dict[str, float] = field(default_factory=dict)  # parts of ``seconds``
    available: bool = True

    @property
    def label(self) -> str:
        """Row name: the backend, plus the device when there is one."""
        return f"{self.backend} ({self.device})" if self.device else self.backend

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["label"] = self.label
        return out


def estimator_hooks(module: str, backends: tuple[str, ...]) -> tuple[Any, Any]:
    """``ftx_estimate`` and ``ftx_register_price_tables`` implementations for a backend plugin
    whose estimator lives in ``module`` (with ``estimate(backend, recipe, data)`` and
    ``price_tables()``), imported only when an estimate or a price is needed. Use in the plugin's
    entry module: ``ftx_estimate, ftx_register_price_tables = estimator_hooks(__name__ + ".estimate", ("mine",))``.
    """
    import importlib

    from .hookimpl import hookimpl

    @hookimpl
    def ftx_estimate(backend: Any, recipe: Any, data: dict[str, Any]) -> Any:
        if backend.name not in backends:
            return None
        return importlib.import_module(module).estimate(backend, recipe, data)

    @hookimpl
    def ftx_register_price_tables(register: Any) -> None:
        for table in importlib.import_module(module).price_tables():
            register(table)

    return ftx_estimate, ftx_register_price_tables
