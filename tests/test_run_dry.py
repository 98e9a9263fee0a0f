"""`ftx run --dry-run`: resolves, validates data and backend capabilities, prints the plan, spends nothing."""

from __future__ import annotations

import json

import pytest

from ftx.recipe.shipped import shipped_dir

CHAT = '{"messages": [{"role": "user", "content": "q%d"}, {"role": "assistant", "content": "a%d"}]}\n'


def recipe(write, body: str = "", data: str | None = None, name: str = "r.yaml"):
    write("train.jsonl", data if data is not None else "".join(CHAT % (i, i) for i in range(40)))
    return write(name, f"""\
name: demo
model: {{local: ftx/tiny-llama, openai: gpt-4.1-mini-2025-04-14, vertex: gemini-3-flash-lite}}
data:
  train: train.jsonl
{body}""")


@pytest.mark.parametrize("backend", ["local", "openai", "vertex"])
def test_quickstart_dry_run_plans_on_every_backend_and_spends_nothing(cli, ftx_home, backend):
    r = cli("run", "quickstart", "--backend", backend, "--dry-run", "--json")
    assert r.exit_code == 0, r
    plan = json.loads(r.stdout)
    assert plan["backend"] == backend
    assert plan["data"]["train_examples"] == 256 and plan["data"]["validation_examples"] == 64
    assert plan["recipe"]["model"] == {"local": "ftx/tiny-llama", "openai": "gpt-4.1-mini-2025-04-14",
                                       "vertex": "gemini-3-flash-lite"}[backend]
    assert cli("runs", "list", "--json").stdout.strip() in ("[]", "")  # nothing recorded
    assert not (ftx_home / "runs").exists()  # nothing trained or written


def test_openai_dry_run_shows_the_exact_request(cli):
    r = cli("run", "quickstart", "--backend", "openai", "--dry-run", "--json")
    request = json.loads(r.stdout)["plan"]["request"]
    assert request["model"] == "gpt-4.1-mini-2025-04-14"
    assert request["method"]["type"] == "supervised"
    assert request["method"]["supervised"]["hyperparameters"]["n_epochs"] == 3


def test_human_readable_plan(cli):
    r = cli("run", "quickstart", "--backend", "local", "--dry-run")
    assert r.exit_code == 0, r
    assert "Plan: quickstart on local (dry run: nothing is uploaded, launched or spent)" in r.stdout
    assert "256 train + 64 validation examples" in r.stdout
    assert "lora (r=16, alpha=32" in r.stdout


def test_unknown_backend_lists_installed(cli):
    r = cli("run", "quickstart", "--backend", "nope", "--dry-run")
    assert r.exit_code == 2
    line = r.stderr.strip()
    assert line.startswith("error: unknown backend 'nope'; installed: ") and "local" in line and "vertex" in line


def test_fields_a_backend_cannot_honour_are_refused_by_name(cli):
    r = cli("run", "quickstart", "--backend", "openai", "--dry-run", "method.name=qlora")
    assert r.exit_code == 2
    assert "<command line>: method.name: backend 'openai' cannot train method 'qlora'" in r.stderr
    r = cli("run", "quickstart", "--backend", "vertex", "--dry-run", "method.r=32")
    assert r.exit_code == 2 and "method.r: Vertex adapter sizes are 1, 2, 4, 8, 16" in r.stderr


def test_ignored_fields_are_warned_about_by_name(cli):
    r = cli("run", "quickstart", "--backend", "openai", "--dry-run", "hyperparameters.scheduler=linear")
    assert r.exit_code == 0, r
    assert "hyperparameters.scheduler: ignored by backend 'openai'" in r.stderr


def test_bad_records_are_all_reported_with_file_and_line(cli, write):
    bad = "".join(CHAT % (i, i) for i in range(20))
    bad += '{"messages": [{"role": "user", "content": "x"}]}\n' + "not json\n"
    path = recipe(write, data=bad)
    r = cli("run", str(path), "--backend", "local", "--dry-run")
    assert r.exit_code == 2, r
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
    assert ":21:" in errors[0] and ":22:" in errors[1] and "invalid JSON" in errors[1]


def test_missing_data_file_points_at_the_recipe_line(cli, write):
    path = write("r.yaml", "name: demo\nmodel: {local: m}\ndata:\n  train: nowhere.jsonl\n")
    r = cli("run", str(path), "--backend", "local", "--dry-run")
    assert r.exit_code == 2
    assert f"{path}:4: data.train: data file not found" in r.stderr


def test_objective_must_match_the_data(cli, write):
    path = recipe(write, body="objective: dpo\n")
    r = cli("run", str(path), "--backend", "local", "--dry-run")
    assert r.exit_code != 0
    assert "objective" in r.stderr and "SFT" in r.stderr


def test_recipe_and_data_errors_have_no_traceback(cli, write):
    path = recipe(write, body="method: {name: lora, r: x}\n")
    r = cli("run", str(path), "--backend", "local", "--dry-run")
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert f"{path}:5: method.r: must be an integer" in r.stderr


def test_shipped_dpo_recipe_plans_with_its_shipped_preference_data(cli):
    assert (shipped_dir() / "data" / "preferences.jsonl").exists()
    r = cli("run", "dpo", "--backend", "local", "--dry-run", "--json")
    assert r.exit_code == 0, r
    assert json.loads(r.stdout)["recipe"]["objective"] == "dpo"


def test_one_command_reads_the_data_once_and_again_only_when_it_changes(write, monkeypatch):
    import ftx.data.load as load
    from ftx.data.plan import load_splits
    from ftx.planning import plan_run

    reads = []
    real = load.iter_examples
    monkeypatch.setattr(load, "iter_examples", lambda *a, **k: (reads.append(a[0]), real(*a, **k))[1])
    path = recipe(write)
    plan = plan_run(str(path), "openai")  # data plan, backend plan and request all need the data
    assert len(reads) == 1
    load_splits(plan.recipe)
    assert len(reads) == 1
    write("train.jsonl", "".join(CHAT % (i, i) for i in range(50)))
    train, validation, _ = load_splits(plan.recipe)
    assert len(reads) == 2 and len(train) + len(validation) == 50
