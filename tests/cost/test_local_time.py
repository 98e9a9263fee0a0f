"""Training-time arithmetic of the local estimator, with exact numbers."""

from __future__ import annotations

import pytest
from test_local_memory import device, shape

from ftx.plugins.local.estimator.timing import QLORA_EFFICIENCY, flops_per_token, optimizer_steps, train_time


def test_flops_per_token_full_adapter_checkpointing_reference():
    s = shape()
    n = s.compute_params
    attention = 6 * s.layers * 100 * s.heads * s.head_dim
    assert flops_per_token(s, full=True, trained=0, avg_seq=100) == 6 * n + attention
    assert flops_per_token(s, full=False, trained=1000, avg_seq=100) == 4 * n + 6000 + attention
    assert flops_per_token(s, full=False, trained=0, avg_seq=100, checkpointing=True) == 6 * n + attention
    assert flops_per_token(s, full=True, trained=0, avg_seq=100, reference=True) == 8 * n + attention


def test_optimizer_steps_round_up_per_epoch_and_stop_at_max_steps():
    assert optimizer_steps(256, 3, batch=8, accumulation=1, max_steps=None) == 96
    assert optimizer_steps(250, 3, batch=4, accumulation=4, max_steps=None) == 48  # ceil(250/16)=16 x 3
    assert optimizer_steps(250, 3, batch=4, accumulation=4, max_steps=10) == 10
    assert optimizer_steps(0, 3, 4, 1, None) == 0


def test_time_is_flops_over_effective_throughput_plus_fixed_costs():
    s, gpu = shape(), device()
    gpu.step_overhead_s, gpu.startup_s, gpu.load_gb_per_s = 0.1, 5.0, 2.0
    t = train_time(s, gpu, full=False, quantized=False, trained=0, train_tokens=1e6, avg_seq=100,
                   val_tokens=1e4, evals=2, steps=50, weights_gb=4.0, eval_batches=6)
    train = flops_per_token(s, False, 0, 100) * 1e6 / (100e12 * 0.5)
    evals = 2 * s.compute_params * 1e4 * 2 / (100e12 * 0.5) + 2 * 6 * 0.1 / 3
    assert t.parts == pytest.approx({"train_compute_s": train, "step_overhead_s": 5.0, "eval_s": evals,
                                     "startup_s": 5.0, "load_s": 2.0})
    assert t.seconds == pytest.approx(train + 5.0 + evals + 5.0 + 2.0)
    assert t.train_seconds == pytest.approx(train + 5.0)
    q = train_time(s, gpu, full=False, quantized=True, trained=0, train_tokens=1e6, avg_seq=100,
                   val_tokens=0, evals=0, steps=0, weights_gb=0)
    assert q.mfu == pytest.approx(0.5 * QLORA_EFFICIENCY)
