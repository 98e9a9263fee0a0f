"""The Gemini tuning catalog (``models.yaml``) as the Vertex backend reads it: limits and price.

Entries come through ftx's price tables (``ftx.cost.catalog.price_for``), so aliases
(``gemini-2.0-flash-001``), ``publishers/google/models/...`` names and price overrides
registered by plugins resolve the same way for checks, the estimate and the actual cost.
"""

from __future__ import annotations

from typing import Any


def catalog_info() -> dict[str, Any]:
    """The catalog's top-level fields (``date``, ``sources``, ``chars_per_token``...)."""
    from .estimate import load_models

    return {k: v for k, v in load_models().items() if k != "models"}


def model_entry(model: str) -> dict[str, Any] | None:
    """The catalog entry (limits, ``train_per_1m_tokens``, ``preference_tuning``) for a base
    model, or ``None`` when ftx does not know it."""
    from ftx.cost.catalog import price_for

    found = price_for("vertex", model) if model else None
    return dict(found[0]) if found else None


def price_per_1m(model: str) -> float | None:
    entry = model_entry(model) or {}
    price = entry.get("train_per_1m_tokens")
    return float(price) if price is not None else None


def retirement(model: str | None, entry: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Findings about a retired or retiring Gemini model (dates and sources in models.yaml)."""
    from ftx.hosted.facts import retirement as findings

    return findings("vertex", model or "", entry) if model else []
