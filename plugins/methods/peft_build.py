"""PEFT configurations for the built-in methods (peft, transformers and torch imported lazily).

``context`` is what the local backend hands every method's ``apply``:

* ``device``: ``"cpu"`` or ``"cuda"``;
* ``tokenizer``: the loaded tokenizer; ``model_path``: where model and tokenizer were loaded from;
* ``gradient_checkpointing``: whether the trainer will checkpoint activations;
* ``compute_dtype``: the torch dtype name computations run in (``"float32"``, ``"bfloat16"``).
"""

from __future__ import annotations

from typing import Any

from ftx.errors import BackendError

TASK_TYPE = "CAUSAL_LM"


def _targets(value: Any) -> Any:
    """``all-linear`` (every linear layer but the output head) passes through as PEFT knows it."""
    return value if isinstance(value, str) else list(value)


def lora_config(params: Any, *, use_dora: bool = False) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        task_type=TASK_TYPE, r=params.r, lora_alpha=params.alpha, lora_dropout=params.dropout,
        target_modules=_targets(params.target_modules), bias=params.bias,
        use_rslora=params.use_rslora, use_dora=use_dora)


def prefix_config(params: Any) -> Any:
    from peft import PrefixTuningConfig

    return PrefixTuningConfig(task_type=TASK_TYPE, num_virtual_tokens=params.num_virtual_tokens,
                              prefix_projection=params.prefix_projection)


def prompt_config(params: Any, context: dict[str, Any]) -> Any:
    from peft import PromptTuningConfig, PromptTuningInit

    if params.init == "text":
        if not params.init_text:
            raise BackendError("method prompt: init: text needs init_text", field="method.init_text")
        return PromptTuningConfig(
            task_type=TASK_TYPE, num_virtual_tokens=params.num_virtual_tokens,
            prompt_tuning_init=PromptTuningInit.TEXT, prompt_tuning_init_text=params.init_text,
            tokenizer_name_or_path=str(context["model_path"]))
    return PromptTuningConfig(task_type=TASK_TYPE, num_virtual_tokens=params.num_virtual_tokens,
                              prompt_tuning_init=PromptTuningInit.RANDOM)


# Used when PEFT has no mapping for the architecture but the model has Llama-style module names.
_LLAMA_IA3 = (["k_proj", "v_proj", "down_proj"], ["down_proj"])


def ia3_config(params: Any, model: Any) -> Any:
    """IA3 on keys, values and the feed-forward down projection ("auto"), else the named modules;
    feed-forward modules ("auto") are the targets PEFT knows as feed-forward for this model."""
    from peft import IA3Config
    from peft.utils.constants import (
        TRANSFORMERS_MODELS_TO_IA3_FEEDFORWARD_MODULES_MAPPING as FF,
        TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING as TARGETS,
    )

    model_type = getattr(getattr(model, "config", None), "model_type", None)
    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    default_targets, default_ff = TARGETS.get(model_type), FF.get(model_type)
    if default_targets is None and set(_LLAMA_IA3[0]) <= names:
        default_targets, default_ff = _LLAMA_IA3
    targets = default_targets if params.target_modules == "auto" else list(params.target_modules)
    if targets is None:
        raise BackendError(f"method ia3: no default target modules for model type {model_type!r}; "
                           "set method.target_modules", field="method.target_modules")
    if params.feedforward_modules == "auto":
        feedforward = [m for m in targets if m in (default_ff or [])]
    else:
        feedforward = list(params.feedforward_modules)
    unknown = [m for m in feedforward if m not in targets]
    if unknown:
        raise BackendError(f"method ia3: feedforward_modules {unknown} are not in target_modules",
                           field="method.feedforward_modules")
    return IA3Config(task_type=TASK_TYPE, target_modules=list(targets), feedforward_modules=feedforward)


def bnb_config(params: Any, device: str) -> Any:
    """4-bit quantization settings; compute dtype ``auto`` is bfloat16 on CUDA, float32 on CPU."""
    import torch
    from transformers import BitsAndBytesConfig

    name = params.compute_dtype
    if name == "auto":
        name = "bfloat16" if device == "cuda" else "float32"
    return BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type=params.quant_type,
        bnb_4bit_use_double_quant=params.double_quant, bnb_4bit_compute_dtype=getattr(torch, name))


def wrap(model: Any, config: Any, context: dict[str, Any]) -> Any:
    """``get_peft_model``; when activations are checkpointed the frozen embeddings must still
    pass gradients on, so input gradients are enabled."""
    from peft import get_peft_model

    if context.get("gradient_checkpointing") and hasattr(model, "enable_input_require_grads"):
        model.enable_input_require_grads()
    try:
        return get_peft_model(model, config)
    except ValueError as exc:  # e.g. target modules not found in the model
        raise BackendError(f"cannot apply the method to this model: {exc}") from exc
