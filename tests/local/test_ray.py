"""Local-backend training on Ray (``ftx run --ray``): the cluster plan and its refusals (no Ray
started), and, on a local Ray instance of 2 CPU workers, real Ray Train runs: the losses of two
workers match one process with the same global batch, a killed worker is restarted from the
latest checkpoint, and a run whose driver died resumes with ``--resume``.

Each Ray run starts its own small local instance (2 CPUs, a 128 MB object store, no dashboard)
in a ``python -m ftx run`` subprocess, which shuts it down when it ends; the tests make sure no
process of theirs outlives them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed (ftx[ray])")

RAY_RECIPE = """\
name: ray-test
model: {{local: ftx/tiny-llama}}
data: {{train: {train}, validation: {val}}}
method: {{name: lora, dropout: 0.0}}
hyperparameters: {{epochs: 1, batch_size: {batch}, max_length: 48, learning_rate: 3.0e-3, seed: 5}}
eval: {{strategy: steps, steps: 1, samples: ["What is the opposite of up?"]}}
"""

# 40 steps of 2 examples per worker, a checkpoint every 5: long enough to be killed mid-run.
KILL_RECIPE = """\
name: ray-kill
model: {{local: ftx/tiny-llama}}
data: {{train: {train}, validation: {val}}}
method: {{name: lora, dropout: 0.0}}
hyperparameters: {{max_steps: 40, batch_size: 2, max_length: 48, learning_rate: 3.0e-3, seed: 5}}
eval: {{strategy: steps, steps: 20}}
backends: {{local: {{checkpoint_steps: 5, ray: {{workers: 2}}}}}}
"""

RUN_TIMEOUT_S = 420


@pytest.fixture
def recipe_file(tmp_path, chat_files):
    def make(template: str, name: str, **values) -> Path:
        path = tmp_path / f"{name}.yaml"
        path.write_text(template.format(train=chat_files[0], val=chat_files[1], **values), encoding="utf-8")
        return path

    return make


def records(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def registry_runs() -> list:
    from ftx.registry import Registry

    with Registry() as reg:
        return reg.list_runs(limit=None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the plan and its refusals: no Ray started ----------------------------------------------------

def test_dry_run_shows_the_cluster_plan(cli):
    r = cli("run", "quickstart", "--backend", "local", "--ray", "--workers", "2", "--dry-run", "--json")
    assert r.exit_code == 0, r
    plan = json.loads(r.stdout)["plan"]
    cluster = plan["cluster"]
    assert cluster["address"].startswith("local instance") and cluster["workers"] == "2 x (1 CPU)"
    assert cluster["communication"] == "gloo" and cluster["max failures"] == 3
    assert cluster["storage"].endswith("ray") and "2 CPU, 0 GPU" in cluster["resources"]
    # quickstart: 256 examples, 8 per worker, 2 workers, 10 epochs
    assert plan["effective batch"].startswith("16 ") and plan["optimizer steps"] == 160
    assert json.loads(r.stdout)["recipe"]["options"]["ray"]["workers"] == 2


def test_the_recipe_section_asks_for_ray_too(cli, write, tmp_path):
    write("t.jsonl", '{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}\n' * 40)
    recipe = write("r.yaml", "name: c\nmodel: {local: ftx/tiny-llama}\ndata: {train: t.jsonl}\n"
                             "hyperparameters: {epochs: 1, batch_size: 2}\n"
                             f"backends: {{local: {{ray: {{workers: 4, cpus_per_worker: 0.5, storage_path: {tmp_path}/st, "
                             "max_failures: 1}}}\n")
    r = cli("run", recipe, "--dry-run", "--json")
    assert r.exit_code == 0, r
    cluster = json.loads(r.stdout)["plan"]["cluster"]
    assert cluster["workers"] == "4 x (0.5 CPU)" and cluster["storage"] == str(tmp_path / "st")
    assert cluster["max failures"] == 1
    # --workers on the command line wins over the recipe
    r = cli("run", recipe, "--ray", "--workers", "2", "--dry-run", "--json")
    assert json.loads(r.stdout)["plan"]["cluster"]["workers"] == "2 x (0.5 CPU)"


def test_a_bad_address_is_one_line_and_nothing_is_recorded(cli, ftx_home):
    port = free_port()
    for extra in (["--dry-run"], []):
        r = cli("run", "quickstart", "--backend", "local", "--ray", f"127.0.0.1:{port}", *extra)
        assert r.exit_code == 2, r
        (line,) = r.stderr.strip().splitlines()
        assert line.startswith(f"error: backends.local.ray.address: cannot reach the Ray cluster at 127.0.0.1:{port} "
                               "(connection refused)"), line
    assert registry_runs() == []
    r = cli("run", "quickstart", "--backend", "local", "--ray", "http://head:8265", "--dry-run")
    assert r.exit_code == 2 and "is not host:port or ray://host:port" in r.stderr


@pytest.mark.parametrize("args, message", [
    (["--ray", "--workers", "2", "backends.local.ray.gpus_per_worker=1"],
     "2 workers x 1 GPUs need 2 GPUs; this machine has 0"),
    (["--ray", "--nproc", "2"], "--nproc and --nnodes launch torchrun; on Ray, ask for workers with --workers N"),
    (["--ray", "backends.local.distributed=fsdp"], "the Ray engine trains with ddp only"),
    (["--ray", "backends.local.device=cuda", "backends.local.ray.gpus_per_worker=0"],
     "backends.local.device is cuda but backends.local.ray.gpus_per_worker is 0"),
])
def test_impossible_requests_are_refused_in_one_line(cli, monkeypatch, args, message):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # no GPU on this machine, whatever it has
    r = cli("run", "quickstart", "--backend", "local", "--dry-run", *args)
    assert r.exit_code == 2, r
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("error: ") and message in line, line


def test_addresses_name_the_port_they_connect_to():
    from ftx.errors import BackendError
    from ftx.plugins.local.ray_plan import endpoint

    assert endpoint("10.0.0.1:6380") == ("10.0.0.1", 6380)
    assert endpoint("head") == ("head", 6379)  # the GCS port `ray start --head` uses
    assert endpoint("ray://head") == ("head", 10001) and endpoint("ray://head:2000") == ("head", 2000)
    assert endpoint("auto") is None
    with pytest.raises(BackendError, match="not host:port"):
        endpoint("head:port")


def test_workers_needs_ray(cli):
    r = cli("run", "quickstart", "--backend", "local", "--workers", "2", "--dry-run")
    assert r.exit_code == 2 and "--workers is the number of Ray workers: use it with --ray" in r.stderr


def test_hosted_backends_have_no_ray_option(cli):
    r = cli("run", "quickstart", "--backend", "openai", "--ray", "--dry-run")
    assert r.exit_code == 2 and "ray" in r.stderr


def test_dry_run_on_ray_imports_nothing_heavy(tmp_path):
    from test_import_hygiene import heavy_imports

    loaded, proc = heavy_imports(tmp_path, "run", "quickstart", "--backend", "local", "--dry-run", "--ray",
                                 "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    assert "cluster" in proc.stdout and loaded == []


# -- real runs on a local Ray instance --------------------------------------------------------------

def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = set(), [root]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class RayRun:
    """``python -m ftx run RECIPE ARGS`` in a subprocess (the Ray driver), with every process it
    started remembered so that none outlives the test."""

    def __init__(self, recipe: Path, *args: str):
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", "RAY_USAGE_STATS_ENABLED": "0"}
        self.proc = subprocess.Popen([sys.executable, "-m", "ftx", "run", str(recipe), *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=recipe.parent)
        self.seen: set[int] = set()

    def watch(self) -> set[int]:
        self.seen |= _descendants(self.proc.pid)
        return self.seen

    def workers(self) -> list[int]:
        return sorted(p for p in _descendants(self.proc.pid) if "RayTrainWorker" in _cmdline(p))

    def wait_for_checkpoint(self, runs: Path, step: int, timeout: float = RUN_TIMEOUT_S) -> Path:
        """The run folder, once its checkpoint marker names ``step`` or a later one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.watch()
            for marker in runs.glob("*/checkpoints/latest.json") if runs.exists() else ():
                try:
                    if json.loads(marker.read_text())["step"] >= step:
                        return marker.parent.parent
                except (OSError, ValueError, KeyError):
                    pass
            if self.proc.poll() is not None:
                pytest.fail(f"the run ended before step {step}:\n{self.output()}")
            time.sleep(0.02)
        pytest.fail(f"no checkpoint at step {step} in time:\n{self.output()}")

    def wait_for_ray_checkpoint(self, storage: Path, timeout: float = RUN_TIMEOUT_S) -> str:
        """The name of the first checkpoint Ray's controller registered (it polls the workers'
        reports every few seconds; a report not yet collected dies with its worker)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.watch()
            for snapshot in storage.glob("*/checkpoint_manager_snapshot.json") if storage.exists() else ():
                try:
                    latest = json.loads(snapshot.read_text()).get("latest_checkpoint_result")
                except (OSError, ValueError):
                    continue
                if latest:
                    return latest["checkpoint_dir_name"]
            if self.proc.poll() is not None:
                pytest.fail(f"the run ended before Ray registered a checkpoint:\n{self.output()}")
            time.sleep(0.02)
        pytest.fail(f"Ray registered no checkpoint in time:\n{self.output()}")

    def finish(self, timeout: float = RUN_TIMEOUT_S) -> str:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"the run did not finish in {timeout} s")
        return self.output()

    def output(self) -> str:
        if self.proc.poll() is None:
            return ""
        return self.proc.stdout.read().decode(errors="replace") if self.proc.stdout else ""

    def cleanup(self) -> list[int]:
        """Kill what is left of this run's processes (by pid); returns those that were alive."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        deadline = time.monotonic() + 30
        left = [p for p in self.seen if _alive(p)]
        while left and time.monotonic() < deadline:
            time.sleep(0.5)
            left = [p for p in self.seen if _alive(p)]
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return left


@pytest.fixture
def ray_runs():
    started: list[RayRun] = []

    def start(recipe: Path, *args: str) -> RayRun:
        run = RayRun(recipe, *args)
        started.append(run)
        return run

    yield start
    leftovers = [pid for run in started for pid in run.cleanup()]
    assert leftovers == [], f"processes outlived their run: {leftovers}"


@needs_ray
@pytest.mark.slow
def test_two_ray_workers_train_as_one_process(tiny_model, recipe_file, ftx_home, ray_runs):
    from ftx.plugins.local.train import run_local
    from ftx.recipe import load_recipe

    run = ray_runs(recipe_file(RAY_RECIPE, "ray-4", batch=4), "--backend", "local", "--ray", "--workers", "2")
    printed = run.finish()
    assert run.proc.returncode == 0, printed
    assert "launching 2 Ray Train workers on a local Ray instance (ddp over gloo" in printed
    assert printed.count("trainable parameters:") == 1  # rank 0 alone prints, through the driver
    assert "baseline eval_loss" in printed and "fine-tuned:" in printed

    (run_dir,) = (ftx_home / "runs").iterdir()
    # The same artifacts as a local run, written once (checkpoints are gone after success).
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "adapter", "loss.png", "metrics.jsonl", "recipe.resolved.yaml", "summary.json"]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "succeeded" and summary["engine"] == "ray" and summary["world_size"] == 2
    assert summary["batch_per_process"] == 4 and summary["effective_batch"] == 8 and summary["steps"] == 3
    ray_records = records(run_dir)
    assert [r["step"] for r in ray_records] == [0, 1, 2, 3]
    assert not (ftx_home / "ray" / summary["run_id"]).exists()  # Ray's checkpoints of a finished run

    (row,) = registry_runs()
    assert row.status == "succeeded" and row.id == summary["run_id"] and row.output_dir == str(run_dir)
    assert row.extra["engine"] == "ray" and row.extra["world_size"] == 2
    assert row.extra["ray"]["workers"] == 2 and row.extra["ray"]["address"] == "local instance"
    assert row.metrics["steps"] == 3

    # Real data parallelism: one process with the same 8 examples a step trains the same.
    single = run_local(load_recipe(recipe_file(RAY_RECIPE, "one-8", batch=8), backend="local"), None,
                       echo=lambda _: None, progress=False)
    one = records(Path(single["run_dir"]))
    assert [r["step"] for r in one] == [0, 1, 2, 3]
    for mine, theirs in zip(ray_records, one):
        for key in ("loss", "grad_norm", "eval_loss"):
            if key in theirs:
                assert mine[key] == pytest.approx(theirs[key], rel=1e-4), (key, mine, theirs)


@needs_ray
@pytest.mark.slow
def test_a_killed_worker_is_restarted_from_the_latest_checkpoint(tiny_model, recipe_file, ftx_home, ray_runs):
    run = ray_runs(recipe_file(KILL_RECIPE, "kill"))
    run_dir = run.wait_for_checkpoint(ftx_home / "runs", step=5)
    run.wait_for_ray_checkpoint(ftx_home / "ray")
    victims = run.workers()
    assert len(victims) == 2, victims
    os.kill(victims[-1], signal.SIGKILL)
    printed = run.finish()
    assert run.proc.returncode == 0, printed
    assert "Ray restarted the workers after a failure" in printed

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "succeeded" and summary["steps"] == 40
    restored = summary["resumed_from"]["step"]
    assert 5 <= restored < 40 and restored % 5 == 0
    steps = [r["step"] for r in records(run_dir)]
    assert steps == list(range(41))  # every step once: those after the checkpoint were redone, not repeated
    assert (run_dir / "adapter" / "adapter_model.safetensors").is_file()
    (row,) = registry_runs()
    assert row.status == "succeeded" and row.metrics["steps"] == 40


@needs_ray
@pytest.mark.slow
def test_a_run_whose_driver_died_resumes(tiny_model, recipe_file, ftx_home, ray_runs):
    recipe = recipe_file(KILL_RECIPE, "driver")
    first = ray_runs(recipe)
    run_dir = first.wait_for_checkpoint(ftx_home / "runs", step=10)
    trainers = first.workers()
    assert len(trainers) == 2, trainers
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait()
    # Nothing trains on unrecorded: the training workers end with their driver. (Ray's idle
    # agents of the dead local instance give up on their own later; the fixture ends them now.)
    deadline = time.monotonic() + 60
    while any(_alive(p) for p in trainers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in trainers if _alive(p)], "training workers outlived their SIGKILLed driver"
    first.cleanup()
    (killed,) = registry_runs()
    assert killed.status == "running" and killed.extra["engine"] == "ray"  # SIGKILL left no time to record
    assert not (run_dir / "adapter").exists()

    second = ray_runs(recipe, "--resume")
    printed = second.finish()
    assert second.proc.returncode == 0, printed
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["run_id"] == killed.id and summary["status"] == "succeeded" and summary["steps"] == 40
    # Up to 40: Ray ends the workers of a dead driver within seconds, and on a busy machine they
    # may save the final checkpoint first (the resume then trains nothing more: steps stay 40).
    assert 5 <= summary["resumed_from"]["step"] <= 40
    assert [r["step"] for r in records(run_dir)] == list(range(41))
    (row,) = registry_runs()
    assert row.status == "succeeded" and row.extra["resumes"] == 1
