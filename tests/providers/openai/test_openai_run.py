"""``ftx run --backend openai`` end to end: the real openai SDK against a fake OpenAI on loopback."""

from __future__ import annotations

import json
from pathlib import Path

from openai_test_helpers import API_KEY, chat_lines, create_requests, dpo_lines, runs_json


def test_quickstart_runs_to_a_fine_tuned_model(cli, fake_openai, ftx_home):
    r = cli("run", "quickstart", "--backend", "openai", "--yes")
    assert r.exit_code == 0, r
    assert "succeeded: fine-tuned model ft:gpt-4.1-mini-2025-04-14:" in r.stdout
    [run] = runs_json(cli)
    assert run["backend"] == "openai" and run["status"] == "succeeded"
    assert run["model"].startswith("ft:gpt-4.1-mini-2025-04-14:ftx-fake:")
    listed = cli("runs", "list")
    assert "ft:gpt-4.1-mini" in listed.stdout and "succeeded" in listed.stdout
    # exactly one job, two files (train + validation), and the request that was sent
    assert len(fake_openai.jobs) == 1 and fake_openai.count("POST", "/files") == 2
    [request] = create_requests(fake_openai)
    assert request["method"] == {"type": "supervised", "supervised": {"hyperparameters": {
        "n_epochs": 3, "batch_size": "auto", "learning_rate_multiplier": "auto"}}}
    assert request["metadata"] == {"ftx_client_key": run["client_key"], "ftx_recipe": "quickstart"}
    assert request["seed"] == 42 and request["validation_file"].startswith("file-")
    job = next(iter(fake_openai.jobs.values()))
    assert run["remote_job_id"] == job.id
    # actual cost = trained tokens x the catalog's $5.00 per 1M (gpt-4.1-mini)
    assert run["metrics"]["trained_tokens"] > 0
    assert abs(run["actual_cost_usd"] - run["metrics"]["trained_tokens"] * 5.0 / 1e6) < 1e-9
    assert run["estimated_cost_usd"] > 0
    # metrics.jsonl in the format local runs write, parsed from the result CSV
    rows = [json.loads(line) for line in Path(run["artifacts"]["metrics"]).read_text().splitlines()]
    assert len(rows) == job.total_steps and rows[0]["step"] == 1 and rows[-1]["epoch"] == 3.0
    assert all("loss" in row for row in rows) and any("eval_loss" in row for row in rows)
    assert run["metrics"]["loss"] == rows[-1]["loss"]


def test_running_again_never_pays_twice(cli, fake_openai, make_recipe):
    recipe = make_recipe()
    assert cli("run", recipe, "--backend", "openai", "--yes").exit_code == 0
    again = cli("run", recipe, "--backend", "openai", "--yes")
    assert again.exit_code == 0, again
    assert "already trained" in again.stderr and "nothing launched" in again.stderr
    assert len(fake_openai.jobs) == 1 and fake_openai.count("POST", "/fine_tuning/jobs") == 1


def test_changed_recipe_is_a_new_job_but_reuses_uploads(cli, fake_openai, make_recipe, ftx_home):
    recipe = make_recipe(validation=chat_lines(10, 100))
    assert cli("run", recipe, "--backend", "openai", "--yes").exit_code == 0
    assert cli("run", recipe, "--backend", "openai", "--yes", "hyperparameters.seed=7").exit_code == 0
    (ftx_home / "cache" / "openai-files.json").unlink()  # found again by listing files by name
    assert cli("run", recipe, "--backend", "openai", "--yes", "hyperparameters.seed=8").exit_code == 0
    assert len(fake_openai.jobs) == 3
    assert fake_openai.count("POST", "/files") == 2


def test_dry_run_shows_the_exact_request_and_spends_nothing(cli, fake_openai, make_recipe):
    recipe = make_recipe(extra="backends:\n  openai:\n    suffix: support-bot\n    metadata: {team: ml}\n"
                               "    wandb_project: tuning\n")
    r = cli("run", recipe, "--backend", "openai", "--dry-run", "--json")
    assert r.exit_code == 0, r
    plan = json.loads(r.stdout)["plan"]
    request = plan["request"]
    assert request["model"] == "gpt-4.1-mini-2025-04-14" and request["suffix"] == "support-bot"
    assert request["metadata"] == {"ftx_client_key": plan["client key"], "ftx_recipe": "demo", "team": "ml"}
    assert request["integrations"] == [{"type": "wandb", "wandb": {"project": "tuning"}}]
    assert request["method"]["supervised"]["hyperparameters"]["n_epochs"] == 2
    assert request["training_file"].startswith("<upload of ftx-") and "examples" in request["training_file"]
    assert fake_openai.requests == []
    # and a launch sends exactly that (with the files uploaded)
    assert cli("run", recipe, "--backend", "openai", "--yes").exit_code == 0
    [sent] = create_requests(fake_openai)
    assert {k: v for k, v in sent.items() if not k.endswith("_file")} == \
        {k: v for k, v in request.items() if not k.endswith("_file")}
    job = next(iter(fake_openai.jobs.values()))
    assert ":support-bot:" in job.final["fine_tuned_model"]


def test_launch_needs_confirmation_and_respects_max_cost(cli, fake_openai, make_recipe):
    recipe = make_recipe()
    r = cli("run", recipe, "--backend", "openai")
    assert r.exit_code != 0 and "not launched without confirmation" in r.stderr
    r = cli("run", recipe, "--backend", "openai", "--yes", "--max-cost", "0.000001")
    assert r.exit_code != 0 and "exceeds --max-cost" in r.stderr
    assert fake_openai.requests == []
    assert runs_json(cli) == []


def test_retired_model_is_refused_before_anything_happens(cli, fake_openai, make_recipe):
    recipe = make_recipe(model="gpt-3.5-turbo-0125")
    r = cli("run", recipe, "--backend", "openai", "--dry-run")
    assert r.exit_code != 0
    assert "demo.yaml:3: model.openai: gpt-3.5-turbo-0125 was retired on 2026-10-23" in r.stderr
    assert fake_openai.requests == []


def test_platform_cutoff_is_warned_with_its_date(cli, fake_openai, make_recipe):
    r = cli("run", make_recipe(), "--backend", "openai", "--dry-run")
    assert r.exit_code == 0
    assert "OpenAI stops accepting new fine-tuning jobs on 2027-01-06" in r.stderr


def test_data_problems_are_reported_with_file_and_line(cli, fake_openai, make_recipe, tmp_path, monkeypatch):
    recipe = make_recipe(train=chat_lines(9), validation=chat_lines(3, 50))
    r = cli("run", recipe, "--backend", "openai", "--dry-run")
    assert r.exit_code != 0
    assert "train.jsonl: OpenAI needs at least 10 training examples; this file has 9" in r.stderr
    override = tmp_path / "catalog.yaml"
    override.write_text("models:\n  gpt-4.1-mini-2025-04-14:\n    max_example_tokens: 30\n", encoding="utf-8")
    monkeypatch.setenv("FTX_OPENAI_CATALOG", str(override))
    long = json.dumps({"messages": [{"role": "user", "content": "tell me a long story " * 10},
                                    {"role": "assistant", "content": "ok"}]}) + "\n"
    recipe = make_recipe(train=chat_lines(12) + long, validation=chat_lines(3, 50))
    r = cli("run", recipe, "--backend", "openai", "--yes")
    assert r.exit_code != 0
    assert "train.jsonl:13: example is" in r.stderr and "takes at most 30 per training example" in r.stderr
    assert fake_openai.requests == []


def test_dpo_recipe_sends_a_dpo_job(cli, fake_openai, make_recipe):
    recipe = make_recipe(train=dpo_lines(20), objective="dpo", extra="  beta: 0.2\n")
    r = cli("run", recipe, "--backend", "openai", "--yes")
    assert r.exit_code == 0, r
    [request] = create_requests(fake_openai)
    assert request["method"] == {"type": "dpo", "dpo": {"hyperparameters": {
        "n_epochs": 2, "batch_size": "auto", "learning_rate_multiplier": "auto", "beta": 0.2}}}
    uploaded = fake_openai.state.contents[request["training_file"]].decode().splitlines()
    assert set(json.loads(uploaded[0])) == {"input", "preferred_output", "non_preferred_output"}


def test_the_api_key_is_never_written_anywhere(cli, fake_openai, make_recipe, ftx_home):
    r = cli("run", make_recipe(), "--backend", "openai", "--yes")
    assert r.exit_code == 0
    assert API_KEY not in r.output
    for path in Path(ftx_home).rglob("*"):
        if path.is_file():
            assert API_KEY.encode() not in path.read_bytes(), path
