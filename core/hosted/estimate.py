"""The shared skeleton of a hosted backend's estimate: tokens x epochs x the price table's price.

A provider says only how it counts an example, how it picks epochs, and what else makes a recipe
not fit; the rest (no model, price lookup, dollars, notes, the assumptions shown by
``ftx estimate``) is the same for all and lives here.
"""

from __future__ import annotations

from typing import Any, Callable

from ..estimate import Estimate


def hosted_estimate(backend: Any, recipe: Any, data: dict[str, Any], *,
                    count: Callable[[list, dict[str, Any]], Any],
                    epochs: Callable[[int], tuple[float, str]], counted_with: str, minimum: int = 1,
                    price_key: str = "train_per_1m_tokens",
                    checks: Callable[[Estimate, dict[str, Any], list, list], None] | None = None) -> Estimate:
    """An :class:`Estimate` for ``recipe`` on ``backend``.

    ``count(train_examples, price_entry)`` returns a :class:`ftx.cost.tokens.TokenTally`;
    ``epochs(n_train)`` the epochs the job will run and how that was decided; ``checks`` may add
    notes or set ``fits`` False. The price is ``price_key`` (default ``train_per_1m_tokens``) of the model's entry in the
    backend's price tables (:func:`ftx.cost.catalog.price_for`: plugins can override it)."""
    from ..cost.catalog import price_for
    from ..cost.dataset import splits

    label = getattr(backend, "provider_label", backend.name)
    est = Estimate(backend=backend.name, model=recipe.model)
    if not recipe.model:
        est.available = False
        est.notes.append(f"no model for this backend (add model.{backend.name})")
        return est
    found = price_for(backend.name, recipe.model)
    entry, table = found if found else ({}, None)
    train, validation = splits(recipe, data)
    tally = count(train, entry)
    n_epochs, epochs_note = epochs(len(train))
    est.epochs = n_epochs
    est.billable_tokens = tally.billable(n_epochs)
    price = entry.get(price_key)
    if price is not None:
        est.cost_usd = round(est.billable_tokens * float(price) / 1e6, 4)
    else:
        est.notes.append(f"no {backend.name} training price for {recipe.model!r}: add it to a price table "
                         "(an override catalog or a plugin's ftx_register_price_tables)")
    est.fits = len(train) >= minimum
    if len(train) < minimum:
        est.notes.append(f"{label} needs at least {minimum} training examples; the split leaves {len(train)}")
    if checks is not None:
        checks(est, entry, train, validation)
    limit = tally.limit
    if tally.over_limit:
        est.notes.append(f"{tally.over_limit} examples exceed the {limit:,}-token limit: {label} truncates "
                         "them (billed at the limit)")
    est.assumptions = {
        "price": (f"${float(price):g} per 1M training tokens ({table.source}, checked {entry.get('date') or table.date})"
                  if price is not None and table else "unknown"),
        "tokens counted with": counted_with,
        "epochs": epochs_note,
        "per-example limit": f"{limit:,} tokens" if limit else "unknown",
        "billed": f"epochs x sum(min(example tokens, limit)) over {len(train)} training examples; "
                  "validation examples are not counted",
        "time": f"not estimated: hosted jobs wait in {label}'s queue",
    }
    return est


def recipe_epochs(recipe: Any, auto: int, why: str) -> tuple[int, str]:
    """The recipe's epochs when it sets a number, else ``auto`` with ``why``."""
    value = recipe.recipe.hyperparameters.epochs
    if isinstance(value, int) and not isinstance(value, bool):
        return value, f"{value} (recipe)"
    return auto, f"{auto} ({why})"


def catalog_estimate(backend: Any, recipe: Any, data: dict[str, Any], catalog: dict[str, Any], *, label: str,
                     limit_key: str, price_key: str = "train_per_1m_tokens", epochs_why: str,
                     counted_note: str = "the model's tokenizer is not available offline",
                     checks: Callable[[Estimate, dict[str, Any], list, list], None] | None = None) -> Estimate:
    """:func:`hosted_estimate` for a provider whose catalog (``models.yaml``) gives each model's
    limit under ``limit_key`` and whose examples are counted as ceil(characters / chars_per_token)."""
    from ..cost.tally import chars_tally
    from .catalog import unknown_model

    cpt = float(catalog.get("chars_per_token", 4))

    def check(est: Estimate, entry: dict[str, Any], train: list, validation: list) -> None:
        if not entry:
            unknown_model(est, label, recipe.model, catalog)
        if checks is not None:
            checks(est, entry, train, validation)

    return hosted_estimate(
        backend, recipe, data, price_key=price_key, checks=check,
        count=lambda train, entry: chars_tally(train, entry.get(limit_key), cpt),
        epochs=lambda n: recipe_epochs(recipe, int(catalog.get("assumed_auto_epochs", 3)), epochs_why),
        counted_with=f"characters/{cpt:g} ({counted_note})")
