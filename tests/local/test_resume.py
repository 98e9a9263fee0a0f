"""Checkpoints and ``ftx run --resume``: a run killed mid-training continues where it stopped and
ends exactly where an uninterrupted run ends (with the default, length-grouped batches: the
resumed epoch is cut in the order the interrupted one was)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

RECIPE = """\
name: resume-test
model: {{local: ftx/tiny-llama}}
data: {{train: {train}, validation: {val}}}
method: {{name: lora}}
hyperparameters: {{max_steps: {steps}, batch_size: 4, max_length: 48, learning_rate: 3.0e-3, seed: 3}}
eval: {{strategy: steps, steps: 10, samples: ["What is the opposite of up?"]}}
backends: {{local: {{checkpoint_steps: 5}}}}
"""


@pytest.fixture
def resume_recipe(tmp_path, chat_files):
    # 24 examples in batches of 4: 6 steps an epoch, so the checkpoint at step 5 is mid-epoch and
    # the resumed trainer must skip the batches it already trained on.
    train, val = chat_files

    def make(steps: int = 40) -> Path:
        path = tmp_path / f"resume-{steps}.yaml"
        path.write_text(RECIPE.format(train=train, val=val, steps=steps), encoding="utf-8")
        return path

    return make


def metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def registry_runs():
    from ftx.registry import Registry

    with Registry() as reg:
        return reg.list_runs(limit=None)


def start_killable_run(recipe: Path, ftx_home: Path) -> subprocess.Popen:
    env = {**os.environ, "FTX_HOME": str(ftx_home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-m", "ftx", "run", str(recipe), "--backend", "local"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=recipe.parent)


def kill_after_first_checkpoint(proc: subprocess.Popen, runs: Path, timeout: float = 120) -> Path:
    """SIGKILL the run as soon as its first checkpoint is complete; returns its folder."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        markers = list(runs.glob("*/checkpoints/latest.json")) if runs.exists() else []
        if markers:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return markers[0].parent.parent
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it could be killed:\n{proc.stdout.read().decode()}")
        time.sleep(0.005)
    proc.kill()
    pytest.fail("no checkpoint appeared in time")


def reference_then_killed(cli, recipe: Path, ftx_home: Path):
    """An uninterrupted run of ``recipe`` (its registry row and metrics), then the same recipe
    run again and SIGKILLed after its first checkpoint (its process and folder)."""
    reference = cli("run", recipe, "--backend", "local")
    assert reference.exit_code == 0, reference
    (reference_run,) = registry_runs()
    proc = start_killable_run(recipe, ftx_home)
    run_dir = kill_after_first_checkpoint(proc, ftx_home / "runs")
    assert proc.returncode == -signal.SIGKILL
    return reference_run, metrics(Path(reference_run.output_dir)), proc, run_dir


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_losses_of_an_uninterrupted_one(tiny_model, cli, resume_recipe, ftx_home):
    recipe = resume_recipe()
    reference_run, expected, proc, run_dir = reference_then_killed(cli, recipe, ftx_home)
    killed = next(r for r in registry_runs() if r.id == run_dir.name)
    assert killed.status == "running"  # SIGKILL left no chance to record anything else
    assert killed.extra["pid"] == proc.pid and killed.extra["resume_marker"].startswith(str(run_dir))
    assert not (run_dir / "adapter").exists()

    resumed = cli("run", recipe, "--backend", "local", "--resume")
    assert resumed.exit_code == 0, resumed
    assert "resuming from checkpoint-" in resumed.stdout
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["run_id"] == killed.id and summary["status"] == "succeeded"
    assert summary["batching"]["mode"] == "grouped"  # the default, resumed exactly
    assert 5 <= summary["resumed_from"]["step"] < 40
    assert (run_dir / "adapter" / "adapter_model.safetensors").is_file()
    assert not (run_dir / "checkpoints").exists()  # a finished run has nothing left to resume

    # Same trajectory, step for step, and no step logged twice.
    got = metrics(run_dir)
    assert [r["step"] for r in got] == [r["step"] for r in expected] == list(range(41))
    for mine, theirs in zip(got, expected):
        for key in ("loss", "eval_loss", "grad_norm", "learning_rate"):
            assert (key in mine) == (key in theirs), (mine, theirs)
            if key in mine:
                assert mine[key] == pytest.approx(theirs[key], abs=1e-6), (key, mine, theirs)
    reference_summary = json.loads((Path(reference_run.output_dir) / "summary.json").read_text())
    for key in ("final_train_loss", "final_eval_loss", "baseline_eval_loss", "best_eval_loss"):
        assert summary[key] == pytest.approx(reference_summary[key], abs=1e-6), key
    assert summary["steps"] == 40 and summary["samples"][0]["tuned"] == reference_summary["samples"][0]["tuned"]

    runs = registry_runs()
    assert len(runs) == 2  # the reference and the resumed run: resuming reused the killed run's row
    (row,) = [r for r in runs if r.id == killed.id]
    assert row.status == "succeeded" and row.finished_at and row.error is None
    assert row.extra["resumes"] == 1 and row.extra["pid"] != proc.pid
    assert row.metrics["final_train_loss"] == pytest.approx(reference_run.metrics["final_train_loss"], abs=1e-6)
    # every local run records the estimate's peak memory beside the measured one
    assert row.metrics["predicted_peak_memory_mb"] > 0 and "peak_memory_error" in row.metrics

    again = cli("run", recipe, "--backend", "local", "--resume")
    assert again.exit_code == 2
    assert again.stderr.strip().splitlines() == [
        "error: no run of recipe 'resume-test' on local to resume: none was interrupted, failed or killed "
        "after saving a checkpoint (run without --resume to start afresh)"]
    assert len(registry_runs()) == 2


@pytest.mark.slow
def test_checkpoints_hold_what_an_exact_resume_needs(tiny_model, resume_recipe):
    """Every checkpoint_steps optimizer steps, keeping save_total_limit of them, each with the
    adapter, optimizer, scheduler, RNG and trainer states; kept after success on request."""
    from ftx.plugins.local.resume import find_checkpoint
    from ftx.plugins.local.train import run_local
    from ftx.recipe import load_recipe

    recipe = load_recipe(resume_recipe(12), ["backends.local.keep_checkpoints=true",
                                            "backends.local.save_total_limit=2"], backend="local")
    summary = run_local(recipe, None, echo=lambda _: None, progress=False)
    folder = Path(summary["run_dir"]) / "checkpoints"
    assert sorted(p.name for p in folder.glob("checkpoint-*")) == ["checkpoint-10", "checkpoint-12"]
    for name in ("adapter_model.safetensors", "optimizer.pt", "scheduler.pt", "rng_state.pth", "trainer_state.json"):
        assert (folder / "checkpoint-12" / name).is_file(), name
    assert json.loads((folder / "latest.json").read_text()) == {"step": 12, "checkpoint": "checkpoint-12",
                                                                "batching": "grouped"}
    assert find_checkpoint(Path(summary["run_dir"])) == (folder / "checkpoint-12", 12)


def test_resume_starts_from_the_newest_complete_checkpoint(tmp_path):
    from ftx.plugins.local.resume import find_checkpoint, trim_metrics, write_marker

    run_dir = tmp_path / "run"
    folder = run_dir / "checkpoints"
    for step, complete in ((4, True), (8, True), (12, False)):  # 12 was being written when killed
        (folder / f"checkpoint-{step}").mkdir(parents=True)
        if complete:
            (folder / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    assert find_checkpoint(run_dir) == (folder / "checkpoint-8", 8)
    write_marker(folder / "latest.json", 4)  # the marker names the last checkpoint whose metrics are written
    assert find_checkpoint(run_dir) == (folder / "checkpoint-4", 4)
    write_marker(folder / "latest.json", 12)
    assert find_checkpoint(run_dir) == (folder / "checkpoint-8", 8)
    assert find_checkpoint(tmp_path / "nothing") is None

    lines = [{"step": s, "loss": 1.0 / (s + 1)} for s in range(11)]
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines) + '{"step": 11, "lo')
    kept = trim_metrics(run_dir / "metrics.jsonl", 8)
    assert [r["step"] for r in kept] == list(range(9))
    on_disk = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert on_disk == kept  # the torn last line and the steps after the checkpoint are gone


def test_health_carries_on_across_a_resume():
    """Early stopping's patience and the best evaluation continue from the replayed logs."""
    from ftx.plugins.local.health import HealthConfig, HealthMonitor
    from ftx.plugins.local.resume import baseline_of, replay_health

    records = [{"step": 0, "eval_loss": 3.0}, {"step": 1, "loss": 2.0, "grad_norm": 1.0},
               {"step": 2, "loss": 1.5, "eval_loss": 2.5}, {"step": 3, "loss": 1.2, "eval_loss": 2.6}]
    monitor = HealthMonitor(HealthConfig(patience=2))
    replay_health(monitor, records)
    assert monitor.best_eval == (2, 2.5) and not monitor.should_stop
    monitor.on_eval(4, 2.7)  # the second evaluation without improvement, after the resume
    assert monitor.should_stop
    assert baseline_of(records) == 3.0 and baseline_of(records[1:]) is None


def test_metrics_log_merges_late_logs_into_a_step_written_at_a_checkpoint(tmp_path):
    from ftx.plugins.local.callbacks import MetricsLog

    path = tmp_path / "metrics.jsonl"
    log = MetricsLog(path)
    log.add(1, 0.5, {"loss": 2.0}, 10)
    log.add(2, 1.0, {"loss": 1.5}, 20)
    log.flush()  # a checkpoint at step 2: the step is on disk before the marker names it
    assert [json.loads(line)["step"] for line in path.read_text().splitlines()] == [1, 2]
    log.add(2, 1.0, {"eval_loss": 1.7}, 20)  # the final evaluation of the same step
    log.close()
    assert [json.loads(line) for line in path.read_text().splitlines()][-1] == \
        {"step": 2, "epoch": 1.0, "loss": 1.5, "tokens_per_second": log.records[-1]["tokens_per_second"],
         "eval_loss": 1.7}
    assert len(path.read_text().splitlines()) == 2

    resumed = MetricsLog(path, previous=log.records)  # a resume appends after what is there
    resumed.add(3, 1.5, {"loss": 1.2}, 30)
    resumed.close()
    assert [json.loads(line)["step"] for line in path.read_text().splitlines()] == [1, 2, 3]
    silent = MetricsLog(tmp_path / "other.jsonl", write=False)  # ranks other than 0
    silent.add(1, 0.5, {"loss": 2.0}, 10)
    silent.close()
    assert silent.records and not (tmp_path / "other.jsonl").exists()


def test_checkpoint_steps_and_logging_line_up(write, tmp_path):
    """A logged loss averages the steps since the previous log, so logs fall on checkpoints."""
    from ftx.errors import BackendError
    from ftx.plugins.local.config import aligned_logging_steps, sft_config
    from ftx.plugins.local.device import DevicePlan
    from ftx.recipe import load_recipe

    cpu = DevicePlan("cpu", "float32", bf16=False, fp16=False, gradient_checkpointing=False)
    assert aligned_logging_steps(20, 50) == 10 and aligned_logging_steps(20, None) == 20
    assert aligned_logging_steps(4, 7) == 1 and aligned_logging_steps(3, 300) == 3

    write("t.jsonl", "")

    def config(extra: str, **run):
        path = write("r.yaml", "name: c\nmodel: {local: ftx/tiny-llama}\ndata: {train: t.jsonl}\n"
                               "hyperparameters: {epochs: 2, batch_size: 4, max_steps: 5000}\n" + extra)
        return sft_config(load_recipe(path, backend="local"), cpu, str(tmp_path), 400, True, "assistant-only", **run)

    cfg = config("backends: {local: {checkpoint_steps: 250, save_total_limit: 3}}\n", checkpoints=True)
    assert (getattr(cfg.save_strategy, "value", cfg.save_strategy), cfg.save_steps, cfg.save_total_limit) == \
        ("steps", 250, 3)
    assert cfg.logging_steps == 50  # 5000 // 50 = 100 does not divide 250
    per_epoch = config("", checkpoints=True)
    assert getattr(per_epoch.save_strategy, "value", per_epoch.save_strategy) == "epoch"
    assert per_epoch.logging_steps == 100  # 400 / 4 = 100 steps an epoch
    with pytest.raises(BackendError, match="must be a multiple of eval.steps"):
        config("eval: {strategy: steps, steps: 100, early_stopping_patience: 2}\n"
               "backends: {local: {checkpoint_steps: 250}}\n", checkpoints=True)


FINAL_CHECKPOINT_RECIPE = """\
name: resume-final
model: {{local: ftx/tiny-llama}}
data: {{train: {train}, validation: {val}}}
method: {{name: lora}}
hyperparameters: {{max_steps: 8, batch_size: 4, max_length: 48, learning_rate: 3.0e-3, seed: 3}}
eval: {{strategy: steps, steps: 4}}
backends: {{local: {{checkpoint_steps: 4, keep_checkpoints: true}}}}
"""


@pytest.mark.slow
def test_a_run_killed_after_its_final_checkpoint_resumes_without_training_more(tiny_model, cli, tmp_path,
                                                                               chat_files, ftx_home):
    # 24 examples in batches of 4: 6 steps an epoch, so the last step (8) is mid-epoch. A run killed
    # between saving checkpoint-8 and writing its summary (final evaluation, samples, the adapter; or
    # Ray workers that outlive their driver a moment) resumes from a finished checkpoint, where
    # transformers would train one step past max_steps before checking it.
    recipe = tmp_path / "final.yaml"
    recipe.write_text(FINAL_CHECKPOINT_RECIPE.format(train=chat_files[0], val=chat_files[1]), encoding="utf-8")
    first = cli("run", recipe, "--backend", "local")
    assert first.exit_code == 0, first
    (run,) = registry_runs()
    run_dir = Path(run.output_dir)
    expected = metrics(run_dir)
    reference = json.loads((run_dir / "summary.json").read_text())
    assert (run_dir / "checkpoints" / "checkpoint-8" / "trainer_state.json").is_file()
    # As the kill left it: no summary, no adapter, the row not finished.
    from ftx.registry import Registry

    for done in ("summary.json", "adapter"):
        target = run_dir / done
        if target.is_dir():
            import shutil

            shutil.rmtree(target)
        else:
            target.unlink()
    with Registry() as reg:
        reg.update_run(run.id, status="failed", error="killed")

    resumed = cli("run", recipe, "--backend", "local", "--resume")
    assert resumed.exit_code == 0, resumed
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["resumed_from"]["step"] == 8
    assert summary["steps"] == 8 and summary["status"] == "succeeded"
    got = metrics(run_dir)
    assert [r["step"] for r in got] == [r["step"] for r in expected] == list(range(9))
    for key in ("final_train_loss", "final_eval_loss", "best_eval_loss"):
        assert summary[key] == pytest.approx(reference[key], abs=1e-6), key
    assert (run_dir / "adapter" / "adapter_model.safetensors").is_file()
