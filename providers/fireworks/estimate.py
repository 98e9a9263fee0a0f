"""What a Fireworks AI fine-tuning job would bill: ceil(characters / 4) tokens x epochs x the price
of the model's size band (SFT or DPO)."""

from __future__ import annotations

from typing import Any

from ftx.estimate import Estimate, PriceTable


def price_tables() -> list[PriceTable]:
    from .catalog import entries, load_models

    catalog = load_models()
    return [PriceTable(name="ftx Fireworks AI catalog (models.yaml)", backend="fireworks",
                       date=str(catalog.get("date", "unknown")),
                       source=str((catalog.get("sources") or {}).get("pricing", "models.yaml")), entries=entries())]


def estimate(backend: Any, recipe: Any, data: dict[str, Any]) -> Estimate:
    from ftx.cost.tally import chars_tally
    from ftx.hosted.estimate import hosted_estimate, recipe_epochs

    from .catalog import load_models

    catalog = load_models()
    cpt = float(catalog.get("chars_per_token", 4))

    def checks(est: Estimate, entry: dict[str, Any], train: list, validation: list) -> None:
        if not entry:
            est.fits = False
            est.notes.append(f"{recipe.model!r} is not in ftx's Fireworks AI catalog (known: "
                             f"{', '.join(sorted(catalog.get('models') or {}))})")

    return hosted_estimate(
        backend, recipe, data, checks=checks,
        price_key="dpo_train_per_1m_tokens" if recipe.recipe.objective == "dpo" else "train_per_1m_tokens",
        count=lambda train, entry: chars_tally(train, entry.get("max_context_length"), cpt),
        epochs=lambda n: recipe_epochs(recipe, int(catalog.get("assumed_auto_epochs", 3)),
                                       "ftx's default when the recipe says auto"),
        counted_with=f"characters/{cpt:g} (the model's tokenizer is not available offline)")
