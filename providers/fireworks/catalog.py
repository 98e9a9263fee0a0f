"""Fireworks AI's tunable models (``models.yaml``): size band, SFT and DPO prices, context limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

MODELS_FILE = Path(__file__).with_name("models.yaml")


def load_models() -> dict[str, Any]:
    from ftx.cost.catalog import package_yaml

    return package_yaml(MODELS_FILE)


def entries() -> dict[str, dict[str, Any]]:
    catalog = load_models()
    bands = catalog.get("bands") or {}
    out: dict[str, dict[str, Any]] = {}
    for name, raw in (catalog.get("models") or {}).items():
        entry = dict(raw or {})
        entry.update(zip(("train_per_1m_tokens", "dpo_train_per_1m_tokens"), bands.get(entry.get("band"), ()),
                         strict=False))
        out[str(name)] = entry
    return out


def model_entry(model: str) -> dict[str, Any] | None:
    from ftx.cost.catalog import price_for

    found = price_for("fireworks", model) if model else None
    return dict(found[0]) if found else None
