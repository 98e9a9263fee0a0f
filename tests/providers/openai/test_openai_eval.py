"""``ftx eval`` on OpenAI and Azure OpenAI: chat completions on the base and ft: models, against the
fake server with faults in the inference route; retried, guarded, and never paid twice."""

from __future__ import annotations

import json

import pytest

FT = "ft:gpt-4.1-nano-2025-04-14:ftx::abc123"
QA = [(f"What is {i} times 3?", str(3 * i)) for i in range(2, 32)]


def lines(items):
    return "".join(json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]})
                   + "\n" for q, a in items)


@pytest.fixture
def eval_recipe(tmp_path):
    (tmp_path / "train.jsonl").write_text(lines(QA[:10]))
    (tmp_path / "test.jsonl").write_text(lines(QA[10:]))
    path = tmp_path / "r.yaml"
    path.write_text("name: times\nmodel: {openai: gpt-4.1-nano-2025-04-14, azure-openai: gpt-4.1-nano-2025-04-14}\n"
                    "data: {train: train.jsonl}\neval:\n  test: test.jsonl\n  metrics: [exact_match]\n"
                    "  forgetting: {size: 10}\n  bootstrap: 200\n  generation: {max_new_tokens: 8}\n")
    return path


def hosted_run(recipe, backend="openai"):
    from ftx.registry import Registry

    with Registry() as registry:
        run = registry.create_run("times", backend, {"model": "gpt-4.1-nano-2025-04-14"}, "h", model=FT,
                                  status="succeeded", extra={"recipe_path": str(recipe)})
        registry.update_run(run.id, artifacts={"fine_tuned_model": FT}, actual_cost_usd=0.42)
    return run.id


def test_openai_eval_retries_faults_and_never_pays_twice(fake_openai, eval_recipe, cli, retry_waits):
    fake_openai.knowledge = dict(QA)
    run_id = hosted_run(eval_recipe)
    fake_openai.inject("POST", "/chat/completions", status=500, times=2)
    fake_openai.inject("POST", "/chat/completions", status=429, headers={"retry-after": "0"})
    fake_openai.inject("POST", "/chat/completions", kind="reset")
    refused = cli("eval", run_id)
    assert refused.exit_code == 3 and fake_openai.count("POST", "/chat/completions") == 0
    r = cli("eval", run_id, "--yes", "--max-cost", "1", "--concurrency", "8", "--json")
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["systems"]["tuned"]["scores"]["exact_match"]["value"] == 100.0
    assert report["systems"]["zero_shot"]["scores"]["exact_match"]["value"] == 0.0
    assert report["worth_it"] is True and 0 < report["estimated_cost_usd"] < 0.01
    asked = 20 * 3 + 10 * 2  # zero-shot, few-shot, tuned + the probe on base and tuned
    faults = 4
    assert fake_openai.count("POST", "/chat/completions") == asked + faults
    assert len(retry_waits) >= faults
    bodies = [b for s, b in fake_openai.answers if s == "CreateChatCompletionResponse"]
    assert {b["model"] for b in bodies} == {"gpt-4.1-nano-2025-04-14", FT}
    again = cli("eval", run_id, "--json")  # all cached: no confirmation needed, no request sent
    assert again.exit_code == 0, again.stderr
    assert fake_openai.count("POST", "/chat/completions") == asked + faults
    assert json.loads(again.stdout)["verdict"] == report["verdict"]
    cmp = json.loads(cli("eval", "compare", run_id, "--json").stdout)[0]
    assert cmp["cost_usd"] == 0.42 and cmp["usd_per_point"] == pytest.approx(0.42 / cmp["delta"])


def test_openai_baseline_only_and_a_failing_route(fake_openai, eval_recipe, cli, monkeypatch):
    r = cli("eval", eval_recipe, "--backend", "openai", "--baseline-only", "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    assert set(json.loads(r.stdout)["systems"]) == {"zero_shot", "few_shot"}
    fake_openai.inject("POST", "/chat/completions", status=503, times=100)
    run_id = hosted_run(eval_recipe)
    broken = cli("eval", run_id, "--yes")
    assert broken.exit_code != 0 and "failed after" in broken.stderr and "Traceback" not in broken.stderr


def test_azure_openai_eval_uses_deployments(fake_openai, eval_recipe, cli, monkeypatch):
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", fake_openai.azure_endpoint)
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-04-01-preview")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-secret-key-0123456789")
    fake_openai.knowledge = dict(QA)
    run_id = hosted_run(eval_recipe, backend="azure-openai")
    r = cli("eval", run_id, "--yes", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["worth_it"] is True
    assert fake_openai.count("POST", f"/deployments/{FT}/chat/completions") == 20 + 10


def test_chat_answers_of_the_fake_follow_the_spec(fake_openai, tmp_path_factory):
    from pathlib import Path

    import openai
    from fakes.openapi_check import Validator, load_schemas

    spec = Path(__file__).resolve().parents[3] / ".." / "shared" / "reference" / "openai-openapi.yaml"
    if not spec.is_file():
        pytest.skip("the OpenAI OpenAPI spec is not next to the repository")
    validator = Validator(load_schemas(spec, ["CreateChatCompletionResponse"], tmp_path_factory.mktemp("oas")))
    client = openai.OpenAI(api_key="sk-test", base_url=fake_openai.url, max_retries=0)
    fake_openai.knowledge = {"q": "one two three four five"}
    client.chat.completions.create(model=FT, messages=[{"role": "user", "content": "q"}], max_completion_tokens=2)
    client.chat.completions.create(model="gpt-4.1-nano", messages=[{"role": "user", "content": "q"}], stop=["sure"])
    bodies = [b for s, b in fake_openai.answers if s == "CreateChatCompletionResponse"]
    assert [b["choices"][0]["finish_reason"] for b in bodies] == ["length", "stop"]
    assert [validator.check(b, "CreateChatCompletionResponse") for b in bodies] == [[], []]


def test_openai_run_evaluates_after_the_job_succeeds(fake_openai, make_recipe, cli, tmp_path):
    from openai_test_helpers import chat_lines

    (tmp_path / "test.jsonl").write_text(chat_lines(12, start=100))
    recipe = make_recipe(extra="eval:\n  test: test.jsonl\n  metrics: [exact_match]\n  forgetting: {size: 10}\n"
                               "  bootstrap: 200\n")
    r = cli("run", recipe, "--backend", "openai", "--yes")
    assert r.exit_code == 0, r.stderr
    assert "verdict: not significantly better" in r.stdout  # the fake's tuned model knows nothing more
    runs = json.loads(cli("runs", "list", "--json").stdout)
    ev = json.loads(cli("runs", "show", runs[0]["id"], "--json").stdout)["extra"]["evaluation"]
    assert ev["scores"]["tuned"]["model"].startswith("ft:") and ev["worth_it"] is False
    assert fake_openai.count("POST", "/chat/completions") == 12 * 3 + 10 * 2
