"""The with/without-replay example runs end to end (``--quick``) and reports general-text
perplexity before and after for both variants."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_replay_example_reports_perplexity_for_both_variants(tmp_path):
    out = tmp_path / "replay.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_replay.py"), "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "FTX_HOME": str(tmp_path / "home")})
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    without, with_ = result["without_replay"], result["with_replay"]
    assert without["steps"] == with_["steps"] == 6
    assert "replay" in with_["trained_per_source"] and "replay" not in without["trained_per_source"]
    share = with_["trained_per_source"]["replay"] / with_["train_examples"]
    assert abs(share - 0.1) < 0.01
    for r in (without, with_):
        assert r["general_perplexity_before"] > 1 and r["general_perplexity_after"] > 1
    # the same base model and held-out probe: the same perplexity before training
    assert without["general_perplexity_before"] == with_["general_perplexity_before"]
    assert set(with_["eval_loss_by_task"]) == {"opposites", "colors", "sounds", "replay"}
    assert "with_replay" in proc.stdout and "after/before" in proc.stdout
