"""Data for Vertex: conversion to Gemini tuning JSONL and Vertex's rules, every problem at file:line."""

from __future__ import annotations

import json

import pytest

from vertex_test_helpers import chat_lines, jsonl, preference_lines


def _line(messages: list[dict]) -> str:
    return json.dumps({"messages": messages}) + "\n"


def _dry_run(cli, recipe):
    return cli("run", recipe, "--backend", "vertex", "--dry-run", "--json")


def _prepared(recipe_path, backend="vertex"):
    from ftx.components import get_backend
    from ftx.recipe import load_recipe

    return get_backend(backend).prepare(load_recipe(str(recipe_path), backend=backend))


def test_supervised_records_are_gemini_tuning_jsonl(make_recipe, vertex_env):
    prepared = _prepared(make_recipe(train=chat_lines(12)))
    records = jsonl(prepared.file("train").content) + jsonl(prepared.file("validation").content)
    assert len(records) == 12
    first = next(r for r in records if r["contents"][0]["parts"][0]["text"] == "What is 0 plus 0?")
    assert first == {"systemInstruction": {"role": "system", "parts": [{"text": "You answer briefly."}]},
                     "contents": [{"role": "user", "parts": [{"text": "What is 0 plus 0?"}]},
                                  {"role": "model", "parts": [{"text": "0 plus 0 is 0."}]}]}
    train = prepared.file("train")
    assert train.filename == f"ftx-{train.sha256[:16]}-train.jsonl"
    assert prepared.summary["data format"] == "Gemini supervised JSONL"


def test_preference_records(make_recipe, vertex_env):
    line = json.dumps({"prompt": [{"role": "system", "content": "Be kind."},
                                  {"role": "user", "content": "Hi"},
                                  {"role": "assistant", "content": "Hello!"},
                                  {"role": "user", "content": "Greet me again."}],
                       "chosen": [{"role": "assistant", "content": "Hello again, friend!"}],
                       "rejected": [{"role": "assistant", "content": "No."}]}) + "\n"
    prepared = _prepared(make_recipe(train=line * 10, objective="dpo", extra="eval:\n  strategy: 'no'\n"))
    [record, *_] = jsonl(prepared.file("train").content)
    assert record == {
        "system_instruction": {"parts": [{"text": "Be kind."}]},
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]}, {"role": "model", "parts": [{"text": "Hello!"}]},
                     {"role": "user", "parts": [{"text": "Greet me again."}]}],
        "completions": [{"score": 1, "completion": {"role": "model", "parts": [{"text": "Hello again, friend!"}]}},
                        {"score": 0, "completion": {"role": "model", "parts": [{"text": "No."}]}}]}
    assert prepared.file("validation") is None
    assert "preferenceOptimizationSpec" in prepared.request


def test_every_problem_is_reported_with_file_and_line(cli, make_recipe, fake_vertex, gcs):
    """Records that are valid chat data but break Vertex's rules: all reported at once."""
    lines = chat_lines(3)
    lines += _line([{"role": "user", "content": "a"}, {"role": "user", "content": "b"},
                    {"role": "assistant", "content": "c"}])                                    # line 4
    lines += _line([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"},
                    {"role": "user", "content": "and?"}])                                       # line 5
    lines += _line([{"role": "user", "content": "q"}, {"role": "assistant", "content": None,
                    "tool_calls": [{"id": "1", "type": "function",
                                    "function": {"name": "f", "arguments": "{}"}}]},
                    {"role": "tool", "tool_call_id": "1", "content": "x"},
                    {"role": "assistant", "content": "done"}])                                  # line 6
    lines += _line([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 0},
                    {"role": "user", "content": "q2"}, {"role": "assistant", "content": "b"}])  # line 7
    recipe = make_recipe(train=lines, extra="eval:\n  strategy: 'no'\n")
    r = _dry_run(cli, recipe)
    assert r.exit_code != 0 and "Traceback" not in r.stderr
    errors = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    where = {int(x.split("train.jsonl:")[1].split(":")[0]) for x in errors if "train.jsonl:" in x}
    assert where == {4, 5, 6, 7}, r.stderr
    assert "alternating" in r.stderr and "end with model" in r.stderr and "tool calls" in r.stderr
    assert "weight 0" in r.stderr
    # a launch refuses the same data before anything is uploaded or created
    launch = cli("run", recipe, "--backend", "vertex", "--yes")
    assert launch.exit_code != 0 and gcs.objects() == [] and fake_vertex.requests == []


def test_vertex_rules_on_converted_records():
    """The checks on the exact records uploaded, whatever format they came from."""
    from ftx.example import Source
    from ftx.providers.vertex.validate import check_records

    def text(t):
        return [{"text": t}]

    records = [
        ({"contents": [{"role": "user", "parts": text("q")}, {"role": "model", "parts": text("a")}]}, Source("f", 1)),
        ({"contents": [{"role": "user", "parts": text("q")}, {"role": "model", "parts": text(" ")}]}, Source("f", 2)),
        ({"contents": [{"role": "model", "parts": text("a")}]}, Source("f", 3)),
        ({"contents": [{"role": "user", "parts": []}, {"role": "model", "parts": text("a")}]}, Source("f", 4)),
        ({"contents": [{"role": "user", "parts": [{"inlineData": {}}]}, {"role": "model", "parts": text("a")}]},
         Source("f", 5)),
        ({"contents": [], "extra": 1}, Source("f", 6)),
    ]
    checked = check_records(records, "sft", file="f", limit=None, model="m")
    got = {(p.line, p.field, p.message.split(":")[0]) for p in checked.problems}
    assert got == {(2, "contents[1].parts[0].text", "text is empty"),
                   (3, "contents[0].role", "the first turn must be from user"),
                   (4, "contents[0].parts", "parts must be a non-empty list"),
                   (5, "contents[0].parts[0]", "only text parts are supported"),
                   (6, "extra", "Vertex tuning data does not accept the key 'extra'"),
                   (6, "contents", "contents must be a non-empty list of turns")}
    assert checked.tokens == [1]  # ceil(2 characters / 4)
    pref = [({"contents": [{"role": "user", "parts": text("q")}],
              "completions": [{"score": 1, "completion": {"role": "model", "parts": text("same")}},
                              {"score": 1, "completion": {"role": "model", "parts": text("same")}}]}, Source("g", 9))]
    problems = check_records(pref, "dpo", file="g", limit=None, model="m").problems
    assert {p.message.split(",")[0].split(":")[0] for p in problems} == {
        "scores must be one 1 (preferred) and one 0 (dispreferred)",
        "the preferred and dispreferred completions are identical"}


def test_per_example_token_limit(cli, make_recipe, vertex_env):
    long = "word " * 110_000  # 550,000 characters: about 137,500 tokens, over 131,072
    lines = chat_lines(3) + _line([{"role": "user", "content": long}, {"role": "assistant", "content": "ok"}])
    r = _dry_run(cli, make_recipe(train=lines, extra="eval:\n  strategy: 'no'\n"))
    assert r.exit_code != 0
    assert "train.jsonl:4:" in r.stderr and "takes at most 131,072 per training example" in r.stderr


def test_validation_set_limit_and_empty_train(cli, make_recipe, vertex_env):
    from ftx.estimate import PriceTable
    from ftx import hookimpl
    from ftx.testing import register_plugin

    class TinyLimits:
        @hookimpl
        def ftx_register_price_tables(self, register):
            register(PriceTable(name="test limits", backend="vertex", date="2026-11-23", source="test",
                                entries={"gemini-3-flash-lite": {"train_per_1m_tokens": 1.5,
                                                                    "max_tokens_per_example": 131072,
                                                                    "max_validation_examples": 3,
                                                                    "preference_tuning": True}}))

    with register_plugin(TinyLimits(), "tiny-limits"):
        r = _dry_run(cli, make_recipe(train=chat_lines(5), validation=chat_lines(4, 50)))
    assert r.exit_code != 0
    assert "valid.jsonl: Vertex takes at most 3 validation examples; this run has 4" in r.stderr


def test_preference_data_problems(cli, make_recipe, vertex_env):
    good = preference_lines(3)
    two_turns = json.dumps({"prompt": [{"role": "user", "content": "Hi"}],
                            "chosen": [{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}],
                            "rejected": [{"role": "assistant", "content": "c"}]}) + "\n"
    r = _dry_run(cli, make_recipe(train=good + two_turns, objective="dpo", extra="eval:\n  strategy: 'no'\n"))
    assert r.exit_code != 0
    assert "train.jsonl:4:" in r.stderr and "exactly one assistant message" in r.stderr


def test_preference_tuning_needs_a_model_that_supports_it(cli, make_recipe, vertex_env):
    r = _dry_run(cli, make_recipe(train=preference_lines(5), objective="dpo", model="gemini-2.5-pro"))
    assert r.exit_code != 0 and "gemini-2.5-pro does not support preference tuning" in r.stderr


@pytest.mark.parametrize("extra, message", [
    ("method:\n  name: lora\n  r: 32\n", "method.r 32 has no equivalent"),
    ("hyperparameters:\n  learning_rate_multiplier: 0\n", "learning_rate_multiplier must be above 0"),
    ("method:\n  name: full\n", "cannot train method 'full'"),
])
def test_fields_vertex_cannot_honour_are_refused_by_name(cli, make_recipe, vertex_env, extra, message):
    r = _dry_run(cli, make_recipe(extra=extra))
    assert r.exit_code != 0 and message in r.stderr


def test_ignored_and_mapped_fields_warn_by_name(cli, make_recipe, vertex_env):
    extra = ("method:\n  name: lora\n  alpha: 64\nhyperparameters:\n  batch_size: 16\n  seed: 7\n"
             "  learning_rate: 0.001\neval:\n  samples: [hi]\n")
    r = _dry_run(cli, make_recipe(extra=extra))
    assert r.exit_code == 0, r
    for field in ("method.alpha", "hyperparameters.batch_size", "hyperparameters.seed",
                  "hyperparameters.learning_rate", "eval.samples", "method.r: mapped"):
        assert field in r.stderr, field
    request = json.loads(r.stdout)["plan"]["request"]
    assert "adapterSize" not in request["supervisedTuningSpec"]["hyperParameters"]


def test_unknown_model_warns_and_keeps_going(cli, make_recipe, vertex_env):
    r = _dry_run(cli, make_recipe(model="gemini-9-ultra"))
    assert r.exit_code == 0, r
    assert "'gemini-9-ultra' is not in ftx's Vertex tuning catalog" in r.stderr
