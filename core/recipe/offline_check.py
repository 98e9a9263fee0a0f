"""Everything ``ftx run --dry-run`` checks that needs no network, for ``ftx recipes validate``:
the schema and plugins (every backend section), each installed backend's capability check for
the backends the recipe names a model for, and the data files (opened, every record parsed,
format and objective checked: the checks of the data plan, without its statistics, which only
warn). What needs the network (credentials, the provider's model list,
``hf:`` datasets) is named as not checked."""

from __future__ import annotations

from typing import Any

from ..errors import FtxError, Problem


def check_offline(ref: str, recipe: Any) -> tuple[list[Problem], list[str]]:
    """(problems, notes) beyond what loading ``recipe`` (resolved for no backend) found."""
    from ..components import backends
    from ..data.plan import checked_splits
    from . import load_recipe

    installed = backends()
    problems: list[Problem] = []
    notes: list[str] = []
    names = [n for n in recipe.recipe.model if n in installed]
    skipped = [n for n in recipe.recipe.model if n not in installed]
    data_done = False
    data_cache = recipe.data_cache
    for name in names:
        try:
            resolved = load_recipe(ref, backend=name)
        except FtxError as exc:
            problems.extend(exc.problems)
            continue
        # The data as read for an earlier backend: load_splits reads again only when this
        # backend's data section (or a file) differs, which its cache key tells.
        resolved.data_cache = data_cache
        backend = installed[name]
        for f in backend.check(resolved):
            if f.level == "error":
                path = tuple(int(p) if p.isdigit() else p for p in f.field.split(".")) if f.field else ()
                file, line = resolved.located.where(path)
                problems.append(Problem(f.message, file=file, line=line, field=f.field))
        spec = resolved.recipe.data
        if any(str(r).startswith("hf:") for r in (spec.train, spec.validation) if r):
            notes.append("not checked: hf: datasets (they need the network)")
            continue
        try:  # the data plan's checks; its statistics would only add warnings, not shown here
            found = checked_splits(resolved)[3]
        except FtxError as exc:
            found = exc.problems
        problems.extend(found)
        data_done = True
        data_cache = resolved.data_cache
    if data_done:
        notes.append("checked the data files: opened, every record parsed, format and objective")
    if recipe.recipe.eval.test:  # as ftx run checks before training: metrics, harness task files
        from ..eval.runner import check_spec

        try:
            check_spec(recipe)
        except FtxError as exc:
            problems.extend(exc.problems)
        notes.append("checked the eval section: metric names and settings, lm-evaluation-harness task files")
    if skipped:
        notes.append(f"not checked for {', '.join(skipped)}: not installed")
    notes.append("not checked (needs the network): credentials, the provider's model list and quotas")
    return list(dict.fromkeys(problems)), notes
