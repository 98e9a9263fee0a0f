"""Chat examples the chat format read as plain (their messages marked ``PlainMessages`` at
parse time) take short paths on the OpenAI launch: the format's dump writes them directly as a
``PlainChatRecord``, the check counts them without the detailed rules, the upload file is
written with orjson, and the billing tally sums them straight. Each short path must give exactly
what the general path gives for the same example unmarked (a plain ``list`` of the same
messages): the records, their bytes, the problems and the token counts."""

from __future__ import annotations

import json
import random
from types import SimpleNamespace

import pytest

from ftx.example import Example, Message, PlainMessages, Source
from ftx.formats import PlainChatRecord, RecordInvalid
from ftx.hosted import HostedBackend
from ftx.hosted.prepare import dump_records, jsonl
from ftx.plugins.formats.chat import ChatFormat
from ftx.providers.openai.billing import openai_example_tokens, openai_tally
from ftx.providers.openai.validate import check_file

ROLES = ["system", "user", "assistant", "tool", "developer"]
SFT = SimpleNamespace(recipe=SimpleNamespace(objective="sft"))


def convert_records(recipe, examples, problems, label):
    """What OpenAI's launch writes (the template's default hook: the chat or openai-dpo dump)."""
    from ftx.components import get_backend

    backend = get_backend("openai")
    assert type(backend).convert_records is HostedBackend.convert_records and backend.provider_label == label
    return backend.convert_records(recipe, examples, problems)


def _raw(rng: random.Random) -> dict:
    """A chat record as a user writes it: mostly plain, some with what the short paths refuse."""
    roles = ["system", "user", "assistant", "user", "assistant"][rng.randint(0, 1):rng.randint(2, 5)]
    if rng.random() < 0.1:
        roles = [rng.choice(ROLES) for _ in roles]  # system later on, no assistant, a tool turn...
    messages = []
    for role in roles:
        m: dict = {"role": role, "content": rng.choice(["text", "é \u2028 \"q\"", "  x ", "a\nb"]) if rng.random() < 0.2
                   else f"words {rng.randint(0, 99)}"}
        change = rng.random()
        if change < 0.03:
            m["name"] = rng.choice(["bob", "not ok!"])
        elif change < 0.06 and role == "assistant":
            m["weight"] = rng.choice([0, 1])
        elif change < 0.08 and role == "assistant":
            m["tool_calls"] = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
        messages.append(m)
    record: dict = {"messages": messages}
    if rng.random() < 0.03:
        record["tools"] = [{"type": "function", "function": {"name": "f", "parameters": {"minimum": 1e-05}}}]
    if rng.random() < 0.03:
        record["parallel_tool_calls"] = False
    if rng.random() < 0.03:
        record["label"] = "kept in meta"
    return record


def _examples(n: int, seed: int) -> list[Example]:
    rng = random.Random(seed)
    fmt = ChatFormat()
    out = []
    while len(out) < n:
        try:
            example = fmt.parse(_raw(rng))
        except RecordInvalid:
            continue
        example.source = Source("train.jsonl", len(out) + 1)
        out.append(example)
    return out


def _unmarked(examples: list[Example]) -> list[Example]:
    """The same examples, their messages in a plain list: every step takes its general path."""
    return [Example(messages=list(e.messages), kind=e.kind, chosen=e.chosen, rejected=e.rejected, tools=e.tools,
                    meta=e.meta, source=e.source) for e in examples]


def test_the_chat_parse_marks_exactly_the_plain_conversations():
    fmt = ChatFormat()
    plain = fmt.parse({"messages": [{"role": "developer", "content": "be brief"}, {"role": "user", "content": "q"},
                                    {"role": "assistant", "content": "a"}]})
    assert type(plain.messages) is PlainMessages and plain.messages[0].role == "system"
    assert plain.messages == [Message("system", "be brief"), Message("user", "q"), Message("assistant", "a")]
    for other in ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 1}]},
                  {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "label": "x"}):
        assert type(fmt.parse(other).messages) is list


def test_plain_records_are_the_dump_and_check_the_same():
    examples = _examples(3000, 7)
    marked = sum(type(e.messages) is PlainMessages for e in examples)
    assert 2000 < marked < len(examples)  # both paths are exercised
    examples.append(Example(messages=[Message("user", "q")], kind="preference", chosen=[Message("assistant", "a")],
                            rejected=[Message("assistant", "b")], source=Source("train.jsonl", 9999)))
    fast_problems: list = []
    slow_problems: list = []
    fast = convert_records(SFT, examples, fast_problems, "OpenAI")
    slow = dump_records(_unmarked(examples), "chat", slow_problems, "OpenAI")
    assert fast == slow and fast_problems == slow_problems and slow_problems  # preference pairs cannot be written
    assert [json.dumps(r) for r, _ in fast] == [json.dumps(r) for r, _ in slow]  # key order too
    assert [s for _, s in fast] == [s for _, s in slow]
    assert sum(type(r) is PlainChatRecord for r, _ in fast) == marked
    assert not any(type(r) is PlainChatRecord for r, _ in slow)
    assert jsonl(fast) == jsonl(slow)  # the upload file: the same bytes

    def count(text: str) -> int:
        return len(text.split()) + len(text) % 3

    for limit in (None, 9):
        for minimum in (0, 10_000):
            a = check_file(fast, "sft", count, limit, "gpt-x", file="train.jsonl", minimum=minimum)
            b = check_file(slow, "sft", count, limit, "gpt-x", file="train.jsonl", minimum=minimum)
            assert a.tokens == b.tokens and a.problems == b.problems
            assert b.problems  # invalid ones are reported the same way
            if limit:
                assert any("tokens; gpt-x takes at most" in p.message for p in a.problems)  # a plain one too long


def test_a_rebuilt_conversation_loses_the_mark():
    example = ChatFormat().parse({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]})
    assert type(ChatFormat().dump(example)) is PlainChatRecord
    example.messages = [Message("system", "s"), *example.messages]  # what a mix's system prompt does
    record = ChatFormat().dump(example)
    assert type(record) is dict and record["messages"][0] == {"role": "system", "content": "s"}
    marked = PlainMessages(example.messages[1:])
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    for extra in ({"tools": tools}, {"meta": {"parallel_tool_calls": True}}):  # what the record also carries
        record = ChatFormat().dump(Example(messages=marked, **extra))
        assert type(record) is dict and record == {"messages": [{"role": "user", "content": "q"},
                                                                {"role": "assistant", "content": "a"}],
                                                   **({"tools": tools} if "tools" in extra else {"parallel_tool_calls": True})}


def test_a_plugin_that_replaces_the_chat_format_writes_its_own_records(monkeypatch):
    class Upper(ChatFormat):
        def dump(self, example):
            return {"messages": [{"role": m.role, "content": m.content.upper()} for m in example.messages]}

    import ftx.components

    monkeypatch.setattr(ftx.components, "get_format", lambda name: Upper() if name == "chat" else None)
    records = convert_records(SFT, _examples(50, 3), [], "OpenAI")
    assert all(type(r) is dict and r["messages"][0]["content"].isupper() for r, _ in records)


def test_a_subclass_that_changes_the_dumped_record_gets_a_plain_dict(monkeypatch):
    class Tagged(ChatFormat):
        def dump(self, example):
            record = super().dump(example)
            record["label"] = 0.00001  # what OpenAI refuses, and a float orjson writes otherwise
            return record

    import ftx.components

    monkeypatch.setattr(ftx.components, "get_format", lambda name: Tagged() if name == "chat" else None)
    records = convert_records(SFT, _examples(50, 3), [], "OpenAI")
    assert all(type(r) is dict and r["label"] == 0.00001 for r, _ in records)
    assert jsonl(records).splitlines()[0].endswith(b',"label":1e-05}')
    checked = check_file(records, "sft", len, None, "gpt-x", file="train.jsonl")
    assert sum("do not accept the key 'label'" in p.message for p in checked.problems) == 50


def test_dpo_records_take_the_openai_dpo_dump():
    example = Example(messages=[Message("user", "q")], kind="preference", chosen=[Message("assistant", "a")],
                      rejected=[Message("assistant", "b")])
    recipe = SimpleNamespace(recipe=SimpleNamespace(objective="dpo"))
    problems: list = []
    assert convert_records(recipe, [example], problems, "OpenAI") == dump_records([example], "openai-dpo", [], "OpenAI")
    assert not problems


@pytest.mark.parametrize("unmark", [False, True])
def test_the_estimate_tally_counts_each_example_as_openai_example_tokens_does(unmark):
    class Counter:
        name = "test"

        def count(self, text: str) -> int:
            return len(text.split()) + len(text) % 3

    examples = _examples(3000, 11)
    if unmark:
        examples = _unmarked(examples)
        for e in examples[::7]:
            e.messages[0].content = ""  # an empty text costs nothing (only an unmarked one can have it)
    counter = Counter()
    expected = [openai_example_tokens(e, counter) for e in examples]
    tally = openai_tally(examples, counter, limit=30)
    assert tally.per_example == expected and tally.examples == len(expected)
    assert tally.tokens == sum(expected) and tally.longest == max(expected)
    assert tally.capped == sum(min(n, 30) for n in expected) and tally.over_limit == sum(n > 30 for n in expected)
    assert 0 < tally.over_limit < len(expected)
    free = openai_tally(examples, counter, limit=None)
    assert free.capped == free.tokens == sum(expected) and free.over_limit == 0
