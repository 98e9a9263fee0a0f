"""``ftx runs list`` and ``ftx runs show`` through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ftx.registry import STATUSES, Registry
from ftx.registry import store


@pytest.fixture
def seeded(monkeypatch):
    """Three runs with known ids: a finished local run, a queued hosted one, a failed hosted one."""
    ids = iter(["20261123-071530-ab12", "20261123-081000-cd34", "20261124-090000-ef56"])
    monkeypatch.setattr(store, "new_run_id", lambda now=None: next(ids))
    with Registry() as reg:
        local = reg.create_run("qwen-lora", "local", {"method": {"name": "lora", "r": 8}}, "hash-local",
                               model="Qwen/Qwen2.5-0.5B", data_hashes={"train.jsonl": "a" * 64},
                               estimated_cost_usd=0.40, output_dir="/runs/qwen-lora")
        reg.update_run(local.id, status="running")
        reg.add_event(local.id, "info", "epoch 1/2 done")
        reg.add_event(local.id, "warning", "grad norm spiked to 41.0")
        reg.update_run(local.id, status="succeeded", actual_cost_usd=0.50,
                       metrics={"train_loss": 0.8123, "eval_loss": 0.9}, artifacts={"adapter": "/runs/qwen-lora/adapter"})
        hosted = reg.create_run("gpt-sft", "openai", {}, "hash-openai", model="gpt-4o-mini", status="queued",
                                estimated_cost_usd=12.5, client_key="ck-1")
        reg.update_run(hosted.id, remote_job_id="ftjob-xyz")
        failed = reg.create_run("gemini-sft", "vertex", {}, "hash-vertex", model="gemini-2.0-flash",
                                estimated_cost_usd=10.0)
        reg.update_run(failed.id, status="failed", actual_cost_usd=8.0, error="quota exceeded in us-central1")
    return {"local": local.id, "hosted": hosted.id, "failed": failed.id}


def test_runs_group_is_in_help(cli):
    r = cli("--help")
    assert r.exit_code == 0 and "runs" in r.stdout
    r = cli("runs", "--help")
    assert r.exit_code == 0 and "list" in r.stdout and "show" in r.stdout


def test_cli_status_choices_match_the_registry():
    from ftx.cli import runs

    assert runs._STATUSES == STATUSES


def test_list_when_empty(cli):
    r = cli("runs", "list")
    assert r.exit_code == 0, r
    assert "no runs recorded yet" in r.stdout
    r = cli("runs", "list", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout) == []
    r = cli("runs", "list", "--backend", "local")
    assert "matching the filters" in r.stdout


def test_list_table_newest_first(cli, seeded):
    r = cli("runs", "list")
    assert r.exit_code == 0, r
    out = r.stdout
    positions = [out.index(seeded[k]) for k in ("failed", "hosted", "local")]
    assert positions == sorted(positions)
    for text in ("qwen-lora", "gpt-sft", "gemini-sft", "local", "openai", "vertex", "Qwen/Qwen2.5-0.5B",
                 "gpt-4o-mini", "succeeded", "queued", "failed", "$0.40", "$0.50", "$12.50", "$8.00",
                 "est. cost", "actual cost"):
        assert text in out, text
    with Registry() as reg:
        created = reg.get_run(seeded["local"]).created_at  # e.g. 2026-11-23T07:15:30.123Z
    assert created.replace("T", " ")[:16] in out


def test_list_filters_and_limit(cli, seeded):
    r = cli("runs", "list", "--backend", "openai")
    assert r.exit_code == 0 and seeded["hosted"] in r.stdout
    assert seeded["local"] not in r.stdout and seeded["failed"] not in r.stdout
    r = cli("runs", "list", "--status", "succeeded")
    assert seeded["local"] in r.stdout and seeded["hosted"] not in r.stdout
    r = cli("runs", "list", "-n", "1")
    assert seeded["failed"] in r.stdout and seeded["hosted"] not in r.stdout
    r = cli("runs", "list", "--status", "bogus")
    assert r.exit_code == 2 and "bogus" in r.stderr
    r = cli("runs", "list", "--limit", "0")
    assert r.exit_code == 2


def test_list_json(cli, seeded):
    r = cli("runs", "list", "--json", "--backend", "local")
    assert r.exit_code == 0, r
    data = json.loads(r.stdout)
    assert [d["id"] for d in data] == [seeded["local"]]
    assert data[0]["metrics"] == {"train_loss": 0.8123, "eval_loss": 0.9}
    assert data[0]["status"] == "succeeded" and data[0]["actual_cost_usd"] == 0.5


def test_show_everything_with_cost_difference_and_events(cli, seeded):
    r = cli("runs", "show", "20261123-07")
    assert r.exit_code == 0, r
    out = r.stdout
    for text in (seeded["local"], "qwen-lora", "succeeded", "local", "Qwen/Qwen2.5-0.5B", "hash-local",
                 "/runs/qwen-lora", "created", "started", "finished", "$0.40", "$0.50", "+$0.10 (+25.0%)", "train_loss", "0.8123",
                 "eval_loss", "adapter", "/runs/qwen-lora/adapter", "train.jsonl", "a" * 64, "method.name", "lora",
                 "epoch 1/2 done", "grad norm spiked to 41.0", "warning"):
        assert text in out, text
    with Registry() as reg:
        run = reg.get_run(seeded["local"])
    for stamp in (run.created_at, run.started_at, run.finished_at):
        assert stamp.replace("T", " ")[:19] in out


def test_show_under_budget_and_missing_actual(cli, seeded):
    r = cli("runs", "show", seeded["failed"])
    assert r.exit_code == 0, r
    assert "-$2.00 (-20.0%)" in r.stdout and "quota exceeded in us-central1" in r.stdout
    r = cli("runs", "show", seeded["hosted"])
    assert r.exit_code == 0, r
    assert "$12.50" in r.stdout and "difference" not in r.stdout
    assert "ftjob-xyz" in r.stdout and "ck-1" in r.stdout and "queued" in r.stdout


def test_show_json(cli, seeded):
    r = cli("runs", "show", seeded["local"], "--json")
    assert r.exit_code == 0, r
    data = json.loads(r.stdout)
    assert data["id"] == seeded["local"] and data["status"] == "succeeded"
    assert data["cost_difference"] == {"usd": 0.1, "percent": 25.0}
    assert [e["message"] for e in data["events"]] == ["epoch 1/2 done", "grad norm spiked to 41.0"]
    assert data["artifacts"] == {"adapter": "/runs/qwen-lora/adapter"}
    assert data["duration_s"] is not None and data["recipe_snapshot"] == {"method": {"name": "lora", "r": 8}}
    r = cli("runs", "show", seeded["hosted"], "--json", "--events", "0")
    data = json.loads(r.stdout)
    assert data["cost_difference"] is None and data["events"] == [] and data["remote_job_id"] == "ftjob-xyz"


def test_show_unknown_run_is_one_line_exit_2(cli, seeded):
    r = cli("runs", "show", "nope")
    assert r.exit_code == 2, r
    assert r.stderr.startswith("error: no run matches 'nope'") and r.stderr.count("\n") == 1
    assert r.stdout == ""


def test_show_ambiguous_prefix_lists_candidates(cli, seeded):
    r = cli("runs", "show", "20261123")
    assert r.exit_code == 2, r
    assert "ambiguous" in r.stderr and seeded["local"] in r.stderr and seeded["hosted"] in r.stderr
    assert seeded["failed"] not in r.stderr and r.stderr.count("\n") == 1


def test_cli_honours_ftx_registry(cli, tmp_path, monkeypatch):
    path = tmp_path / "other.db"
    with Registry(path) as reg:
        run = reg.create_run("elsewhere", "local", {}, "h")
    assert "no runs recorded" in cli("runs", "list").stdout
    monkeypatch.setenv("FTX_REGISTRY", str(path))
    r = cli("runs", "list")
    assert run.id in r.stdout and "elsewhere" in r.stdout


def test_importing_the_cli_module_loads_neither_registry_nor_rich():
    code = ("import sys, ftx.cli.runs; "
            "print(sorted(m for m in ('ftx.registry', 'sqlite3', 'rich') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
