"""Recipe -> the exact Together AI ``POST /v1/fine-tunes`` body. Offline.

Mapping: ``model.together`` -> ``model``; ``objective`` -> ``training_method`` (``sft`` with
``train_on_inputs``, ``dpo`` with ``dpo_beta``); ``method`` -> ``training_type`` (``lora``: ``Lora``
with ``lora_r`` / ``lora_alpha`` / ``lora_dropout``; ``full``: ``Full``); epochs, learning rate (an
absolute rate: Together takes one), batch size, warmup, weight decay, gradient clipping, packing,
``max_length`` -> ``max_seq_length``, seed -> ``random_seed``. The idempotency key travels as a
short tag in ``suffix`` (Together keeps no job metadata), so a job is found again by the tag in
its ``model_output_name``.
"""

from __future__ import annotations

from typing import Any

from ftx.hosted import key_tag

_OPTIONAL = {"warmup_ratio": "warmup_ratio", "weight_decay": "weight_decay", "max_grad_norm": "max_grad_norm",
             "packing": "packing", "max_length": "max_seq_length"}


def build_request(recipe: Any, has_validation: bool) -> dict[str, Any]:
    hp = recipe.recipe.hyperparameters
    opts = recipe.options
    request: dict[str, Any] = {"model": recipe.model, "training_file": {"$upload": "train"}}
    if has_validation:
        request["validation_file"] = {"$upload": "validation"}
        request["n_evals"] = getattr(opts, "n_evals", None) if getattr(opts, "n_evals", None) is not None else (
            hp.epochs if isinstance(hp.epochs, int) else 1)
    if isinstance(hp.epochs, int) and not isinstance(hp.epochs, bool):
        request["n_epochs"] = hp.epochs
    if hp.learning_rate is not None:
        request["learning_rate"] = float(hp.learning_rate)
    if recipe.is_set("hyperparameters.batch_size") and isinstance(hp.batch_size, int):
        request["batch_size"] = hp.batch_size
    for field, api in _OPTIONAL.items():
        if recipe.is_set(f"hyperparameters.{field}") and getattr(hp, field, None) is not None:
            request[api] = getattr(hp, field)
    request["random_seed"] = hp.seed
    request["n_checkpoints"] = getattr(opts, "n_checkpoints", 1) or 1
    if recipe.recipe.objective == "dpo":
        method: dict[str, Any] = {"method": "dpo"}
        if hp.beta is not None:
            method["dpo_beta"] = float(hp.beta)
    else:
        method = {"method": "sft", "train_on_inputs": getattr(opts, "train_on_inputs", "auto")}
    request["training_method"] = method
    if recipe.recipe.method.name == "full":
        request["training_type"] = {"type": "Full"}
    else:
        params = recipe.method_params
        lora: dict[str, Any] = {"type": "Lora", "lora_r": int(getattr(params, "r", 8) or 8),
                                "lora_alpha": int(getattr(params, "alpha", 16) or 16),
                                "lora_trainable_modules": "all-linear"}
        dropout = getattr(params, "dropout", None)
        if dropout is not None:
            lora["lora_dropout"] = float(dropout)
        request["training_type"] = lora
    if getattr(opts, "wandb_project_name", None):
        request["wandb_project_name"] = opts.wandb_project_name
    if getattr(opts, "suffix", None):
        request["suffix"] = opts.suffix
    return request


def tag_request(request: dict[str, Any], key: str) -> dict[str, Any]:
    """The key's tag at the end of ``suffix`` (the user's suffix, if any, first)."""
    user = request.get("suffix")
    return {**request, "suffix": f"{user}-{key_tag(key)}" if user else key_tag(key)}
