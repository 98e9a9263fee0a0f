"""A hosted run (against the fake OpenAI server) in MLflow, TensorBoard and W&B: the same metric
series as metrics.jsonl, no point twice after a detach, cost and lineage at the end."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("mlflow")
pytest.importorskip("tensorboard")

from openai_test_helpers import runs_json  # noqa: E402
from tracking_helpers import history, mlflow_run, tensorboard_scalars  # noqa: E402

TRACKING = "tracking:\n  mlflow: {}\n  tensorboard: {}\n"


def _series(metrics_file: Path, key: str) -> list[tuple[int, float]]:
    rows = [json.loads(line) for line in metrics_file.read_text().splitlines() if line.strip()]
    return sorted((r["step"], float(r[key])) for r in rows if r.get(key) is not None)


def _same(got: list[tuple[int, float]], want: list[tuple[int, float]]) -> bool:
    """Same steps, same values (float32 in TensorBoard), each step once."""
    return [s for s, _ in got] == [s for s, _ in want] and [v for _, v in got] == pytest.approx(
        [v for _, v in want], rel=1e-6)


def _check_run(home: Path, run: dict) -> None:
    metrics_file = Path(run["artifacts"]["metrics"])
    client, tracked = mlflow_run(home, run["id"])
    for key in ("loss", "token_accuracy"):
        assert _series(metrics_file, key), key
        assert _same(history(client, tracked, key), _series(metrics_file, key)), key
    tags = tracked.data.tags
    assert tags["ftx.run_id"] == run["id"] and tags["ftx.backend"] == "openai"
    assert tags["ftx.recipe_hash"] == run["recipe_hash"]
    assert tags["ftx.data.train"] == run["data_hashes"]["train"]
    assert tags["ftx.model"] == run["model"] and run["model"] in tags["ftx.lineage"]
    assert tags["ftx.status"] == "succeeded" and tracked.info.status == "FINISHED"
    summary = tracked.data.metrics
    assert summary["actual_cost_usd"] == pytest.approx(run["actual_cost_usd"])
    assert summary["estimated_cost_usd"] == pytest.approx(run["estimated_cost_usd"])
    artifacts = {a.path for a in client.list_artifacts(tracked.info.run_id, "ftx")}
    assert {"ftx/metrics.jsonl", "ftx/job.json"} <= artifacts and any("recipe.resolved" in a for a in artifacts)
    scalars = tensorboard_scalars(Path(run["extra"]["tracking"]["tensorboard_dir"]))
    assert _same(sorted(scalars["loss"]), _series(metrics_file, "loss"))


@pytest.mark.slow
def test_a_hosted_run_streams_the_same_series_as_metrics_jsonl(cli, fake_openai, make_recipe, ftx_home):
    r = cli("run", make_recipe(extra=TRACKING), "--backend", "openai", "--yes")
    assert r.exit_code == 0, r
    assert "tracking:" not in r.stderr, r.stderr
    [run] = runs_json(cli)
    _check_run(ftx_home, run)


@pytest.mark.slow
def test_detach_and_reattach_log_each_point_once(cli, fake_openai, make_recipe, ftx_home, monkeypatch):
    from ftx import hosted_watch

    fake_openai.state.clock = "manual"  # the job moves one tick per poll, not with the wall clock
    polls = {"n": 0}

    def sleep_then_detach(seconds: float) -> None:
        polls["n"] += 1
        if polls["n"] == 12:  # some steps streamed, the job still running: Ctrl-C
            raise KeyboardInterrupt
        fake_openai.state.advance()

    # Only the follower's sleep: the fake server's threads sleep too.
    monkeypatch.setattr(hosted_watch, "time", SimpleNamespace(sleep=sleep_then_detach))
    r = cli("run", make_recipe(extra=TRACKING), "--backend", "openai", "--yes")
    assert r.exit_code == 0 and "detached" in r.output, (polls, r)
    [run] = runs_json(cli)
    assert run["status"] in ("queued", "running")
    streamed = run["extra"]["tracking"]["last_step"]
    fake_openai.state.clock = "time"
    monkeypatch.setattr(hosted_watch, "time", time)
    again = cli("jobs", "wait", run["id"])
    assert again.exit_code == 0, again
    assert cli("jobs", "wait", run["id"]).exit_code == 0  # a third follower on a finished run adds nothing
    [run] = runs_json(cli)
    assert run["status"] == "succeeded"
    _check_run(ftx_home, run)
    assert streamed, "nothing was streamed before the detach"


def test_a_failing_tracker_warns_once_and_the_run_succeeds(cli, fake_openai, make_recipe, monkeypatch):
    from ftx.tracking import tensorboard_tracker

    calls = {"n": 0}

    def broken(self, metrics, step):
        calls["n"] += 1
        raise OSError("disk full")

    monkeypatch.setattr(tensorboard_tracker.TensorBoardTracker, "log_metrics", broken)
    r = cli("run", make_recipe(extra="tracking: {tensorboard: true}\n"), "--backend", "openai", "--yes")
    assert r.exit_code == 0, r
    assert r.stderr.count("tracking: tensorboard failed (OSError: disk full)") == 1
    assert calls["n"] == 1
    [run] = runs_json(cli)
    assert run["status"] == "succeeded"


def test_a_missing_tracker_library_is_a_warning_not_a_failure(cli, fake_openai, make_recipe, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_wandb(name, *args, **kwargs):
        if name == "wandb" or name.startswith("wandb."):
            raise ImportError("No module named 'wandb'", name="wandb")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_wandb)
    r = cli("run", make_recipe(extra="tracking: {wandb: {project: demo}}\n"), "--backend", "openai", "--yes")
    assert r.exit_code == 0, r
    assert "tracking: wandb is not installed" in r.stderr and "ftx[wandb]" in r.stderr
