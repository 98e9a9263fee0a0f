"""Recipes: one YAML file describing a fine-tune for every backend.

The names below are imported on first use (PEP 562), so ``ftx.recipe.shipped`` and the other
small modules of this package load without the YAML line mapper and the pydantic schema."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .resolve import ResolvedRecipe, load_recipe, resolve_recipe

__all__ = ["ResolvedRecipe", "load_recipe", "resolve_recipe"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import resolve

        return getattr(resolve, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
