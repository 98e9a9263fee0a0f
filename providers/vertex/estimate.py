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
from ftx.hosted.estimate import catalog_estimate

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

    def checks(est: Estimate, entry: dict[str, Any], train: list, validation: list) -> None:
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

    return catalog_estimate(backend, recipe, data, load_models(), label="Vertex AI", limit_key="max_tokens_per_example",
                            epochs_why="assumed: with epochs auto Vertex picks a value it does not publish",
                            counted_note="Gemini's tokenizer is not available offline; about +-20% on English",
                            checks=checks)
