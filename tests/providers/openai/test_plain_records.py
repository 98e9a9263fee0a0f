"""OpenAI records of plain messages take short paths (built directly, marked
``PlainChatRecord``, checked without the detailed rules they cannot break): the records, the
problems and the token counts are exactly those of the general path (the chat format's dump, then
the detailed check of plain dicts)."""

from __future__ import annotations

import json
import random
from types import SimpleNamespace

from ftx.example import Example, Message, Source
from ftx.hosted.prepare import PlainChatRecord, dump_records
from ftx.providers.openai.prepare import convert_records
from ftx.providers.openai.validate import check_file

ROLES = ["system", "user", "assistant", "tool", "developer"]


def _example(rng: random.Random, i: int) -> Example:
    roles = ["system", "user", "assistant", "user", "assistant"][:rng.randint(1, 5)]
    if rng.random() < 0.2:
        roles = [rng.choice(ROLES) for _ in roles]  # system later on, no assistant, a tool turn...
    messages = []
    for role in roles:
        m = Message(role, rng.choice(["text", "more words here", "é \u2028", " ", ""]) if rng.random() < 0.1
                    else f"words {rng.randint(0, 99)}")
        change = rng.random()
        if change < 0.03:
            m.name = rng.choice(["bob", "not ok!"])
        elif change < 0.06 and role == "assistant":
            m.weight = rng.choice([0, 1])
        elif change < 0.08:
            m.content = None
        elif change < 0.1 and role == "assistant":
            m.tool_calls = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
        elif change < 0.11:
            m.tool_call_id = "c1"
        messages.append(m)
    example = Example(messages=messages, source=Source("train.jsonl", i + 1))
    if rng.random() < 0.03:
        example.tools = [{"type": "function", "function": {"name": "f", "parameters": {"minimum": 1e-05}}}]
    if rng.random() < 0.03:
        example.meta["parallel_tool_calls"] = False
    if rng.random() < 0.02:
        example.kind, example.chosen, example.rejected = "preference", [Message("assistant", "a")], [Message("assistant", "b")]
    return example


def _plain_dicts(records):
    return [(json.loads(json.dumps(r)), src) for r, src in records]


def test_plain_records_are_the_dump_and_check_the_same():
    rng = random.Random(7)
    examples = [_example(rng, i) for i in range(3000)]
    recipe = SimpleNamespace(recipe=SimpleNamespace(objective="sft"))
    fast_problems: list = []
    slow_problems: list = []
    fast = convert_records(recipe, examples, fast_problems, "OpenAI")
    slow = dump_records(examples, "chat", slow_problems, "OpenAI")
    assert fast == slow and fast_problems == slow_problems and slow_problems  # preference pairs cannot be written
    assert [json.dumps(r) for r, _ in fast] == [json.dumps(r) for r, _ in slow]  # key order too
    marked = sum(type(r) is PlainChatRecord for r, _ in fast)
    assert 1000 < marked < len(fast)

    def count(text: str) -> int:
        return len(text.split()) + len(text) % 3

    for limit in (None, 20):
        for minimum in (0, 10_000):
            a = check_file(fast, "sft", count, limit, "gpt-x", file="train.jsonl", minimum=minimum)
            b = check_file(_plain_dicts(fast), "sft", count, limit, "gpt-x", file="train.jsonl", minimum=minimum)
            assert a.tokens == b.tokens and a.problems == b.problems
            assert b.problems  # invalid ones are reported the same way
    assert any(type(r) is PlainChatRecord for r, _ in fast)


def test_dpo_records_take_the_openai_dpo_dump():
    example = Example(messages=[Message("user", "q")], kind="preference", chosen=[Message("assistant", "a")],
                      rejected=[Message("assistant", "b")])
    recipe = SimpleNamespace(recipe=SimpleNamespace(objective="dpo"))
    problems: list = []
    assert convert_records(recipe, [example], problems, "OpenAI") == dump_records([example], "openai-dpo", [], "OpenAI")
    assert not problems


def test_the_estimate_tally_counts_each_example_as_openai_example_tokens_does():
    from ftx.providers.openai.billing import openai_example_tokens, openai_tally

    class Counter:
        name = "test"

        def count(self, text: str) -> int:
            return len(text.split()) + len(text) % 3

    rng = random.Random(11)
    examples = [_example(rng, i) for i in range(3000)]
    for e in examples[::7]:
        e.messages[0].content = ""  # an empty text costs nothing
    counter = Counter()
    expected = [openai_example_tokens(e, counter) for e in examples]
    tally = openai_tally(examples, counter, limit=12)
    assert tally.per_example == expected
    assert tally.capped == sum(min(n, 12) for n in expected) and tally.over_limit == sum(n > 12 for n in expected)
