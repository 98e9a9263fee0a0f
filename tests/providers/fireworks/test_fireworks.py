"""Fireworks AI end to end against the fake: the conformance kit, SFT and DPO requests, HTTP
faults, the resulting model, a failed job."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import API_KEY

from ftx.testing import check_hosted_backend

ROOT = Path(__file__).resolve().parents[3]


def _runs(cli) -> list[dict]:
    r = cli("runs", "list", "--json")
    assert r.exit_code == 0, r
    return json.loads(r.stdout)


def test_fireworks_conforms(fake_fireworks):
    report = check_hosted_backend("fireworks", "quickstart", jobs=lambda: len(fake_fireworks.jobs), secret=API_KEY)
    assert report.passed, str(report)


def test_sft_and_dpo_jobs_with_their_resulting_models(cli, fake_fireworks, tmp_path):
    r = cli("run", "quickstart", "--backend", "fireworks", "--yes", "hyperparameters.epochs=2")
    assert r.exit_code == 0, r
    [job] = fake_fireworks.jobs.values()
    assert job["name"].startswith("accounts/ftx-test/supervisedFineTuningJobs/ftx")
    assert job["epochs"] == 2 and job["baseModel"] == "accounts/fireworks/models/llama-v3p1-8b-instruct"
    assert job["dataset"].startswith("accounts/ftx-test/datasets/ftx-") and "evaluationDataset" in job
    assert _runs(cli)[0]["model"] == job["outputModel"]
    recipe = tmp_path / "dpo.yaml"
    recipe.write_text(f"name: fw-dpo\nmodel: {{fireworks: accounts/fireworks/models/qwen3-8b}}\n"
                      f"data: {{train: {ROOT / 'recipes/data/preferences.jsonl'}}}\nobjective: dpo\n"
                      "method: {name: lora}\nhyperparameters: {beta: 0.1}\n", encoding="utf-8")
    r = cli("run", recipe, "--backend", "fireworks", "--yes")
    assert r.exit_code == 0, r
    dpo = [j for n, j in fake_fireworks.jobs.items() if "/dpoJobs/" in n]
    assert len(dpo) == 1 and dpo[0]["trainingConfig"]["beta"] == 0.1
    assert _runs(cli)[0]["model"] == dpo[0]["trainingConfig"]["outputModel"]


def test_http_faults_still_make_exactly_one_job(cli, fake_fireworks):
    fake_fireworks.inject("POST", "/v1/accounts/ftx-test/datasets", status=503)
    fake_fireworks.inject("POST", "/v1/accounts/ftx-test/datasets/[^/]+:upload", kind="reset", when="after")
    fake_fireworks.inject("POST", "/v1/accounts/ftx-test/supervisedFineTuningJobs", kind="reset", when="after")
    fake_fireworks.inject("GET", "/v1/accounts/ftx-test/supervisedFineTuningJobs/[^/]+", status=429, times=2,
                          headers={"retry-after": "0"})
    r = cli("run", "quickstart", "--backend", "fireworks", "--yes")
    assert r.exit_code == 0, r
    assert len(fake_fireworks.jobs) == 1 and _runs(cli)[0]["status"] == "succeeded"


def test_a_failed_job_is_one_line_with_its_code(cli, fake_fireworks):
    fake_fireworks.fail_next = "training diverged"
    r = cli("run", "quickstart", "--backend", "fireworks", "--yes")
    assert r.exit_code != 0 and "training diverged (error code: INTERNAL)" in r.stderr
