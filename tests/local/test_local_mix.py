"""The shipped mixed recipe on the local backend: the counts shown before launch are what trains,
and the validation loss is reported per task."""

from __future__ import annotations

import json


def test_mixed_recipe_trains_what_the_dry_run_showed(tiny_model, cli, ftx_home):
    dry = cli("run", "mix-replay", "--backend", "local", "--dry-run", "--json")
    assert dry.exit_code == 0, dry
    planned = {r["task"]: r["actual"] for r in json.loads(dry.stdout)["data"]["mix"]["sources"]}
    r = cli("run", "mix-replay", "--backend", "local", "--yes", "hyperparameters.max_steps=3",
            "eval.strategy=steps", "eval.steps=3")
    assert r.exit_code == 0, r
    assert "replay: " in r.stdout and "validation loss per task: " in r.stdout
    [run_dir] = [p for p in (ftx_home / "runs").iterdir() if p.is_dir()]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["data_mix"]["trained"] == planned
    assert summary["train_examples"] == sum(planned.values())
    by_task = summary["eval_loss_by_task"]
    assert set(by_task) == set(planned)
    assert all(v["baseline"] is not None and v["final"] is not None for v in by_task.values())
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert any("eval_task_replay_loss" in row and row["step"] == 3 for row in rows)
    assert summary["resampled_epochs"] == 4  # the recipe trains 4 epochs locally: 4 samples of the mix
