"""Together AI end to end with the real SDK against the fake: the request each recipe maps to,
answers checked against Together's OpenAPI spec, HTTP faults, Together's own estimate, downloads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakes.openapi_check import Validator, load_schemas

SPEC = Path("/work/shared/reference/together-openapi.yaml")
ROOT = Path(__file__).resolve().parents[3]
SPEC = SPEC if SPEC.is_file() else ROOT.parent / "shared" / "reference" / "together-openapi.yaml"


def _runs(cli) -> list[dict]:
    r = cli("runs", "list", "--json")
    assert r.exit_code == 0, r
    return json.loads(r.stdout)


def _recipe(tmp_path, extra: str = "", objective: str = "sft", method: str = "{name: lora}") -> Path:
    data = ROOT / "recipes" / "data" / ("preferences.jsonl" if objective == "dpo" else "quickstart.jsonl")
    path = tmp_path / "r.yaml"
    path.write_text(f"name: tg\nmodel: {{together: meta-llama/Meta-Llama-3.1-8B-Instruct-Reference}}\n"
                    f"data: {{train: {data}}}\nobjective: {objective}\nmethod: {method}\n{extra}",
                    encoding="utf-8")
    return path


def test_answers_follow_togethers_openapi_spec(cli, fake_together, tmp_path):
    if not SPEC.is_file():
        pytest.skip("Together's OpenAPI spec is not in this checkout")
    assert cli("run", "quickstart", "--backend", "together", "--yes").exit_code == 0
    names = sorted({name for name, _ in fake_together.answers} & {
        "FileResponse", "FileList", "FinetuneResponse", "FinetuneResponseTruncated", "FinetuneTruncatedList",
        "FinetuneListEvents", "FinetuneListCheckpoints", "ErrorData"})
    assert {"FileResponse", "FinetuneResponse", "FinetuneResponseTruncated", "FinetuneListEvents"} <= set(names)
    validator = Validator(load_schemas(SPEC, names, tmp_path / "schemas"))
    problems = [e for name, body in fake_together.answers if name in names for e in validator.check(body, name)]
    assert problems == []


def test_lora_and_full_sft_and_dpo_map_to_togethers_request(cli, fake_together, tmp_path):
    r = cli("run", _recipe(tmp_path, "hyperparameters: {epochs: 2, learning_rate: 1.0e-4, batch_size: 16}\n",
                           method="{name: lora, r: 8, alpha: 16}"), "--backend", "together", "--yes")
    assert r.exit_code == 0, r
    body = fake_together.requests_bodies[-1]
    assert body["n_epochs"] == 2 and body["learning_rate"] == 1e-4 and body["batch_size"] == 16
    assert body["training_type"]["type"] == "Lora" and body["training_type"]["lora_r"] == 8
    assert body["training_type"]["lora_alpha"] == 16 and body["training_method"]["method"] == "sft"
    assert body["suffix"].startswith("ftx") and len(body["suffix"]) <= 40
    r = cli("run", _recipe(tmp_path, method="{name: full}"), "--backend", "together", "--yes")
    assert r.exit_code == 0, r
    assert fake_together.requests_bodies[-1]["training_type"] == {"type": "Full"}
    r = cli("run", _recipe(tmp_path, "hyperparameters: {beta: 0.2}\n", objective="dpo"), "--backend", "together",
            "--yes")
    assert r.exit_code == 0, r
    dpo = fake_together.requests_bodies[-1]
    assert dpo["training_method"] == {"method": "dpo", "dpo_beta": 0.2}
    line = json.loads(fake_together.contents[dpo["training_file"]].splitlines()[0])
    assert set(line) == {"input", "preferred_output", "non_preferred_output"}
    assert len(fake_together.jobs) == 3 and all(r["status"] == "succeeded" for r in _runs(cli))


def test_events_metrics_checkpoints_and_togethers_own_estimate(cli, fake_together):
    r = cli("run", "quickstart", "--backend", "together", "--yes")
    assert r.exit_code == 0, r
    assert "Together AI's own estimate: $" in r.stderr and "(ftx estimated $" in r.stderr
    [run] = _runs(cli)
    assert run["extra"]["provider_estimate"]["cost_usd"] > 0
    rows = [json.loads(line) for line in Path(run["artifacts"]["metrics"]).read_text().splitlines()]
    assert [row["step"] for row in rows] == [1, 2, 3] and rows[-1]["loss"] == pytest.approx(0.5)
    assert len(run["extra"]["checkpoints"]) == 3
    assert run["model"].startswith("ftx-test/Meta-Llama-3.1-8B-Instruct-Reference-ftx")
    assert run["actual_cost_usd"] > 0
    logs = cli("jobs", "logs", run["id"])
    assert "Epoch 3 completed" in logs.stdout


def test_max_cost_is_held_to_togethers_own_estimate_before_any_job(cli, fake_together):
    fake_together.price_per_1m = 5000.0  # Together's quote is far above ftx's catalog price
    r = cli("run", "quickstart", "--backend", "together", "--yes", "--max-cost", "1")
    assert r.exit_code != 0
    assert "exceeds --max-cost $1.00; no job created (error code: over_max_cost)" in r.stderr
    assert fake_together.jobs == {} and _runs(cli)[0]["status"] == "failed"


def test_http_faults_through_the_sdk_still_make_exactly_one_job(cli, fake_together):
    fake_together.inject("GET", "/v1/files", status=503)
    fake_together.inject("POST", "/v1/files", status=429, headers={"retry-after": "0"})
    fake_together.inject("POST", "/v1/fine-tunes", kind="reset", when="after")  # created; the answer is lost
    fake_together.inject("GET", "/v1/fine-tunes/[^/]+", status=500, times=2)
    r = cli("run", "quickstart", "--backend", "together", "--yes")
    assert r.exit_code == 0, r
    assert len(fake_together.jobs) == 1 and fake_together.count("POST", "/v1/fine-tunes") == 1
    assert "found existing Together AI job" in r.stderr
    assert _runs(cli)[0]["status"] == "succeeded"


def test_a_failed_job_and_a_bad_key_are_one_line_each(cli, fake_together, monkeypatch):
    fake_together.fail_next = "CUDA out of memory on step 3"
    r = cli("run", "quickstart", "--backend", "together", "--yes")
    assert r.exit_code != 0 and "CUDA out of memory on step 3 (error code: job_error)" in r.stderr
    monkeypatch.delenv("TOGETHER_API_KEY")
    r = cli("run", "quickstart", "--backend", "together", "--yes", "--train-again")
    assert r.exit_code != 0 and "TOGETHER_API_KEY is not set" in r.stderr


def test_the_tuned_adapter_is_downloaded_into_the_run(cli, fake_together, tmp_path):
    """``backends.together.download`` streams the weights through the same path as ``ftx jobs
    download`` when the job succeeds, once: finishing the run again downloads nothing twice."""
    fake_together.adapter = b"not an archive: adapter bytes"
    r = cli("run", _recipe(tmp_path, "backends:\n  together: {download: adapter}\n"), "--backend", "together", "--yes")
    assert r.exit_code == 0, r
    [run] = _runs(cli)
    folder = Path(run["artifacts"]["download:adapter"])
    assert (folder / "adapter.bin").read_bytes() == fake_together.adapter  # an unknown format: kept as served
    assert run["extra"]["downloads"]["adapter"]["bytes"] == len(fake_together.adapter)
    assert not any(k.startswith("result:") for k in run["artifacts"])  # no second copy read whole
    before = (folder / ".ftx-download.json").stat().st_mtime_ns
    fake_together.adapter = b"changed"
    assert cli("jobs", "status", run["id"]).exit_code == 0
    assert (folder / "adapter.bin").read_bytes() != b"changed"
    assert (folder / ".ftx-download.json").stat().st_mtime_ns == before


def test_a_download_the_job_cannot_serve_is_a_warning_on_a_succeeded_run(cli, fake_together, tmp_path):
    """A full fine-tune has no adapter: the run succeeds, says why nothing was downloaded and how
    to get the weights, and records a warning event."""
    r = cli("run", _recipe(tmp_path, "backends:\n  together: {download: adapter}\n", method="{name: full}"),
            "--backend", "together", "--yes")
    assert r.exit_code == 0, r
    [run] = _runs(cli)
    assert run["status"] == "succeeded" and not any(k.startswith("download:") for k in run["artifacts"])
    assert "warning: the weights were not downloaded: " in r.stderr and "it has no adapter" in r.stderr
    assert f"ftx jobs download {run['id']}" in r.stderr
