"""Soak: 60 hosted runs under ~26% injected faults must end with 60 successes and exactly 60 jobs.

Each run is `ftx run RECIPE --backend openai --yes` (in-process, the real openai SDK) against the
project's fake OpenAI server on 127.0.0.1, which faults every request with probability 0.26: HTTP
503/429/500, connection resets, and answers lost after the request took effect (a job created
whose answer never arrives). Each run has its own idempotency namespace, so each must create one
job of its own. Baselines, measured in the same run: the same 60 runs with no faults (wall time),
and the same faults with one retry budget per provider call shared by all its requests
(``FTX_RETRY_PER_REQUEST=0``: how ftx retried before each request got its own budget).

Writes benchmarks/results/hosted_soak.json. Loopback only; bounded (each run's retries stop at
the FTX_RETRY_DEADLINE of 120 s; the whole soak is capped by --timeout).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from results_file import write_result  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))


def _recipe(directory: Path) -> Path:
    lines = "".join(json.dumps({"messages": [{"role": "user", "content": f"What is {i} plus {i}?"},
                                             {"role": "assistant", "content": f"{2 * i}."}]}) + "\n"
                    for i in range(40))
    (directory / "train.jsonl").write_text(lines, encoding="utf-8")
    path = directory / "soak.yaml"
    path.write_text("name: soak\nmodel: {openai: gpt-4.1-mini-2025-04-14}\ndata: {train: train.jsonl}\n"
                    "hyperparameters: {epochs: 1}\n", encoding="utf-8")
    return path


def soak(runs: int, rate: float, seed: int, timeout: float, per_request: bool = True) -> dict:
    from click.testing import CliRunner

    from fakes.openai_server import FakeOpenAI
    from ftx.cli import _add_commands, cli
    from ftx.hosted.retry import set_default_policy

    _add_commands()
    set_default_policy(None)
    work = Path(tempfile.mkdtemp(prefix="ftx-soak-"))
    recipe = _recipe(work)
    outcomes, started = [], time.perf_counter()
    with FakeOpenAI(tick_seconds=0.001, lifetime=timeout + 60) as server:
        os.environ.update({"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-soak-0123456789abcdef",
                           "FTX_HOME": str(work / "home"), "FTX_POLL_INTERVAL": "0.01", "FTX_RETRY_WAIT": "0.01",
                           "FTX_RETRY_MAX_WAIT": "0.05", "FTX_RETRY_DEADLINE": "120", "FTX_HTTP_TIMEOUT": "5",
                           "FTX_TODAY": "2026-12-03", "FTX_RETRY_PER_REQUEST": "1" if per_request else "0"})
        server.random_faults(rate, seed)
        for i in range(runs):
            if time.perf_counter() - started > timeout:
                break
            os.environ["FTX_KEY_NAMESPACE"] = f"soak-{seed}-{i}"
            result = CliRunner().invoke(cli, ["run", str(recipe), "--backend", "openai", "--yes"],
                                        catch_exceptions=True)
            lines = [line for line in (result.stderr or "").splitlines() if line.startswith("error:")]
            outcomes.append({"run": i, "exit": result.exit_code, "error": lines[-1] if lines else None})
        requests, jobs, injected = len(server.requests), len(server.jobs), server.faults_injected
    wall = time.perf_counter() - started
    return {"runs": len(outcomes), "succeeded": sum(o["exit"] == 0 for o in outcomes), "jobs": jobs,
            "requests": requests, "faults_injected": injected,
            "fault_share": round(injected / requests, 3) if requests else 0.0, "wall_s": round(wall, 2),
            "failures": [o for o in outcomes if o["exit"] != 0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--rate", type=float, default=0.26)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "hosted_soak.json")
    args = parser.parse_args()
    soak(1, 0.0, args.seed + 1000, args.timeout)  # warm-up: imports and first connections are not measured
    baseline = soak(args.runs, 0.0, args.seed, args.timeout)
    shared = soak(args.runs, args.rate, args.seed, args.timeout, per_request=False)
    faulted = soak(args.runs, args.rate, args.seed, args.timeout)
    result = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
              "settings": {"runs": args.runs, "fault_rate": args.rate, "seed": args.seed},
              "baseline_no_faults": baseline, "baseline_shared_budget": shared, "with_faults": faulted,
              "wall_ratio": round(faulted["wall_s"] / baseline["wall_s"], 2) if baseline["wall_s"] else None}
    write_result(args.out, result)
    print(f"{'':<22}{'runs':>6}{'ok':>6}{'jobs':>6}{'requests':>10}{'faults':>8}{'wall s':>9}")
    for label, row in (("no faults (baseline)", baseline), ("faults, shared budget", shared),
                       (f"{args.rate:.0%} faults", faulted)):
        print(f"{label:<22}{row['runs']:>6}{row['succeeded']:>6}{row['jobs']:>6}{row['requests']:>10}"
              f"{row['faults_injected']:>8}{row['wall_s']:>9}")
    print(f"wall-time ratio (faults / baseline): {result['wall_ratio']}")
    if faulted["succeeded"] != faulted["runs"] or faulted["jobs"] != faulted["runs"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
