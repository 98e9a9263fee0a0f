"""Model names -> loaded models and tokenizers.

``ftx/tiny-llama`` is the embedded tiny model (built on first use); an existing local folder is
loaded as is; anything else is a Hugging Face hub id handed to ``from_pretrained``, which only
works when the model is cached or hub access is on.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ftx.errors import BackendError

from .tiny_model import NAME as TINY_NAME


def resolve_model(name: str) -> str:
    """Where ``from_pretrained`` should load ``name`` from: a folder path or a hub id."""
    if name == TINY_NAME:
        from .tiny_model import ensure_tiny_model

        return str(ensure_tiny_model())
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path.resolve())
    return name


def method_load_kwargs(method_name: str | None, method_params: dict[str, Any] | None,
                       device: str) -> dict[str, Any] | None:
    """The ``from_pretrained`` extras a run's method loads its base model with (a quantizing method
    reloads it quantized, as it was trained); ``None`` for an unknown or plain method."""
    if not method_name:
        return None
    from ftx.components import methods

    method = methods().get(method_name)
    if method is None:
        return None
    params = method.params_model().model_validate(method_params or {})
    return method.load_kwargs(params, {"device": device})


def method_of(method_name: str | None) -> Any:
    """The registered method a run trained with, or ``None`` (unknown name, or not recorded)."""
    if not method_name:
        return None
    from ftx.components import methods

    return methods().get(method_name)


def hub_offline() -> bool:
    try:
        from huggingface_hub import constants

        return bool(constants.HF_HUB_OFFLINE)
    except Exception:  # pragma: no cover - very old huggingface_hub
        return os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")


def _load_error(name: str, exc: Exception) -> BackendError:
    if Path(name).expanduser().exists():
        return BackendError(f"cannot load model from {name}: {exc}")
    if hub_offline():
        return BackendError(
            f"model {name!r} is not in the local Hugging Face cache and hub access is off "
            "(HF_HUB_OFFLINE=1)", hint="download it while online, name a local model folder, "
                                       "or use ftx/tiny-llama")
    return BackendError(f"cannot load model {name!r} from the Hugging Face hub: {exc}",
                        hint="check the model id and your network, or name a local model folder")


def load_tokenizer(source: str) -> Any:
    """The tokenizer at ``source``, with a pad token (the end-of-sequence token if it has none)."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as exc:
        raise _load_error(source, exc) from exc
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(source: str, dtype: str, device: str, extra: dict[str, Any] | None = None) -> Any:
    """The causal LM at ``source`` in ``dtype`` on ``device``; ``extra`` adds ``from_pretrained``
    arguments (a method's quantization config)."""
    import torch
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": getattr(torch, dtype)}
    kwargs.update(extra or {})
    if "quantization_config" in kwargs:
        kwargs["device_map"] = {"": 0} if device == "cuda" else {"": "cpu"}
    try:
        model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as exc:
        raise _load_error(source, exc) from exc
    if "device_map" not in kwargs:
        model = model.to(device)
    elif device != "cuda":
        keep_plain_4bit_layout(model)
    return model


def keep_plain_4bit_layout(model: Any) -> int:
    """Keep bitsandbytes' 4-bit CPU layers on their plain weight layout; returns how many.

    On a CPU with AVX-512 (bf16), bitsandbytes (>= 0.49) repacks a 4-bit layer's weights in place
    the first time the layer runs without gradients (an evaluation, the sample answers), for a
    fused inference kernel. Training then reads the repacked weights with the plain layout's
    code: measured on such a CPU, the logits moved 0.02-0.05 after one generation, an adapter
    trained that way did not reproduce when reloaded on a fresh base, and a merge was refused;
    the repacking also needs every layer's output width divisible by 32. With the plain layout
    the 4-bit matmul (dequantize, then multiply) serves training and inference alike, on every CPU
    (``tests/local/test_4bit_layout.py``)."""
    kept = 0
    for module in model.modules():
        if getattr(module, "support_avx512bf16_for_cpu", False):
            module.support_avx512bf16_for_cpu = False
            kept += 1
    return kept
