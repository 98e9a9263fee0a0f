"""Peak-memory arithmetic of the local estimator, term by term, with exact numbers."""

from __future__ import annotations

import pytest

from ftx.components import get_method
from ftx.cost.catalog import Device
from ftx.plugins.local.estimator.memory import (DOUBLE_QUANT_BYTES, GB, LIBRARY_PAGES_GB, activation_bytes, local_plan,
                                   logits_bytes, peak_memory, state_bytes, weight_bytes)
from ftx.plugins.local.estimator.model_shape import ModelShape, count_params

H, L, I, V, HEADS, KV = 1024, 8, 2816, 32000, 16, 4


def shape() -> ModelShape:
    n = count_params(H, L, I, V, HEADS, KV, 64, tied=False)
    return ModelShape("test-model", n, H, L, I, V, HEADS, KV, 64, False, "test")


def device(precision="bf16", key="gpu", memory=24.0) -> Device:
    return Device(key=key, name=key.upper(), memory_gb=memory, peak_tflops=100, precision=precision, mfu=0.5,
                  step_overhead_s=0.0, startup_s=0.0, usd_per_hour=1.0, source="test", date="2026-01-01",
                  overhead_gb=0.5, fragmentation=0.1, kind="cpu" if key == "cpu" else "gpu")


def method(name):
    m = get_method(name)
    return m, m.params_model()()


def test_precision_follows_the_local_backend_device_plan():
    lora, full, prefix = get_method("lora"), get_method("full"), get_method("prefix")
    cpu = local_plan(device("fp32", key="cpu"), lora)
    assert (cpu.weight_bytes, cpu.activation_bytes, cpu.checkpointing) == (4, 4, False)
    gpu = local_plan(device("bf16"), lora)
    assert (gpu.weight_bytes, gpu.activation_bytes, gpu.checkpointing) == (2, 2, True)
    assert local_plan(device("bf16"), full).weight_bytes == 4  # float32 master weights
    assert local_plan(device("fp16"), lora).weight_bytes == 4  # no bf16: float32 base
    assert local_plan(device("bf16"), prefix).checkpointing is False
    assert local_plan(device("bf16"), lora, checkpointing=False).checkpointing is False


def test_weights_by_precision_and_4bit_with_quantization_constants():
    s = shape()
    assert weight_bytes(s, local_plan(device("bf16"), get_method("lora")), quantized=False) == s.params * 2
    assert weight_bytes(s, local_plan(device("fp32", key="cpu"), get_method("lora")), quantized=False) == s.params * 4
    plan = local_plan(device(), get_method("qlora"))
    linear = s.block_linear_params
    assert weight_bytes(s, plan, quantized=True) == pytest.approx(
        linear * (0.5 + DOUBLE_QUANT_BYTES) + (s.params - linear) * 4)
    assert weight_bytes(s, plan, quantized=True, double_quant=False) == pytest.approx(
        linear * (0.5 + 4 / 64) + (s.params - linear) * 4)
    assert DOUBLE_QUANT_BYTES == pytest.approx((1 + 4 / 256) / 64)


def test_trainable_state_is_12_bytes_plus_the_fp32_adapter_weight():
    assert state_bytes(1000, full=True) == 12_000
    assert state_bytes(1000, full=False) == 16_000


def test_activations_per_token_per_layer_and_checkpointing():
    s, gpu, cpu = shape(), device("bf16"), device("fp32", key="cpu")
    lora = get_method("lora")
    per = 7 * H + 3 * KV * 64 + 4 * I
    no_gc = local_plan(gpu, lora, checkpointing=False)
    # saved activations of every layer, plus one layer of gradients during the backward pass
    assert activation_bytes(s, gpu, no_gc, batch=2, seq_len=512) == 2 * 512 * 2 * per * (L + 1)
    # adapters with dropout keep their dropped-out inputs: 6h + i more
    assert activation_bytes(s, gpu, no_gc, 2, 512, adapter_dropout=True) == 2 * 512 * 2 * (per + 6 * H + I) * (L + 1)
    # on CPU too sdpa's fused (flash) kernel keeps no score matrix: the same elements, in fp32
    assert activation_bytes(s, cpu, local_plan(cpu, lora), 2, 512) == 2 * 512 * 4 * per * (L + 1)
    # CPU dropout is not fused: its float32 noise tensor is kept beside the dropped-out input
    assert activation_bytes(s, cpu, local_plan(cpu, lora), 2, 512, adapter_dropout=True) == \
        2 * 512 * 4 * (per + 2 * (6 * H + I)) * (L + 1)
    # checkpointing: each layer's input, plus the recomputed layer and its gradients
    assert activation_bytes(s, gpu, local_plan(gpu, lora), 2, 512) == 2 * 512 * 2 * (H * L + 2 * per)


def test_logits_keep_vocab_wide_fp32_copies():
    s, lora = shape(), get_method("lora")
    assert logits_bytes(s, local_plan(device("bf16"), lora), 4, 100) == 4 * 100 * V * 14
    # float32: six vocabulary-wide fp32 buffers (fitted by benchmarks/memory_calibration.py)
    assert logits_bytes(s, local_plan(device("fp32", key="cpu"), lora), 4, 100) == 4 * 100 * V * 24


def test_peak_sums_the_terms_plus_overhead_and_fragmentation():
    s, gpu = shape(), device()
    m, p = method("lora")
    mem = peak_memory(s, gpu, m, p, batch=4, seq_len=256)
    trained = round(s.params * m.trainable_fraction(p, s.params, H, L))
    assert mem.trainable_params == trained and mem.gradient_checkpointing
    plan = local_plan(gpu, m)
    acts = activation_bytes(s, gpu, plan, 4, 256, adapter_dropout=True)  # lora's default dropout is 0.05
    body = s.params * 2 + trained * 16 + acts + logits_bytes(s, plan, 4, 256)
    assert mem.total == pytest.approx(body * 1.1 + 0.5 * GB)
    assert set(mem.breakdown()) == {"weights", "trainable_state", "activations", "logits", "overhead", "library_code"}
    assert mem.library_code == 0 and mem.working == mem.total  # a CUDA peak counts no library pages


def test_the_cpu_peak_counts_the_runtime_and_the_libraries_code_pages():
    s, cpu = shape(), device("fp32", key="cpu")
    m, p = method("full")
    mem = peak_memory(s, cpu, m, p, batch=1, seq_len=64)
    body = mem.weights + mem.trainable_state + mem.activations + mem.logits
    # the high-water mark counts the libraries' resident code (file-backed) besides the runtime
    assert mem.overhead == pytest.approx(0.5 * GB + 0.1 * body)
    assert mem.library_code == LIBRARY_PAGES_GB * GB and mem.total == pytest.approx(mem.working + mem.library_code)
    assert mem.breakdown()["library_code"] == round(LIBRARY_PAGES_GB, 3)
    assert 0.1 < LIBRARY_PAGES_GB < 0.35  # the measured range (docs/benchmarks.md, "Peak memory")
    gpu = peak_memory(s, device("bf16"), m, p, batch=1, seq_len=64)
    assert gpu.overhead == pytest.approx(0.5 * GB + 0.1 * (gpu.total - gpu.overhead))  # a CUDA peak: no library pages


def test_full_needs_far_more_than_lora_and_qlora_least():
    s, gpu = shape(), device()
    full = peak_memory(s, gpu, *method("full"), batch=1, seq_len=128).total
    lora = peak_memory(s, gpu, *method("lora"), batch=1, seq_len=128).total
    qlora = peak_memory(s, gpu, *method("qlora"), batch=1, seq_len=128).total
    assert full > 3 * lora and qlora < lora
