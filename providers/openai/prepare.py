"""Recipe -> the exact OpenAI fine-tuning request, plus the JSONL files it needs. Offline.

Used by ``ftx run --dry-run`` (to show the request) and by a launch (to send it), so what the
user saw is what is sent.
"""

from __future__ import annotations

import json
from typing import Any

from ftx.errors import DataError, Problem
from ftx.hosted import CLIENT_KEY_FIELD, PreparedJob, UploadFile, client_key_for

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


def _records(examples: list, objective: str, problems: list[Problem]) -> list[tuple[dict[str, Any], Any]]:
    from ftx.components import get_format
    from ftx.formats import CannotConvert

    fmt = get_format("openai-dpo" if objective == "dpo" else "chat")
    out = []
    for example in examples:
        try:
            out.append((fmt.dump(example), example.source))
        except CannotConvert as exc:
            src = example.source
            problems.append(Problem(f"cannot be written as OpenAI {fmt.name} data: {exc}",
                                    file=getattr(src, "file", None), line=getattr(src, "line", None)))
    return out


def _jsonl(records: list[tuple[dict[str, Any], Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r, _ in records).encode()


def prepare(backend_name: str, recipe: Any) -> PreparedJob:
    """Convert, validate (every problem at once, with file:line) and build the request."""
    from ftx.data.plan import load_splits
    from ftx.data.tokens import get_counter

    problems: list[Problem] = []
    train, validation, split_info = load_splits(recipe, problems)
    if problems:
        raise DataError(problems=problems)
    objective = recipe.recipe.objective
    catalog = get_catalog()
    info = catalog.lookup(recipe.model or "")
    encoding, note = _encoding(recipe.model or "", info)
    counter = get_counter(encoding)
    limit = info.max_example_tokens if info else None
    if recipe.recipe.eval.strategy == "no":
        validation = []
    train_records = _records(train, objective, problems)
    val_records = _records(validation, objective, problems)
    from ftx.data.sources import train_file as first_train_file

    train_file = first_train_file(recipe)
    checked = check_file(train_records, objective, counter.count, limit, recipe.model,
                         file=train_file, minimum=MIN_EXAMPLES)
    val_file = recipe.data_path(recipe.recipe.data.validation) if recipe.recipe.data.validation else train_file
    val_checked = check_file(val_records, objective, counter.count, limit, recipe.model, file=val_file)
    problems += checked.problems + val_checked.problems
    if problems:
        raise DataError(problems=problems)
    files = [UploadFile.build("train", _jsonl(train_records), len(train_records), checked.total_tokens)]
    if val_records:
        files.append(UploadFile.build("validation", _jsonl(val_records), len(val_records), val_checked.total_tokens))
    request = base_request(recipe, bool(val_records))
    key = client_key_for(backend_name, recipe.model or "", request, files)
    request["metadata"] = {CLIENT_KEY_FIELD: key, **request["metadata"]}
    summary: dict[str, Any] = {
        "training examples": len(train_records),
        "validation examples": len(val_records),
        "trained tokens per epoch": f"{checked.total_tokens:,} ({encoding}, with OpenAI's chat framing)",
    }
    if split_info.get("mix"):
        from ftx.data.mix import mix_compact

        summary["training examples per source"] = mix_compact(split_info["mix"])
    if info is not None:
        price = info.price(backend_name)
        summary["price per 1M trained tokens"] = (f"${price:,.2f} (catalog checked {catalog.checked})"
                                                  if price is not None else "unknown")
    return PreparedJob(backend_name, recipe.model or "", request, files, key, summary, [note] if note else [])
