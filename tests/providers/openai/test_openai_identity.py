"""A hosted run's identity includes where it runs: another endpoint is another launch, a re-run
without a job reaches the endpoint configured now (not the one stored), and --train-again trains
again without editing the recipe."""

from __future__ import annotations

from fakes.openai_server import FakeOpenAI
from openai_test_helpers import runs_json


def test_another_endpoint_is_another_launch_and_a_stored_dead_one_is_not_reused(cli, fake_openai, make_recipe,
                                                                               monkeypatch):
    recipe = make_recipe()
    fake_openai.inject("POST", "/fine_tuning/jobs", status=503, times=50)
    first = cli("run", recipe, "--backend", "openai", "--yes")
    assert first.exit_code != 0 and "failed after" in first.stderr
    [stopped] = runs_json(cli)
    assert stopped["status"] == "interrupted" and not stopped["remote_job_id"]
    fake_openai.stop()  # the endpoint "moved": the stored base URL is dead now
    with FakeOpenAI(lifetime=120) as moved:
        monkeypatch.setenv("OPENAI_BASE_URL", moved.url)
        again = cli("run", recipe, "--backend", "openai", "--yes")
        assert again.exit_code == 0, again
        assert len(moved.jobs) == 1
        runs = runs_json(cli)
        assert [r["status"] for r in runs] == ["succeeded", "interrupted"]
        assert runs[0]["client_key"] != runs[1]["client_key"]
        assert moved.url in str(runs[0]["extra"]["connection"])


def test_already_trained_is_per_endpoint_and_train_again_needs_no_recipe_edit(cli, fake_openai, make_recipe,
                                                                              monkeypatch):
    recipe = make_recipe()
    assert cli("run", recipe, "--backend", "openai", "--yes").exit_code == 0
    same = cli("run", recipe, "--backend", "openai", "--yes")
    assert same.exit_code == 0 and "already trained" in same.stderr and len(fake_openai.jobs) == 1
    again = cli("run", recipe, "--backend", "openai", "--yes", "--train-again")
    assert again.exit_code == 0, again
    assert len(fake_openai.jobs) == 2
    with FakeOpenAI(lifetime=120) as other:
        monkeypatch.setenv("OPENAI_BASE_URL", other.url)
        elsewhere = cli("run", recipe, "--backend", "openai", "--yes")
        assert elsewhere.exit_code == 0 and "already trained" not in elsewhere.stderr
        assert len(other.jobs) == 1
