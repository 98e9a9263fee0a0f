"""Killed runs are shown as interrupted (and whether they resume), and ``--resume`` names the
run it found when other overrides keep it from resuming (issue 9, section 5)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "recipes" / "data" / "quickstart.jsonl"


def dead_process() -> dict:
    """The identity of a process that has exited (as a killed run's row holds it)."""
    from ftx.planning import process_identity

    proc = subprocess.run([sys.executable, "-c", "import json, ftx.planning as p; "
                           "print(json.dumps(p.process_identity()))"], capture_output=True, text=True, check=True)
    identity = json.loads(proc.stdout)
    assert identity["host"] == process_identity()["host"]
    return identity


def recipe_file(tmp_path: Path) -> Path:
    path = tmp_path / "r.yaml"
    path.write_text(f"name: killed\nmodel: {{local: ftx/tiny-llama}}\ndata: {{train: {QUICKSTART}}}\n")
    return path


def record(recipe, status: str, extra: dict, **fields):
    from ftx.registry import Registry

    with Registry() as registry:
        run = registry.create_run(recipe.recipe.name, recipe.backend or "local", recipe.to_dict(),
                                  recipe.snapshot_hash(), model=recipe.model, status=status, extra=extra)
        if fields:
            run = registry.update_run(run.id, **fields)
    return run


def test_runs_list_shows_killed_runs_as_interrupted(cli, ftx_home, tmp_path):
    from ftx.recipe import load_recipe

    recipe = load_recipe(recipe_file(tmp_path), [], backend="local")
    marker = tmp_path / "latest.json"
    marker.write_text("{}")
    resumable = record(recipe, "running", {**dead_process(), "resume_marker": str(marker)})
    fresh = record(recipe, "running", dead_process())
    hosted = record(recipe, "uploading", dead_process(), remote_job_id="ftjob-123")
    from ftx.planning import process_identity

    alive = record(recipe, "running", process_identity())
    rows = {r["id"]: r for r in json.loads(cli("runs", "list", "--json").stdout)}
    assert rows[resumable.id]["shown_status"] == "interrupted" and "--resume" in rows[resumable.id]["status_note"]
    assert rows[fresh.id]["shown_status"] == "interrupted" and "first checkpoint" in rows[fresh.id]["status_note"]
    assert rows[hosted.id]["shown_status"] == "interrupted" and "ftjob-123" in rows[hosted.id]["status_note"]
    assert rows[alive.id]["shown_status"] == "running" and rows[alive.id]["status_note"] is None
    table = cli("runs", "list").stdout
    assert table.count("interrupted") >= 3 and f"{resumable.id}: resumable" in table


def test_resume_names_the_run_it_found_and_what_differs(cli, ftx_home, tmp_path):
    from ftx.recipe import load_recipe

    path = recipe_file(tmp_path)
    killed_with = load_recipe(path, ["hyperparameters.seed=7"], backend="local")
    marker = tmp_path / "latest.json"
    marker.write_text("{}")
    run = record(killed_with, "interrupted", {**dead_process(), "resume_marker": str(marker)})
    r = cli("run", path, "--backend", "local", "--dry-run", "--resume")
    assert r.exit_code == 2
    assert f"run {run.id} (interrupted" in r.stderr and "hyperparameters.seed: 7 -> 42" in r.stderr
    ok = cli("run", path, "--backend", "local", "--dry-run", "--resume", "hyperparameters.seed=7")
    assert ok.exit_code == 0, ok
    assert run.id in ok.stdout
