"""What the open-weight providers' catalogs share: models priced by size band, one dated price
table per provider, the lookup of a model's entry, and the findings about an unknown, retired or
retiring model. A provider's ``models.yaml`` holds ``date``, ``sources``, ``bands`` (band -> prices,
in the order of the provider's columns) and ``models`` (model -> ``band`` and limits)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..estimate import Estimate, PriceTable


def load(path: Path) -> dict[str, Any]:
    from ..cost.catalog import package_yaml

    return package_yaml(path)


def band_entries(catalog: dict[str, Any], columns: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Model -> fields, with its band's prices spelled out under ``columns``."""
    bands = catalog.get("bands") or {}
    out: dict[str, dict[str, Any]] = {}
    for name, raw in (catalog.get("models") or {}).items():
        entry = dict(raw or {})
        entry.update(zip(columns, bands.get(entry.get("band"), ()), strict=False))
        out[str(name)] = entry
    return out


def price_table(backend: str, label: str, catalog: dict[str, Any], entries: dict[str, dict[str, Any]]) -> PriceTable:
    return PriceTable(name=f"ftx {label} catalog (models.yaml)", backend=backend, date=str(catalog.get("date", "unknown")),
                      source=str((catalog.get("sources") or {}).get("pricing", "models.yaml")), entries=entries)


def entry(backend: str, model: str | None) -> dict[str, Any] | None:
    """The model's price-table entry for ``backend`` (aliases, plugins' later tables included)."""
    from ..cost.catalog import price_for

    found = price_for(backend, model) if model else None
    return dict(found[0]) if found else None


def findings(backend: Any, recipe: Any) -> list[Any]:
    """Check findings about the recipe's model on ``backend``: not in the catalog (a warning), or
    retired / retiring (see :mod:`ftx.hosted.facts`)."""
    from ..backends import Finding
    from .facts import retirement

    if not recipe.model:
        return []
    found = entry(backend.name, recipe.model)
    field = f"model.{backend.name}"
    out = []
    if found is None:
        out.append(Finding("warning", f"{recipe.model!r} is not in ftx's {backend.provider_label} catalog: its limits "
                                      "and price are unknown", field))
    out += [Finding(level, message, field) for level, message in retirement(backend.name, recipe.model, found)]  # type: ignore[arg-type]
    return out


def unknown_model(est: Estimate, label: str, model: str, catalog: dict[str, Any]) -> None:
    """Mark an estimate for a model the catalog does not hold: it does not fit, and say what does."""
    est.fits = False
    est.notes.append(f"{model!r} is not in ftx's {label} catalog (known: {', '.join(sorted(catalog.get('models') or {}))})")
