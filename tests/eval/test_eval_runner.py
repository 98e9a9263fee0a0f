"""The evaluation end to end with a scripted backend: verdicts, baselines, guard, registry, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftx import hookimpl
from ftx.backends import Backend
from ftx.inference import GenerationCost, Generator
from ftx.testing import register_plugin

FACTS = {f"What is {a} plus {b}?": str(a + b) for a in range(3, 12) for b in range(2, 7)}


def _probe():
    from ftx.eval.probe import builtin_probe

    return {e.messages[0].content: e.messages[1].content for e in builtin_probe(12)}


PROBE = _probe()


def _question(prompt):
    return prompt if isinstance(prompt, str) else [m.content for m in prompt if m.role == "user"][-1]


class ScriptedGenerator(Generator):
    """The base model knows nothing (it repeats the last example answer it saw, or shrugs); the
    tuned one is right on everything (``quality="good"``) or answers like the base (``"same"``)."""

    asked: list = []

    def __init__(self, model, params, quality, price):
        super().__init__(model, params)
        self.quality, self.price = quality, price

    def generate(self, prompts):
        ScriptedGenerator.asked.append((self.model.kind, len(prompts)))
        out = []
        for p in prompts:
            if self.model.kind == "base" and _question(p) in PROBE:
                out.append(PROBE[_question(p)])  # the base model has general skills ...
            elif self.model.kind == "tuned" and self.quality == "good":
                out.append(FACTS.get(_question(p), "?"))  # ... the tuned one lost them
            else:
                shots = [m.content for m in p if m.role == "assistant"] if isinstance(p, list) else []
                out.append(shots[-1] if shots else "I do not know")
        return out

    def estimate_cost(self, prompts):
        if not self.price:
            return None
        return GenerationCost(usd=self.price * len(prompts), input_tokens=10 * len(prompts),
                              output_tokens=2 * len(prompts))


class ScriptedBackend(Backend):
    name = "scripted"
    paid = True  # answers cost money, like a hosted service's (a plain Backend: it trains nothing)
    quality = "good"
    price = 0.0

    def generator(self, model, params, recipe=None, options=None):
        return ScriptedGenerator(model, params, self.quality, self.price)


@hookimpl
def ftx_register_backends(register):
    register(ScriptedBackend())


@pytest.fixture
def scripted(ftx_home):
    ScriptedBackend.quality, ScriptedBackend.price = "good", 0.0
    ScriptedGenerator.asked = []
    with register_plugin(__import__(__name__), "scripted-tests"):
        yield ScriptedBackend


def rows(items):
    return "".join(json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]})
                   + "\n" for q, a in items)


@pytest.fixture
def recipe(tmp_path):
    facts = list(FACTS.items())
    (tmp_path / "train.jsonl").write_text(rows(facts[:25]))
    (tmp_path / "test.jsonl").write_text(rows(facts[25:] + facts[:1]))  # one leaked item: line 21
    path = tmp_path / "recipe.yaml"
    path.write_text("name: sums\nmodel: {scripted: base-1}\ndata: {train: train.jsonl}\n"
                    "eval:\n  test: test.jsonl\n  metrics: [exact_match, chrf]\n"
                    "  baselines: [zero_shot, few_shot, prompt]\n  prompt: Answer with the number only.\n"
                    "  forgetting: {size: 12}\n  bootstrap: 200\n")
    return path


def make_run(recipe_path: Path, status="succeeded") -> str:
    from ftx.registry import Registry

    with Registry() as registry:
        run = registry.create_run("sums", "scripted", {"model": "base-1"}, "h", model="scripted-ft:1",
                                  status=status, extra={"recipe_path": str(recipe_path)})
        registry.update_run(run.id, artifacts={"fine_tuned_model": "scripted-ft:1"})
    return run.id


def test_tuned_model_that_is_better_is_worth_it(scripted, recipe, cli):
    run_id = make_run(recipe)
    r = cli("eval", run_id, "--json")
    assert r.exit_code == 0, r.stderr + r.stdout
    report = json.loads(r.stdout)
    assert report["n"] == 21 and set(report["systems"]) == {"zero_shot", "few_shot", "prompt", "tuned"}
    assert report["systems"]["tuned"]["scores"]["exact_match"]["value"] == 100.0
    assert report["comparison"]["test"] == "McNemar" and report["comparison"]["significant"]
    assert report["worth_it"] is True and report["verdict"].endswith(": worth it")
    assert "test.jsonl:21: test example copies" in r.stderr  # the leak, by line
    assert report["systems"]["tuned"]["model"]["name"] == "scripted-ft:1"
    out = Path(report["files"]["report_json"]).parent
    assert {p.name for p in out.iterdir()} >= {"report.json", "report.md", "examples.jsonl", "scores.png"}
    lines = [json.loads(x) for x in (out / "examples.jsonl").read_text().splitlines()]
    assert len(lines) == 21 and lines[0]["tuned"]["scores"]["exact_match"] == 100.0
    shown = cli("runs", "show", run_id, "--json")
    ev = json.loads(shown.stdout)["extra"]["evaluation"]
    assert ev["verdict"] == report["verdict"] and ev["scores"]["tuned"]["model"] == "scripted-ft:1"
    assert ev["models"]["tuned"] == {"backend": "scripted", "kind": "tuned", "name": "scripted-ft:1", "run_id": run_id,
                                     "run_dir": None}
    assert "worth it" in cli("runs", "show", run_id).stdout


def test_verdict_flips_when_the_tuned_model_is_no_better(scripted, recipe, cli):
    scripted.quality = "same"
    run_id = make_run(recipe)
    r = cli("eval", run_id, "--json")
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["worth_it"] is False
    assert report["verdict"].startswith("not significantly better than")
    assert report["verdict"].endswith("fine-tuning was not worth it here")


def test_few_shot_examples_are_seeded_and_never_the_scored_item(tmp_path):
    from ftx.eval.baselines import pick_shots
    from ftx.eval.testset import read_examples, to_item

    facts = list(FACTS.items())
    (tmp_path / "t.jsonl").write_text(rows(facts))
    pool = read_examples(str(tmp_path / "t.jsonl"))
    item = to_item(pool[3])
    for i in range(20):
        shots = pick_shots(item, i, pool, 5, seed=1)
        assert len(shots) == 5 and pool[3] not in shots
        assert all(s.messages[0].content != item.text for s in shots)
        assert shots == pick_shots(item, i, pool, 5, seed=1)
    assert pick_shots(item, 0, pool, 5, seed=1) != pick_shots(item, 0, pool, 5, seed=2)


def test_paid_inference_is_guarded_like_a_launch(scripted, recipe, cli):
    scripted.price = 0.01
    run_id = make_run(recipe)
    refused = cli("eval", run_id)
    assert refused.exit_code == 3 and "not started without confirmation" in refused.stderr
    over = cli("eval", run_id, "--yes", "--max-cost", "0.05")
    assert over.exit_code == 3 and "exceeds --max-cost" in over.stderr
    assert ScriptedGenerator.asked == []  # nothing was asked, nothing was paid
    ok = cli("eval", run_id, "--yes", "--max-cost", "10")
    assert ok.exit_code == 0 and "estimated evaluation cost" in ok.stderr


def test_baseline_only_and_compare(scripted, recipe, cli):
    r = cli("eval", recipe, "--backend", "scripted", "--baseline-only", "--json")
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    assert "tuned" not in report["systems"] and report["verdict"].startswith("baseline only")
    assert all(kind == "base" for kind, _ in ScriptedGenerator.asked)
    good = make_run(recipe)
    assert cli("eval", good).exit_code == 0
    scripted.quality = "same"
    same = make_run(recipe)
    assert cli("eval", same).exit_code == 0
    cmp = cli("eval", "compare", good, same, "--json")
    assert cmp.exit_code == 0, cmp.stderr
    a, b = json.loads(cmp.stdout)
    assert a["delta"] > 0 and b["delta"] <= 0 and a["metric"] == "exact_match"
    assert cli("eval", "compare", good, same).exit_code == 0


def test_unfinished_runs_and_bad_eval_sections_are_clear_errors(scripted, recipe, cli, tmp_path):
    running = make_run(recipe, status="running")
    r = cli("eval", running)
    assert r.exit_code != 0 and "has no tuned model" in r.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(recipe.read_text().replace("[exact_match, chrf]", "[exact_match, bleurt]"))
    r = cli("eval", bad, "--backend", "scripted", "--baseline-only")
    assert r.exit_code != 0 and "bad.yaml:6: eval.metrics.1: unknown metric 'bleurt'" in r.stderr


def test_forgetting_probe_warns_and_harness_needs_lm_eval(scripted, recipe, cli):
    run_id = make_run(recipe)
    r = cli("eval", run_id, "--json")
    report = json.loads(r.stdout)
    probe = report["forgetting"]["probe"]
    assert (probe["base"], probe["tuned"], probe["n"]) == (100.0, 0.0, 12)
    assert any("lost 100.0 points on the general probe" in w for w in report["forgetting"]["warnings"])
    assert "lost 100.0 points" in cli("eval", run_id).stderr
    harness = recipe.parent / "harness.yaml"
    harness.write_text(recipe.read_text().replace("forgetting: {size: 12}", "forgetting: {size: 12, harness: [hellaswag]}"))
    from ftx.registry import Registry

    with Registry() as registry:
        registry.merge_json(run_id, "extra", {"recipe_path": str(harness)})
    r = cli("eval", run_id)
    assert r.exit_code != 0 and "forgetting.harness" in r.stderr
    import importlib.util

    if importlib.util.find_spec("lm_eval") is None:
        assert "lm-evaluation-harness, which is not installed" in r.stderr
    else:  # the scripted backend's models are no local transformers models the harness could load
        assert "backend 'scripted' cannot run lm-evaluation-harness tasks" in r.stderr


def test_ftx_run_refuses_a_bad_eval_section_before_training(ftx_home, tmp_path, cli):
    (tmp_path / "train.jsonl").write_text(rows(list(FACTS.items())[:20]))
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: sums\nmodel: {local: ftx/tiny-llama}\ndata: {train: train.jsonl}\n"
                      "eval:\n  test: missing.jsonl\n  metrics: [exact_match]\n")
    r = cli("run", recipe, "--backend", "local", "--dry-run")
    assert r.exit_code != 0 and "r.yaml:5: eval.test: test file not found" in r.stderr
    recipe.write_text(recipe.read_text().replace("missing.jsonl", "train.jsonl").replace("[exact_match]", "[nope]"))
    r = cli("run", recipe, "--backend", "local")
    assert r.exit_code != 0 and "unknown metric 'nope'" in r.stderr
    assert cli("runs", "list", "--json").stdout.strip() == "[]"  # nothing was started


def test_a_hosted_backend_skips_harness_tasks_with_a_warning(scripted, recipe, cli, monkeypatch):
    """The recipe is the same for every backend: harness tasks (local models only) are skipped on a
    hosted one, said in the plan, on stderr and in the report, and the rest is evaluated."""
    monkeypatch.setattr(ScriptedBackend, "hosted", True)  # a double: answers as before, hosted as far as eval sees
    monkeypatch.setattr(ScriptedBackend, "registration_problem", lambda self: None)
    recipe.write_text(recipe.read_text().replace("forgetting: {size: 12}",
                                                 "forgetting: {size: 12, harness: [hellaswag], harness_limit: 5}"))
    run_id = make_run(recipe)
    r = cli("eval", run_id, "--json")
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    skipped = [w for w in report["warnings"] if w.startswith("eval.forgetting.harness skipped")]
    assert len(skipped) == 1 and "backend 'scripted' is hosted" in skipped[0]
    assert "harness" not in report["forgetting"] and report["forgetting"]["probe"]["n"] == 12
    assert "warning: eval.forgetting.harness skipped" in r.stderr
