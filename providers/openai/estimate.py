"""What an OpenAI fine-tuning job would bill: exact tokens, OpenAI's epoch default, catalog prices.

Tokens are counted offline with the model's own encoding (``ftx.data.tokens``, bpe-openai) under
the chat accounting in :mod:`ftx.cost.tokens_billing`; ``n_epochs: auto`` resolves with OpenAI's
default heuristic; the price per 1M trained tokens comes from the ``openai`` price table
(ftx's catalog, ``models.yaml``, unless a plugin registers a later table for the model).
"""

from __future__ import annotations

from typing import Any

from ftx.cost.catalog import price_for
from ftx.cost.dataset import splits
from ftx.cost.tokens_billing import (REPLY_PRIMING, TOKENS_PER_MESSAGE, TOKENS_PER_NAME, openai_auto_epochs,
                                     openai_tally)
from ftx.estimate import Estimate, PriceTable

MIN_EXAMPLES = 10  # OpenAI rejects training files with fewer examples


def price_tables() -> list[PriceTable]:
    """ftx's OpenAI catalog as price tables: list prices for ``openai`` and, where an override
    catalog sets them, Azure prices for ``azure-openai``."""
    from .catalog import get_catalog

    catalog = get_catalog()
    source = catalog.sources.get("prices") or next(iter(catalog.sources.values()), "ftx OpenAI catalog")
    tables = []
    for backend, field in (("openai", "train_per_1m_tokens"), ("azure-openai", "azure_train_per_1m_tokens")):
        entries = {name: {"train_per_1m_tokens": getattr(info, field), "max_tokens_per_example": info.max_example_tokens,
                          "encoding": info.encoding, "aliases": list(info.aliases)}
                   for name, info in catalog.models.items() if getattr(info, field) is not None}
        if entries:
            tables.append(PriceTable(name=f"ftx OpenAI catalog ({backend})", backend=backend,
                                     date=catalog.checked or "unknown", source=source, entries=entries))
    return tables


def _epochs(recipe: Any, n_train: int) -> tuple[int, str]:
    from .prepare import hyperparameters

    epochs = hyperparameters(recipe)["n_epochs"]  # exactly what the job request will say
    if isinstance(epochs, int):
        return epochs, f"{epochs} (recipe)"
    auto = openai_auto_epochs(n_train)
    return auto, f"{auto} (auto: OpenAI's default for {n_train} examples, keeping examples x epochs in 100..25,000)"


def estimate(backend: Any, recipe: Any, data: dict[str, Any]) -> Estimate:
    """Billable tokens, epochs and dollars of fine-tuning ``recipe`` on OpenAI."""
    from ftx.data.tokens import get_counter

    from .catalog import availability, model_info

    est = Estimate(backend=backend.name, model=recipe.model)
    if not recipe.model:
        est.available = False
        est.notes.append(f"no model for this backend (add model.{backend.name})")
        return est
    info = model_info(recipe.model)
    found = price_for(backend.name, recipe.model)
    entry, table = found if found else ({}, None)
    limit = entry.get("max_tokens_per_example") or (info.max_example_tokens if info else None)
    encoding = entry.get("encoding") or (info.encoding if info else None)
    counter = get_counter(encoding or recipe.model)
    train, validation = splits(recipe, data)
    tally = openai_tally(train, counter, limit)
    epochs, epochs_note = _epochs(recipe, len(train))
    est.billable_tokens = tally.billable(epochs)
    est.epochs = epochs
    price = entry.get("train_per_1m_tokens")
    if price is not None:
        est.cost_usd = round(est.billable_tokens * float(price) / 1e6, 4)
    else:
        est.notes.append(f"no {backend.name} training price for {recipe.model!r}: add it to a price table "
                         "(an override catalog or a plugin's ftx_register_price_tables)")
    findings = availability(recipe.model, _method(recipe), backend.name)
    est.fits = len(train) >= MIN_EXAMPLES and not any(level == "error" for level, _ in findings)
    if len(train) < MIN_EXAMPLES:
        est.notes.append(f"OpenAI needs at least {MIN_EXAMPLES} training examples; the split leaves {len(train)}")
    est.notes.extend(msg for _, msg in findings)
    if tally.over_limit:
        est.notes.append(f"{tally.over_limit} examples exceed the {limit:,}-token limit: OpenAI truncates "
                         "them (billed at the limit)")
    est.assumptions = {
        "price": (f"${float(price):g} per 1M training tokens ({table.source}, checked {entry.get('date') or table.date})"
                  if price is not None and table else "unknown"),
        "tokens counted with": f"{counter.name} (offline, exact) + chat framing: {TOKENS_PER_MESSAGE}/message, "
                               f"+{TOKENS_PER_NAME}/name, +{REPLY_PRIMING}/example",
        "epochs": epochs_note,
        "per-example limit": f"{limit:,} tokens" if limit else "unknown",
        "billed": f"epochs x sum(min(example tokens, limit)) over {len(train)} training examples; "
                  "validation examples are not counted",
        "time": f"not estimated: hosted jobs wait in {getattr(backend, 'provider_label', 'the provider')}'s queue",
    }
    return est


def _method(recipe: Any) -> str:
    return "dpo" if recipe.recipe.objective == "dpo" else "supervised"
