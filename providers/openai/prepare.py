"""Recipe -> the exact OpenAI fine-tuning request and the checks of the JSONL files it needs. Offline.

These are OpenAI's hooks of the core's prepare template (``ftx.hosted.prepare``), used by
``ftx run --dry-run`` (to show the request) and by a launch (to send it), so what the user saw is
what is sent.
"""

from __future__ import annotations

from typing import Any

from .catalog import get_catalog
from .validate import MIN_EXAMPLES, check_file

FALLBACK_ENCODING = "o200k_base"


def method_type(recipe: Any) -> str:
    return "dpo" if recipe.recipe.objective == "dpo" else "supervised"


def hyperparameters(recipe: Any) -> dict[str, Any]:
    """OpenAI's hyperparameters for the recipe: what the user set, ``"auto"`` for the rest."""
    hp = recipe.recipe.hyperparameters
    lrm = hp.learning_rate_multiplier
    out: dict[str, Any] = {
        "n_epochs": hp.epochs if recipe.is_set("hyperparameters.epochs") else "auto",
        "batch_size": hp.batch_size if recipe.is_set("hyperparameters.batch_size") else "auto",
        "learning_rate_multiplier": lrm if lrm not in (None, "auto") else "auto",
    }
    if method_type(recipe) == "dpo":
        out["beta"] = hp.beta if recipe.is_set("hyperparameters.beta") and hp.beta is not None else "auto"
    return out


def base_request(recipe: Any, has_validation: bool) -> dict[str, Any]:
    """The request body without ftx's client key: what identifies this launch."""
    kind = method_type(recipe)
    opts = recipe.options
    request: dict[str, Any] = {
        "model": recipe.model,
        "training_file": {"$upload": "train"},
        "method": {"type": kind, kind: {"hyperparameters": hyperparameters(recipe)}},
        "seed": recipe.recipe.hyperparameters.seed,
    }
    if has_validation:
        request["validation_file"] = {"$upload": "validation"}
    if opts is not None and getattr(opts, "suffix", None):
        request["suffix"] = opts.suffix
    metadata = {"ftx_recipe": recipe.recipe.name[:512]}
    if opts is not None:
        metadata.update(getattr(opts, "metadata", None) or {})
    request["metadata"] = metadata
    if opts is not None and getattr(opts, "wandb_project", None):
        wandb: dict[str, Any] = {"project": opts.wandb_project}
        if getattr(opts, "wandb_entity", None):
            wandb["entity"] = opts.wandb_entity
        request["integrations"] = [{"type": "wandb", "wandb": wandb}]
    return request


def _encoding(model: str, info: Any) -> tuple[str, str | None]:
    from ftx.data.tokens import encoding_for_model

    if info is not None and info.encoding:
        return info.encoding, None
    found = encoding_for_model(model)
    if found:
        return found, None
    return FALLBACK_ENCODING, f"no tokenizer known for {model!r}: examples counted with {FALLBACK_ENCODING}"


def check_records(recipe: Any, records: list[tuple[dict[str, Any], Any]], *, file: str, role: str) -> Any:
    """OpenAI's rules on one file, counting tokens with the model's own encoding."""
    from ftx.data.tokens import get_counter

    catalog = get_catalog()
    info = catalog.lookup(recipe.model or "")
    encoding, note = _encoding(recipe.model or "", info)
    checked = check_file(records, recipe.recipe.objective, get_counter(encoding).count,
                         info.max_example_tokens if info else None, recipe.model, file=file,
                         minimum=MIN_EXAMPLES if role == "train" else 0)
    checked.notes = [note] if note else []
    checked.encoding = encoding  # type: ignore[attr-defined]
    return checked


def describe(backend_name: str, recipe: Any, train: Any, validation: Any) -> dict[str, Any]:
    catalog = get_catalog()
    info = catalog.lookup(recipe.model or "")
    summary: dict[str, Any] = {
        "training examples": len(train.tokens),
        "validation examples": len(validation.tokens),
        "trained tokens per epoch": f"{train.total_tokens:,} ({getattr(train, 'encoding', FALLBACK_ENCODING)}, "
                                    "with OpenAI's chat framing)",
    }
    if info is not None:
        price = info.price(backend_name)
        summary["price per 1M trained tokens"] = (f"${price:,.2f} (catalog checked {catalog.checked})"
                                                  if price is not None else "unknown")
    return summary
