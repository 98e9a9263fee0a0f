"""Peak-memory arithmetic of the local estimator, term by term, with exact numbers."""

from __future__ import annotations

import pytest

from ftx.components import get_method
from ftx.cost.catalog import Device
from ftx.cost.local_memory import (DOUBLE_QUANT_BYTES, GB, activation_bytes, logits_bytes, peak_memory,
                                   state_bytes, weight_bytes)
from ftx.cost.model_shape import ModelShape, count_params

H, L, I, V, HEADS, KV = 1024, 8, 2816, 32000, 16, 4


def shape() -> ModelShape:
    n = count_params(H, L, I, V, HEADS, KV, 64, tied=False)
    return ModelShape("test-model", n, H, L, I, V, HEADS, KV, 64, False, "test")


def device(precision="bf16", key="gpu", memory=24.0) -> Device:
    return Device(key=key, name=key.upper(), memory_gb=memory, peak_tflops=100, precision=precision, mfu=0.5,
                  step_overhead_s=0.0, startup_s=0.0, usd_per_hour=1.0, source="test", date="2026-01-01",
                  overhead_gb=0.5, fragmentation=0.1)


def method(name):
    m = get_method(name)
    return m, m.params_model()()


def test_weights_by_precision_and_4bit_with_quantization_constants():
    s = shape()
    assert weight_bytes(s, device("bf16"), quantized=False) == s.params * 2
    assert weight_bytes(s, device("fp32", key="cpu"), quantized=False) == s.params * 4
    linear = s.block_linear_params
    assert weight_bytes(s, device(), quantized=True) == pytest.approx(
        linear * (0.5 + DOUBLE_QUANT_BYTES) + (s.params - linear) * 2)
    assert weight_bytes(s, device(), quantized=True, double_quant=False) == pytest.approx(
        linear * (0.5 + 4 / 64) + (s.params - linear) * 2)
    assert DOUBLE_QUANT_BYTES == pytest.approx((1 + 4 / 256) / 64)


def test_trainable_state_is_16_bytes_per_trained_parameter_12_for_fp32_full():
    assert state_bytes(1000, device("bf16"), full=True) == 16_000
    assert state_bytes(1000, device("bf16"), full=False) == 16_000
    assert state_bytes(1000, device("fp32", key="cpu"), full=True) == 12_000


def test_activations_per_token_per_layer_and_checkpointing():
    s, gpu, cpu = shape(), device("bf16"), device("fp32", key="cpu")
    per = 6 * H + 2 * KV * 64 + 4 * I
    assert activation_bytes(s, gpu, batch=2, seq_len=512, checkpointing=False) == 2 * 512 * 2 * per * L
    # on CPU attention keeps its scores: heads x seq elements more, in fp32
    assert activation_bytes(s, cpu, 2, 512, False) == 2 * 512 * 4 * (per + HEADS * 512) * L
    assert activation_bytes(s, gpu, 2, 512, True) == 2 * 512 * 2 * (H * L + per)


def test_logits_keep_vocab_wide_fp32_copies():
    s = shape()
    assert logits_bytes(s, device("bf16"), 4, 100) == 4 * 100 * V * 14
    assert logits_bytes(s, device("fp32", key="cpu"), 4, 100) == 4 * 100 * V * 12


def test_peak_sums_the_terms_plus_overhead_and_fragmentation():
    s, gpu = shape(), device()
    m, p = method("lora")
    mem = peak_memory(s, gpu, m, p, batch=4, seq_len=256)
    trained = round(s.params * m.trainable_fraction(p, s.params, H, L))
    assert mem.trainable_params == trained
    body = s.params * 2 + trained * 16 + activation_bytes(s, gpu, 4, 256, False) + logits_bytes(s, gpu, 4, 256)
    assert mem.total == pytest.approx(body * 1.1 + 0.5 * GB)
    assert set(mem.breakdown()) == {"weights", "trainable_state", "activations", "logits", "overhead"}


def test_full_needs_far_more_than_lora_and_qlora_least():
    s, gpu = shape(), device()
    full = peak_memory(s, gpu, *method("full"), batch=1, seq_len=128).total
    lora = peak_memory(s, gpu, *method("lora"), batch=1, seq_len=128).total
    qlora = peak_memory(s, gpu, *method("qlora"), batch=1, seq_len=128).total
    assert full > 3 * lora and qlora < lora
