"""``ftx eval`` on Vertex AI: generateContent on the base Gemini model and the tuned endpoint,
through google-genai against the fake, with faults in the inference route."""

from __future__ import annotations

import json

ENDPOINT = "projects/{project}/locations/{location}/endpoints/4242"
QA = [(f"What is {i} times 3?", str(3 * i)) for i in range(2, 32)]


def lines(items):
    return "".join(json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]})
                   + "\n" for q, a in items)


def test_vertex_eval_base_and_tuned_endpoint(fake_vertex, tmp_path, cli, retry_waits, monkeypatch):
    import os

    endpoint = ENDPOINT.format(project=os.environ["GOOGLE_CLOUD_PROJECT"], location=os.environ["GOOGLE_CLOUD_LOCATION"])
    (tmp_path / "train.jsonl").write_text(lines(QA[:10]))
    (tmp_path / "test.jsonl").write_text(lines(QA[10:]))
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: times\nmodel: {vertex: gemini-2.5-flash-lite}\ndata: {train: train.jsonl}\n"
                      "eval:\n  test: test.jsonl\n  metrics: [exact_match]\n  baselines: [zero_shot, prompt]\n"
                      "  prompt: Answer with the number only.\n  forgetting: {size: 10}\n  bootstrap: 200\n")
    fake_vertex.knowledge = dict(QA)
    from ftx.registry import Registry

    with Registry() as registry:
        run = registry.create_run("times", "vertex", {"model": "gemini-2.5-flash-lite"}, "h", model=endpoint,
                                  status="succeeded", extra={"recipe_path": str(recipe)})
        registry.update_run(run.id, artifacts={"fine_tuned_model": endpoint})
    fake_vertex.inject("generate", status=503, times=2)
    fake_vertex.inject("generate", status=429, headers={"retry-after": "0"})
    r = cli("eval", run.id, "--yes", "--concurrency", "8", "--json")
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["systems"]["tuned"]["scores"]["exact_match"]["value"] == 100.0
    assert report["systems"]["prompt"]["scores"]["exact_match"]["value"] == 0.0
    assert report["worth_it"] is True and report["estimated_cost_usd"] > 0
    calls = sum(1 for op, _, _ in fake_vertex.requests if op == "generate")
    assert calls == 20 * 3 + 10 * 2 + 3 and len(retry_waits) >= 3
    paths = {p for op, p, _ in fake_vertex.requests if op == "generate"}
    assert any(p.endswith("/publishers/google/models/gemini-2.5-flash-lite:generateContent") for p in paths)
    assert any(p.endswith(f"{endpoint}:generateContent") for p in paths)
    again = cli("eval", run.id, "--json")
    assert again.exit_code == 0, again.stderr  # all cached: nothing to confirm, nothing paid
    assert sum(1 for op, _, _ in fake_vertex.requests if op == "generate") == calls
