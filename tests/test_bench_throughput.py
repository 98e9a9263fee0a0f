"""The throughput benchmarks run end to end in their quick modes and write what they promise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], capture_output=True,
                          text=True, timeout=600, cwd=cwd, env={**os.environ, "HF_HUB_OFFLINE": "1"})


@pytest.mark.slow
def test_bench_batching_quick_trains_the_same_examples_in_every_variant(tmp_path):
    out = tmp_path / "batching.json"
    proc = _run("bench_batching.py", "--quick", "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["same_examples_every_variant"] is True
    v = result["variants"]
    assert v["ftx_grouped"]["padding_fraction"] < v["ftx_random_order"]["padding_fraction"]
    assert v["ftx_grouped"]["padding_fraction"] < v["trl_defaults"]["padding_fraction"]
    assert result["per_example_loss"]["max_relative_diff"] < 1e-4
    assert v["ftx_grouped"]["batching"] == "grouped" and v["ftx_padding_free"]["padding_fraction"] == 0
    assert result["per_example_loss"]["padding_free_max_relative_diff"] < 1e-4


@pytest.mark.slow
def test_bench_startup_writes_every_command_and_the_job_lookup(tmp_path):
    out = tmp_path / "startup.json"
    proc = _run("bench_startup.py", "--repeat", "1", "--runs", "300", "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["baseline"]["cpu_s"] > 0 and "ftx estimate" in result["commands"]
    assert all(r["ratio_cpu"] > 0 for r in result["commands"].values())
    assert result["job_lookup"]["job_lookup_indexed_s"] >= 0


@pytest.mark.slow
def test_bench_data_stats_and_dedupe_quick_write_their_figures(tmp_path):
    out = tmp_path / "data_stats.json"
    proc = _run("bench_data_stats.py", "--sizes", "3000", "--repeat", "1", "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    row = json.loads(out.read_text())["runs"][0]
    assert row["examples"] == 3000 and row["ftx"]["cpu_s"] > 0 and row["json_loop"]["wall_s"] > 0
    out = tmp_path / "dedupe.json"
    proc = _run("bench_dedupe.py", "--examples", "1500", "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    ours = result["variants"]["ftx_numpy"]
    assert ours["planted_found"] == result["variants"]["ftx_pure_python"]["planted_found"] >= result["planted"] - 2


@pytest.mark.slow
def test_bench_hosted_launch_quick_creates_one_job_per_repeat(tmp_path):
    out = tmp_path / "hosted_launch.json"
    proc = _run("bench_hosted_launch.py", "--examples", "200", "--repeat", "1", "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["jobs_created"] == [3]  # the SDK script's job, the floor script's and ftx's
    assert result["floor_script"]["wall_s"] > 0 and result["ftx_run_detach_one_process"]["wall_s"] > 0
    assert result["ratio_wall"] > 0 and result["ftx_dry_run"]["wall_s"] > 0
