"""The run registry on SQLite and on PostgreSQL: the operations a run makes (create, status
updates, metric merges, events, a launch claim) and a listing, timed on both in the same run.

    python benchmarks/bench_registry.py [--runs 200] [--out benchmarks/results/registry.json]

PostgreSQL is a throwaway local server (initdb + pg_ctl, tests/postgres_server.py), so the
figures compare the databases, not a network. Results are ratios against SQLite, the default.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def workload(location: str, runs: int) -> dict[str, float]:
    from ftx.registry import Registry

    with Registry(location) as reg:
        started = time.perf_counter()
        for i in range(runs):
            run = reg.create_run(f"r{i % 10}", "openai", {"method": {"name": "lora"}}, "h", client_key=None)
            reg.update_run(run.id, status="running")
            reg.merge_json(run.id, "metrics", {"loss": 1.0 / (i + 1)})
            reg.add_event(run.id, "info", "step")
            reg.update_run(run.id, status="succeeded")
        per_run = (time.perf_counter() - started) / runs
        started = time.perf_counter()
        for i in range(runs):
            reg.claim_launch(f"ck-{i}", "bench", 60, name="c", backend="openai", recipe_snapshot={}, recipe_hash="h")
        per_claim = (time.perf_counter() - started) / runs
        listings = []
        for _ in range(20):
            t = time.perf_counter()
            reg.list_runs(limit=50, recipe="r3")
            listings.append(time.perf_counter() - t)
    return {"run_lifecycle_ms": per_run * 1000, "claim_ms": per_claim * 1000,
            "list_50_ms": statistics.median(listings) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "registry.json"))
    args = parser.parse_args()
    from postgres_server import PostgresServer

    with tempfile.TemporaryDirectory() as folder:
        sqlite = workload(str(Path(folder) / "bench.db"), args.runs)
    server = PostgresServer().start()
    try:
        postgres = workload(server.create_database("bench"), args.runs)
    finally:
        server.stop()
    result = {"runs": args.runs, "machine": {"python": platform.python_version(), "platform": platform.platform()},
              "sqlite": sqlite, "postgresql": postgres,
              "postgresql_over_sqlite": {k: round(postgres[k] / sqlite[k], 2) for k in sqlite}}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
