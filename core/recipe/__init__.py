"""Recipes: one YAML file describing a fine-tune for every backend."""

from .resolve import ResolvedRecipe, load_recipe, resolve_recipe

__all__ = ["ResolvedRecipe", "load_recipe", "resolve_recipe"]
