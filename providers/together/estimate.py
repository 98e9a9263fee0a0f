"""What a Together AI fine-tuning job would bill: ceil(characters / 4) tokens x epochs x the price
of the model's size band for the method (LoRA or full, SFT or DPO)."""

from __future__ import annotations

from typing import Any

from ftx.estimate import Estimate, PriceTable


def price_tables() -> list[PriceTable]:
    from .catalog import entries, load_models

    catalog = load_models()
    return [PriceTable(name="ftx Together AI catalog (models.yaml)", backend="together",
                       date=str(catalog.get("date", "unknown")),
                       source=str((catalog.get("sources") or {}).get("pricing", "models.yaml")), entries=entries())]


def estimate(backend: Any, recipe: Any, data: dict[str, Any]) -> Estimate:
    from ftx.cost.tally import chars_tally
    from ftx.hosted.estimate import hosted_estimate, recipe_epochs

    from .catalog import load_models, price_key

    catalog = load_models()
    cpt = float(catalog.get("chars_per_token", 4))
    key = price_key(recipe.recipe.method.name, recipe.recipe.objective)

    def checks(est: Estimate, entry: dict[str, Any], train: list, validation: list) -> None:
        if not entry:
            est.fits = False
            est.notes.append(f"{recipe.model!r} is not in ftx's Together AI catalog (known: "
                             f"{', '.join(sorted(catalog.get('models') or {}))})")
        elif recipe.recipe.method.name == "full" and entry.get("full") is False:
            est.fits = False
            est.notes.append(f"Together AI fine-tunes {recipe.model} with LoRA only")

    return hosted_estimate(
        backend, recipe, data, price_key=key, checks=checks,
        count=lambda train, entry: chars_tally(train, entry.get("max_seq_length"), cpt),
        epochs=lambda n: recipe_epochs(recipe, int(catalog.get("assumed_auto_epochs", 3)),
                                       "ftx's default; Together's n_epochs defaults to 1 when not sent"),
        counted_with=f"characters/{cpt:g} (the model's tokenizer is not available offline); Together's own "
                     "estimate is shown at launch, once the data is uploaded")
