"""Calibration: the CPU estimate against a real local training of ftx's tiny model.

Tolerances (see docs/estimate.md for the recorded errors):
* tokens trained: within 5% (the same tokenizer; the chat template is approximated);
* peak memory (process RSS): within 25%;
* training throughput (tokens/s of the optimizer steps): within a factor of 3 of the 90th
  percentile of the measured per-step rates. Wall-clock totals are not compared: the test
  machine is shared, and contention stretches a run several-fold; the fastest steps are the
  closest thing to the uncontended rate the estimate predicts.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

TOKENS_TOLERANCE = 0.05
MEMORY_TOLERANCE = 0.25
THROUGHPUT_FACTOR = 3.0


@pytest.mark.slow
def test_cpu_estimate_matches_a_real_tiny_training(ftx_home, tmp_path, capsys):
    for module in ("torch", "transformers", "peft", "trl"):
        pytest.importorskip(module)
    from ftx.cost.compare import estimate_all

    # A fresh process, as a user runs it: the peak RSS must not include this test session's imports.
    ftx = Path(sys.executable).with_name("ftx")
    cmd = [str(ftx)] if ftx.exists() else [sys.executable, "-m", "ftx"]
    proc = subprocess.run([*cmd, "run", "quickstart", "--backend", "local", "backends.local.device=cpu"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=900,
                          env={**os.environ, "FTX_HOME": str(ftx_home)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run_dir = next((ftx_home / "runs").glob("*/summary.json")).parent
    summary = json.loads((run_dir / "summary.json").read_text())
    rates = [rec["tokens_per_second"] for rec in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())
             if isinstance(rec.get("tokens_per_second"), (int, float)) and rec.get("step", 0) > 1]

    est = estimate_all("quickstart", ["local"], gpu="cpu")[0]
    assert est.assumptions["tokens counted with"] == "ftx/tiny-llama tokenizer"  # built by the run

    measured_gb = summary["peak_memory_mb"] * 2**20 / 1e9
    estimated_rate = est.billable_tokens / (est.time_breakdown["train_compute_s"] + est.time_breakdown["step_overhead_s"])
    measured_rate = statistics.quantiles(rates, n=10)[-1]
    with capsys.disabled():
        print(f"\n[calibration] tokens {est.billable_tokens} vs {summary['tokens_seen']}; "
              f"peak memory {est.peak_memory_gb:.3f} vs {measured_gb:.3f} GB; "
              f"throughput {estimated_rate:,.0f} vs p90 {measured_rate:,.0f} tokens/s "
              f"(median {statistics.median(rates):,.0f}); train {summary['train_time_s']} s")
    assert abs(est.billable_tokens / summary["tokens_seen"] - 1) <= TOKENS_TOLERANCE
    assert abs(est.peak_memory_gb / measured_gb - 1) <= MEMORY_TOLERANCE
    assert 1 / THROUGHPUT_FACTOR <= estimated_rate / measured_rate <= THROUGHPUT_FACTOR
