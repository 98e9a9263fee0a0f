"""The fast paths for plain {role, content} messages (chat format parser, OpenAI record checks)
give exactly what the detailed checks give, on valid and invalid messages alike.

A dict subclass skips each fast path (it tests ``type(m) is dict``), so the same message runs
through both and the results are compared.
"""

from __future__ import annotations

import itertools

import pytest

from ftx.plugins.formats.messages import parse_message
from ftx.preflight import RecordCheck
from ftx.providers.openai import validate as openai_validate


class Slow(dict):
    """The same mapping, but not exactly a dict: the detailed path runs."""


ROLES = ["system", "developer", "user", "assistant", "tool", "bot", "", None, 3, ["user"], "User"]
CONTENTS = ["hello", " x ", "", "   ", "\n", None, 0, ["hi"], [{"type": "text", "text": "hi"}], "é ü", "a" * 300]
EXTRA = [{}, {"name": "bob"}, {"weight": 0}, {"weight": 1}, {"tool_call_id": "c1"}, {"extra": 1}]


def _messages():
    for role, content, extra in itertools.product(ROLES, CONTENTS, EXTRA):
        m = {}
        if role is not None or extra:  # also messages without a role key
            m["role"] = role
        if content is not None or role == "user":
            m["content"] = content
        m.update(extra)
        yield m
    yield {"content": "hi", "text": "x"}  # two keys, neither role
    yield {"role": "user", "text": "hi"}


MESSAGES = list(_messages())


def test_some_messages_take_each_path():
    fast = [m for m in MESSAGES if len(m) == 2 and isinstance(m.get("role"), str)
            and isinstance(m.get("content"), str) and m["content"].strip()]
    assert len(fast) > 20 and len(MESSAGES) - len(fast) > 300


@pytest.mark.parametrize("allow_weight", [True, False])
def test_chat_parser_fast_path_matches_detailed_checks(allow_weight):
    for m in MESSAGES:
        fast_problems: list = []
        slow_problems: list = []
        fast = parse_message(m, "messages[1]", fast_problems, allow_weight=allow_weight)
        slow = parse_message(Slow(m), "messages[1]", slow_problems, allow_weight=allow_weight)
        assert fast == slow, m
        assert fast_problems == slow_problems, m


@pytest.mark.parametrize("weight_ok", [True, False])
def test_openai_check_fast_path_matches_detailed_checks(weight_ok):
    for m in MESSAGES:
        fast_out: list = []
        slow_out: list = []
        fast = openai_validate._check_message(m, "messages[0]", RecordCheck("f.jsonl", 3, fast_out),
                                              weight_ok=weight_ok)
        slow = openai_validate._check_message(Slow(m), "messages[0]", RecordCheck("f.jsonl", 3, slow_out),
                                              weight_ok=weight_ok)
        assert fast == slow, m
        assert [(p.message, p.file, p.line, p.field) for p in fast_out] == \
               [(p.message, p.file, p.line, p.field) for p in slow_out], m


def test_fast_path_still_reports_problems():
    problems: list = []
    assert parse_message({"role": "tool", "content": "42"}, "messages[2]", problems) is not None
    assert problems == [("messages[2].tool_call_id", "a tool message needs a tool_call_id")]
    out: list = []
    rec = RecordCheck("f.jsonl", 1, out)
    assert openai_validate._check_message({"role": "user", "content": "  "}, "messages[0]", rec,
                                          weight_ok=True) == "user"
    assert not rec.ok and out[0].field == "messages[0].content"
