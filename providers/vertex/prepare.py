"""Recipe -> the exact Vertex AI tuning-job request and the checks of its JSONL files. Offline.

These are Vertex's hooks of the core's prepare template (``ftx.hosted.prepare``).

The request is the REST body google-genai sends for ``client.tunings.tune(...)`` in Vertex mode
(``POST .../tuningJobs``), with ``{"$upload": ROLE}`` where the staged file's ``gs://`` URI goes:
``ftx run --dry-run`` shows it, and a launch sends exactly it.

Mapping (recipe -> request):

* ``model.vertex`` -> ``baseModel``; ``objective: sft`` -> ``supervisedTuningSpec``,
  ``objective: dpo`` -> ``preferenceOptimizationSpec``;
* ``hyperparameters.epochs`` (a number) -> ``hyperParameters.epochCount`` (``auto``: left out,
  Vertex picks); ``learning_rate_multiplier`` -> ``learningRateMultiplier``;
* ``method.r`` (set by the user: 1, 2, 4, 8 or 16) -> ``adapterSize`` (else Vertex's default);
* ``hyperparameters.beta`` (set by the user, dpo) -> ``beta``;
* ``backends.vertex.display_name`` (default: recipe name) -> ``tunedModelDisplayName``;
  ``description`` -> ``description``; ``backends.vertex.labels`` + ftx's own -> ``labels``.
"""

from __future__ import annotations

import re
from typing import Any

from ftx.hosted import CLIENT_KEY_FIELD

from .catalog import catalog_info, model_entry
from .validate import check_records, check_sizes

ADAPTER_SIZES = {1: "ADAPTER_SIZE_ONE", 2: "ADAPTER_SIZE_TWO", 4: "ADAPTER_SIZE_FOUR", 8: "ADAPTER_SIZE_EIGHT",
                 16: "ADAPTER_SIZE_SIXTEEN"}
RECIPE_LABEL = "ftx_recipe"
_LABEL_OK = re.compile(r"[a-z0-9-]")


def label_value(text: str) -> str:
    """``text`` as a Cloud label value (lowercase letters, digits, ``-``, ``_``; <= 63 chars),
    reversibly: any other character becomes ``_xx`` (its code in hex), ``_`` itself ``_5f``."""
    out = "".join(c if _LABEL_OK.match(c) else "".join(f"_{b:02x}" for b in c.encode()) for c in text)
    if len(out) > 63:  # not reversible any more, but still one stable value per text
        import hashlib

        out = "h-" + hashlib.sha256(text.encode()).hexdigest()[:40]
    return out


def label_text(value: str) -> str:
    """The inverse of :func:`label_value` (hashed values come back as they are)."""
    if value.startswith("h-"):
        return value
    raw = bytearray()
    i = 0
    while i < len(value):
        if value[i] == "_" and re.fullmatch(r"[0-9a-f]{2}", value[i + 1:i + 3]):
            raw.append(int(value[i + 1:i + 3], 16))
            i += 3
        else:
            raw.extend(value[i].encode())
            i += 1
    return raw.decode(errors="replace")


def spec_name(recipe: Any) -> str:
    return "preferenceOptimizationSpec" if recipe.recipe.objective == "dpo" else "supervisedTuningSpec"


def hyperparameters(recipe: Any) -> dict[str, Any]:
    """What the recipe sets that Vertex takes; unset values are left to Vertex."""
    hp = recipe.recipe.hyperparameters
    out: dict[str, Any] = {}
    if isinstance(hp.epochs, int):
        out["epochCount"] = hp.epochs
    if isinstance(hp.learning_rate_multiplier, (int, float)) and not isinstance(hp.learning_rate_multiplier, bool):
        out["learningRateMultiplier"] = float(hp.learning_rate_multiplier)
    r = getattr(recipe.method_params, "r", None)
    if recipe.is_set("method.r") and r in ADAPTER_SIZES:
        out["adapterSize"] = ADAPTER_SIZES[r]
    if recipe.recipe.objective == "dpo" and recipe.is_set("hyperparameters.beta") and hp.beta is not None:
        out["beta"] = float(hp.beta)
    return out


def base_request(recipe: Any, has_validation: bool) -> dict[str, Any]:
    """The request body without ftx's client key."""
    opts = recipe.options
    spec: dict[str, Any] = {"trainingDatasetUri": {"$upload": "train"}}
    if has_validation:
        spec["validationDatasetUri"] = {"$upload": "validation"}
    hyper = hyperparameters(recipe)
    if hyper:
        spec["hyperParameters"] = hyper
    request: dict[str, Any] = {
        "baseModel": recipe.model,
        spec_name(recipe): spec,
        "tunedModelDisplayName": (getattr(opts, "display_name", None) or recipe.recipe.name)[:128],
    }
    if recipe.recipe.description:
        request["description"] = recipe.recipe.description
    labels = {RECIPE_LABEL: re.sub(r"[^a-z0-9_-]", "-", recipe.recipe.name.lower())[:63]}
    labels.update(getattr(opts, "labels", None) or {})
    request["labels"] = labels
    return request


def target(recipe: Any) -> dict[str, Any]:
    """Project and region as far as known offline: part of the idempotency key, so the same
    recipe sent to another project is a new launch there, not "already trained"."""
    from .config import configured

    settings = configured(recipe.options)
    return {"project": settings["project"], "location": settings["location"]}


def tag(request: dict[str, Any], key: str) -> dict[str, Any]:
    """The key as a label value (labels allow only lowercase letters, digits, ``-`` and ``_``)."""
    return {**request, "labels": {CLIENT_KEY_FIELD: label_value(key), **(request.get("labels") or {})}}


def _limits(recipe: Any) -> tuple[dict[str, Any], float]:
    return model_entry(recipe.model or "") or {}, float(catalog_info().get("chars_per_token", 4))


def check(recipe: Any, records: list, *, file: str, role: str) -> Any:
    entry, cpt = _limits(recipe)
    checked = check_records(records, recipe.recipe.objective, file=file, limit=entry.get("max_tokens_per_example"),
                            model=recipe.model or "", chars_per_token=cpt)
    if role == "train" and not entry:
        checked.notes = [f"{recipe.model!r} is not in ftx's Vertex catalog: its limits and price are unknown"]
    return checked


def file_problems(recipe: Any, train: list, validation: list, train_bytes: int) -> list:
    entry, _ = _limits(recipe)
    spec = recipe.recipe.data
    from ftx.data.sources import train_file as first_train_file

    train_file = first_train_file(recipe)
    val_file = recipe.data_path(spec.validation) if spec.validation else train_file
    return check_sizes(train, validation, train_bytes, entry, train_file=train_file, validation_file=val_file,
                       model=recipe.model or "")


def describe(recipe: Any, train: Any, validation: Any) -> dict[str, Any]:
    entry, cpt = _limits(recipe)
    info = catalog_info()
    summary: dict[str, Any] = {
        "training examples": len(train.tokens),
        "validation examples": len(validation.tokens),
        f"tokens per epoch (characters/{cpt:g})": train.total_tokens,
        "data format": ("Vertex preference optimization JSONL" if recipe.recipe.objective == "dpo"
                        else "Gemini supervised JSONL"),
    }
    price = entry.get("train_per_1m_tokens")
    summary["price per 1M trained tokens"] = (f"${float(price):,.2f} (catalog {info.get('date', 'undated')})"
                                              if price is not None else "unknown (model not in ftx's catalog)")
    return summary
