"""The Ray path's overhead vs the torchrun path on the same 2-process CPU run.

Runs the same recipe (ftx/tiny-llama, LoRA, quickstart data, batch 8 per process) as
``ftx run --nproc 2`` (torchrun, the baseline) and ``ftx run --ray --workers 2`` (a new local Ray
instance, Ray Train), interleaved, ``--rounds`` times each, each in a fresh ``ftx run`` process.
Per run: wall time of the command, the training throughput rank 0 measured (real tokens/s,
evaluation excluded) and the training time; start-up = wall time - training time (connecting or
starting the processes, loading the model, the sample answers and saving, which both paths do
alike, so the difference between the two is what Ray adds).

Writes benchmarks/results/ray.json. ``--quick``: 1 round of 20 steps.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT / "recipes" / "data" / "quickstart.jsonl"

RECIPE = """\
name: bench-ray
model: {{local: ftx/tiny-llama}}
data: {{train: {data}}}
method: {{name: lora}}
hyperparameters: {{max_steps: {steps}, batch_size: 8, max_length: 64, learning_rate: 3.0e-3, seed: 42}}
"""

PATHS = {
    "torchrun": ["--nproc", "2"],
    "ray": ["--ray", "--workers", "2"],
}


def one_run(recipe: Path, home: Path, flags: list[str]) -> dict:
    env = {**os.environ, "FTX_HOME": str(home), "HF_HUB_OFFLINE": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    before = set((home / "runs").iterdir()) if (home / "runs").exists() else set()
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ftx", "run", str(recipe), *flags], env=env,
                          capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"ftx run {' '.join(flags)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    (run_dir,) = set((home / "runs").iterdir()) - before
    summary = json.loads((run_dir / "summary.json").read_text())
    return {"wall_s": round(wall, 2), "train_s": summary["train_time_s"],
            "startup_s": round(wall - summary["train_time_s"], 2),
            "tokens_per_second": summary["tokens_per_second"], "steps": summary["steps"],
            "final_train_loss": summary["final_train_loss"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds, steps = (1, 20) if args.quick else (args.rounds, args.steps)
    load_start = os.getloadavg()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ftx-bench-ray-") as tmp:
        home = Path(tmp) / "home"
        recipe = Path(tmp) / "bench.yaml"
        recipe.write_text(RECIPE.format(data=DATA, steps=steps), encoding="utf-8")
        subprocess.run([sys.executable, "-c", "from ftx.plugins.local.models import resolve_model; "
                        "resolve_model('ftx/tiny-llama')"], env={**os.environ, "FTX_HOME": str(home)}, check=True)
        runs: dict[str, list[dict]] = {name: [] for name in PATHS}
        for i in range(rounds):
            for name, flags in PATHS.items():  # interleaved: a load change hits both paths
                result = one_run(recipe, home, flags)
                runs[name].append(result)
                print(f"round {i + 1} {name:8s} wall {result['wall_s']:6.1f} s  start-up {result['startup_s']:6.1f} s  "
                      f"train {result['train_s']:5.1f} s  {result['tokens_per_second']:8,.0f} tokens/s", flush=True)

    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[name])

    t, r = "torchrun", "ray"
    losses = {name: [x["final_train_loss"] for x in runs[name]] for name in PATHS}
    out = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "total_s": round(time.perf_counter() - started, 1),
        "setup": f"ftx/tiny-llama, LoRA, quickstart data, {steps} steps, batch 8 per process x 2 processes (CPU, gloo), "
                 f"{rounds} interleaved rounds, medians",
        "runs": runs,
        "median": {name: {k: median(name, k) for k in ("wall_s", "startup_s", "train_s", "tokens_per_second")}
                   for name in PATHS},
        "tokens_per_second_ratio_ray_vs_torchrun": round(median(r, "tokens_per_second") / median(t, "tokens_per_second"), 3),
        "startup_ratio_ray_vs_torchrun": round(median(r, "startup_s") / median(t, "startup_s"), 2),
        "startup_extra_s": round(median(r, "startup_s") - median(t, "startup_s"), 1),
        "wall_ratio_ray_vs_torchrun": round(median(r, "wall_s") / median(t, "wall_s"), 2),
        "same_final_loss": all(abs(a - b) < 1e-4 for a, b in zip(losses[t], losses[r])),
    }
    path = HERE / "results" / "ray.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"tokens/s ray / torchrun: {out['tokens_per_second_ratio_ray_vs_torchrun']}; start-up "
          f"{out['median'][r]['startup_s']} s vs {out['median'][t]['startup_s']} s "
          f"(x{out['startup_ratio_ray_vs_torchrun']}); wrote {path}")


if __name__ == "__main__":
    main()
