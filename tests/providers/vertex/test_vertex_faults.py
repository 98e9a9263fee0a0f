"""Faults between ftx and Vertex AI: each ends with exactly one job, no lost id, a clear outcome."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from fakes.vertex_server import wait_for
from vertex_test_helpers import runs_json


def _one_job_recorded(cli, fake_vertex) -> dict:
    assert len(fake_vertex.creates) == 1 and len(fake_vertex.jobs) == 1
    [run] = runs_json(cli)
    [job] = fake_vertex.jobs.values()
    assert run["remote_job_id"] == fake_vertex.job_id(job["name"]) and run["status"] == "succeeded"
    return run


def test_rate_limited_create_is_retried_with_backoff(cli, fake_vertex, make_recipe, retry_waits):
    fake_vertex.inject("create", status=429, times=2)
    r = cli("run", make_recipe(), "--backend", "vertex", "--yes")
    assert r.exit_code == 0, r
    _one_job_recorded(cli, fake_vertex)
    assert fake_vertex.count("create") == 3 and len(retry_waits) >= 2


def test_retry_after_is_honoured(cli, fake_vertex, make_recipe, retry_waits):
    fake_vertex.inject("get", status=503, headers={"Retry-After": "0.05"})
    assert cli("run", make_recipe(), "--backend", "vertex", "--yes").exit_code == 0
    assert 0.05 in retry_waits
    _one_job_recorded(cli, fake_vertex)


def test_server_errors_while_polling_and_searching_are_retried(cli, fake_vertex, make_recipe):
    fake_vertex.inject("list", status=500)
    fake_vertex.inject("get", status=500, times=2)
    fake_vertex.inject("get", kind="reset")
    r = cli("run", make_recipe(), "--backend", "vertex", "--yes")
    assert r.exit_code == 0, r
    _one_job_recorded(cli, fake_vertex)
    assert fake_vertex.count("list") >= 2


def test_connection_reset_before_create(cli, fake_vertex, make_recipe):
    fake_vertex.inject("create", kind="reset")
    r = cli("run", make_recipe(), "--backend", "vertex", "--yes")
    assert r.exit_code == 0, r
    _one_job_recorded(cli, fake_vertex)
    assert fake_vertex.count("create") == 2


def test_lost_create_answer_never_makes_a_second_job(cli, fake_vertex, make_recipe):
    # The job is created, then the connection is reset before the answer arrives.
    fake_vertex.inject("create", kind="reset", when="after")
    r = cli("run", make_recipe(), "--backend", "vertex", "--yes")
    assert r.exit_code == 0, r
    assert "found existing Vertex AI job" in r.stderr
    _one_job_recorded(cli, fake_vertex)
    assert fake_vertex.count("create") == 1


def test_giving_up_keeps_the_key_and_the_next_run_creates_once(cli, fake_vertex, make_recipe):
    recipe = make_recipe()
    fake_vertex.inject("create", status=500, times=5)  # every attempt of the retry policy
    r = cli("run", recipe, "--backend", "vertex", "--yes")
    assert r.exit_code != 0 and "Traceback" not in r.stderr
    assert "creating the Vertex AI job failed after 5 attempts" in r.stderr
    [run] = runs_json(cli)
    assert run["status"] == "interrupted" and run["remote_job_id"] is None and fake_vertex.jobs == {}
    again = cli("run", recipe, "--backend", "vertex", "--yes")
    assert again.exit_code == 0, again
    assert _one_job_recorded(cli, fake_vertex)["id"] == run["id"]


def test_bad_credentials_are_one_line_and_create_nothing(cli, fake_vertex, make_recipe, monkeypatch):
    monkeypatch.setenv("FTX_VERTEX_ACCESS_TOKEN", "ya29.expired-token-000000000000")
    r = cli("run", make_recipe(), "--backend", "vertex", "--yes")
    assert r.exit_code != 0 and "Traceback" not in r.stderr
    assert "authentication failed" in r.stderr and "UNAUTHENTICATED" in r.stderr
    assert "ya29.expired" not in r.stderr
    assert fake_vertex.jobs == {}


def test_process_killed_right_after_create(cli, fake_vertex, make_recipe):
    """The job exists at Vertex but its id was never recorded: the re-run adopts it."""
    recipe = make_recipe()
    fake_vertex.inject("create", kind="hang", when="after")  # created; the answer never comes
    env = {**os.environ, "FTX_HTTP_TIMEOUT": "60"}
    proc = subprocess.Popen([sys.executable, "-m", "ftx", "run", str(recipe), "--backend", "vertex", "--yes"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert wait_for(fake_vertex.created.is_set, timeout=60), proc.communicate(timeout=5)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        fake_vertex.release()
    [run] = runs_json(cli)
    assert run["remote_job_id"] is None and run["status"] == "uploading"
    again = cli("run", recipe, "--backend", "vertex", "--yes")
    assert again.exit_code == 0, again
    assert "found existing Vertex AI job" in again.stderr
    assert _one_job_recorded(cli, fake_vertex)["id"] == run["id"]


def test_a_server_that_ignores_the_label_filter_does_not_lend_its_jobs(cli, fake_vertex, make_recipe, monkeypatch):
    """find_job checks the label itself: someone else's job is never adopted."""
    from fakes import vertex_server

    original = vertex_server.FakeVertex.list

    def unfiltered(self, parent, query):
        return original(self, parent, {k: v for k, v in query.items() if k != "filter"})

    monkeypatch.setattr(vertex_server.FakeVertex, "list", unfiltered)
    assert cli("run", make_recipe(name="first"), "--backend", "vertex", "--yes").exit_code == 0
    assert cli("run", make_recipe(name="second"), "--backend", "vertex", "--yes").exit_code == 0
    assert len(fake_vertex.creates) == 2
    names = {run["remote_job_id"] for run in runs_json(cli)}
    assert len(names) == 2


def test_an_endpoint_that_rejects_the_label_filter_is_searched_without_it(cli, fake_vertex, make_recipe,
                                                                          monkeypatch):
    from fakes import vertex_server

    original = vertex_server.FakeVertex.list

    def no_filters(self, parent, query):
        if query.get("filter"):
            raise vertex_server.ApiError(400, "Unsupported filter field: labels.")
        return original(self, parent, query)

    monkeypatch.setattr(vertex_server.FakeVertex, "list", no_filters)
    recipe = make_recipe()
    fake_vertex.inject("create", kind="reset", when="after")  # the search must find the job it made
    r = cli("run", recipe, "--backend", "vertex", "--yes")
    assert r.exit_code == 0, r
    assert "found existing Vertex AI job" in r.stderr
    _one_job_recorded(cli, fake_vertex)
