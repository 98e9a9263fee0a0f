"""What a Vertex AI (Gemini) tuning job would bill: tokens x epochs x the model's price.

The catalog of tunable models, prices and limits is ``models.yaml`` beside this module (the
Vertex backend reads it too, through :func:`load_models`). Tokens are ceil(characters / 4) per
example: Gemini's tokenizer is not available offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ftx.cost.catalog import package_yaml
from ftx.estimate import Estimate, PriceTable
from ftx.hosted.estimate import hosted_estimate, recipe_epochs

from .billing import vertex_tally
from .catalog import retirement

MODELS_FILE = Path(__file__).with_name("models.yaml")


def load_models() -> dict[str, Any]:
    """The parsed models.yaml: ``date``, ``sources``, ``assumed_auto_epochs`` and ``models``."""
    return package_yaml(MODELS_FILE)


def price_tables() -> list[PriceTable]:
    catalog = load_models()
    entries = {name: dict(fields) for name, fields in (catalog.get("models") or {}).items()}
    return [PriceTable(name="ftx Vertex AI tuning catalog (models.yaml)", backend="vertex",
                       date=str(catalog.get("date", "unknown")),
                       source=str((catalog.get("sources") or {}).get("pricing", "models.yaml")), entries=entries)]


def estimate(backend: Any, recipe: Any, data: dict[str, Any]) -> Estimate:
    """Billable tokens, epochs and dollars of tuning ``recipe`` on Vertex AI."""
    catalog = load_models()
    cpt = float(catalog.get("chars_per_token", 4))

    def checks(est: Estimate, entry: dict[str, Any], train: list, validation: list) -> None:
        if not entry:
            est.fits = False
            known = ", ".join(sorted(catalog.get("models") or {}))
            est.notes.append(f"{recipe.model!r} is not a tunable model in ftx's Vertex catalog (known: {known})")
        max_val = entry.get("max_validation_examples")
        if max_val and len(validation) > max_val:
            est.fits = False
            est.notes.append(f"Vertex takes at most {max_val} validation examples; the recipe has {len(validation)}")
        if recipe.recipe.objective == "dpo" and entry and not entry.get("preference_tuning"):
            est.fits = False
            est.notes.append(f"{recipe.model} does not support preference tuning on Vertex")
        if entry.get("price_basis"):
            est.notes.append(f"price {entry['price_basis']}")
        for level, message in retirement(recipe.model, entry):
            if level == "error":
                est.fits = False
            est.notes.append(message)

    return hosted_estimate(
        backend, recipe, data, minimum=1, checks=checks,
        count=lambda train, entry: vertex_tally(train, entry.get("max_tokens_per_example"), cpt),
        epochs=lambda n: recipe_epochs(recipe, int(catalog.get("assumed_auto_epochs", 3)),
                                       "assumed: with epochs auto Vertex picks a value it does not publish"),
        counted_with=f"characters/{catalog.get('chars_per_token', 4)} (Gemini's tokenizer is not available "
                     "offline; about +-20% on English)")
