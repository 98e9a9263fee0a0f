"""The examples an estimator counts: given in ``data`` by ``ftx estimate``, else read from the recipe.

``ftx estimate`` reads the data once and passes the example lists to every backend's estimator
as ``data["train_set"]`` and ``data["validation_set"]``; a caller that passes only the dataset
summary (``ftx run``'s plan) gets them read here.
"""

from __future__ import annotations

from typing import Any


def splits(recipe: Any, data: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """(train, validation) canonical examples for ``recipe``."""
    train = data.get("train_set")
    if train is not None:
        return list(train), list(data.get("validation_set") or [])
    from ..data.plan import load_splits

    train, validation, _ = load_splits(recipe)
    return train, validation


def data_key(recipe: Any) -> tuple:
    """What decides which examples a recipe reads: recipes with equal keys share one load."""
    from ..data.sources import data_refs

    spec = recipe.recipe.data
    return (tuple(data_refs(recipe)), spec.model_dump_json(include={"train", "replay", "mix"}),
            spec.split, spec.format, spec.stratify_by, spec.seed)


def with_examples(recipe: Any, summary: dict[str, Any] | None = None,
                  cache: dict[tuple, tuple[list, list]] | None = None) -> dict[str, Any]:
    """``summary`` plus the example lists and their counts, loading them at most once per
    ``cache`` (backends whose sections change no data field share the same lists)."""
    key = data_key(recipe)
    if cache is not None and key in cache:
        train, validation, mix = cache[key]
    else:
        from ..data.plan import load_splits

        train, validation, info = load_splits(recipe)
        mix = info.get("mix")
        if cache is not None:
            cache[key] = (train, validation, mix)
    from ..data.sources import train_file

    return {**(summary or {}), "train_file": train_file(recipe),
            "train_examples": len(train), "validation_examples": len(validation),
            "train_set": train, "validation_set": validation, **({"mix": mix} if mix else {})}
