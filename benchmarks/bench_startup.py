"""Start-up of every light ftx command against ``python -c pass``, measured in the same run.

Each command runs as a fresh process (bytecode cached by a warm-up run), interleaved with the
baseline, ``--repeat`` times; the figure is the median. Wall time and CPU time (user + sys of
the child, from wait4) are both recorded: on a machine whose cores are shared, CPU time is the
steadier of the two. The goal (issue 13): every light command under 5x the baseline.

Beside them, the floor of the commands that read a recipe, in the same run: ``import ftx.cli``,
then with pydantic, then with the recipe schema built and used once, then with rich imported (see
``FLOOR``): what no change to ftx's own work can take away while the schema is pydantic and the
tables are rich's.

Also: ``ftx jobs list`` and ``ftx jobs status`` on a registry of ``--runs`` runs (indexed queries).

Writes benchmarks/results/startup.json. Run: .venv/bin/python benchmarks/bench_startup.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results_file import write_result  # noqa: E402

ROOT = HERE.parent
BIN = Path(sys.executable).parent
FTX = str(BIN / "ftx")
GOAL = 5.0

# What a command does beyond starting (the report prints it beside the figures). The commands
# that read a recipe validate it once (pydantic: the import and the ~38 model classes of the
# schema), and those that read the data set do the data work.
WORK = {
    "ftx data stats (320 examples)": "reads and parses the data, counts characters, runs the near-duplicate "
                                     "index (pure-Python MinHash), the rich table",
    "ftx recipes validate": "recipe schema (pydantic) once, data read and split once, per named backend "
                            "(local, openai) its capability checks and the data plan's checks (format, records, "
                            "objective; not the statistics, which only warn)",
    "ftx estimate": "recipe schema (pydantic) once, data read and split once, o200k counts from the token "
                    "store, every backend's estimate (13 rows; local token counts once for its 8 devices), "
                    "the rich table",
    "ftx run --dry-run (local)": "recipe schema (pydantic), data plan (read, split, stats, duplicate/leak check), "
                                 "local estimate, the rich plan",
    "ftx run --backend openai --dry-run": "recipe schema (pydantic), data plan (stats, duplicate/leak check; "
                                          "o200k counts from the token store), the provider's data preparation "
                                          "and checks, the rich plan with the request",
}

# What the commands above cannot go below, measured in the same run: each a fresh process, as
# ftx runs it (entry-point cache in use, pydantic told there are no pydantic plugins).
FLOOR_CODE = "from ftx.entrypoints import quiet_pydantic_plugins; quiet_pydantic_plugins(); "
FLOOR = {
    "import ftx.cli (every command starts so)": "import ftx.cli",
    "+ pydantic (import pydantic.main)": FLOOR_CODE + "import ftx.cli, pydantic.main",
    "+ pydantic + the recipe schema, validated once": FLOOR_CODE + (
        "import ftx.cli; from ftx.recipe.schema import Recipe; "
        "Recipe.model_validate({'name': 's', 'model': {'local': 'm'}, 'data': {'train': 't.jsonl'}})"),
    "+ pydantic + schema + rich (console, table)": FLOOR_CODE + (
        "import ftx.cli; from ftx.recipe.schema import Recipe; "
        "Recipe.model_validate({'name': 's', 'model': {'local': 'm'}, 'data': {'train': 't.jsonl'}}); "
        "import rich.console, rich.table"),
}


def measure(cmd: list[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed ({os.waitstatus_to_exitcode(status)}): {' '.join(cmd)}")
    return wall, usage.ru_utime + usage.ru_stime


def seed_registry(home: Path, runs: int) -> dict[str, float]:
    """A registry of ``runs`` runs (half hosted, each with a job id); times one job-id lookup
    through the index against the scan of every run that ``ftx jobs status`` did before."""
    code = f"""
import os
os.environ["FTX_HOME"] = {str(home)!r}
from ftx.registry import Registry
from ftx.registry.models import utc_now
reg = Registry()
now = utc_now()
rows = [(f"20261203-{{i:06d}}-beef", f"r{{i}}", "h", "openai" if i % 2 else "local", "gpt-4.1-mini",
         f"ftjob-{{i:06d}}" if i % 2 else None, "succeeded", now, now) for i in range({runs})]
with reg._write() as conn:
    conn.executemany("INSERT INTO runs (id, name, recipe_hash, backend, model, remote_job_id, status, created_at,"
                     " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
job = f"ftjob-{{({runs} // 2) | 1:06d}}"
import json, time
t = time.perf_counter(); found = reg.find_by_remote_job(job); indexed = time.perf_counter() - t
t = time.perf_counter(); scan = [r for r in reg.list_runs(limit=None) if r.remote_job_id == job]
scanned = time.perf_counter() - t
assert [r.id for r in found] == [r.id for r in scan]
print(json.dumps({{"job_lookup_indexed_s": indexed, "job_lookup_scan_all_s": scanned}}))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--out", default=str(HERE / "results" / "startup.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ftx-bench-startup-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "FTX_HOME": str(work / "home"), "HF_HUB_OFFLINE": "1"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: bytecode cached after the warm-up
        data = work / "train.jsonl"
        data.write_text((ROOT / "recipes" / "data" / "quickstart.jsonl").read_text(encoding="utf-8"))
        recipe = work / "r.yaml"
        recipe.write_text(f"name: s\nmodel: {{local: ftx/tiny-llama, openai: gpt-4.1-mini-2025-04-14}}\n"
                          f"data: {{train: {data}}}\n")
        commands = {
            "ftx --help": [FTX, "--help"],
            "ftx plugins": [FTX, "plugins"],
            "ftx recipes list": [FTX, "recipes", "list"],
            "ftx data validate (320 examples)": [FTX, "data", "validate", str(data)],
            "ftx data stats (320 examples)": [FTX, "data", "stats", str(data)],
            "ftx recipes validate": [FTX, "recipes", "validate", str(recipe)],
            "ftx estimate": [FTX, "estimate", str(recipe)],
            "ftx run --dry-run (local)": [FTX, "run", str(recipe), "--backend", "local", "--dry-run"],
            "ftx run --backend openai --dry-run": [FTX, "run", str(recipe), "--backend", "openai", "--dry-run"],
            "ftx runs list": [FTX, "runs", "list"],
            "ftx jobs list": [FTX, "jobs", "list"],
        }
        baseline = [sys.executable, "-c", "pass"]
        floors = {name: [sys.executable, "-c", code] for name, code in FLOOR.items()}
        for cmd in [baseline, *commands.values(), *floors.values()]:  # warm-up: bytecode, caches, page cache
            measure(cmd, env, tmp)
        samples: dict[str, list[tuple[float, float]]] = {"python -c pass": [], **{k: [] for k in commands}}
        floor_samples: dict[str, list[tuple[float, float]]] = {k: [] for k in floors}
        for _ in range(args.repeat):
            for name, cmd in [("python -c pass", baseline), *commands.items()]:
                samples[name].append(measure(cmd, env, tmp))
            for name, cmd in floors.items():
                floor_samples[name].append(measure(cmd, env, tmp))
        lookup = seed_registry(work / "home", args.runs)
        registry = {}
        for name, cmd in (("ftx jobs list", [FTX, "jobs", "list"]), ("ftx runs list", [FTX, "runs", "list"])):
            registry[name] = [measure(cmd, env, tmp) for _ in range(3)]
        load = [round(x, 2) for x in os.getloadavg()]

    def med(values: list[tuple[float, float]], i: int) -> float:
        return statistics.median(v[i] for v in values)

    base_wall, base_cpu = med(samples["python -c pass"], 0), med(samples["python -c pass"], 1)
    rows = {name: {"wall_s": round(med(v, 0), 4), "cpu_s": round(med(v, 1), 4),
                   "ratio_wall": round(med(v, 0) / base_wall, 2), "ratio_cpu": round(med(v, 1) / base_cpu, 2)}
            for name, v in samples.items()}
    floor = {name: {"wall_s": round(med(v, 0), 4), "cpu_s": round(med(v, 1), 4),
                    "ratio_cpu": round(med(v, 1) / base_cpu, 2)} for name, v in floor_samples.items()}
    reg = {name: {"wall_s": round(med(v, 0), 4), "cpu_s": round(med(v, 1), 4),
                  "ratio_cpu_vs_empty_registry": round(med(v, 1) / rows[name]["cpu_s"], 2) if name in rows else None}
           for name, v in registry.items()}
    result = {"repeat": args.repeat, "load_average_at_end": load, "goal_ratio": GOAL, "work": WORK,
              "baseline": rows.pop("python -c pass"), "commands": rows, "floor": floor,
              "registry_runs": args.runs, "registry": reg, "job_lookup": lookup,
              "all_under_goal_cpu": all(r["ratio_cpu"] < GOAL for r in rows.values()),
              "all_under_goal_wall": all(r["ratio_wall"] < GOAL for r in rows.values())}
    out = write_result(args.out, result)
    print(f"python -c pass: {base_wall * 1000:.0f} ms wall, {base_cpu * 1000:.0f} ms CPU")
    for name, r in rows.items():
        print(f"  {name:<38} {r['wall_s'] * 1000:6.0f} ms ({r['ratio_wall']:4.1f}x)  CPU {r['cpu_s'] * 1000:6.0f} ms "
              f"({r['ratio_cpu']:4.1f}x)")
    print("floor (what a recipe command cannot go below):")
    for name, r in floor.items():
        print(f"  {name:<48} CPU {r['cpu_s'] * 1000:6.0f} ms ({r['ratio_cpu']:4.1f}x)")
    for name, r in reg.items():
        print(f"  {name} with {args.runs:,} runs: {r['cpu_s'] * 1000:.0f} ms CPU "
              f"({r['ratio_cpu_vs_empty_registry'] or '-'}x the empty registry)")
    print(f"  job-id lookup with {args.runs:,} runs: indexed {lookup['job_lookup_indexed_s'] * 1000:.2f} ms, "
          f"scan of every run {lookup['job_lookup_scan_all_s'] * 1000:.0f} ms")
    print(f"-> {out}")


if __name__ == "__main__":
    main()
