"""benchmarks/bench_gpu.py on a machine without CUDA: one clear line, at once, nothing written."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_gpu.py"


def _has_cuda() -> bool:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import bench_gpu

        return bench_gpu.cuda_available()
    finally:
        sys.path.remove(str(SCRIPT.parent))


@pytest.mark.skipif(_has_cuda(), reason="this machine has CUDA: the benchmark would run")
def test_without_cuda_the_gpu_benchmark_says_so_and_exits(tmp_path):
    out = tmp_path / "gpu.json"
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("no CUDA:") and "nothing measured" in done.stdout
    assert not out.exists()
    assert time.perf_counter() - started < 60
