"""``ftx estimate``: one recipe estimated on every backend (and every device, for local ones).

Each backend is resolved from the same recipe (its ``backends.NAME`` section merged), the data
is read once per distinct data section, and each estimate comes from the ``ftx_estimate`` hook:
the first plugin that answers for the backend wins. A backend the recipe names no model for,
one no plugin estimates, or an estimator that fails, still gets a row that says so.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from ..errors import FtxError, PluginError
from ..estimate import Estimate
from .catalog import default_devices, find_device
from .dataset import with_examples


def backend_names(wanted: Sequence[str] | None, installed: dict[str, Any]) -> list[str]:
    """The backends to estimate: all installed (local ones first) when ``wanted`` is empty or
    holds ``all``; else the named ones (comma lists allowed), each of which must be installed."""
    names = [n.strip() for item in wanted or () for n in item.split(",") if n.strip()]
    if not names or "all" in names:
        return sorted(installed, key=lambda n: (bool(getattr(installed[n], "hosted", False)), n))
    unknown = [n for n in names if n not in installed]
    if unknown:
        raise PluginError(f"unknown backend {unknown[0]!r}; installed: {', '.join(sorted(installed)) or 'none'}")
    return list(dict.fromkeys(names))


def _unavailable(backend: str, model: str | None, note: str, device: str | None = None) -> Estimate:
    return Estimate(backend=backend, model=model, available=False, notes=[note], device=device)


def call_estimators(backend: Any, recipe: Any, data: dict[str, Any]) -> Estimate:
    """The first plugin answer of ``ftx_estimate`` for this backend; a failing plugin becomes
    a row that names it (``FTX_DEBUG=1`` re-raises instead)."""
    from ..pluginmanager import get_plugins

    plugins = get_plugins()
    failures: list[str] = []
    for impl in plugins.impls("ftx_estimate"):
        args = {k: v for k, v in {"backend": backend, "recipe": recipe, "data": data}.items() if k in impl.argnames}
        try:
            result = impl.function(**args)
        except FtxError as exc:  # the user can act on it: show it as the row's reason
            if os.environ.get("FTX_DEBUG"):
                raise
            failures.append("; ".join(exc.lines()))
            continue
        except Exception as exc:
            if os.environ.get("FTX_DEBUG"):
                raise
            failures.append(f"the estimator of plugin {impl.plugin_name!r} failed: {type(exc).__name__}: {exc}")
            continue
        if result is not None:
            return result
    device = data.get("gpu")
    if failures:
        return _unavailable(backend.name, recipe.model, failures[0], device)
    return _unavailable(backend.name, recipe.model, f"no installed plugin estimates backend {backend.name!r}", device)


def estimate_all(recipe_ref: str, backends: Sequence[str] | None = None, overrides: Sequence[str] = (),
                 gpu: str | None = None) -> list[Estimate]:
    """Estimates of ``recipe_ref`` on ``backends`` (None or ``["all"]``: every installed one).

    Non-hosted backends get one row per device of the catalog, or only ``gpu`` when given.
    Raises :class:`ftx.errors.FtxError` for an invalid recipe or data, an unknown backend or GPU."""
    from ..components import backends as installed_backends
    from ..recipe import load_recipe

    installed = installed_backends()
    names = backend_names(backends, installed)
    devices = [find_device(gpu).key] if gpu else [d.key for d in default_devices()]
    cache: dict[tuple, tuple] = {}
    results: list[Estimate] = []
    # The whole file (every backend section) is validated once, resolved for no backend: a
    # backend the recipe names no model for needs nothing more (its row says so); the others are
    # resolved for themselves, from the same validation (see ftx.recipe.resolve._VALIDATED).
    models = load_recipe(recipe_ref, tuple(overrides)).recipe.model
    for name in names:
        backend = installed[name]
        if not models.get(name):
            results.append(_unavailable(name, None, f"no model for this backend (add model.{name})"))
            continue
        recipe = load_recipe(recipe_ref, tuple(overrides), backend=name)
        trains = getattr(backend, "trains_objectives", None)
        if trains is not None and recipe.recipe.objective not in trains():
            results.append(_unavailable(name, recipe.model, f"backend {name!r} cannot train objective "
                                                            f"{recipe.recipe.objective!r}"))
            continue
        # "shared": one dict for all of this backend's rows (one per device), where an estimator
        # may keep what does not depend on the device (the local one: the model's shape, token counts)
        data = {**with_examples(recipe, cache=cache), "shared": {}}
        for device in (devices if not getattr(backend, "hosted", False) else [None]):
            est = call_estimators(backend, recipe, {**data, "gpu": device} if device else data)
            if data.get("mix"):
                from ..data.mix import mix_compact

                est.assumptions.setdefault("examples per source", mix_compact(data["mix"]))
            results.append(est)
            # One row is all when the estimator takes no device, or cannot estimate at all.
            if est.device is None or not est.available:
                break
    return results

