"""The local memory estimate against measured peaks (process high-water mark) on a small
spread of shapes: the working peak (the peak less the libraries' resident code pages, which the
page cache decides) within +-15%. The full spread is benchmarks/memory_calibration.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_memory_estimate_is_within_15_percent_of_the_measured_peak(tmp_path):
    out = tmp_path / "memory.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "memory_calibration.py"), "--quick",
                           "--out", str(out)], capture_output=True, text=True, timeout=900, cwd=tmp_path,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "FTX_HOME": str(tmp_path / "home")})
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert {(c["shape"], c["method"]) for c in result["cases"]} == {("tiny", "lora"), ("20m-v32k", "lora")}
    for case in result["cases"]:
        assert case["peak_memory_mb"] >= case["peak_rss_sampled_mb"] > 0
        # the peak counts the libraries' resident code pages, which differ between a fresh install (as in CI)
        # and an older one by well over 100 MB: the run measures them, and the estimate's own terms are held
        # to the peak without them
        assert 0 < case["library_code_mb"] < case["peak_memory_mb"]
        assert case["peak_working_mb"] == pytest.approx(case["peak_memory_mb"] - case["library_code_mb"], abs=0.2)
        assert abs(case["working_memory_error"]) <= 0.15, case
        assert case["peak_memory_error"] == pytest.approx(case["peak_memory_mb"] / case["predicted_peak_memory_mb"] - 1,
                                                          abs=1e-3)
