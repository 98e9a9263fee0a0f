"""The batched engine answers exactly as one prompt at a time; ftx generate and ftx eval use it."""

from __future__ import annotations

import json

import pytest

PROMPTS = ["What sound does a cow make?", "Opposite of up?", "What is the color of a very ripe banana today?",
           "Hi", "Tell me the sound of a lion, please, in one short sentence."]


def test_batched_answers_equal_one_at_a_time(tiny_model):
    from ftx.inference import GenerationParams, ModelRef
    from ftx.plugins.local.batch_generate import open_generator

    gen = open_generator(ModelRef("local", "base", "ftx/tiny-llama"), GenerationParams(max_new_tokens=12), batch_size=4)
    batched = gen.generate(PROMPTS)
    single = [gen.generate([p])[0] for p in PROMPTS]
    assert batched == single and all(isinstance(a, str) for a in batched)
    assert gen.perplexity(["The library opens at nine."]) > 1.0
    cut = open_generator(ModelRef("local", "base", "ftx/tiny-llama"),
                         GenerationParams(max_new_tokens=12, stop=(batched[0][:2],)) if batched[0][:2].strip() else
                         GenerationParams(max_new_tokens=12))
    assert all(len(a) <= len(b) for a, b in zip(cut.generate(PROMPTS), batched))


def test_generate_file_and_several_prompts(tiny_model, tmp_path, cli):
    f = tmp_path / "prompts.jsonl"
    f.write_text('"Opposite of up?"\n{"prompt": "Hi"}\n{"messages": [{"role": "user", "content": "Yo"}]}\n')
    r = cli("generate", "ftx/tiny-llama", "--base", "--file", f, "-p", "What sound does a cow make?",
            "--max-new-tokens", "4")
    assert r.exit_code == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["prompt"] for row in rows][:3] == ["What sound does a cow make?", "Opposite of up?", "Hi"]
    assert len(rows) == 4 and all("answer" in row for row in rows)
    (tmp_path / "bad.jsonl").write_text('{"prompt": "ok"}\n[1]\n')
    bad = cli("generate", "ftx/tiny-llama", "--base", "--file", tmp_path / "bad.jsonl")
    assert bad.exit_code != 0 and "bad.jsonl:2" in bad.stderr
    assert cli("generate", "ftx/tiny-llama", "--base").exit_code != 0


@pytest.mark.slow
def test_quickstart_run_ends_with_a_worth_it_verdict(tiny_model, cli):
    """The shipped quickstart: train, then tuned vs zero-/few-shot on held-out phrasings."""
    r = cli("run", "quickstart", "--backend", "local")
    assert r.exit_code == 0, r.stderr[-2000:]
    assert "verdict: beats" in r.stdout and "worth it" in r.stdout
    from ftx.registry import Registry

    with Registry() as registry:
        (run,) = registry.list_runs()
    ev = run.extra["evaluation"]
    assert ev["worth_it"] is True and ev["comparison"]["ci"][0] > 0
    assert ev["scores"]["tuned"]["exact_match"]["value"] > ev["scores"]["few_shot"]["exact_match"]["value"]
    assert run.artifacts["eval_report"].endswith("report.json")
