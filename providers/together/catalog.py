"""Together AI's tunable models (``models.yaml``): size band, prices per method, limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

MODELS_FILE = Path(__file__).with_name("models.yaml")
_COLUMNS = ("train_per_1m_tokens", "full_train_per_1m_tokens", "dpo_train_per_1m_tokens", "dpo_full_train_per_1m_tokens")


def load_models() -> dict[str, Any]:
    from ftx.cost.catalog import package_yaml

    return package_yaml(MODELS_FILE)


def entries() -> dict[str, dict[str, Any]]:
    """Model -> fields, with the band's four prices spelled out (what the price table holds)."""
    catalog = load_models()
    bands = catalog.get("bands") or {}
    out: dict[str, dict[str, Any]] = {}
    for name, raw in (catalog.get("models") or {}).items():
        entry = dict(raw or {})
        entry.update(zip(_COLUMNS, bands.get(entry.get("band"), ()), strict=False))
        out[str(name)] = entry
    return out


def price_key(method: str, objective: str) -> str:
    """The price column for a job: LoRA or full, SFT or DPO."""
    full = method == "full"
    if objective == "dpo":
        return "dpo_full_train_per_1m_tokens" if full else "dpo_train_per_1m_tokens"
    return "full_train_per_1m_tokens" if full else "train_per_1m_tokens"


def model_entry(model: str) -> dict[str, Any] | None:
    from ftx.cost.catalog import price_for

    found = price_for("together", model) if model else None
    return dict(found[0]) if found else None
