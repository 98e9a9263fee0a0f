"""Vertex settings: recipe options, environment, credentials, and the errors when they are missing."""

from __future__ import annotations

import pytest

from vertex_test_helpers import BUCKET, PROJECT, TOKEN, runs_json


@pytest.mark.parametrize("unset, named", [
    (("GOOGLE_CLOUD_PROJECT",), ["GOOGLE_CLOUD_PROJECT"]),
    (("FTX_VERTEX_BUCKET",), ["FTX_VERTEX_BUCKET"]),
    (("FTX_VERTEX_ACCESS_TOKEN",), ["FTX_VERTEX_ACCESS_TOKEN", "application-default login"]),
    (("GOOGLE_CLOUD_PROJECT", "FTX_VERTEX_BUCKET", "FTX_VERTEX_ACCESS_TOKEN"),
     ["GOOGLE_CLOUD_PROJECT", "FTX_VERTEX_BUCKET", "FTX_VERTEX_ACCESS_TOKEN"]),
])
def test_missing_settings_are_named_before_anything_is_uploaded(cli, fake_vertex, gcs, make_recipe, monkeypatch,
                                                                unset, named):
    for var in unset:
        monkeypatch.delenv(var)
    r = cli("run", make_recipe(), "--backend", "vertex", "--yes")
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    [line] = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert "Vertex AI is not configured: missing" in line
    for name in named:
        assert name in r.stderr
    assert gcs.objects() == [] and fake_vertex.requests == []
    assert runs_json(cli) == []  # refused before the run was even recorded


def test_recipe_options_beat_the_environment(cli, fake_vertex, gcs, make_recipe, monkeypatch):
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "not-this-one")
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "asia-east1")
    monkeypatch.delenv("FTX_VERTEX_BUCKET")
    recipe = make_recipe(extra=f"backends:\n  vertex:\n    project: {PROJECT}\n    location: europe-west4\n"
                               f"    bucket: {BUCKET}\n")
    r = cli("run", recipe, "--backend", "vertex", "--yes")
    assert r.exit_code == 0, r
    [job] = fake_vertex.jobs.values()
    assert job["name"].startswith(f"projects/{PROJECT}/locations/europe-west4/tuningJobs/")


def test_jobs_commands_use_the_settings_recorded_with_the_run(cli, fake_vertex, make_recipe, monkeypatch):
    fake_vertex.auto_advance = False
    recipe = make_recipe(extra="backends:\n  vertex:\n    location: europe-west4\n")
    assert cli("run", recipe, "--backend", "vertex", "--yes", "--detach").exit_code == 0
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "asia-east1")  # not where the job is
    fake_vertex.auto_advance = True
    [run] = runs_json(cli)
    r = cli("jobs", "wait", run["id"])
    assert r.exit_code == 0, r
    assert all("/locations/europe-west4/" in path for _, path, _ in fake_vertex.requests)


def test_application_default_credentials_are_used_without_a_token(cli, fake_vertex, make_recipe, monkeypatch):
    import google.oauth2.credentials

    from ftx.providers.vertex import config

    monkeypatch.delenv("FTX_VERTEX_ACCESS_TOKEN")
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT")
    calls = []

    def fake_adc():
        calls.append(1)
        return google.oauth2.credentials.Credentials(TOKEN), PROJECT  # the ADC project is used too

    monkeypatch.setattr(config, "_adc", fake_adc)
    r = cli("run", make_recipe(), "--backend", "vertex", "--yes")
    assert r.exit_code == 0, r
    assert calls and next(iter(fake_vertex.jobs.values()))["name"].startswith(f"projects/{PROJECT}/")


@pytest.mark.parametrize("options, message", [
    ("bucket: Not_A_Bucket!", "is not a Cloud Storage bucket name"),
    ("labels: {Team: ml}", "label key 'Team'"),
    ("labels: {ftx_run: x}", "ftx_ are ftx's own"),
    ("labels: {team: ML}", "values are lowercase"),
    ("display_name: ''", "at least 1 character"),
])
def test_invalid_options_are_recipe_errors(cli, make_recipe, options, message):
    recipe = make_recipe(extra=f"backends:\n  vertex:\n    {options}\n")
    r = cli("run", recipe, "--backend", "vertex", "--dry-run")
    assert r.exit_code == 2 and message in r.stderr and "Traceback" not in r.stderr
    assert "backends.vertex" in r.stderr


def test_bad_endpoint_is_refused(cli, fake_vertex, make_recipe, monkeypatch):
    monkeypatch.setenv("FTX_VERTEX_ENDPOINT", "localhost:1234")
    r = cli("run", make_recipe(), "--backend", "vertex", "--yes")
    assert r.exit_code == 2 and "FTX_VERTEX_ENDPOINT must be an http(s) URL" in r.stderr


def test_missing_bucket_at_upload_is_a_clear_error(cli, fake_vertex, make_recipe, monkeypatch):
    monkeypatch.setenv("FTX_VERTEX_BUCKET", "no-such-bucket")
    r = cli("run", make_recipe(), "--backend", "vertex", "--yes")
    assert r.exit_code != 0 and "Traceback" not in r.stderr
    assert "staging bucket gs://no-such-bucket does not exist" in r.stderr and "bucket_not_found" in r.stderr
    [run] = runs_json(cli)
    assert run["status"] == "failed" and fake_vertex.jobs == {}


def test_listing_remote_jobs_needs_no_bucket(cli, fake_vertex, make_recipe, monkeypatch):
    assert cli("run", make_recipe(), "--backend", "vertex", "--yes", "--detach").exit_code == 0
    monkeypatch.delenv("FTX_VERTEX_BUCKET")
    r = cli("jobs", "list", "--remote", "--backend", "vertex")
    assert r.exit_code == 0, r
    [job] = fake_vertex.jobs.values()
    assert fake_vertex.job_id(job["name"]) in r.stdout and "ftx key ftx-" in r.stdout


def test_without_the_google_libraries_the_error_says_what_to_install(cli, fake_vertex, make_recipe, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "google.genai" else real(name, *a))
    r = cli("run", make_recipe(), "--backend", "vertex", "--yes")
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    assert "Google Cloud client libraries are not installed (google.genai)" in r.stderr
    assert "pip install 'ftx[vertex]'" in r.stderr
