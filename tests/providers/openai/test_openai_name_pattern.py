"""OpenAI's pattern for a message's ``name`` is checked before upload (issue 9, section 4)."""

from __future__ import annotations

from ftx.example import Source
from ftx.providers.openai.validate import check_file


def test_names_outside_openais_pattern_are_refused_at_their_line():
    def rec(name):
        return {"messages": [{"role": "user", "content": "q", "name": name}, {"role": "assistant", "content": "a"}]}

    pairs = [(rec(n), Source("t.jsonl", i + 1)) for i, n in enumerate(["alice_01", "bob smith", "x" * 65, "c-3"])]
    result = check_file(pairs, "sft", lambda t: len(t.split()), None, "gpt-x", file="t.jsonl", minimum=0)
    bad = [str(p) for p in result.problems]
    assert len(bad) == 2 and bad[0].startswith("t.jsonl:2: messages[0].name:") and "t.jsonl:3:" in bad[1]
