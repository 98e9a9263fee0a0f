"""Recipes shipped with ftx (package data of ``ftx.recipes``) and how a reference is found."""

from __future__ import annotations

from pathlib import Path

from ..errors import RecipeError


def shipped_dir() -> Path:
    import ftx.recipes

    return Path(ftx.recipes.__file__).parent


def shipped_recipes() -> dict[str, Path]:
    return {p.stem: p for p in sorted(shipped_dir().glob("*.yaml"))}


def find_recipe(ref: str | Path) -> Path:
    """A path to an existing file, or the name of a shipped recipe."""
    path = Path(ref).expanduser()
    if path.is_file():
        return path
    shipped = shipped_recipes()
    name = str(ref).removesuffix(".yaml")
    if name in shipped:
        return shipped[name]
    raise RecipeError(f"no recipe file or shipped recipe named {str(ref)!r}; "
                      f"shipped: {', '.join(shipped) or 'none'}")


def usage_line(path: Path) -> str | None:
    """The ``ftx run`` line a recipe opens with (every shipped recipe has one)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("#") and "ftx run" in line:
            return line.lstrip("# ").strip()
        if line and not line.startswith("#"):
            return None
    return None
