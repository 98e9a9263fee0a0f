"""Fireworks AI's tunable models (``models.yaml``): size band, SFT and DPO prices, context limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

MODELS_FILE = Path(__file__).with_name("models.yaml")
COLUMNS = ("train_per_1m_tokens", "dpo_train_per_1m_tokens")


def load_models() -> dict[str, Any]:
    from ftx.hosted.catalog import load

    return load(MODELS_FILE)


def model_entry(model: str) -> dict[str, Any] | None:
    from ftx.hosted.catalog import entry

    return entry("fireworks", model)
