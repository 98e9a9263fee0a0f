"""Shapes a 4-bit quantized base model needs, checked before any weight is loaded.

bitsandbytes (>= 0.49) repacks 4-bit weights for its fused CPU kernel when the CPU has AVX-512
(bf16): every quantized linear layer then needs its output width divisible by 32 and its input
width even, or the first evaluation step dies on ``assert N % block_n == 0``. The same recipe
runs on a CPU without AVX-512, so the failure only shows up on some machines, after minutes of
training. This module finds the offending layers from the model's config alone (a meta-device
model: no weights are read) and says so in one line first.

torch, transformers and bitsandbytes are imported lazily: only a QLoRA run on CPU calls this.
"""

from __future__ import annotations

from typing import Any, Iterable

from ftx.errors import BackendError

# What bitsandbytes.functional._convert_weight_packed_for_cpu asserts.
BLOCK_N = 32


def cpu_repacks_4bit() -> bool:
    """Whether bitsandbytes' 4-bit layers will repack their weights for the AVX-512 CPU kernel.

    ``Linear4bit`` reads ``has_avx512bf16`` from ``bitsandbytes.nn.modules`` when it is built, so
    that is the name consulted here (and the one a test patches to fake such a CPU).
    """
    try:
        from bitsandbytes.nn import modules
    except Exception:  # no bitsandbytes (or a broken install): loading will report it
        return False
    probe = getattr(modules, "has_avx512bf16", None)
    try:
        return bool(probe()) if probe is not None else False
    except Exception:
        return False


def unpackable_layers(shapes: Iterable[tuple[str, int, int]], block_n: int = BLOCK_N) -> list[str]:
    """``name (out x in)`` of each ``(name, out_features, in_features)`` the CPU repacking refuses."""
    return [f"{name} ({out}x{inp})" for name, out, inp in shapes if out % block_n or inp % 2]


def quantized_linear_shapes(model_path: str) -> list[tuple[str, int, int]]:
    """``(name, out_features, in_features)`` of every linear layer transformers would quantize:
    all of them but the output head (which bitsandbytes leaves in full precision)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(model_path)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    head = model.get_output_embeddings()
    return [(name, m.out_features, m.in_features) for name, m in model.named_modules()
            if isinstance(m, torch.nn.Linear) and m is not head]


def check_4bit_shapes(model_path: str, device: str, method: str = "qlora") -> None:
    """Raise a one-line :class:`BackendError` when this machine's 4-bit kernel cannot take the
    model's layer shapes; do nothing where no such constraint applies (CUDA, CPUs without
    AVX-512)."""
    if device != "cpu" or not cpu_repacks_4bit():
        return
    bad = unpackable_layers(quantized_linear_shapes(model_path))
    if bad:
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise BackendError(
            f"method {method}: this CPU has AVX-512, where bitsandbytes' 4-bit kernel needs every "
            f"quantized layer's output width divisible by {BLOCK_N} and input width even; "
            f"{model_path} has {shown}. Use method lora, or run on a GPU",
            field="method")


def check_from_context(context: dict[str, Any], method: str = "qlora") -> None:
    """:func:`check_4bit_shapes` for a method's ``load_kwargs`` context."""
    path = context.get("model_path")
    if path:
        check_4bit_shapes(str(path), str(context.get("device", "cpu")), method)
