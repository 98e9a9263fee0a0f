"""Peak memory of local fine-tuning: weights + trainable state + activations + logits + overhead.

Every term, in bytes (GB = 1e9 bytes):

* **weights**: parameters x bytes of the precision (4 on CPU in fp32, 2 in bf16/fp16). QLoRA
  stores the block linear layers in 4 bits (0.5 byte) plus nf4's quantization constants: one
  absmax per 64 weights, fp32 (4/64 = 0.0625 byte/param), or with double quantization 8-bit
  absmax plus one fp32 per 256 of them ((1 + 4/256)/64 = 0.0159 byte/param). Embeddings,
  lm_head and norms stay 16-bit.
* **trainable state** per trained parameter: fp32 gradient (4) + AdamW's two fp32 moments (8)
  + an fp32 master copy (4) = 16 bytes; full fine-tuning in fp32 on CPU needs no separate master
  copy (12 bytes). Trained parameters = parameters x the method's ``trainable_fraction``; for
  adapters they come on top of the frozen weights.
* **activations** saved for the backward pass, per token per layer, in elements:
  6h + 2kv + 4i (h hidden, kv the key/value width, i the MLP width): norm inputs and outputs,
  q, k, v and attention output; gate, up, SiLU(gate) and their product. Where attention runs
  without a fused kernel (CPU) the scores add heads x sequence elements. Multiplied by batch x
  sequence x layers x bytes per element. Gradient checkpointing keeps only each layer's input
  (h elements) plus one layer's full activations.
* **logits**: batch x sequence x vocabulary x (logits + fp32 upcast + log-softmax + gradient) =
  14 bytes in 16-bit, 12 in fp32.
* **overhead**: a fixed part (GPU: CUDA context and cuBLAS workspace; CPU: the Python process
  with torch, transformers, peft and trl imported) plus allocator fragmentation, a share of the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .catalog import Device
from .model_shape import ModelShape

GB = 1e9
STATE_BYTES = 16  # fp32 grad + 2 fp32 AdamW moments + fp32 master copy
NF4_BYTES = 0.5
ABSMAX_BYTES = 4 / 64
DOUBLE_QUANT_BYTES = (1 + 4 / 256) / 64


def element_bytes(device: Device) -> int:
    return 4 if device.precision == "fp32" else 2


@dataclass
class MemoryEstimate:
    weights: float
    trainable_state: float
    activations: float
    logits: float
    overhead: float
    trainable_params: int
    gradient_checkpointing: bool

    @property
    def total(self) -> float:
        return self.weights + self.trainable_state + self.activations + self.logits + self.overhead

    def breakdown(self) -> dict[str, float]:
        return {k: round(v / GB, 3) for k, v in (("weights", self.weights),
                                                  ("trainable_state", self.trainable_state),
                                                  ("activations", self.activations),
                                                  ("logits", self.logits), ("overhead", self.overhead))}


def weight_bytes(shape: ModelShape, device: Device, quantized: bool, double_quant: bool = True) -> float:
    e = element_bytes(device)
    if not quantized:
        return shape.params * e
    linear = shape.block_linear_params
    per_param = NF4_BYTES + (DOUBLE_QUANT_BYTES if double_quant else ABSMAX_BYTES)
    return linear * per_param + (shape.params - linear) * max(e, 2)


def trainable_params(shape: ModelShape, method: Any, method_params: Any) -> int:
    fraction = method.trainable_fraction(method_params, shape.params, shape.hidden, shape.layers)
    return int(round(shape.params * float(fraction)))


def state_bytes(trained: int, device: Device, full: bool) -> float:
    per = STATE_BYTES - 4 if (full and device.precision == "fp32") else STATE_BYTES
    return trained * per


def activation_elements_per_token_layer(shape: ModelShape, seq_len: int, fused_attention: bool) -> int:
    kv = shape.kv_heads * shape.head_dim
    n = 6 * shape.hidden + 2 * kv + 4 * shape.intermediate
    if not fused_attention:
        n += shape.heads * seq_len
    return n


def activation_bytes(shape: ModelShape, device: Device, batch: int, seq_len: int,
                     checkpointing: bool) -> float:
    e = element_bytes(device)
    fused = not device.is_cpu  # SDPA/flash kernels on CUDA do not keep the score matrix
    per_layer = activation_elements_per_token_layer(shape, seq_len, fused)
    tokens = batch * seq_len
    if checkpointing:
        return tokens * e * (shape.hidden * shape.layers + per_layer)
    return tokens * e * per_layer * shape.layers


def logits_bytes(shape: ModelShape, device: Device, batch: int, seq_len: int) -> float:
    per = 12 if element_bytes(device) == 4 else 14
    return batch * seq_len * shape.vocab * per


def peak_memory(shape: ModelShape, device: Device, method: Any, method_params: Any, batch: int,
                seq_len: int, checkpointing: bool = False) -> MemoryEstimate:
    """Peak memory of training ``shape`` with ``method`` on ``device`` (see module docstring)."""
    quantized = bool(getattr(method, "quantized", False))
    full = not getattr(method, "adapter", True)
    trained = trainable_params(shape, method, method_params)
    weights = weight_bytes(shape, device, quantized, bool(getattr(method_params, "double_quant", True)))
    state = state_bytes(trained, device, full)
    acts = activation_bytes(shape, device, batch, seq_len, checkpointing)
    logits = logits_bytes(shape, device, batch, seq_len)
    overhead = device.overhead_gb * GB + device.fragmentation * (weights + state + acts + logits)
    return MemoryEstimate(weights, state, acts, logits, overhead, trained, checkpointing)
