"""Fault injection: whatever the network or the process does, exactly one job, no lost job id,
and a clear outcome."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from openai_test_helpers import API_KEY, chat_lines, runs_json


def _one_job_succeeded(cli, server) -> dict:
    assert len(server.jobs) == 1, server.state.summary()
    [run] = runs_json(cli)
    job_id = next(iter(server.jobs))
    assert run["remote_job_id"] == job_id and run["status"] == "succeeded", run
    assert run["model"].startswith("ft:")
    return run


def test_rate_limit_is_retried_after_the_advised_delay(cli, fake_openai, make_recipe, retry_waits):
    fake_openai.inject("POST", "/fine_tuning/jobs", status=429, headers={"retry-after-ms": "40"})
    r = cli("run", make_recipe(), "--backend", "openai", "--yes")
    assert r.exit_code == 0, r
    assert fake_openai.count("POST", "/fine_tuning/jobs") == 2
    assert retry_waits[0] == pytest.approx(0.04)  # the server's advice, not our own back-off
    _one_job_succeeded(cli, fake_openai)


def test_server_errors_are_retried_everywhere(cli, fake_openai, make_recipe, retry_waits):
    fake_openai.inject("POST", "/files", status=500)
    fake_openai.inject("GET", "/fine_tuning/jobs", status=503)
    fake_openai.inject("GET", "/fine_tuning/jobs/[^/]+", status=500, times=2)
    fake_openai.inject("GET", "/fine_tuning/jobs/[^/]+/events", status=502)
    r = cli("run", make_recipe(), "--backend", "openai", "--yes")
    assert r.exit_code == 0, r
    assert len(retry_waits) == 5
    _one_job_succeeded(cli, fake_openai)


def test_connection_reset_after_an_upload_does_not_upload_twice(cli, fake_openai, make_recipe):
    fake_openai.inject("POST", "/files", kind="reset", when="after")  # stored, but the answer is lost
    r = cli("run", make_recipe(), "--backend", "openai", "--yes")
    assert r.exit_code == 0, r
    uploads = [f["filename"] for f in fake_openai.state.files.values() if f["purpose"] == "fine-tune"]
    # train (answer lost, then found by its hash-bearing name) and validation: no duplicate
    assert len(uploads) == len(set(uploads)) == 2 and fake_openai.count("POST", "/files") == 2
    _one_job_succeeded(cli, fake_openai)


def test_uploads_wait_for_processing_and_a_rejected_file_is_a_clear_error(cli, fake_openai, make_recipe):
    fake_openai.state.file_processing_ticks = 40  # ~80 ms of "uploaded" before "processed"
    assert cli("run", make_recipe(), "--backend", "openai", "--yes").exit_code == 0
    polls = fake_openai.count("GET", "/files/[^/]+")
    assert polls >= 3  # waited (and polled) instead of creating the job on an unprocessed file
    fake_openai.state.reject_next_upload = "Invalid file format: line 3 is not valid JSON"
    r = cli("run", make_recipe(train=chat_lines(31)), "--backend", "openai", "--yes")
    assert r.exit_code != 0
    assert "was rejected: Invalid file format: line 3 is not valid JSON (error code: invalid_file)" in r.stderr
    assert len(fake_openai.jobs) == 1  # the first run's job only
    assert runs_json(cli)[0]["status"] == "failed"


def test_timeouts_are_retried(cli, fake_openai, make_recipe, monkeypatch, retry_waits):
    monkeypatch.setenv("FTX_HTTP_TIMEOUT", "0.3")
    fake_openai.inject("GET", "/fine_tuning/jobs/[^/]+", kind="delay", delay=1.0)
    r = cli("run", make_recipe(), "--backend", "openai", "--yes")
    assert r.exit_code == 0, r
    assert len(retry_waits) == 1
    _one_job_succeeded(cli, fake_openai)


@pytest.mark.parametrize("fault", [{"status": 502}, {"kind": "reset"}])
def test_a_create_whose_answer_is_lost_is_found_not_repeated(cli, fake_openai, make_recipe, fault):
    fake_openai.inject("POST", "/fine_tuning/jobs", when="after", **fault)
    r = cli("run", make_recipe(), "--backend", "openai", "--yes")
    assert r.exit_code == 0, r
    assert fake_openai.count("POST", "/fine_tuning/jobs") == 1  # looked for it instead of creating again
    assert "found existing OpenAI job" in r.stderr
    _one_job_succeeded(cli, fake_openai)


def test_without_the_metadata_filter_jobs_are_found_by_scanning(cli, fake_openai, make_recipe):
    fake_openai.reject_metadata_filter = True
    fake_openai.inject("POST", "/fine_tuning/jobs", when="after", kind="reset")
    r = cli("run", make_recipe(), "--backend", "openai", "--yes")
    assert r.exit_code == 0, r
    assert fake_openai.count("POST", "/fine_tuning/jobs") == 1 and "found existing OpenAI job" in r.stderr
    _one_job_succeeded(cli, fake_openai)


def test_quota_exhausted_is_a_clear_error_and_not_retried(cli, fake_openai, make_recipe, retry_waits):
    fake_openai.inject("POST", "/fine_tuning/jobs", status=429, code="insufficient_quota",
                       message="You exceeded your current quota, please check your plan and billing details.")
    r = cli("run", make_recipe(), "--backend", "openai", "--yes")
    assert r.exit_code != 0
    assert ("error: OpenAI: You exceeded your current quota, please check your plan and billing details. "
            "(error code: insufficient_quota)") in r.stderr
    assert fake_openai.count("POST", "/fine_tuning/jobs") == 1 and retry_waits == []
    [run] = runs_json(cli)
    assert run["status"] == "failed" and "insufficient_quota" in run["error"]
    assert fake_openai.jobs == {}


def test_a_job_failing_midway_ends_with_its_error_code(cli, fake_openai, make_recipe):
    fake_openai.state.fail_next = (5, "training_failed", "An internal error occurred during training")
    r = cli("run", make_recipe(), "--backend", "openai", "--yes")
    assert r.exit_code != 0
    job_id = next(iter(fake_openai.jobs))
    lines = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert lines == [f"error: OpenAI: job {job_id} failed: An internal error occurred during training "
                     "(error code: training_failed)"]
    [run] = runs_json(cli)
    assert run["status"] == "failed" and run["remote_job_id"] == job_id
    assert run["error"] == "training_failed: An internal error occurred during training"
    assert run["actual_cost_usd"] is not None and run["actual_cost_usd"] > 0  # steps trained are billed
    rows = [json.loads(x) for x in Path(run["artifacts"]["metrics"]).read_text().splitlines()]
    assert [row["step"] for row in rows] == [1, 2, 3, 4, 5]  # from the metrics events: no result file
    assert run["artifacts"]["train_file"].startswith("file-")
    # running it again is a new, deliberate attempt: a second job, under a new key
    again = cli("run", make_recipe(), "--backend", "openai", "--yes")
    assert again.exit_code == 0 and len(fake_openai.jobs) == 2
    keys = {r["client_key"] for r in runs_json(cli)}
    assert len(keys) == 2 and any(k.endswith("-2") for k in keys)


def test_killed_right_after_create_then_rerun_finds_the_job(cli, fake_openai, make_recipe, monkeypatch):
    """The create reaches OpenAI but the process dies before writing the job id."""
    from ftx.providers.openai.provider import OpenAIProvider

    real_create = OpenAIProvider.create_job

    def create_then_die(self, prepared, refs):
        real_create(self, prepared, refs)
        raise SystemExit(137)

    monkeypatch.setattr(OpenAIProvider, "create_job", create_then_die)
    recipe = make_recipe()
    died = cli("run", recipe, "--backend", "openai", "--yes")
    assert died.exit_code == 137
    [run] = runs_json(cli)
    assert run["remote_job_id"] is None and run["status"] == "uploading" and run["client_key"]
    monkeypatch.setattr(OpenAIProvider, "create_job", real_create)
    again = cli("run", recipe, "--backend", "openai", "--yes")
    assert again.exit_code == 0, again
    assert f"continuing run {run['id']}" in again.stderr and "found existing OpenAI job" in again.stderr
    assert fake_openai.count("POST", "/fine_tuning/jobs") == 1
    assert _one_job_succeeded(cli, fake_openai)["id"] == run["id"]


def test_giving_up_keeps_the_job_followable(cli, fake_openai, make_recipe, retry_waits):
    fake_openai.inject("GET", "/fine_tuning/jobs/[^/]+", status=503, times=5)
    r = cli("run", make_recipe(), "--backend", "openai", "--yes")
    assert r.exit_code != 0
    assert "failed after 5 attempts" in r.stderr and "(HTTP 503)" in r.stderr
    [run] = runs_json(cli)
    assert run["remote_job_id"] and run["status"] in ("queued", "running")
    waited = cli("jobs", "wait", run["id"])
    assert waited.exit_code == 0, waited
    _one_job_succeeded(cli, fake_openai)


def test_ctrl_c_detaches_and_jobs_wait_reattaches(cli, fake_openai, make_recipe, monkeypatch):
    from ftx import hosted_watch

    def interrupt(_seconds):
        raise KeyboardInterrupt

    fake_openai.state.clock = "manual"  # the job stays queued while we are attached
    with monkeypatch.context() as patch:
        patch.setattr(hosted_watch.time, "sleep", interrupt)
        r = cli("run", make_recipe(), "--backend", "openai", "--yes")
    assert r.exit_code == 0, r
    [run] = runs_json(cli)
    assert f"ftx jobs wait {run['id']}" in r.stderr and "keeps running" in r.stderr
    job = next(iter(fake_openai.jobs.values()))
    assert job.cancelled_at is None and run["status"] == "queued"
    fake_openai.state.clock = "time"
    waited = cli("jobs", "wait", run["id"])
    assert waited.exit_code == 0, waited
    assert "succeeded: fine-tuned model" in waited.stdout
    _one_job_succeeded(cli, fake_openai)


@pytest.mark.slow
def test_sigkill_between_create_and_record_in_a_real_process(fake_openai, make_recipe, ftx_home, cli):
    """A real ``ftx run`` process is SIGKILLed while the create's answer is on its way."""
    fake_openai.inject("POST", "/fine_tuning/jobs", kind="hang", when="after", delay=60)
    env = dict(os.environ, FTX_HOME=str(ftx_home), OPENAI_API_KEY=API_KEY)
    recipe = make_recipe()
    log = ftx_home / "killed-run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "ftx", "run", str(recipe), "--backend", "openai", "--yes"],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while not fake_openai.created.wait(timeout=0.1):
            assert proc.poll() is None, f"ftx run ended before creating a job:\n{log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "the create never arrived"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    fake_openai.release()
    time.sleep(0.05)
    [run] = runs_json(cli)
    assert run["remote_job_id"] is None  # died before recording it
    again = cli("run", recipe, "--backend", "openai", "--yes")
    assert again.exit_code == 0, again
    assert "found existing OpenAI job" in again.stderr
    assert fake_openai.count("POST", "/fine_tuning/jobs") == 1
    _one_job_succeeded(cli, fake_openai)
