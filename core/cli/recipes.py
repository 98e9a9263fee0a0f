"""``ftx recipes``: list, show, validate and copy recipes."""

from __future__ import annotations

import click

from .common import echo_warnings, overrides_argument


@click.group("recipes")
def recipes() -> None:
    """List, show, validate and create recipes."""


@recipes.command("list")
def list_() -> None:
    """List the recipes shipped with ftx."""
    from ..recipe.shipped import shipped_recipes, usage_line
    from ..yamlio import load_file

    for name, path in shipped_recipes().items():
        data = load_file(path) or {}  # parsed once, then from the ftx home's cache
        click.echo(f"{name:<24} {data.get('description') or ''}")
        click.echo(f"{'':<24} {usage_line(path) or ''}")


@recipes.command("show")
@click.argument("recipe")
@overrides_argument
@click.option("--backend", "-b", help="resolve for this backend (its section and model)")
@click.option("--resolved", is_flag=True, help="show every value, defaults filled in and marked")
def show(recipe: str, overrides: tuple[str, ...], backend: str | None, resolved: bool) -> None:
    """Print a recipe (a file or a shipped name); --resolved fills in the defaults."""
    from ..recipe import load_recipe
    from ..recipe.render import render_resolved
    from ..recipe.shipped import find_recipe

    if not resolved and not overrides and not backend:
        click.echo(find_recipe(recipe).read_text(encoding="utf-8"), nl=False)
        return
    r = load_recipe(recipe, overrides, backend=backend)
    click.echo(render_resolved(r))
    echo_warnings(r.warnings)


@recipes.command("validate")
@click.argument("recipe_files", nargs=-1, required=True)
def validate(recipe_files: tuple[str, ...]) -> None:
    """Check recipes as far as `ftx run --dry-run` does without the network: the schema, the
    installed plugins, each named backend's capabilities and the data files. Reports every error
    and says what was not checked."""
    from ..errors import FtxError, RecipeError
    from ..recipe import load_recipe
    from ..recipe.offline_check import check_offline

    problems = []
    for ref in recipe_files:
        try:
            r = load_recipe(ref)
        except FtxError as exc:
            problems.extend(exc.problems)
            continue
        found, notes = check_offline(ref, r)
        echo_warnings(r.warnings)
        if found:
            problems.extend(found)
            continue
        click.echo(f"ok: {ref}")
        for note in notes:
            click.echo(f"  {note}")
    if problems:
        raise RecipeError(problems=problems)


@recipes.command("init")
@click.argument("dest", type=click.Path(dir_okay=False))
@click.option("--from", "source", default="quickstart", show_default=True, help="shipped recipe to start from")
@click.option("--force", is_flag=True, help="overwrite existing files")
def init(dest: str, source: str, force: bool) -> None:
    """Copy a shipped recipe (and the data it uses) to DEST for editing."""
    from ..recipe.copy import copy_recipe

    for path in copy_recipe(source, dest, force=force):
        click.echo(f"wrote {path}")


COMMANDS = [recipes]
