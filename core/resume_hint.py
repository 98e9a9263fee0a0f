"""Why ``--resume`` found nothing to continue, in the user's terms: the killed run it did find
for this recipe and which values differ (other ``KEY=VALUE`` overrides, an edited recipe)."""

from __future__ import annotations

from typing import Any

_SHOWN = 6


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flat(item, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): value}


def differences(then: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """``field: then -> now`` for every value that differs between two recipe snapshots."""
    a, b = _flat(then), _flat(now)
    return [f"{key}: {a.get(key, '(unset)')!r} -> {b.get(key, '(unset)')!r}"
            for key in sorted(set(a) | set(b)) if a.get(key) != b.get(key)]


def near_miss(registry: Any, plan: Any, not_resumable: Any) -> str | None:
    """A sentence naming the newest run of the same recipe name and backend that would resume
    but for its recipe snapshot, and what differs; None when there is no such run."""
    backend, name = plan.backend.name, plan.recipe.recipe.name
    for run in registry.list_runs(limit=None, backend=backend):
        if run.name != name or run.recipe_hash == plan.recipe.snapshot_hash():
            continue
        if not_resumable(run, backend, run.recipe_hash) is not None:
            continue
        diff = differences(run.recipe_snapshot or {}, plan.recipe.to_dict())
        shown = "; ".join(diff[:_SHOWN]) + (f"; and {len(diff) - _SHOWN} more" if len(diff) > _SHOWN else "")
        return (f"run {run.id} ({run.status}, started {run.created_at}) can resume, but it used other values "
                f"({shown or 'the data changed'}): pass the same KEY=VALUE overrides (then --resume {run.id})")
    return None
