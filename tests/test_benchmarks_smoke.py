"""The local benchmark runs end to end (``--quick``) and writes the results it promises."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
METHODS = {"full", "lora", "qlora", "dora", "prefix", "prompt", "ia3"}


def _run_quick(script: str, out: Path) -> dict:
    """Run ``benchmarks/SCRIPT --quick --out OUT`` offline in OUT's folder; the results it wrote."""
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=out.parent,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.mark.slow
def test_bench_local_quick_writes_sane_results(tmp_path):
    out = tmp_path / "local.json"
    result = _run_quick("bench_local.py", out)
    assert result["quick"] is True and result["machine"]["cpus"] >= 1 and result["machine"]["versions"]["trl"]

    overhead = result["overhead"]
    steps = overhead["hyperparameters"]["steps"]
    for side in ("ftx", "baseline", "baseline_default_threads"):
        assert overhead[side]["steps"] == steps and overhead[side]["tokens_per_s"] > 0
    assert overhead["ftx"]["real_tokens"] == overhead["baseline"]["real_tokens"]  # the same batches
    assert overhead["logged_steps"] == steps  # (every step is logged at this size)
    assert overhead["max_loss_diff"] < 1e-4  # same model, data, seed: the same training
    assert 0.2 < overhead["tokens_per_s_ratio"] < 5

    defaults = result["defaults"]
    assert defaults["data"]["max"] > 5 * defaults["data"]["min"]  # lengths really vary
    variants = defaults["variants"]
    assert set(variants) == {"ftx_defaults", "trl_default_literal", "trl_default_cpu_sane",
                             "trl_default_cpu_sane_ftx_threads"}
    for variant in variants.values():
        assert variant["tokens_per_s"] > 0 and 0 < variant["padding_fraction"] < 1
        assert variant["real_tokens"] < variant["padded_tokens"]
    assert defaults["ratio_vs_trl_default_literal"] > 0 and defaults["literal_defaults_on_this_machine"]

    models = result["methods"]["models"]
    assert set(models) == {"tiny", "larger"} and models["larger"]["parameters"] > models["tiny"]["parameters"]
    for model in models.values():
        assert set(model["methods"]) == METHODS
        for name, row in model["methods"].items():
            assert row["tokens_per_s"] > 0 and row["peak_rss_mb"] > 50, name
            assert 0 < row["trainable_parameters"] <= row["total_parameters"]
            assert (row["trainable_parameters"] == row["total_parameters"]) == (name == "full")

    table = out.with_suffix(".md").read_text()
    for heading in ("## (a)", "## (b)", "## (c)", "| qlora |", "quick mode"):
        assert heading in table


@pytest.mark.slow
def test_bench_eval_quick_writes_sane_results(tmp_path):
    out = tmp_path / "eval.json"
    result = _run_quick("bench_eval.py", out)
    local, hosted = result["local"], result["hosted"]
    assert local["same_answers"] is True and local["examples_per_s"]["batched"] > 0
    assert hosted["concurrency_1"]["requests"] == hosted["concurrency_8"]["requests"] == hosted["prompts"]
    assert hosted["concurrency_8"]["rerun_seconds"] < hosted["concurrency_1"]["seconds"]  # the cache answers


def test_a_measured_childs_peak_rss_is_its_own_not_the_benchmarks():
    """``ru_maxrss`` of a child counts the process it was forked from: ``measured`` must report the
    command's own peak, however large the benchmark process has grown."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_foundation import GNU_TIME, measured

    if GNU_TIME is None:
        pytest.skip("no GNU time (/usr/bin/time) here: the figure is marked peak_rss_inherited instead")
    grown = bytearray(300 * 2**20)
    grown[::4096] = b"\x01" * len(grown[::4096])  # resident, not just reserved
    row = measured([sys.executable, "-c", "x = bytearray(50 * 2**20); x[::4096] = b'1' * len(x[::4096])"])
    assert 50 < row["peak_rss_mb"] < 200 and "peak_rss_inherited" not in row
    assert row["cpu_s"] >= 0 and row["wall_s"] > 0
    del grown
