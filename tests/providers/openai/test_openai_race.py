"""N people launching the same recipe on the same account at once create one job: the launch
claim is one registry transaction, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from openai_test_helpers import API_KEY, runs_json

LAUNCHERS = 8


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_registry(request, ftx_home, monkeypatch):
    """The registry the racing processes share: a SQLite file, or a database on a real server."""
    if request.param == "sqlite":
        location = str(ftx_home / "team.db")
    else:
        location = request.getfixturevalue("postgres_url")
    monkeypatch.setenv("FTX_REGISTRY", location)
    return location


@pytest.mark.slow
def test_eight_processes_launching_the_same_recipe_create_one_job(fake_openai, make_recipe, ftx_home, cli,
                                                                   shared_registry):
    # The winner's first upload is held back, so the others all arrive while its claim is live.
    fake_openai.inject("POST", "/files", kind="delay", delay=4)
    recipe = make_recipe()
    # Eight followers polling at the fixture's 100 Hz would starve the machine; 4 Hz is plenty.
    env = dict(os.environ, FTX_HOME=str(ftx_home), OPENAI_API_KEY=API_KEY, FTX_REGISTRY=shared_registry,
               FTX_POLL_INTERVAL="0.25")
    procs = []
    for i in range(LAUNCHERS):
        log = open(ftx_home / f"launcher-{i}.log", "wb")
        procs.append((subprocess.Popen([sys.executable, "-m", "ftx", "run", str(recipe), "--backend", "openai",
                                        "--yes"], env={**env, "FTX_USER": f"person{i}"}, stdout=log,
                                       stderr=subprocess.STDOUT), log))
    deadline = time.monotonic() + 240
    for proc, log in procs:
        proc.wait(timeout=max(1, deadline - time.monotonic()))
        log.close()
    logs = [(ftx_home / f"launcher-{i}.log").read_text() for i in range(LAUNCHERS)]
    for (proc, _), text in zip(procs, logs):
        assert proc.returncode == 0, text[-3000:]

    assert fake_openai.count("POST", "/fine_tuning/jobs") == 1
    assert len(fake_openai.jobs) == 1
    [job_id] = fake_openai.jobs
    runs = runs_json(cli)
    assert len(runs) == 1 and runs[0]["remote_job_id"] == job_id and runs[0]["status"] == "succeeded"
    # Everyone ended with the same job: one created it, the others waited for it and followed it.
    assert sum("created OpenAI job" in text for text in logs) == 1
    assert all(job_id in text for text in logs)
    assert sum(bool(re.search(r"launched by another ftx|already has OpenAI job", t)) for t in logs) == LAUNCHERS - 1
