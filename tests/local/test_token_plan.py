"""The token-exact data plan: truncated and fully cut examples are counted, listed by file:line,
dropped with a count by a run, and a run with nothing left to train is one clear error."""

from __future__ import annotations

import json

import pytest

from conftest import jsonl, quickstart_rows

from ftx.errors import BackendError

LONG = " ".join(["please answer the question below carefully"] * 12)


def rows_with_long_prompts(n_long: int, n_short: int) -> list[dict]:
    rows = quickstart_rows(n_long + n_short)
    for r in rows[:n_long]:
        r["messages"][0]["content"] = LONG + " " + r["messages"][0]["content"]
    return rows


def examples(path):
    from ftx.data.load import iter_examples

    return list(iter_examples(str(path), "auto"))


def test_examples_cut_before_their_answer_are_dropped_with_a_count(tiny_model, tmp_path):
    from ftx.plugins.local.models import load_tokenizer
    from ftx.plugins.local.token_plan import drop_untrainable, plan_tokens

    tok = load_tokenizer(str(tiny_model))
    train = examples(jsonl(tmp_path / "t.jsonl", rows_with_long_prompts(4, 8)))
    plan = plan_tokens(train, tok, 40)
    assert len(plan.empty) == 4 and len(plan.truncated) == 4
    assert plan.empty[0].where.endswith("t.jsonl:1") and plan.to_dict()["no_trained_tokens"] == 4
    kept, val, notes = drop_untrainable(train, [], tok, 40, "sft")
    assert len(kept) == 8 and val == []
    assert any("dropped 4 of 12 training examples" in n and "t.jsonl:1" in n for n in notes)
    with pytest.raises(BackendError, match="none of the 4 training examples") as info:
        drop_untrainable(train[:4], [], tok, 40, "sft")
    assert info.value.problems[0].field == "hyperparameters.max_length"
    kept, _, notes = drop_untrainable(train, [], tok, 1024, "sft")
    assert len(kept) == 12 and notes == []


def test_the_mask_matches_trls_labels(tiny_model, tmp_path):
    """The plan's trained tokens are the ones TRL computes loss on (its assistant mask)."""
    from ftx.plugins.local.models import load_tokenizer
    from ftx.plugins.local.token_plan import plan_tokens

    tok = load_tokenizer(str(tiny_model))
    [e] = examples(jsonl(tmp_path / "one.jsonl", quickstart_rows(1)))
    [p] = plan_tokens([e], tok, 1024, keep_ids=True).examples
    answer = tok.decode([i for i, m in zip(p.ids, p.mask) if m])
    assert answer == e.messages[-1].content + tok.eos_token


def test_data_inspect_lists_the_examples_a_run_would_drop(cli, tiny_model, tmp_path):
    train = jsonl(tmp_path / "t.jsonl", rows_with_long_prompts(3, 9))
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: r\nmodel: {{local: ftx/tiny-llama}}\ndata: {{train: {train}}}\n"
                      "hyperparameters: {max_length: 40}\n")
    r = cli("data", "inspect", recipe, "--backend", "local", "--json", "--show", "2")
    assert r.exit_code == 0, r
    plan = json.loads(r.stdout)
    everything = plan["train"]["examples"] + plan.get("validation", {}).get("examples", 0)
    assert everything == 12 and plan["max_length"] == 40
    cut = plan["train"]["no_trained_tokens"] + plan.get("validation", {}).get("no_trained_tokens", 0)
    assert cut == 3
    assert "[[" in plan["shown"][0]["text"] and plan["shown"][0]["kept"] == 0
    text = cli("data", "inspect", recipe, "--backend", "local")
    assert text.exit_code == 0 and "no trained token left" in text.stdout and "t.jsonl:" in text.stdout


def test_a_run_with_nothing_left_to_train_is_one_clear_line(cli, tiny_model, tmp_path):
    train = jsonl(tmp_path / "t.jsonl", rows_with_long_prompts(8, 0))
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: r\nmodel: {{local: ftx/tiny-llama}}\ndata: {{train: {train}}}\n"
                      "hyperparameters: {max_length: 40, max_steps: 2}\neval: {strategy: 'no', baseline: false}\n")
    r = cli("run", recipe, "--backend", "local")
    assert r.exit_code != 0 and "Traceback" not in r.stderr and "num_samples" not in r.stderr
    assert "has a trained token within max_length 40" in r.stderr
