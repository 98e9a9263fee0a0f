"""``ftx jobs list|status|logs|cancel|wait`` on OpenAI jobs, and Azure OpenAI through the same provider."""

from __future__ import annotations

import json

from openai_test_helpers import create_requests, runs_json


def _detached(cli, recipe, backend="openai"):
    r = cli("run", recipe, "--backend", backend, "--yes", "--detach")
    assert r.exit_code == 0, r
    [run] = runs_json(cli)
    assert f"ftx jobs wait {run['id']}" in r.stdout
    return run


def test_detach_status_logs_and_wait(cli, fake_openai, make_recipe):
    fake_openai.state.clock = "manual"
    run = _detached(cli, make_recipe())
    job = next(iter(fake_openai.jobs))
    assert run["remote_job_id"] == job and run["status"] == "queued"

    listed = cli("jobs", "list")
    assert listed.exit_code == 0 and run["id"] in listed.stdout and job in listed.stdout
    status = cli("jobs", "status", run["id"], "--json")
    assert json.loads(status.stdout)["provider_status"] == "validating_files"

    fake_openai.state.advance(job, 10)  # validated, queued, started, six steps
    status = json.loads(cli("jobs", "status", job, "--json").stdout)  # the provider's job id works too
    assert status["status"] == "running" and status["last_metrics"]["step"] == 6
    assert runs_json(cli)[0]["status"] == "running"

    logs = cli("jobs", "logs", run["id"])
    assert logs.exit_code == 0
    assert "OpenAI: Created fine-tuning job" in logs.stdout and "OpenAI: Fine-tuning job started" in logs.stdout
    assert "Step 3/" not in logs.stdout  # per-step metrics go to metrics.jsonl, not the history

    fake_openai.state.clock = "time"
    waited = cli("jobs", "wait", run["id"][:12])
    assert waited.exit_code == 0, waited
    assert "succeeded: fine-tuned model ft:" in waited.stdout
    [done] = runs_json(cli)
    assert done["status"] == "succeeded" and done["actual_cost_usd"] > 0
    again = cli("jobs", "status", run["id"])  # finished: reports, changes nothing
    assert again.exit_code == 0 and "succeeded" in again.stdout
    assert len(fake_openai.jobs) == 1


def test_cancel(cli, fake_openai, make_recipe):
    fake_openai.state.clock = "manual"
    run = _detached(cli, make_recipe())
    r = cli("jobs", "cancel", run["id"])
    assert r.exit_code == 0, r
    assert "cancelled" in r.stdout
    assert runs_json(cli)[0]["status"] == "cancelled"
    assert next(iter(fake_openai.jobs.values())).cancelled_at is not None
    again = cli("jobs", "cancel", run["id"])
    assert again.exit_code != 0 and "already cancelled; nothing to cancel" in again.stderr
    waited = cli("jobs", "wait", run["id"])
    assert waited.exit_code != 0 and "was cancelled" in waited.stderr


def test_remote_list_and_errors(cli, fake_openai, make_recipe):
    fake_openai.state.clock = "manual"
    run = _detached(cli, make_recipe())
    remote = cli("jobs", "list", "--remote", "--backend", "openai")
    assert remote.exit_code == 0 and run["remote_job_id"] in remote.stdout and run["client_key"] in remote.stdout
    assert "needs --backend" in cli("jobs", "list", "--remote").stderr
    assert "not a hosted backend" in cli("jobs", "list", "--backend", "local").stderr
    missing = cli("jobs", "status", "nope")
    assert missing.exit_code != 0 and "no run matches 'nope'" in missing.stderr


def test_missing_api_key_is_one_clear_line(cli, fake_openai, make_recipe, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    r = cli("run", make_recipe(), "--backend", "openai", "--yes")
    assert r.exit_code != 0
    assert "error: OPENAI_API_KEY is not set" in r.stderr and "Traceback" not in r.output
    assert fake_openai.requests == []


def test_azure_openai_runs_through_the_same_provider(cli, fake_openai, make_recipe, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", fake_openai.azure_endpoint)
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-04-01-preview")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-secret-key-0123456789")
    recipe = make_recipe(model="gpt-4o-mini-2024-07-18")
    r = cli("run", recipe, "--backend", "azure-openai", "--yes")
    assert r.exit_code == 0, r
    [run] = runs_json(cli)
    assert run["backend"] == "azure-openai" and run["status"] == "succeeded"
    assert run["model"].startswith("ft:gpt-4o-mini")
    assert run["extra"]["connection"] == {"endpoint": fake_openai.azure_endpoint, "api_version": "2025-04-01-preview"}
    assert run["actual_cost_usd"] is None  # Azure prices are not in the catalog unless you add them
    assert all(q.get("api-version") == "2025-04-01-preview" for _, _, q in fake_openai.requests)
    assert create_requests(fake_openai)[0]["model"] == "gpt-4o-mini-2024-07-18"
    assert "OpenAI stops accepting new fine-tuning jobs" not in r.stderr  # OpenAI's cutoff is not Azure's
    assert cli("jobs", "status", run["id"]).exit_code == 0


def test_azure_needs_its_settings(cli, fake_openai, make_recipe, monkeypatch):
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-secret-key-0123456789")
    r = cli("run", make_recipe(), "--backend", "azure-openai", "--yes")
    assert r.exit_code != 0
    assert "Azure OpenAI is not configured: set AZURE_OPENAI_ENDPOINT" in r.stderr
    assert "OPENAI_API_VERSION" in r.stderr
