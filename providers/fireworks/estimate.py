"""What a Fireworks AI fine-tuning job would bill: ceil(characters / 4) tokens x epochs x the price
of the model's size band (SFT or DPO)."""

from __future__ import annotations

from typing import Any

from ftx.estimate import Estimate, PriceTable


def price_tables() -> list[PriceTable]:
    from ftx.hosted.catalog import band_entries, price_table

    from .catalog import COLUMNS, load_models

    catalog = load_models()
    return [price_table("fireworks", "Fireworks AI", catalog, band_entries(catalog, COLUMNS))]


def estimate(backend: Any, recipe: Any, data: dict[str, Any]) -> Estimate:
    from ftx.hosted.estimate import catalog_estimate

    from .catalog import load_models

    return catalog_estimate(backend, recipe, data, load_models(), label="Fireworks AI", limit_key="max_context_length",
                            price_key="dpo_train_per_1m_tokens" if recipe.recipe.objective == "dpo"
                            else "train_per_1m_tokens", epochs_why="ftx's default when the recipe says auto")
