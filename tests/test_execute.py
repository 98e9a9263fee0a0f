"""``execute()``: a run on this machine is recorded before and after the backend runs it, and
``--resume`` continues the right run in the same registry row (with a fake backend: no training)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ftx.errors import BackendError
from ftx.planning import (
    Processes,
    RunOptions,
    RunPlan,
    execute,
    find_resumable,
    process_alive,
    process_identity,
)
from ftx.registry import Registry


class FakeBackend:
    """Stands in for the local backend: notes where its outputs go, as the real one does."""

    name = "local"
    hosted = False

    def __init__(self, tmp_path: Path, checkpoint: bool = True, fail: BaseException | None = None):
        self.tmp_path, self.checkpoint, self.fail = tmp_path, checkpoint, fail
        self.seen: list[RunPlan] = []

    def run(self, recipe, plan):
        self.seen.append(plan)
        run_dir = self.tmp_path / "runs" / plan.run_id
        marker = run_dir / "checkpoints" / "latest.json"
        if self.checkpoint:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text("{}")
        plan.record(output_dir=run_dir, resume_marker=str(marker))
        with Registry() as reg:
            assert reg.get_run(plan.run_id).status == "running"  # recorded before training
        if self.fail is not None:
            raise self.fail
        return {"status": "succeeded", "run_dir": str(run_dir), "final_train_loss": 0.5, "steps": 3,
                "artifact": {"kind": "adapter", "path": str(run_dir / "adapter")}}


@pytest.fixture
def recipe(write):
    from ftx.recipe import load_recipe

    write("train.jsonl", '{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}\n')
    path = write("r.yaml", "name: ex\nmodel: {local: ftx/tiny-llama}\ndata: {train: train.jsonl}\n")
    return lambda *overrides: load_recipe(path, list(overrides), backend="local")


def plan_for(recipe, backend, **options) -> RunPlan:
    return RunPlan(recipe, backend, {}, {}, options=RunOptions(**options))


def runs():
    with Registry() as reg:
        return reg.list_runs(limit=None)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_run_is_recorded_before_and_after(tmp_path, recipe):
    backend = FakeBackend(tmp_path)
    summary = execute(plan_for(recipe(), backend))
    (run,) = runs()
    assert summary["status"] == "succeeded" and run.status == "succeeded" and run.finished_at
    assert run.output_dir == str(tmp_path / "runs" / run.id) and run.metrics == {"final_train_loss": 0.5, "steps": 3}
    assert run.artifacts["adapter"].endswith("adapter")
    assert run.extra["pid"] == os.getpid() and run.extra["host"] and run.extra["resume_marker"].endswith("latest.json")
    assert "processes" not in run.extra and backend.seen[0].recorder is None  # no writes after the run


@pytest.mark.parametrize("error, status", [(RuntimeError("boom"), "failed"), (KeyboardInterrupt(), "interrupted")])
def test_a_run_that_stops_says_how(tmp_path, recipe, error, status):
    with pytest.raises(type(error)):
        execute(plan_for(recipe(), FakeBackend(tmp_path, fail=error)))
    (run,) = runs()
    assert run.status == status and run.error.startswith(type(error).__name__)


def test_resume_continues_the_newest_resumable_run_in_its_row(tmp_path, recipe):
    with pytest.raises(RuntimeError):
        execute(plan_for(recipe(), FakeBackend(tmp_path, fail=RuntimeError("killed"))))
    (failed,) = runs()
    backend = FakeBackend(tmp_path)
    execute(plan_for(recipe(), backend, resume=True))
    (run,) = runs()  # the same row, not a new one
    assert run.id == failed.id and run.status == "succeeded" and run.error is None
    assert run.extra["resumes"] == 1 and backend.seen[0].resume_from.id == failed.id
    assert backend.seen[0].run_id == failed.id
    with Registry() as reg:
        assert any("resumed (attempt 1)" in e.message for e in reg.events(run.id))
    with pytest.raises(BackendError, match="no run of recipe 'ex' on local to resume"):
        execute(plan_for(recipe(), FakeBackend(tmp_path), resume=True))


def test_which_runs_resume(tmp_path, recipe):
    base = recipe()
    marker = tmp_path / "latest.json"
    marker.write_text("{}")
    me = process_identity()
    with Registry() as reg:
        def add(status, extra, hash_=None, backend="local"):
            run = reg.create_run("ex", backend, {}, hash_ or base.snapshot_hash(), status=status, extra=extra)
            return run.id

        other_recipe = add("failed", {"resume_marker": str(marker)}, hash_=recipe("hyperparameters.seed=1").snapshot_hash())
        no_checkpoint = add("interrupted", {"resume_marker": str(tmp_path / "missing.json")})
        older = add("failed", {"resume_marker": str(marker)})
        alive = add("running", {**me, "resume_marker": str(marker)})  # this very process
        elsewhere = add("running", {"pid": 1, "host": "another-machine", "resume_marker": str(marker)})
        finished = add("succeeded", {"resume_marker": str(marker)})
        killed = add("running", {**me, "pid": dead_pid(), "resume_marker": str(marker)})
        plan = plan_for(base, FakeBackend(tmp_path), resume=True)
        assert find_resumable(reg, plan).id == killed  # the newest that is resumable
        reg.update_run(killed, status="succeeded")
        assert find_resumable(reg, plan).id == older

        def named(run_id):
            with pytest.raises(BackendError) as err:
                find_resumable(reg, plan_for(base, FakeBackend(tmp_path), resume=True, resume_run=run_id))
            return str(err.value)

        assert "different recipe" in named(other_recipe)
        assert "saved no checkpoint" in named(no_checkpoint)
        assert "is still running (process" in named(alive)
        # another machine's run is never picked by itself, but named, it is taken at its word
        assert find_resumable(reg, plan_for(base, FakeBackend(tmp_path), resume=True, resume_run=elsewhere)).id \
            == elsewhere
        assert "it is succeeded" in named(finished)
        assert find_resumable(reg, plan_for(base, FakeBackend(tmp_path), resume=True, resume_run=older)).id == older


def test_process_liveness():
    assert process_alive(process_identity()) is True
    assert process_alive({**process_identity(), "pid": dead_pid()}) is False
    assert process_alive({**process_identity(), "pid_started": "1"}) is False  # the pid was reused
    assert process_alive({"pid": 1, "host": "elsewhere"}) is None and process_alive({}) is None


def test_hosted_runs_do_not_resume(recipe):
    class Hosted:
        name, hosted = "openai", True

        def run(self, recipe, plan):  # pragma: no cover - must not be reached
            raise AssertionError

    with pytest.raises(BackendError, match="--resume continues runs on this machine"):
        execute(plan_for(recipe(), Hosted(), resume=True))


def test_processes_are_recorded(tmp_path, recipe):
    execute(plan_for(recipe(), FakeBackend(tmp_path), processes=Processes(nproc=2)))
    (run,) = runs()
    assert run.extra["processes"] == {"nproc": 2, "nnodes": 1, "node_rank": 0, "master_addr": None,
                                      "master_port": None, "world_size": 2}


def test_cli_resume_flag(cli, write):
    write("train.jsonl", "".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"},
                                                          {"role": "assistant", "content": f"a{i}"}]}) + "\n"
                                 for i in range(20)))
    path = write("r.yaml", "name: cli\nmodel: {local: ftx/tiny-llama}\ndata: {train: train.jsonl}\n")
    r = cli("run", path, "--dry-run", "--resume")
    assert r.exit_code == 2 and r.stderr.strip() == (
        "error: no run of recipe 'cli' on local to resume: none was interrupted, failed or killed after saving "
        "a checkpoint (run without --resume to start afresh)")
    # `--resume KEY=VALUE` is --resume and an override, not a run id
    r = cli("run", path, "--dry-run", "--resume", "hyperparameters.seed=2")
    assert r.exit_code == 2 and "no run of recipe 'cli'" in r.stderr
    r = cli("run", path, "--dry-run", "--resume", "2099")
    assert r.exit_code == 2 and r.stderr.strip() == "error: no run matches '2099' (`ftx runs list` shows recorded runs)"

    from ftx.recipe import load_recipe

    marker = path.parent / "latest.json"
    marker.write_text("{}")
    with Registry() as reg:
        run = reg.create_run("cli", "local", {}, load_recipe(path, backend="local").snapshot_hash(),
                             status="interrupted", extra={"resume_marker": str(marker)})
    r = cli("run", path, "--dry-run", "--json", "--resume", run.id[:15])
    assert r.exit_code == 0, r
    assert json.loads(r.stdout)["plan"]["resume"].startswith(f"run {run.id} (interrupted, started ")
