"""Peak memory of local fine-tuning: weights + trainable state + activations + logits + overhead.

The precision and checkpointing follow what the local backend does (``ftx.plugins.local.device``):
on the CPU everything is float32 and activations are not checkpointed; on a GPU training runs in
bfloat16 mixed precision (float16 where the GPU has no bfloat16), adapters train on a 16-bit
frozen base (a float32 one with float16), full fine-tuning keeps float32 weights as its master
copy, and activations are checkpointed (except for prefix tuning) unless
``backends.local.gradient_checkpointing`` says otherwise.

Every term, in bytes (GB = 1e9 bytes):

* **weights**: parameters x 4 (float32) or 2 (16-bit). QLoRA stores the block linear layers in
  4 bits (0.5 byte) plus nf4's quantization constants: one fp32 absmax per 64 weights
  (4/64 = 0.0625 byte/param), or with double quantization 8-bit absmax plus one fp32 per 256 of
  them ((1 + 4/256)/64 = 0.0159 byte/param); peft's ``prepare_model_for_kbit_training`` casts
  every other parameter (embeddings, lm_head, norms) to float32.
* **trainable state** per trained parameter: fp32 gradient (4) + AdamW's two fp32 moments (8)
  = 12 bytes, plus the fp32 adapter weight itself (4) for adapters, which come on top of the
  frozen weights. In full fine-tuning the gradients fill as the backward pass frees the
  activations, so the smaller of the two is not counted twice. Trained parameters = parameters x the method's ``trainable_fraction``.
* **activations** saved for the backward pass, per token per layer, in elements:
  7h + 3kv + 4i (h hidden, kv the key/value width, i the MLP width): both norms' inputs and
  outputs, q, k, v, the rotary-embedded q and k, the attention output; gate, up, SiLU(gate) and
  their product. LoRA-style adapters with dropout keep each adapted layer's dropped-out input
  too: 6h + i; on the CPU twice that, since PyTorch's CPU dropout is not fused and the backward
  keeps its float32 noise tensor as well (measured: the LoRA shapes of
  ``benchmarks/memory_calibration.py`` sat up to 18% above the estimate without it). CUDA's
  fused dropout keeps a 1-byte mask instead, not counted (not measured on a GPU). Attention runs
  in a fused kernel that keeps no score matrix: transformers' default ``sdpa`` uses flash or
  memory-efficient kernels on CUDA and PyTorch's flash-attention CPU kernel on the CPU (measured: ``benchmarks/memory_calibration.py``; counting the scores overshot the
  CPU peaks by up to 18%). Multiplied by batch x sequence x bytes per element (4 on CPU,
  2 in mixed precision) x (layers + 1): the backward pass holds one layer's worth of activation
  gradients on top. Gradient checkpointing keeps only each layer's input (h elements) plus two
  layers' full activations (the one recomputed and its gradients).
* **logits**: batch x sequence x vocabulary x bytes per element. In float32 (CPU) 24: six
  full-vocabulary fp32 buffers live at the peak (the logits, the shifted copy the loss takes,
  log-softmax, its gradient, the logits' gradient and the lm_head backward's copy), fitted on
  32k-vocabulary models in ``benchmarks/memory_calibration.py`` (three buffers, the earlier
  figure, left those peaks 20-35% above the estimate). In mixed precision 14 (16-bit logits, an
  fp32 upcast, log-softmax and gradient), not yet measured on a GPU.
* **overhead**: a fixed part plus allocator fragmentation, a share of the rest. On a GPU the
  fixed part is the CUDA context and cuBLAS workspace (``overhead_gb`` of the device). On the CPU
  the measured peak is the process high-water mark, which counts two fixed parts:

  - the runtime (``overhead_gb`` of ``cpu``): the interpreter and the objects of every module
    torch, transformers, peft and trl import (anonymous memory; identical on every install
    measured);
  - the libraries' code pages (``LIBRARY_PAGES_GB``, file-backed; ``library_code`` in the
    breakdown, apart from ``overhead``). How much of torch's 434 MB ``libtorch_cpu.so`` and the
    other libraries is resident depends on the page cache, not on the run: the kernel (Linux
    6.18 here) maps a cached large folio whole on a fault, so libraries freshly installed
    (written in large folios) or read through count more than the same libraries faulted back
    in small pieces: 178 MB to ~310 MB between the machines measured. The estimate takes the
    middle. Every local run measures its own (``ftx.plugins.local.measure``) and records its
    working peak (the peak less that code) beside the estimate's ``working`` part, which is
    what the calibration (``benchmarks/memory_calibration.py``) holds to +-15%.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ftx.cost.catalog import Device

from .model_shape import ModelShape

GB = 1e9
STATE_BYTES = 12  # fp32 gradient + 2 fp32 AdamW moments
ADAPTER_WEIGHT_BYTES = 4  # adapters train in float32
NF4_BYTES = 0.5
ABSMAX_BYTES = 4 / 64
DOUBLE_QUANT_BYTES = (1 + 4 / 256) / 64
# Resident library code of a CPU training process: the middle of 178-310 MiB, measured at
# the end of ftx/tiny-llama runs with the libraries faulted back in small pieces and freshly
# installed, on several machines (docs/benchmarks.md, "Peak memory").
LIBRARY_PAGES_GB = 0.256  # 244 MiB


@dataclass(frozen=True)
class LocalPlan:
    """What the local backend will do on a device: the precision of weights and activations,
    and whether it checkpoints activations (mirrors ``ftx.plugins.local.device.plan_device``)."""

    weight_bytes: int  # per frozen/base parameter (not 4-bit ones)
    activation_bytes: int
    checkpointing: bool
    precision: str


def local_plan(device: Device, method: Any, checkpointing: bool | None = None) -> LocalPlan:
    if device.is_cpu:
        return LocalPlan(4, 4, bool(checkpointing), "float32")
    full = not getattr(method, "adapter", True)
    half = device.precision in ("bf16",)
    weights = 4 if full or not half else 2
    default_gc = bool(getattr(method, "gradient_checkpointing", True))
    gc = default_gc if checkpointing is None else checkpointing
    mixed = "bfloat16" if half else "float16"
    return LocalPlan(weights, 2, gc, f"{mixed} mixed precision, {'float32' if weights == 4 else mixed} weights")


@dataclass
class MemoryEstimate:
    weights: float
    trainable_state: float
    activations: float
    logits: float
    overhead: float
    trainable_params: int
    gradient_checkpointing: bool
    library_code: float = 0.0  # resident library code pages (CPU only; see the module docstring)

    @property
    def total(self) -> float:
        return self.working + self.library_code

    @property
    def working(self) -> float:
        """The run's own memory: everything but the libraries' code pages."""
        return self.weights + self.trainable_state + self.activations + self.logits + self.overhead

    def breakdown(self) -> dict[str, float]:
        return {k: round(v / GB, 3) for k, v in (("weights", self.weights),
                                                  ("trainable_state", self.trainable_state),
                                                  ("activations", self.activations),
                                                  ("logits", self.logits), ("overhead", self.overhead),
                                                  ("library_code", self.library_code))}


def weight_bytes(shape: ModelShape, plan: LocalPlan, quantized: bool, double_quant: bool = True) -> float:
    if not quantized:
        return shape.params * plan.weight_bytes
    linear = shape.block_linear_params
    per_param = NF4_BYTES + (DOUBLE_QUANT_BYTES if double_quant else ABSMAX_BYTES)
    return linear * per_param + (shape.params - linear) * 4  # the rest upcast to float32 by peft


def trainable_params(shape: ModelShape, method: Any, method_params: Any) -> int:
    fraction = method.trainable_fraction(method_params, shape.params, shape.hidden, shape.layers)
    return int(round(shape.params * float(fraction)))


def state_bytes(trained: int, full: bool) -> float:
    return trained * (STATE_BYTES + (0 if full else ADAPTER_WEIGHT_BYTES))


def activation_elements_per_token_layer(shape: ModelShape, seq_len: int, fused_attention: bool,
                                        adapter_dropout: bool = False, dropout_copies: int = 1) -> int:
    kv = shape.kv_heads * shape.head_dim
    n = 7 * shape.hidden + 3 * kv + 4 * shape.intermediate
    if adapter_dropout:
        n += dropout_copies * (6 * shape.hidden + shape.intermediate)
    if not fused_attention:
        n += 2 * shape.heads * seq_len
    return n


def activation_bytes(shape: ModelShape, device: Device, plan: LocalPlan, batch: int, seq_len: int,
                     adapter_dropout: bool = False) -> float:
    fused = True  # sdpa (flash / memory-efficient on CUDA, flash on the CPU) keeps no score matrix
    # On the CPU dropout is not fused: it multiplies by a float32 noise tensor the size of its
    # input, which the backward pass keeps beside the dropped-out input.
    copies = 2 if device.is_cpu else 1
    per_layer = activation_elements_per_token_layer(shape, seq_len, fused, adapter_dropout, copies)
    tokens = batch * seq_len
    if plan.checkpointing:
        return tokens * plan.activation_bytes * (shape.hidden * shape.layers + 2 * per_layer)
    return tokens * plan.activation_bytes * per_layer * (shape.layers + 1)


def logits_bytes(shape: ModelShape, plan: LocalPlan, batch: int, seq_len: int) -> float:
    per = 24 if plan.activation_bytes == 4 else 14
    return batch * seq_len * shape.vocab * per


def peak_memory(shape: ModelShape, device: Device, method: Any, method_params: Any, batch: int,
                seq_len: int, checkpointing: bool | None = None) -> MemoryEstimate:
    """Peak memory of training ``shape`` with ``method`` on ``device`` (see module docstring);
    ``checkpointing`` None means the local backend's default for the device and method."""
    plan = local_plan(device, method, checkpointing)
    quantized = bool(getattr(method, "quantized", False))
    full = not getattr(method, "adapter", True)
    trained = trainable_params(shape, method, method_params)
    weights = weight_bytes(shape, plan, quantized, bool(getattr(method_params, "double_quant", True)))
    state = state_bytes(trained, full)
    dropout = float(getattr(method_params, "dropout", 0) or 0) > 0 and hasattr(method_params, "r")
    acts = activation_bytes(shape, device, plan, batch, seq_len, dropout)
    logits = logits_bytes(shape, plan, batch, seq_len)
    if full:
        # The backward pass frees activations as it fills the gradients: the fp32 gradients (4
        # bytes of the 12) and the saved activations are not both whole at the peak, which is the
        # larger of the two (measured: benchmarks/memory_calibration.py, full fine-tuning).
        grads = trained * 4.0
        state -= min(grads, acts)
    overhead = device.overhead_gb * GB + device.fragmentation * (weights + state + acts + logits)
    library = LIBRARY_PAGES_GB * GB if device.is_cpu else 0.0
    return MemoryEstimate(weights, state, acts, logits, overhead, trained, plan.checkpointing, library)
