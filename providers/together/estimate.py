"""What a Together AI fine-tuning job would bill: ceil(characters / 4) tokens x epochs x the price
of the model's size band for the method (LoRA or full, SFT or DPO)."""

from __future__ import annotations

from typing import Any

from ftx.estimate import Estimate, PriceTable


def price_tables() -> list[PriceTable]:
    from ftx.hosted.catalog import band_entries, price_table

    from .catalog import COLUMNS, load_models

    catalog = load_models()
    return [price_table("together", "Together AI", catalog, band_entries(catalog, COLUMNS))]


def estimate(backend: Any, recipe: Any, data: dict[str, Any]) -> Estimate:
    from ftx.hosted.estimate import catalog_estimate

    from .catalog import load_models, price_key

    def lora_only(est: Estimate, entry: dict[str, Any], train: list, validation: list) -> None:
        if entry and recipe.recipe.method.name == "full" and entry.get("full") is False:
            est.fits = False
            est.notes.append(f"Together AI fine-tunes {recipe.model} with LoRA only")

    return catalog_estimate(
        backend, recipe, data, load_models(), label="Together AI", limit_key="max_seq_length", checks=lora_only,
        price_key=price_key(recipe.recipe.method.name, recipe.recipe.objective),
        epochs_why="ftx's default; Together's n_epochs defaults to 1 when not sent",
        counted_note="the model's tokenizer is not available offline; Together's own estimate is shown at launch, "
                     "once the data is uploaded")
