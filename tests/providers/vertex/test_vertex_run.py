"""``ftx run --backend vertex`` end to end: the real google-genai and google-cloud-storage clients
against a fake Vertex AI and the Cloud Storage emulator on loopback."""

from __future__ import annotations

import json
from pathlib import Path

from vertex_test_helpers import BUCKET, TOKEN, chat_lines, jsonl, preference_lines, runs_json


def _request_with_uris(plan_request: dict, uris: dict[str, str]) -> dict:
    """The dry-run request with its upload placeholders replaced by the staged URIs."""
    out = json.loads(json.dumps(plan_request))
    for spec in ("supervisedTuningSpec", "preferenceOptimizationSpec"):
        for key, role in (("trainingDatasetUri", "train"), ("validationDatasetUri", "validation")):
            if key in out.get(spec, {}):
                out[spec][key] = uris[role]
    return out


def test_quickstart_runs_to_a_tuned_model(cli, fake_vertex, gcs):
    r = cli("run", "quickstart", "--backend", "vertex", "--yes")
    assert r.exit_code == 0, r
    [run] = runs_json(cli)
    assert run["backend"] == "vertex" and run["status"] == "succeeded"
    [job] = fake_vertex.jobs.values()
    # recorded under its short id; the project and region are stored with the run
    assert len(fake_vertex.creates) == 1 and job["name"].endswith("/tuningJobs/" + run["remote_job_id"])
    assert run["extra"]["connection"]["location"] == "us-central1"
    # the tuned model is recorded: its endpoint is the run's model; `ftx runs list` shows it
    endpoint = job["tunedModel"]["endpoint"]
    assert run["model"] == endpoint and run["artifacts"]["fine_tuned_model"] == endpoint
    assert f"succeeded: fine-tuned model {endpoint}" in "".join(r.stdout.split("\n"))
    listed = cli("runs", "list")
    assert listed.exit_code == 0 and "succeeded" in listed.stdout and "endpoints/" in listed.stdout
    logs = cli("jobs", "logs", run["id"]).stdout
    assert f"tuned model {job['tunedModel']['model']} served at endpoint {endpoint}" in " ".join(logs.split())
    tuned = json.loads(Path(run["artifacts"]["result:tuned_model.json"]).read_text())
    assert tuned["model"] == job["tunedModel"]["model"] and tuned["endpoint"] == endpoint
    # the data went to the bucket under content-hash names, in Gemini's tuning format
    spec = job["supervisedTuningSpec"]
    train_uri, val_uri = spec["trainingDatasetUri"], spec["validationDatasetUri"]
    assert train_uri.startswith(f"gs://{BUCKET}/ftx/") and train_uri.endswith("/train.jsonl")
    records = jsonl(gcs.read(train_uri))
    assert len(records) == 256 and len(jsonl(gcs.read(val_uri))) == 64
    assert records[0]["contents"][0]["role"] == "user" and records[0]["contents"][-1]["role"] == "model"
    # actual cost = billable tokens per epoch (Vertex's count) x 3 epochs x $1.50 per 1M
    billable = int(job["tuningDataStats"]["supervisedTuningDataStats"]["totalBillableTokenCount"])
    assert run["metrics"]["trained_tokens"] == billable * 3 > 0
    assert abs(run["actual_cost_usd"] - billable * 3 * 1.5 / 1e6) < 1e-12
    assert run["estimated_cost_usd"] > 0
    # labels carry ftx's key; nothing secret reached the registry
    assert job["labels"]["ftx_client_key"] == run["client_key"] and job["labels"]["ftx_recipe"] == "quickstart"
    shown = cli("runs", "show", run["id"], "--json")
    assert TOKEN not in shown.stdout and TOKEN not in Path(run["artifacts"]["job"]).read_text()
    rows = [json.loads(x) for x in Path(run["artifacts"]["metrics"]).read_text().splitlines()]
    assert [row["epoch"] for row in rows] == [1, 2, 3] and rows[-1]["step"] == 15


def test_dry_run_shows_the_exact_request_and_spends_nothing(cli, fake_vertex, gcs, make_recipe):
    recipe = make_recipe(extra="method:\n  name: lora\n  r: 8\nhyperparameters:\n  epochs: 4\n"
                               "  learning_rate_multiplier: 0.5\n"
                               "backends:\n  vertex:\n    display_name: support-bot\n    labels: {team: ml}\n")
    r = cli("run", recipe, "--backend", "vertex", "--dry-run", "--json")
    assert r.exit_code == 0, r
    plan = json.loads(r.stdout)["plan"]
    request = plan["request"]
    assert request["baseModel"] == "gemini-3-flash-lite" and request["tunedModelDisplayName"] == "support-bot"
    assert request["supervisedTuningSpec"]["hyperParameters"] == {
        "epochCount": 4, "learningRateMultiplier": 0.5, "adapterSize": "ADAPTER_SIZE_EIGHT"}
    assert request["labels"] == {"ftx_client_key": plan["client key"], "ftx_recipe": "demo", "team": "ml"}
    assert request["supervisedTuningSpec"]["trainingDatasetUri"].startswith("<upload of ftx-")
    assert fake_vertex.requests == [] and gcs.objects() == []
    # a launch sends exactly that, with the staged files' URIs
    assert cli("run", recipe, "--backend", "vertex", "--yes").exit_code == 0
    [sent] = fake_vertex.creates
    spec = sent["supervisedTuningSpec"]
    uris = {"train": spec["trainingDatasetUri"], "validation": spec["validationDatasetUri"]}
    assert sent == _request_with_uris(request, uris)


def test_running_again_never_pays_twice_nor_uploads_twice(cli, fake_vertex, gcs, make_recipe):
    recipe = make_recipe()
    assert cli("run", recipe, "--backend", "vertex", "--yes").exit_code == 0
    [job] = fake_vertex.jobs.values()
    train_uri = job["supervisedTuningSpec"]["trainingDatasetUri"]
    generation = gcs.blob(train_uri).generation
    again = cli("run", recipe, "--backend", "vertex", "--yes")
    assert again.exit_code == 0, again
    assert "already trained" in again.stderr and len(fake_vertex.creates) == 1
    # a changed recipe is a new job, trained on the very same staged objects
    changed = cli("run", recipe, "--backend", "vertex", "--yes", "hyperparameters.epochs=3")
    assert changed.exit_code == 0, changed
    assert len(fake_vertex.creates) == 2
    assert fake_vertex.creates[1]["supervisedTuningSpec"]["trainingDatasetUri"] == train_uri
    assert gcs.blob(train_uri).generation == generation  # not uploaded again


def test_bucket_prefix_and_eval_off(cli, fake_vertex, gcs, make_recipe):
    recipe = make_recipe(extra=f"eval:\n  strategy: 'no'\nbackends:\n  vertex:\n    bucket: gs://{BUCKET}/team/tuning\n")
    r = cli("run", recipe, "--backend", "vertex", "--yes")
    assert r.exit_code == 0, r
    [sent] = fake_vertex.creates
    assert "validationDatasetUri" not in sent["supervisedTuningSpec"]
    assert sent["supervisedTuningSpec"]["trainingDatasetUri"].startswith(f"gs://{BUCKET}/team/tuning/ftx/")
    assert all(name.startswith("team/tuning/ftx/") for name in gcs.objects())


def test_preference_tuning(cli, fake_vertex, gcs, make_recipe):
    recipe = make_recipe(train=preference_lines(20), objective="dpo",
                         extra="hyperparameters:\n  epochs: 2\n  beta: 0.2\n")
    r = cli("run", recipe, "--backend", "vertex", "--yes")
    assert r.exit_code == 0, r
    [sent] = fake_vertex.creates
    assert "supervisedTuningSpec" not in sent
    spec = sent["preferenceOptimizationSpec"]
    assert spec["hyperParameters"] == {"epochCount": 2, "beta": 0.2}
    [record, *_] = jsonl(gcs.read(spec["trainingDatasetUri"]))
    assert record["contents"][-1]["role"] == "user"
    assert [(c["score"], c["completion"]["role"]) for c in record["completions"]] == [(1, "model"), (0, "model")]
    [run] = runs_json(cli)
    assert run["status"] == "succeeded" and run["metrics"]["trained_tokens"] > 0


def test_failed_job_is_one_clear_line(cli, fake_vertex, make_recipe):
    fake_vertex.script = ("JOB_STATE_PENDING", "JOB_STATE_RUNNING", "JOB_STATE_FAILED")
    fake_vertex.error = {"code": 3, "message": "Dataset row 7 has an empty model turn."}
    r = cli("run", make_recipe(), "--backend", "vertex", "--yes")
    assert r.exit_code != 0
    assert "Traceback" not in r.stderr
    assert "Dataset row 7 has an empty model turn." in r.stderr and "INVALID_ARGUMENT" in r.stderr
    [run] = runs_json(cli)
    assert run["status"] == "failed" and "Dataset row 7" in run["error"]
    assert len(fake_vertex.creates) == 1
    logs = cli("jobs", "logs", run["id"])
    assert logs.exit_code == 0 and "Dataset row 7" in logs.stdout


def test_after_a_failure_the_same_command_is_a_new_attempt(cli, fake_vertex, make_recipe):
    recipe = make_recipe()
    fake_vertex.script = ("JOB_STATE_RUNNING", "JOB_STATE_FAILED")
    assert cli("run", recipe, "--backend", "vertex", "--yes").exit_code != 0
    fake_vertex.script = ("JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED")
    again = cli("run", recipe, "--backend", "vertex", "--yes")
    assert again.exit_code == 0, again
    second, first = runs_json(cli)
    assert (first["status"], second["status"]) == ("failed", "succeeded")
    assert second["client_key"] == first["client_key"] + "-2"
    labels = [c["labels"]["ftx_client_key"] for c in fake_vertex.creates]
    assert labels == [first["client_key"], first["client_key"] + "-2"]  # a valid label value as is


def test_detach_then_jobs_commands(cli, fake_vertex, make_recipe):
    fake_vertex.auto_advance = False
    r = cli("run", make_recipe(), "--backend", "vertex", "--yes", "--detach")
    assert r.exit_code == 0, r
    [run] = runs_json(cli)
    assert run["status"] == "queued" and run["remote_job_id"]
    listed = cli("jobs", "list")
    assert listed.exit_code == 0 and run["id"] in listed.stdout
    remote = cli("jobs", "list", "--remote", "--backend", "vertex", "--json")
    assert remote.exit_code == 0, remote
    assert json.loads(remote.stdout)[0]["client_key"] == run["client_key"]
    fake_vertex.advance(run["remote_job_id"])  # PENDING -> RUNNING
    status = cli("jobs", "status", run["id"], "--json")
    assert status.exit_code == 0, status
    assert json.loads(status.stdout)["status"] == "running"
    fake_vertex.auto_advance = True
    waited = cli("jobs", "wait", run["id"])
    assert waited.exit_code == 0, waited
    [run] = runs_json(cli)
    assert run["status"] == "succeeded" and run["model"].startswith("projects/")
    assert len(fake_vertex.creates) == 1


def test_cancel(cli, fake_vertex, make_recipe):
    fake_vertex.auto_advance = False
    assert cli("run", make_recipe(), "--backend", "vertex", "--yes", "--detach").exit_code == 0
    [run] = runs_json(cli)
    fake_vertex.auto_advance = True  # the cancel's own read moves CANCELLING on to CANCELLED
    r = cli("jobs", "cancel", run["id"])
    assert r.exit_code == 0, r
    assert "JOB_STATE_CANCELLED" in r.stdout
    [run] = runs_json(cli)
    assert run["status"] == "cancelled" and fake_vertex.count("cancel") == 1


def test_ctrl_c_detaches_and_the_job_can_be_followed_again(cli, fake_vertex, make_recipe, monkeypatch):
    from ftx import hosted_watch

    real_sleep = hosted_watch.time.sleep
    calls = []

    def interrupt_once(seconds):
        calls.append(seconds)
        if len(calls) == 1:
            raise KeyboardInterrupt
        real_sleep(seconds)

    monkeypatch.setattr(hosted_watch.time, "sleep", interrupt_once)
    r = cli("run", make_recipe(), "--backend", "vertex", "--yes")
    assert r.exit_code == 0, r
    assert "detached" in r.stderr and "ftx jobs wait" in r.stderr
    [run] = runs_json(cli)
    assert run["status"] in ("queued", "running") and run["remote_job_id"]
    waited = cli("jobs", "wait", run["id"])
    assert waited.exit_code == 0, waited
    assert runs_json(cli)[0]["status"] == "succeeded" and len(fake_vertex.creates) == 1


def test_new_data_means_a_new_upload(cli, fake_vertex, gcs, make_recipe, tmp_path):
    recipe = make_recipe(validation=chat_lines(5, 100))
    assert cli("run", recipe, "--backend", "vertex", "--yes").exit_code == 0
    (tmp_path / "train.jsonl").write_text(chat_lines(31), encoding="utf-8")
    assert cli("run", recipe, "--backend", "vertex", "--yes").exit_code == 0
    first, second = (c["supervisedTuningSpec"] for c in fake_vertex.creates)
    assert first["trainingDatasetUri"] != second["trainingDatasetUri"]
    assert first["validationDatasetUri"] == second["validationDatasetUri"]  # same bytes, same object
    assert len([o for o in gcs.objects() if o.endswith("/train.jsonl")]) == 2
