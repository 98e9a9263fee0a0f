"""What a Vertex AI (Gemini) tuning job would bill: tokens x epochs x the model's price.

The catalog of tunable models, prices and limits is ``models.yaml`` beside this module (the
Vertex backend reads it too, through :func:`load_models`). Tokens are ceil(characters / 4) per
example: Gemini's tokenizer is not available offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ftx.cost.catalog import package_yaml, price_for
from ftx.cost.dataset import splits
from ftx.cost.tokens_billing import vertex_tally
from ftx.estimate import Estimate, PriceTable

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
    est = Estimate(backend=backend.name, model=recipe.model)
    if not recipe.model:
        est.available = False
        est.notes.append(f"no model for this backend (add model.{backend.name})")
        return est
    catalog = load_models()
    found = price_for(backend.name, recipe.model)
    entry, table = found if found else ({}, None)
    limit = entry.get("max_tokens_per_example")
    train, validation = splits(recipe, data)
    tally = vertex_tally(train, limit, float(catalog.get("chars_per_token", 4)))
    epochs = recipe.recipe.hyperparameters.epochs
    if isinstance(epochs, int):
        epochs_note = f"{epochs} (recipe)"
    else:
        epochs = int(catalog.get("assumed_auto_epochs", 3))
        epochs_note = f"{epochs} (assumed: with epochs auto Vertex picks a value it does not publish)"
    est.epochs = epochs
    est.billable_tokens = tally.billable(epochs)
    price = entry.get("train_per_1m_tokens")
    if price is not None:
        est.cost_usd = round(est.billable_tokens * float(price) / 1e6, 4)
    else:
        known = ", ".join(sorted(catalog.get("models") or {}))
        est.notes.append(f"{recipe.model!r} is not a tunable model in ftx's Vertex catalog (known: {known})")
    est.fits = found is not None and len(train) > 0
    max_val = entry.get("max_validation_examples")
    if max_val and len(validation) > max_val:
        est.fits = False
        est.notes.append(f"Vertex takes at most {max_val} validation examples; the recipe has {len(validation)}")
    if recipe.recipe.objective == "dpo" and entry and not entry.get("preference_tuning"):
        est.fits = False
        est.notes.append(f"{recipe.model} does not support preference tuning on Vertex")
    if tally.over_limit:
        est.notes.append(f"{tally.over_limit} examples exceed {limit:,} tokens (characters/4), the per-example limit")
    est.assumptions = {
        "price": (f"${float(price):g} per 1M training tokens ({table.source}, {entry.get('date') or table.date})"
                  if price is not None and table else "unknown"),
        "tokens counted with": f"characters/{catalog.get('chars_per_token', 4)} "
                               "(Gemini's tokenizer is not available offline; about +-20% on English)",
        "epochs": epochs_note,
        "per-example limit": f"{limit:,} tokens" if limit else "unknown",
        "billed": f"epochs x training tokens of {len(train)} examples; validation examples are not counted",
        "time": "not estimated: hosted jobs wait in Vertex's queue",
    }
    return est
