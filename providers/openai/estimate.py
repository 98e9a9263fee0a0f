"""What an OpenAI fine-tuning job would bill: exact tokens, OpenAI's epoch default, catalog prices.

Tokens are counted offline with the model's own encoding (``ftx.data.tokens``, bpe-openai) under
the chat accounting in :mod:`ftx.providers.openai.billing`; ``n_epochs: auto`` resolves with OpenAI's
default heuristic; the price per 1M trained tokens comes from the ``openai`` price table
(ftx's catalog, ``models.yaml``, unless a plugin registers a later table for the model).
"""

from __future__ import annotations

from typing import Any

from ftx.estimate import Estimate, PriceTable
from ftx.hosted.estimate import hosted_estimate

from .billing import REPLY_PRIMING, TOKENS_PER_MESSAGE, TOKENS_PER_NAME, openai_auto_epochs, openai_tally

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


def estimate(backend: Any, recipe: Any, data: dict[str, Any]) -> Estimate:
    """Billable tokens, epochs and dollars of fine-tuning ``recipe`` on OpenAI."""
    from ftx.data.tokens import get_counter

    from .catalog import availability, model_info
    from .prepare import hyperparameters

    info = model_info(recipe.model) if recipe.model else None
    used: dict[str, Any] = {}

    def count(train: list, entry: dict[str, Any]) -> Any:
        limit = entry.get("max_tokens_per_example") or (info.max_example_tokens if info else None)
        used["counter"] = get_counter(entry.get("encoding") or (info.encoding if info else None) or recipe.model)
        return openai_tally(train, used["counter"], limit)

    def epochs(n_train: int) -> tuple[int, str]:
        value = hyperparameters(recipe)["n_epochs"]  # exactly what the job request will say
        if isinstance(value, int):
            return value, f"{value} (recipe)"
        auto = openai_auto_epochs(n_train)
        return auto, f"{auto} (auto: OpenAI's default for {n_train} examples, keeping examples x epochs in 100..25,000)"

    def checks(est: Estimate, entry: dict[str, Any], train: list, validation: list) -> None:
        findings = availability(recipe.model, _method(recipe), backend.name)
        est.fits = bool(est.fits) and not any(level == "error" for level, _ in findings)
        est.notes.extend(msg for _, msg in findings)

    est = hosted_estimate(backend, recipe, data, count=count, epochs=epochs, minimum=MIN_EXAMPLES, checks=checks,
                          counted_with="")
    if "counter" in used:
        est.assumptions["tokens counted with"] = (f"{used['counter'].name} (offline, exact) + chat framing: "
                                                  f"{TOKENS_PER_MESSAGE}/message, +{TOKENS_PER_NAME}/name, "
                                                  f"+{REPLY_PRIMING}/example")
    return est


def _method(recipe: Any) -> str:
    return "dpo" if recipe.recipe.objective == "dpo" else "supervised"
