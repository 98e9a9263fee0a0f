"""``eval.forgetting.harness``: local lm-evaluation-harness task YAMLs, checked at dry-run time
(one located line per problem), and run for real (offline) on the tiny model, base and tuned."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "recipes" / "data" / "quickstart.jsonl"
DOC = ROOT / "docs" / "evaluation.md"


def docs_example() -> tuple[str, str, list[str]]:
    """docs/evaluation.md's local task: (task YAML, its JSONL rows, the recipe's harness entries)."""
    import yaml

    section = DOC.read_text(encoding="utf-8").split("### lm-evaluation-harness tasks", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("\n", 1)[1].rstrip("\n") + "\n" for b in section.split("```")[1::2]]
    task, rows, recipe = blocks[:3]
    return task, rows, yaml.safe_load(recipe)["eval"]["forgetting"]["harness"]


def write_docs_example(folder: Path) -> tuple[list[str], int]:
    """The docs' task written under ``folder`` as the docs lay it out; (harness entries, rows)."""
    task, rows, entries = docs_example()
    (folder / "forgetting").mkdir(parents=True, exist_ok=True)
    (folder / "forgetting" / "general_mc.yaml").write_text(task)
    (folder / "forgetting" / "general_mc.jsonl").write_text(rows)
    return entries, len(rows.splitlines())

QUESTIONS = [("What color is the sky on a clear day?", ["blue", "green", "red"], 0),
             ("What sound does a cow make?", ["woof", "moo", "meow"], 1),
             ("What is the opposite of up?", ["down", "left", "over"], 0),
             ("How many legs does a cat have?", ["two", "six", "four"], 2),
             ("What do bees make?", ["honey", "milk", "silk"], 0),
             ("Which one is a fruit?", ["stone", "apple", "chair"], 1)]

MC_TASK = """\
task: tiny_mc
dataset_path: json
dataset_kwargs:
  data_files:
    test: data/mc.jsonl
test_split: test
output_type: multiple_choice
doc_to_text: "Question: {{question}}\\nAnswer:"
doc_to_target: answer
doc_to_choice: choices
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
"""

LL_TASK = """\
task: tiny_ll
dataset_path: json
dataset_kwargs:
  data_files:
    test: data/mc.jsonl
test_split: test
output_type: loglikelihood
doc_to_text: "Question: {{question}}\\nAnswer:"
doc_to_target: "{{' ' + choices[answer]}}"
metric_list:
  - metric: perplexity
    aggregation: perplexity
    higher_is_better: false
  - metric: acc
    aggregation: mean
    higher_is_better: true
"""


def write_tasks(folder: Path) -> Path:
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "mc.jsonl").write_text(
        "".join(json.dumps({"question": q, "choices": c, "answer": a}) + "\n" for q, c, a in QUESTIONS))
    (folder / "mc.yaml").write_text(MC_TASK)
    (folder / "ll.yaml").write_text(LL_TASK)
    (folder / "_notes.yaml").write_text("# a template or note: no task: name, so not a task\nx: 1\n")
    return folder


def write_recipe(tmp_path: Path, harness: str, lr: float = 1e-3) -> Path:
    rows = [json.loads(line) for line in QUICKSTART.read_text(encoding="utf-8").splitlines() if line.strip()]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:24]))
    (tmp_path / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[300:306]))
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "name: harness\n"
        "model: {local: ftx/tiny-llama}\n"
        "data: {train: train.jsonl, validation: test.jsonl}\n"
        f"hyperparameters: {{max_steps: 4, batch_size: 4, max_length: 48, learning_rate: {lr}}}\n"
        "eval:\n"
        "  test: test.jsonl\n"
        "  metrics: [exact_match]\n"
        "  bootstrap: 100\n"
        "  generation: {max_new_tokens: 4}\n"
        "  forgetting:\n"
        "    probe: none\n"
        "    perplexity: false\n"
        f"    harness: {harness}\n")
    return recipe


def test_bad_task_files_are_one_located_line_each_at_dry_run(tmp_path, cli):
    tasks = write_tasks(tmp_path / "tasks")
    (tasks / "nameless.yml").write_text("dataset_path: json\n")
    (tmp_path / "lost.yaml").write_text(MC_TASK.replace("data/mc.jsonl", "data/gone.jsonl"))
    (tmp_path / "empty").mkdir()
    recipe = write_recipe(tmp_path, "[tasks/missing.yaml, tasks/nameless.yml, lost.yaml, empty, tasks]")
    r = cli("run", recipe, "--backend", "local", "--dry-run")
    assert r.exit_code != 0
    errors = [line for line in r.stderr.splitlines() if "eval.forgetting.harness" in line]
    at = f"{recipe}:13: eval.forgetting.harness"
    assert errors[0] == f"error: {at}.0: task file not found: {tmp_path / 'tasks' / 'missing.yaml'}"
    assert any(e.endswith(f"{at}.1: task file {tasks / 'nameless.yml'} has no 'task:' name (an "
                          "lm-evaluation-harness task YAML names its task)") for e in errors)
    assert any(e.endswith(f"{at}.2: task file {tmp_path / 'lost.yaml'}: dataset_kwargs.data_files: "
                          f"data/gone.jsonl not found (relative to {tmp_path})") for e in errors)
    assert any(e.endswith(f"{at}.3: no task YAML (*.yaml, *.yml with a 'task:' name) in {tmp_path / 'empty'}")
               for e in errors)
    assert len(errors) == 4  # the folder (harness.4) is fine: two tasks, a note skipped
    assert cli("runs", "list", "--json").stdout.strip() == "[]"  # nothing was started

    from ftx.eval.harness_tasks import resolve_harness

    plan = resolve_harness(["tasks", "arc_easy"], tmp_path)
    assert plan.named == ["arc_easy"] and sorted(plan.tasks) == ["arc_easy", "tiny_ll", "tiny_mc"]
    assert plan.include_paths == [str(tasks.resolve())]


def test_docs_example_passes_the_dry_run(tmp_path, cli):
    entries, n = write_docs_example(tmp_path)
    assert entries == ["forgetting/general_mc.yaml"] and n == 5
    recipe = write_recipe(tmp_path, json.dumps(entries))
    r = cli("run", recipe, "--backend", "local", "--dry-run")
    assert r.exit_code == 0, r.stderr
    assert "lm-evaluation-harness, base vs tuned: forgetting/general_mc.yaml" in r.stderr
    from ftx.eval.harness_tasks import resolve_harness

    plan = resolve_harness(entries, tmp_path)
    assert plan.tasks == ["general_mc"] and plan.named == []


def test_drop_is_in_the_metrics_direction_and_warns_past_the_threshold():
    from ftx.eval.harness_tasks import compare_scores
    from ftx.plugins.local.harness import scores_of

    def out(acc, ppl):  # the shape of lm_eval.simple_evaluate's result
        return {"results": {"t": {"alias": "t", "acc,none": acc, "acc_stderr,none": 0.1, "perplexity,none": ppl,
                                  "perplexity_stderr,none": "N/A"}},
                "n-samples": {"t": {"original": 6, "effective": 6}},
                "higher_is_better": {"t": {"acc": True, "perplexity": False}}}

    base, tuned = scores_of(out(0.5, 10.0)), scores_of(out(0.25, 12.0))
    assert base["t"]["n"] == 6 and base["t"]["metrics"]["perplexity"]["stderr"] is None
    table, warnings = compare_scores(base, tuned, threshold=5)
    acc, ppl = table["tasks"]["t"]["metrics"]["acc"], table["tasks"]["t"]["metrics"]["perplexity"]
    assert (acc["base"], acc["tuned"], acc["drop"]) == (0.5, 0.25, 0.25)
    assert ppl["drop"] == 2.0 and ppl["delta"] == 2.0  # higher perplexity is worse
    assert len(warnings) == 1 and "lost 25.0 points of acc" in warnings[0]
    assert compare_scores(base, tuned, threshold=30)[1] == []


@pytest.mark.slow
def test_local_tasks_score_base_and_tuned_offline(tmp_path, ftx_home):
    """The real harness end to end, offline: ftx run trains a LoRA adapter on the tiny model, then
    scores base and tuned on two local tasks: the docs' multiple-choice example, and a
    loglikelihood task (whose perplexity shows the tuned score is the adapter's)."""
    pytest.importorskip("lm_eval", reason="lm-evaluation-harness is not installed (pip install 'ftx[harness]'; "
                                          "ftx[all] includes it)")
    entries, n_docs = write_docs_example(tmp_path)
    tasks = write_tasks(tmp_path / "tasks")
    recipe = write_recipe(tmp_path, json.dumps([*entries, "tasks/ll.yaml"]), lr=1e-2)
    env = {**os.environ, "FTX_HOME": str(ftx_home), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"),
           "HF_DATASETS_CACHE": str(tmp_path / "hf" / "datasets")}
    proc = subprocess.run([sys.executable, "-m", "ftx", "run", str(recipe), "--backend", "local"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    from ftx.registry import Registry

    with Registry() as registry:
        (run,) = registry.list_runs()
    recorded = run.extra["evaluation"]["forgetting"]["harness"]
    report = json.loads(Path(run.artifacts["eval_report"]).read_text())
    harness = report["forgetting"]["harness"]
    assert recorded == harness
    assert set(harness["tasks"]) == {"general_mc", "tiny_ll"}
    assert harness["local"] == {"general_mc": str((tmp_path / "forgetting" / "general_mc.yaml").resolve()),
                                "tiny_ll": str((tasks / "ll.yaml").resolve())}
    for task, rows, metrics in (("general_mc", n_docs, {"acc", "acc_norm"}), ("tiny_ll", len(QUESTIONS),
                                                                              {"acc", "perplexity"})):
        t = harness["tasks"][task]
        assert t["n"] == t["n_tuned"] == rows  # every row was scored, by both models
        assert set(t["metrics"]) == metrics
        acc = t["metrics"]["acc"]
        assert 0 <= acc["base"] <= 1 and 0 <= acc["tuned"] <= 1 and acc["higher_is_better"] is True
        assert acc["drop"] == pytest.approx(acc["base"] - acc["tuned"])
    ppl = harness["tasks"]["tiny_ll"]["metrics"]["perplexity"]
    assert ppl["base"] > 1 and ppl["tuned"] > 1 and ppl["higher_is_better"] is False
    assert ppl["tuned"] != ppl["base"]  # the tuned score is the adapter's, not the base model's again
    assert ppl["drop"] == pytest.approx(ppl["tuned"] - ppl["base"])
    assert f"harness general_mc ({n_docs} docs) acc: base " in proc.stdout
    md = Path(report["files"]["report_md"]).read_text()
    assert f"| tiny_ll | {len(QUESTIONS)} | perplexity |" in md
    dropped = [(task, metric) for task, t in harness["tasks"].items() for metric, m in t["metrics"].items()
               if m["drop"] is not None and 0 <= m["base"] <= 1 and 0 <= m["tuned"] <= 1 and m["drop"] * 100 > 5]
    warned = [w for w in report["forgetting"]["warnings"] if "lm-evaluation-harness task" in w]
    assert len(warned) == len(dropped)  # one warning per 0-1 metric that dropped past the threshold
    assert all(f"of {metric} on lm-evaluation-harness task {task}" in proc.stderr for task, metric in dropped)

    # A named task offline, its dataset not cached: the harness's error in one line, no traceback.
    recipe.write_text(recipe.read_text().replace('harness: ["forgetting/general_mc.yaml"', 'harness: ["arc_easy"'))
    proc = subprocess.run([sys.executable, "-m", "ftx", "eval", run.id], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=600)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert len(errors) == 1 and errors[0].startswith(
        "error: eval.forgetting.harness: lm-evaluation-harness could not run arc_easy: "), errors


def test_recipes_validate_finds_a_missing_task_file_too(tmp_path, cli):
    recipe = write_recipe(tmp_path, "[forgetting/general_mc.yaml]")
    r = cli("recipes", "validate", recipe)
    assert r.exit_code != 0
    assert (f"{recipe}:13: eval.forgetting.harness.0: task file not found: "
            f"{tmp_path / 'forgetting' / 'general_mc.yaml'}") in r.stderr
    write_docs_example(tmp_path)
    r = cli("recipes", "validate", recipe)
    assert r.exit_code == 0, r.stderr
    assert "checked the eval section" in r.stdout


def test_a_prompt_tuning_adapter_is_scored_on_its_continuation(tmp_path):
    """ftx trains prompt tuning too: its adapter prepends virtual-token positions to the logits. The
    harness's HFLM, handed the loaded PEFT model as ftx hands it, skips them: a loglikelihood is the
    continuation's, computed by hand here from the same logits."""
    pytest.importorskip("lm_eval", reason="lm-evaluation-harness is not installed (pip install 'ftx[harness]')")
    import peft
    import torch
    import transformers
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    from ftx.plugins.local.tiny_model import build_tiny_model

    folder = tmp_path / "tiny"
    folder.mkdir()
    build_tiny_model(folder)
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    torch.manual_seed(0)
    model = peft.get_peft_model(transformers.AutoModelForCausalLM.from_pretrained(folder),
                                peft.PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=8)).eval()
    request = Instance(request_type="loglikelihood", doc={}, arguments=("Question: What sound does a cow make?\n"
                                                                        "Answer:", " moo"), idx=0)
    lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=1)
    context, continuation = lm._encode_pair(*request.arguments)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([context + continuation])).logits[0]
    assert logits.shape[0] == len(context) + len(continuation) + 8  # the virtual tokens come first
    logp = torch.log_softmax(logits[8:].float(), dim=-1)
    expected = sum(float(logp[len(context) - 1 + i, tok]) for i, tok in enumerate(continuation))
    (got, _), = lm.loglikelihood([request])
    assert got == pytest.approx(expected, abs=1e-4)


@pytest.mark.slow
def test_baseline_only_scores_the_base_model_on_at_most_the_limit(tmp_path, ftx_home):
    """``ftx eval RECIPE --baseline-only`` runs the harness tasks on the base model alone (the
    starting point), and ``harness_limit`` caps the documents of each task."""
    pytest.importorskip("lm_eval", reason="lm-evaluation-harness is not installed (pip install 'ftx[harness]')")
    write_tasks(tmp_path / "tasks")
    recipe = write_recipe(tmp_path, "[tasks/mc.yaml]")
    recipe.write_text(recipe.read_text() + "    harness_limit: 4\n")
    env = {**os.environ, "FTX_HOME": str(ftx_home), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "HF_HOME": str(tmp_path / "hf"), "HF_DATASETS_CACHE": str(tmp_path / "hf" / "datasets")}
    proc = subprocess.run([sys.executable, "-m", "ftx", "eval", str(recipe), "--backend", "local", "--baseline-only",
                           "--json", "--out", str(tmp_path / "eval")], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    harness = json.loads(proc.stdout)["forgetting"]["harness"]
    task = harness["tasks"]["tiny_mc"]
    assert harness["limit"] == 4 and task["n"] == 4 < len(QUESTIONS)  # the first 4 of the 6 documents
    acc = task["metrics"]["acc"]
    assert 0 <= acc["base"] <= 1 and acc["tuned"] is None and acc["drop"] is None
    md = (tmp_path / "eval" / "report.md").read_text()
    assert "lm-evaluation-harness, the base model:" in md and "| tiny_mc | 4 | acc |" in md
