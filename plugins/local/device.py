"""Device-aware training defaults: where to train, in which precision, whether to checkpoint.

On CPU everything runs in float32 without gradient checkpointing: bfloat16 matmuls on CPU are
about 15x slower than float32, and checkpointing trades compute (scarce on CPU) for memory. TRL
defaults to ``bf16=True`` and ``gradient_checkpointing=True``, so both are always set explicitly.
On CUDA: bfloat16 mixed precision where the GPU supports it (else float16), and checkpointing
for methods that tolerate it (prefix tuning's past-key-value prefixes do not).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ftx.errors import BackendError

@dataclass(frozen=True)
class DevicePlan:
    device: str  # "cpu" or "cuda"
    model_dtype: str  # dtype the (non-quantized) base weights are loaded in
    bf16: bool  # mixed precision flags for the trainer
    fp16: bool
    gradient_checkpointing: bool

    @property
    def precision(self) -> str:
        if self.bf16:
            return "bfloat16 mixed precision"
        if self.fp16:
            return "float16 mixed precision"
        return "float32"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "precision": self.precision}


def detect_device(requested: str = "auto") -> str:
    """``cuda`` when asked for or available (``auto``), else ``cpu``."""
    import torch

    if requested == "cpu":
        return "cpu"
    available = torch.cuda.is_available()
    if requested == "cuda" and not available:
        raise BackendError("backends.local.device is cuda but no CUDA device is available",
                           field="backends.local.device")
    return "cuda" if available else "cpu"


def plan_device(device: str, method: Any, *, bf16_supported: bool = False,
                gradient_checkpointing: bool | None = None) -> DevicePlan:
    """The defaults for ``method`` on ``device``; ``gradient_checkpointing`` overrides the default."""
    if device != "cuda":
        gc = bool(gradient_checkpointing) if gradient_checkpointing is not None else False
        return DevicePlan("cpu", "float32", bf16=False, fp16=False, gradient_checkpointing=gc)
    # Adapters train in float32 on a half-precision frozen base; full fine-tuning keeps float32
    # master weights and relies on autocast, so optimizer updates are not rounded away.
    half = "bfloat16" if bf16_supported else "float16"
    trains_all = not getattr(method, "adapter", True)
    model_dtype = "float32" if trains_all or not bf16_supported else half
    default_gc = bool(getattr(method, "gradient_checkpointing", True))
    gc = default_gc if gradient_checkpointing is None else gradient_checkpointing
    return DevicePlan("cuda", model_dtype, bf16=bf16_supported, fp16=not bf16_supported,
                      gradient_checkpointing=gc)


def current_plan(method: Any, options: Any) -> DevicePlan:
    """The plan for this machine and the recipe's ``backends.local`` options."""
    import torch

    device = detect_device(getattr(options, "device", "auto") or "auto")
    bf16 = device == "cuda" and torch.cuda.is_bf16_supported()
    return plan_device(device, method, bf16_supported=bf16,
                       gradient_checkpointing=getattr(options, "gradient_checkpointing", None))


SMALL_MODEL = 20_000_000  # parameters


def cpu_threads(n_params: int, requested: int | None) -> int | None:
    """Threads for torch on CPU, or None to keep torch's default. Tiny models do too little work
    per operation to gain from threads, and OpenMP threads spin badly when cores are shared
    (measured: 15 steps/s on 1 thread, 1 step/s on 2 under load)."""
    if requested:
        return requested
    return 1 if n_params < SMALL_MODEL else None
