"""Multi-process local training: ``ftx run --nproc N`` through torchrun (real gloo DDP on CPU), the
strategies' trainer arguments, and the dry run's distribution plan."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

DDP_RECIPE = """\
name: ddp-test
model: {{local: ftx/tiny-llama}}
data: {{train: {train}, validation: {val}}}
method: {{name: lora, dropout: 0.0}}
hyperparameters: {{epochs: 1, batch_size: {batch}, max_length: 48, learning_rate: 3.0e-3, seed: 5}}
eval: {{strategy: steps, steps: 1, samples: ["What is the opposite of up?"]}}
"""


@pytest.fixture
def ddp_recipe(tmp_path, chat_files):
    def make(batch: int) -> Path:
        path = tmp_path / f"ddp-{batch}.yaml"
        path.write_text(DDP_RECIPE.format(train=chat_files[0], val=chat_files[1], batch=batch), encoding="utf-8")
        return path

    return make


def records(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_two_process_ddp_on_cpu(tiny_model, cli, ddp_recipe, ftx_home, capfd):
    from ftx.plugins.local.train import run_local
    from ftx.recipe import load_recipe
    from ftx.registry import Registry

    r = cli("run", ddp_recipe(4), "--backend", "local", "--nproc", "2")
    assert r.exit_code == 0, r
    printed = capfd.readouterr().out + r.stdout
    assert "launching 2 training processes (ddp over gloo" in printed
    assert printed.count("trainable parameters:") == 1  # rank 0 alone prints

    (run_dir,) = (ftx_home / "runs").iterdir()
    # Rank 0 alone wrote the outputs (checkpoints, written by the trainer, are gone after success).
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "adapter", "loss.png", "metrics.jsonl", "recipe.resolved.yaml", "summary.json"]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "succeeded" and summary["world_size"] == 2 and summary["strategy"] == "ddp"
    # 24 examples, 4 per process, 2 processes: 8 an optimizer step, so one epoch is 3 steps.
    assert summary["batch_per_process"] == 4 and summary["effective_batch"] == 8 and summary["steps"] == 3
    assert summary["batching"]["mode"] == "grouped"  # the default: every rank draws the same permutation
    ddp = records(run_dir)
    assert [r["step"] for r in ddp] == [0, 1, 2, 3]  # each step once: only rank 0 logged
    assert summary["samples"][0]["tuned"] is not None

    with Registry() as reg:
        (run,) = reg.list_runs(limit=None)
    assert run.status == "succeeded" and run.id == summary["run_id"] and run.output_dir == str(run_dir)
    assert run.extra["processes"]["world_size"] == 2 and run.extra["strategy"] == "ddp"

    # Real data parallelism: gradients averaged over both ranks equal one process's on the same
    # 8 examples a step (an unsynchronised pair of processes drifts apart from step 2).
    single = run_local(load_recipe(ddp_recipe(8), backend="local"), None, echo=lambda _: None, progress=False)
    one = records(Path(single["run_dir"]))
    assert [r["step"] for r in one] == [0, 1, 2, 3]
    # The same examples, each once: the ranks' shards of one permutation make up the whole epoch.
    assert summary["tokens_seen"] == single["tokens_seen"]
    for mine, theirs in zip(ddp, one):
        for key in ("loss", "grad_norm", "eval_loss"):
            if key in theirs:
                assert mine[key] == pytest.approx(theirs[key], rel=1e-4), (key, mine, theirs)


def test_dry_run_shows_the_distribution_plan(cli):
    r = cli("run", "quickstart", "--backend", "local", "--dry-run", "--json", "--nproc", "2")
    assert r.exit_code == 0, r
    plan = json.loads(r.stdout)["plan"]
    assert plan["distributed"]["name"] == "ddp" and plan["distributed"]["processes"] == "2 (1 node x 2)"
    assert "torchrun --standalone --nproc_per_node 2" in plan["distributed"]["launcher"]
    # quickstart: 256 examples, 8 per process, 2 processes, 10 epochs
    assert plan["effective batch"].startswith("16 ") and plan["optimizer steps"] == 160
    human = cli("run", "quickstart", "--backend", "local", "--dry-run", "--nproc", "4", "--nnodes", "2",
                "--node-rank", "1", "--master-addr", "10.0.0.1")
    assert human.exit_code == 0, human
    text = " ".join(human.stdout.split())
    assert "ddp (processes=8 (2 nodes x 4)" in text and "--master_addr 10.0.0.1 --master_port 29500" in text


def test_dry_run_with_processes_imports_nothing_heavy(tmp_path):
    from test_import_hygiene import heavy_imports

    loaded, proc = heavy_imports(tmp_path, "run", "quickstart", "--backend", "local", "--dry-run", "--nproc", "2")
    assert proc.returncode == 0, proc.stderr
    assert "distributed" in proc.stdout and loaded == []


@pytest.mark.parametrize("flags, message", [
    (["--nnodes", "2"], "--nnodes above 1 needs --master-addr"),
    (["--nnodes", "2", "--node-rank", "2", "--master-addr", "h"], "--node-rank must be between 0 and 1"),
])
def test_process_flags_are_checked(cli, flags, message):
    r = cli("run", "quickstart", "--backend", "local", "--dry-run", *flags)
    assert r.exit_code == 2
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith(f"error: {message}")


def test_hosted_backends_refuse_processes(cli):
    r = cli("run", "quickstart", "--backend", "openai", "--dry-run", "--nproc", "2")
    assert r.exit_code == 2
    assert r.stderr.strip() == ("error: --nproc and --nnodes apply to training on this machine; "
                                "backend 'openai' trains remotely")


@pytest.mark.skipif(importlib.util.find_spec("deepspeed") is not None, reason="deepspeed is installed")
def test_deepspeed_is_refused_in_one_line_when_missing(cli):
    r = cli("run", "quickstart", "--backend", "local", "--dry-run", "--nproc", "2",
            "backends.local.distributed=deepspeed")
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines() == [
        "error: backends.local.distributed: backends.local.distributed is deepspeed, but the deepspeed package "
        "is not installed (pip install deepspeed)"]


def test_sharding_strategies_are_refused_on_cpu(cli):
    r = cli("run", "quickstart", "--backend", "local", "--dry-run", "--nproc", "2",
            "backends.local.distributed=fsdp", "backends.local.device=cpu")
    assert r.exit_code == 2 and "fsdp, which shards the model across CUDA devices; on CPU use ddp" in r.stderr


def test_strategies_map_to_trainer_arguments(monkeypatch):
    from ftx.plugins.local import distributed
    from ftx.plugins.local.options import LocalOptions

    assert distributed.strategy_args(LocalOptions(), "cuda", 1) == {}
    assert distributed.strategy_args(LocalOptions(), "cpu", 2) == {"ddp_backend": "gloo",
                                                                   "ddp_find_unused_parameters": False}
    fsdp = LocalOptions(distributed="fsdp", fsdp_options="shard_grad_op", fsdp_config={"min_num_params": 10})
    assert distributed.strategy_args(fsdp, "cuda", 4) == {"ddp_backend": "nccl", "fsdp": "shard_grad_op",
                                                          "fsdp_config": {"min_num_params": 10}}
    real = importlib.util.find_spec
    monkeypatch.setattr(distributed.importlib.util, "find_spec",
                        lambda name, *a: object() if name == "deepspeed" else real(name, *a))
    ds = distributed.strategy_args(LocalOptions(distributed="deepspeed"), "cuda", 2)
    assert ds["deepspeed"]["zero_optimization"] == {"stage": 2} and ds["ddp_backend"] == "nccl"
    given = LocalOptions(distributed="deepspeed", deepspeed_config="ds.json")
    assert distributed.strategy_args(given, "cuda", 2)["deepspeed"] == "ds.json"


def test_the_trainer_config_counts_every_process(write, tmp_path):
    from ftx.plugins.local.config import common_args
    from ftx.plugins.local.device import DevicePlan
    from ftx.recipe import load_recipe

    write("t.jsonl", "")
    recipe = load_recipe(write("r.yaml", "name: c\nmodel: {local: ftx/tiny-llama}\ndata: {train: t.jsonl}\n"
                                         "hyperparameters: {epochs: 1, batch_size: 4}\n"), backend="local")
    cpu = DevicePlan("cpu", "float32", bf16=False, fp16=False, gradient_checkpointing=False)
    # (the arguments only: TrainingArguments with a ddp_backend joins the process group torchrun made)
    args = common_args(recipe, cpu, str(tmp_path), 800, True, world_size=2, checkpoints=True)
    assert args["per_device_train_batch_size"] == 4 and args["ddp_backend"] == "gloo"
    assert args["save_strategy"] == "epoch" and args["logging_steps"] == 2  # 800 / (4 x 2) = 100 steps: 100 // 50
    alone = common_args(recipe, cpu, str(tmp_path), 800, True, checkpoints=True)
    assert "ddp_backend" not in alone and alone["logging_steps"] == 4  # 200 steps


def test_torchrun_command(tmp_path):
    from ftx.planning import Processes
    from ftx.plugins.local.launch import torchrun_command

    spec = tmp_path / "spec.json"
    one = torchrun_command(Processes(nproc=2), spec)
    assert one[1:] == ["-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone",
                       "-m", "ftx.plugins.local.worker", str(spec)]
    two = torchrun_command(Processes(nproc=4, nnodes=2, node_rank=1, master_addr="h", master_port=1234), spec)
    assert two[3:13] == ["--nproc_per_node", "4", "--nnodes", "2", "--node_rank", "1", "--master_addr", "h",
                         "--master_port", "1234"]


def test_a_worker_refuses_a_recipe_changed_since_the_launch(write, monkeypatch):
    from ftx.errors import BackendError
    from ftx.plugins.local.worker import rebuild

    write("t.jsonl", "")
    path = write("r.yaml", "name: w\nmodel: {local: ftx/tiny-llama}\ndata: {train: t.jsonl}\n")
    spec = {"recipe": str(path), "overrides": ["hyperparameters.seed=3"], "recipe_hash": "0" * 64,
            "run_id": "x", "run_dir": str(path.parent), "world_size": 2, "strategy": "ddp"}
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    with pytest.raises(BackendError, match="changed after the run started"):
        rebuild(spec)
    from ftx.recipe import load_recipe

    spec["recipe_hash"] = load_recipe(path, spec["overrides"], backend="local").snapshot_hash()
    recipe, ctx = rebuild(spec)
    assert recipe.recipe.hyperparameters.seed == 3
    assert (ctx.rank, ctx.local_rank, ctx.world_size, ctx.is_main) == (1, 1, 2, False)
    monkeypatch.setenv("WORLD_SIZE", "3")
    with pytest.raises(BackendError, match="planned 2 processes but torchrun started 3"):
        rebuild(spec)


def test_the_launcher_dies_with_ftx_run(tmp_path):
    """A SIGKILLed `ftx run` takes torchrun (and so its workers) with it: no orphan trains on."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from ftx.plugins.local.launch import dies_with_parent

    child_pid = tmp_path / "child.pid"
    parent = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys, time\n"
        "from ftx.plugins.local.launch import dies_with_parent\n"
        "p = subprocess.Popen(dies_with_parent([sys.executable, '-c', 'import time; time.sleep(60)']))\n"
        f"open({str(child_pid)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n")])
    deadline = time.monotonic() + 30
    while not (child_pid.exists() and child_pid.read_text()) and time.monotonic() < deadline:
        time.sleep(0.02)
    pid = int(child_pid.read_text())
    time.sleep(0.3)  # let the guard make its request and exec
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        with open(f"/proc/{pid}/stat") as fh:
            if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                break  # dead, waiting for init to reap it
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        pytest.fail("the child outlived its parent")
    assert dies_with_parent(["x"])[-1] == "x"
