"""A local run in MLflow, TensorBoard and W&B (offline), through the trainer's own integrations:
ftx's run id as the run name, lineage tags, the training curve, cost and artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("mlflow")
pytest.importorskip("tensorboard")
pytest.importorskip("wandb")

from tracking_helpers import history, mlflow_run, tensorboard_scalars  # noqa: E402


@pytest.mark.slow
def test_a_local_run_reports_to_mlflow_tensorboard_and_wandb(tiny_model, cli, chat_files, tmp_path, ftx_home,
                                                           monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    train, val = chat_files
    recipe = tmp_path / "tracked.yaml"
    recipe.write_text(f"""\
name: tracked
model: {{local: ftx/tiny-llama}}
data: {{train: {train}, validation: {val}}}
hyperparameters: {{max_steps: 6, batch_size: 4, max_length: 48, learning_rate: 1.0e-3}}
eval: {{strategy: steps, steps: 3}}
tracking:
  mlflow: {{experiment: tracked-exp}}
  tensorboard: {{}}
  wandb: {{project: tracked}}
""")
    r = cli("run", recipe, "--backend", "local", "tracking.mlflow.tags.team=nlp")
    assert r.exit_code == 0, r
    assert "tracking:" not in r.stderr, r.stderr
    [run] = json.loads(cli("runs", "list", "--json").stdout)
    rows = [json.loads(line) for line in Path(run["output_dir"], "metrics.jsonl").read_text().splitlines()]
    trained = sorted((row["step"], row["loss"]) for row in rows if row.get("loss") is not None)

    client, tracked = mlflow_run(ftx_home, run["id"], experiment="tracked-exp")
    got = history(client, tracked, "loss")  # logged by transformers' MLflowCallback into ftx's run
    assert [s for s, _ in got] == [s for s, _ in trained]
    assert [v for _, v in got] == pytest.approx([v for _, v in trained], rel=1e-4)
    assert history(client, tracked, "eval_loss")
    tags = tracked.data.tags
    assert tags["ftx.run_id"] == run["id"] and tags["ftx.backend"] == "local" and tags["team"] == "nlp"
    assert tags["ftx.method"] == "lora" and tags["ftx.objective"] == "sft"
    assert tags["ftx.recipe_hash"] == run["recipe_hash"]
    assert {k for k in tags if k.startswith("ftx.data.")} == {f"ftx.data.{k}" for k in run["data_hashes"]}
    assert Path(tags["ftx.model"]).is_dir() and tags["ftx.model"].startswith(run["output_dir"])  # the adapter
    assert "->" in tags["ftx.lineage"] and tracked.info.status == "FINISHED"
    assert tracked.data.params["ftx.hyperparameters.max_steps"] == "6"
    assert any(k.startswith("final.") for k in tracked.data.metrics)
    artifacts = {a.path for a in client.list_artifacts(tracked.info.run_id, "ftx")}
    assert {"ftx/recipe.resolved.yaml", "ftx/loss.png", "ftx/metrics.jsonl"} <= artifacts

    scalars = tensorboard_scalars(Path(run["extra"]["tracking"]["tensorboard_dir"]))
    assert [s for s, _ in sorted(scalars["train/loss"])] == [s for s, _ in trained]

    wandb_dir = Path(run["extra"]["tracking"]["wandb_dir"]) / "wandb"
    offline = [d for d in wandb_dir.glob(f"offline-run-*-{run['extra']['tracking']['wandb_run_id']}") if d.is_dir()]
    assert offline, list(wandb_dir.glob("*"))
    assert any(f.suffix == ".wandb" and f.stat().st_size > 0 for d in offline for f in d.iterdir())
