"""Checks of a recipe's ``data`` section that need its file:line: a data path that is a folder,
a format name no plugin provides, a ``stratify_by`` field no record has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import Problem


def _at(recipe: Any, key: str, message: str) -> Problem:
    from ..recipe.yamlmap import problem_at

    return problem_at(recipe.located, ("data", key), message)


def path_problem(recipe: Any, key: str, ref: str) -> Problem | None:
    """A missing file or a folder named as a data file."""
    path = recipe.data_path(ref)
    if path.startswith("hf:"):
        return None
    p = Path(path)
    if not p.exists():
        return _at(recipe, key, f"data file not found: {path}")
    if p.is_dir():
        return _at(recipe, key, f"{path} is a folder; name a data file (jsonl, json, csv, parquet)")
    return None


def format_problem(recipe: Any) -> Problem | None:
    from ..components import formats

    name = recipe.recipe.data.format
    if name == "auto":
        return None
    installed = formats()
    if name in installed:
        return None
    return _at(recipe, "format", f"unknown data format {name!r}; installed: {', '.join(sorted(installed))}, "
                                 "or auto")


def stratify_problem(recipe: Any, strata: list[Any]) -> Problem | None:
    field = recipe.recipe.data.stratify_by
    if field and strata and all(s is None for s in strata):
        return _at(recipe, "stratify_by", f"no record has the field {field!r} (records keep their "
                                          "extra fields; name one of those)")
    return None
