"""A hosted run prepares its job once per command: the dry-run plan shows the exact request,
and the launch that follows sends that same prepared job instead of converting and validating
the data a second time. The prepared job is kept beside the recipe's data cache
(:func:`ftx.data.plan.load_splits`), so it is dropped whenever a data file changes."""

from __future__ import annotations

from typing import Any


def prepare_once(backend: Any, recipe: Any) -> Any:
    """``backend.prepare(recipe)``, remembered for this recipe object while its data is unchanged."""
    if not hasattr(recipe, "data_cache"):
        return backend.prepare(recipe)
    from .data.plan import load_splits

    load_splits(recipe, problems=[])  # refreshes the cache if a file changed (else a few stat calls)
    cache = recipe.data_cache
    if cache is None:
        return backend.prepare(recipe)
    key = f"prepared:{backend.name}"
    if key not in cache:
        cache[key] = backend.prepare(recipe)
    return cache[key]
