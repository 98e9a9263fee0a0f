"""OpenAI's data rules, checked on the records ftx would upload, reported at the user's file:line."""

from __future__ import annotations

import json

import pytest

from ftx.example import Source
from ftx.providers.openai.results import metrics_rows, normalise_metrics
from ftx.providers.openai.validate import check_file, count_tokens


def words(text: str) -> int:
    return len(text.split())


def chat(*turns, **extra):
    roles = ["user", "assistant"]
    return {"messages": [{"role": roles[i % 2], "content": t} for i, t in enumerate(turns)], **extra}


def check(records, objective="sft", limit=None, minimum=0):
    pairs = [(r, Source("train.jsonl", i + 1)) for i, r in enumerate(records)]
    return check_file(pairs, objective, words, limit, "gpt-x", file="train.jsonl", minimum=minimum)


def lines(result):
    return [str(p) for p in result.problems]


def test_valid_conversations_pass_and_are_counted():
    result = check([chat("hi there", "hello you"), chat("a", "b")])
    assert result.problems == [] and len(result.tokens) == 2
    # 3 reply priming + per message 3 framing + role (1 word) + content words
    assert result.tokens[0] == 3 + (3 + 1 + 2) * 2


def test_at_least_ten_training_examples():
    result = check([chat("q", "a")] * 9, minimum=10)
    assert lines(result)[0].startswith("train.jsonl: OpenAI needs at least 10 training examples; this file has 9")


@pytest.mark.parametrize("record, expected", [
    ({"messages": [{"role": "robot", "content": "x"}, {"role": "assistant", "content": "y"}]},
     "train.jsonl:1: messages[0].role: role must be one of system, user, assistant, tool, not 'robot'"),
    ({"messages": [{"role": "user", "content": "hi"}]},
     "train.jsonl:1: messages: no assistant message: nothing for the model to learn"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 0}]},
     "train.jsonl:1: messages: every assistant message has weight 0: nothing for the model to learn"),
    ({"messages": [{"role": "user", "content": "q", "weight": 1}, {"role": "assistant", "content": "a"}]},
     "train.jsonl:1: messages[0].weight: weight is only allowed on assistant messages"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 0.5}]},
     "train.jsonl:1: messages[1].weight: weight must be 0 or 1, not 0.5"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "mood": "x"}]},
     "train.jsonl:1: messages[1].mood: OpenAI does not accept the message key 'mood'"),
    ({"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "a"}]},
     "train.jsonl:1: messages[0].content: content is empty"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"},
                   {"role": "system", "content": "late"}, {"role": "assistant", "content": "b"}]},
     "train.jsonl:1: messages[2].role: a system message must come first"),
    (chat("q", "a", label="x"), "train.jsonl:1: label: OpenAI chat fine-tuning files do not accept the key 'label'"),
])
def test_each_rule_is_reported_at_its_line(record, expected):
    assert expected in lines(check([record]))


def _call(call_id="c1", name="lookup", args='{"q": 1}'):
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


def test_tool_calls_well_formed_and_answered():
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    good = {"tools": tools, "messages": [
        {"role": "user", "content": "find"}, {"role": "assistant", "tool_calls": [_call()]},
        {"role": "tool", "tool_call_id": "c1", "content": "found"}, {"role": "assistant", "content": "here"}]}
    ends_with_call = {"tools": tools, "messages": [{"role": "user", "content": "find"},
                                                   {"role": "assistant", "tool_calls": [_call()]}]}
    assert check([good, ends_with_call]).problems == []
    bad_args = {"messages": [{"role": "user", "content": "q"},
                             {"role": "assistant", "tool_calls": [_call(args="{no")]}]}
    unanswered = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": [_call()]},
                               {"role": "user", "content": "and?"}, {"role": "assistant", "content": "x"}]}
    stray = {"messages": [{"role": "user", "content": "q"}, {"role": "tool", "tool_call_id": "zz", "content": "r"},
                          {"role": "assistant", "content": "x"}]}
    undeclared = {"tools": tools, "messages": [{"role": "user", "content": "q"},
                                               {"role": "assistant", "tool_calls": [_call(name="launch")]}]}
    out = lines(check([bad_args, unanswered, stray, undeclared]))
    assert any(line.startswith("train.jsonl:1: messages[1].tool_calls[0].function.arguments: arguments is not valid "
                               "JSON") for line in out)
    assert any(line.startswith("train.jsonl:2: messages[2]: tool call(s) c1 made at messages[1]") for line in out)
    assert "train.jsonl:3: messages[1].tool_call_id: tool_call_id 'zz' answers no earlier tool call" in out
    assert ("train.jsonl:4: messages[1].tool_calls: calls function 'launch', which the example's tools do not define"
            in out)


def test_per_example_token_limit_uses_the_counter():
    long = chat("word " * 50, "ok")
    out = lines(check([chat("short", "ok"), long], limit=40))
    assert out == ["train.jsonl:2: example is 62 tokens; gpt-x takes at most 40 per training example "
                   "(OpenAI would truncate it)"]


def dpo(prompt="Which?", good="This one.", bad="That one."):
    return {"input": {"messages": [{"role": "user", "content": prompt}]},
            "preferred_output": [{"role": "assistant", "content": good}],
            "non_preferred_output": [{"role": "assistant", "content": bad}]}


def test_dpo_pairs():
    assert check([dpo()], "dpo").problems == []
    ends_with_assistant = dpo()
    ends_with_assistant["input"]["messages"].append({"role": "assistant", "content": "hm"})
    two_outputs = dpo()
    two_outputs["preferred_output"].append({"role": "assistant", "content": "more"})
    same = dpo(good="x", bad="x")
    weighted = dpo()
    weighted["preferred_output"][0]["weight"] = 1
    out = lines(check([ends_with_assistant, two_outputs, same, weighted], "dpo"))
    assert "train.jsonl:1: input.messages: the prompt must end with a user message, not assistant" in out
    assert "train.jsonl:2: preferred_output: preferred_output must be a list of exactly one assistant message" in out
    assert ("train.jsonl:3: non_preferred_output: the preferred and non-preferred outputs are identical: "
            "nothing to learn") in out
    assert "train.jsonl:4: preferred_output[0].weight: weight is not allowed here" in out


def test_dpo_tokens_count_the_prompt_and_the_longer_answer():
    result = check([dpo(prompt="a b c", good="one", bad="one two three four")], "dpo")
    assert result.tokens == [3 + (3 + 1 + 3) + (3 + 1 + 4)]


def test_token_count_includes_names_tool_calls_and_tools():
    messages = [{"role": "user", "content": "x", "name": "ann"}]
    assert count_tokens(messages, words) == 3 + 3 + 1 + 1 + 1 + 1
    tools = [{"type": "function"}]
    assert count_tokens(messages, words, tools) == count_tokens(messages, words) + words(json.dumps(tools))


# -- results ---------------------------------------------------------------------------------------------
def test_result_csv_base64_to_metrics_rows():
    import base64

    csv = ("step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n"
           "2,1.5,0.6,,\n1,2.0,0.5,,\n4,0.9,0.8,1.1,0.7\n")
    rows = metrics_rows(base64.b64encode(csv.encode()), n_epochs=2)
    assert rows == [
        {"step": 1, "loss": 2.0, "token_accuracy": 0.5, "epoch": 0.5},
        {"step": 2, "loss": 1.5, "token_accuracy": 0.6, "epoch": 1.0},
        {"step": 4, "loss": 0.9, "token_accuracy": 0.8, "eval_loss": 1.1, "eval_token_accuracy": 0.7, "epoch": 2.0},
    ]
    assert metrics_rows(csv.encode())[0] == {"step": 1, "loss": 2.0, "token_accuracy": 0.5}  # plain CSV too


def test_full_validation_metrics_win_over_batch_ones():
    assert normalise_metrics({"step": 3.0, "valid_loss": 2.0, "full_valid_loss": 1.5, "train_loss": "nan"}) == \
        {"step": 3, "eval_loss": 1.5}
