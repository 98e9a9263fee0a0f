"""Together AI's tunable models (``models.yaml``): size band, prices per method, limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

MODELS_FILE = Path(__file__).with_name("models.yaml")
COLUMNS = ("train_per_1m_tokens", "full_train_per_1m_tokens", "dpo_train_per_1m_tokens", "dpo_full_train_per_1m_tokens")


def load_models() -> dict[str, Any]:
    from ftx.hosted.catalog import load

    return load(MODELS_FILE)


def price_key(method: str, objective: str) -> str:
    """The price column for a job: LoRA or full, SFT or DPO."""
    full = method == "full"
    if objective == "dpo":
        return "dpo_full_train_per_1m_tokens" if full else "dpo_train_per_1m_tokens"
    return "full_train_per_1m_tokens" if full else "train_per_1m_tokens"


def model_entry(model: str) -> dict[str, Any] | None:
    from ftx.hosted.catalog import entry

    return entry("together", model)
