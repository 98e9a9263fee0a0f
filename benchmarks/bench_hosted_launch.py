"""A hosted launch on a real-sized dataset: ``ftx run --backend openai --yes --detach`` until the
job exists, against a minimal script doing the same upload + create with the OpenAI SDK, both
against the project's fake OpenAI server on loopback (tests/fakes), in the same run.

ftx does more than the script: it validates every record, counts billing tokens, checks
duplicates and train/validation leakage, estimates the cost, converts the data and records the
run in the registry before uploading; the ratio is what that costs. Issue 13's goal: <= 3x.
Also, in the same run: a floor script (the SDK script that first parses every line and counts
every message in o200k: the least a launch showing a token-exact cost can do), ftx with the
duplicate index in its own process (``FTX_DATA_WORKERS=0``, no forked child), the dry run alone (``--dry-run``) with its peak RSS and where its CPU goes (launch_stages.py,
once), and the launch again with
``FTX_NO_ORJSON=1`` (what it costs without the optional ``ftx[fast]`` extra: the stdlib json).

Each repeat gets a fresh fake server and ftx home (nothing uploaded or recorded before), runs the
SDK script then ftx; figures are medians over repeats. The machine is shared: the load average is
recorded beside them.

Writes benchmarks/results/hosted_launch.json. Run:
.venv/bin/python benchmarks/bench_hosted_launch.py [--examples 100000] [--repeat 3] [--data FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

from bench_foundation import FTX, make_chat_file, measured, median_row  # noqa: E402
from results_file import write_result  # noqa: E402

MODEL = "gpt-4.1-mini-2025-04-14"  # live on FTX_TODAY below (nano retired 2026-10-23)
SDK_SCRIPT = """
import sys
from openai import OpenAI
client = OpenAI()
with open(sys.argv[1], "rb") as fh:
    train = client.files.create(file=fh, purpose="fine-tune")
client.fine_tuning.jobs.create(model=sys.argv[2], training_file=train.id)
"""

# The least a launch can do that shows a token-exact cost before spending: the SDK script with,
# before its upload, every line parsed and every message's text counted in o200k (each distinct
# text once, the same native tokenizer ftx uses). What ftx adds beyond it is the checks (records,
# duplicates, leakage, statistics), the conversion, the registry and the start-up.
FLOOR_SCRIPT = """
import sys
try:
    from orjson import loads
except ImportError:
    from json import loads
from bpe_openai._bindings import tokenizer_for_encoding
count = tokenizer_for_encoding("o200k_base").count
seen = {}
total = 0
with open(sys.argv[1], "rb") as fh:
    for line in fh:
        for m in loads(line)["messages"]:
            text = m.get("content") or ""
            n = seen.get(text)
            if n is None:
                n = seen[text] = count(text)
            total += n
from openai import OpenAI
client = OpenAI()
with open(sys.argv[1], "rb") as fh:
    train = client.files.create(file=fh, purpose="fine-tune")
client.fine_tuning.jobs.create(model=sys.argv[2], training_file=train.id)
"""


def main() -> None:
    from fakes.openai_server import FakeOpenAI

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", default=None, help="reuse this chat file (made by make_chat_file) instead")
    parser.add_argument("--no-stdlib-variant", action="store_true",
                        help="skip the launch with FTX_NO_ORJSON=1 (the stdlib json)")
    parser.add_argument("--out", default=str(HERE / "results" / "hosted_launch.json"))
    args = parser.parse_args()
    load_before = [round(x, 2) for x in os.getloadavg()]
    runs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="ftx-bench-hosted-") as tmp:
        work = Path(tmp)
        data = Path(args.data) if args.data else work / "train.jsonl"
        if not args.data:
            make_chat_file(data, args.examples)
        examples = sum(1 for _ in data.open("rb"))
        recipe = work / "r.yaml"
        recipe.write_text(f"name: launch\nmodel: {{openai: {MODEL}}}\ndata: {{train: {data}}}\n", encoding="utf-8")
        dry = None
        for attempt in range(args.repeat):
            with FakeOpenAI(lifetime=3600) as server:
                env = {**os.environ, "OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-bench-not-a-key",
                       "FTX_HOME": str(work / f"home{attempt}"), "FTX_TODAY": "2026-12-03"}
                env.pop("PYTHONDONTWRITEBYTECODE", None)
                if dry is None:
                    dry = measured([FTX, "run", str(recipe), "--backend", "openai", "--dry-run"], env, tmp)
                    stages = json.loads(subprocess.run([sys.executable, str(HERE / "launch_stages.py"), str(recipe)],
                                                       env=env, cwd=tmp, check=True, capture_output=True,
                                                       text=True).stdout)
                sdk = measured([sys.executable, "-c", SDK_SCRIPT, str(data), MODEL], env, tmp)
                floor = measured([sys.executable, "-c", FLOOR_SCRIPT, str(data), MODEL], env, tmp)
                ftx = measured([FTX, "run", str(recipe), "--backend", "openai", "--yes", "--detach"], env, tmp)
                row = {"sdk_script": sdk, "floor_script": floor, "ftx_run_detach": ftx, "jobs_created": len(server.jobs),
                       "ratio_wall": round(ftx["wall_s"] / max(sdk["wall_s"], 1e-9), 2),
                       "load_average": [round(x, 2) for x in os.getloadavg()]}
            with FakeOpenAI(lifetime=3600) as server:  # the duplicate index in this process (no fork)
                one_env = {**env, "OPENAI_BASE_URL": server.url, "FTX_DATA_WORKERS": "0",
                           "FTX_HOME": str(work / f"home{attempt}-one-process")}
                row["ftx_run_detach_one_process"] = measured(
                    [FTX, "run", str(recipe), "--backend", "openai", "--yes", "--detach"], one_env, tmp)
            if not args.no_stdlib_variant:  # its own fresh server and home: nothing uploaded or recorded
                with FakeOpenAI(lifetime=3600) as server:
                    plain_env = {**env, "OPENAI_BASE_URL": server.url, "FTX_NO_ORJSON": "1",
                                 "FTX_HOME": str(work / f"home{attempt}-stdlib")}
                    row["ftx_run_detach_stdlib_json"] = measured(
                        [FTX, "run", str(recipe), "--backend", "openai", "--yes", "--detach"], plain_env, tmp)
                    row["ftx_run_detach_stdlib_json"]["jobs_created"] = len(server.jobs)
            runs.append(row)
            print(f"  repeat {attempt + 1}: ftx {ftx['wall_s']:.1f} s ({ftx['cpu_s']:.1f} s CPU), "
                  f"SDK script {sdk['wall_s']:.1f} s ({sdk['cpu_s']:.1f} s CPU)", flush=True)
        size = data.stat().st_size
    ftx = median_row([r["ftx_run_detach"] for r in runs])
    sdk = median_row([r["sdk_script"] for r in runs])
    floor = median_row([r["floor_script"] for r in runs])
    one = median_row([r["ftx_run_detach_one_process"] for r in runs])
    stdlib = median_row([r["ftx_run_detach_stdlib_json"] for r in runs]) if "ftx_run_detach_stdlib_json" in runs[0] else None
    result = {"examples": examples, "bytes": size, "repeats": len(runs), "jobs_created": [r["jobs_created"] for r in runs],
              "ftx_run_detach": ftx, "ftx_dry_run": dry, "sdk_script": sdk, "ftx_run_detach_stdlib_json": stdlib,
              "dry_run_stages_cpu_s": stages, "floor_script": floor, "ftx_run_detach_one_process": one,
              "ratio_floor_wall": round(floor["wall_s"] / max(sdk["wall_s"], 1e-9), 1),
              "ratio_over_floor_wall": round(ftx["wall_s"] / max(floor["wall_s"], 1e-9), 1),
              "ratio_wall": round(ftx["wall_s"] / max(sdk["wall_s"], 1e-9), 1),
              "ratio_wall_per_repeat": [r["ratio_wall"] for r in runs],
              "ratio_cpu": round(ftx["cpu_s"] / max(sdk["cpu_s"], 1e-9), 1), "goal_ratio": 3.0,
              "load_average_before": load_before, "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
              "runs": runs}
    out = write_result(args.out, result)
    print(f"{examples:,} examples: ftx run --detach {ftx['wall_s']:.1f} s ({ftx['cpu_s']:.1f} s CPU, "
          f"peak {ftx['peak_rss_mb']:,.0f} MB); dry run {dry['wall_s']:.1f} s; SDK script {sdk['wall_s']:.1f} s "
          f"-> {result['ratio_wall']}x wall, {result['ratio_cpu']}x CPU (medians of {len(runs)})")
    print(f"-> {out}")


if __name__ == "__main__":
    main()
