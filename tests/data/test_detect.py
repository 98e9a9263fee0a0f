"""Format auto-detection and the iter_examples contract other modules rely on."""

from __future__ import annotations

import json

import pytest

from ftx.data.detect import NoValidRecords, detect_format
from ftx.data.load import iter_examples
from ftx.errors import DataError, PluginError
from ftx.example import Source

SAMPLES = {
    "chat": {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
    "alpaca": {"instruction": "q", "input": "", "output": "a"},
    "prompt-completion": {"prompt": "q", "completion": "a"},
    "sharegpt": {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]},
    "preference": {"prompt": "q", "chosen": "a", "rejected": "b"},
    "openai-dpo": {"input": {"messages": [{"role": "user", "content": "q"}]},
                   "preferred_output": [{"role": "assistant", "content": "a"}],
                   "non_preferred_output": [{"role": "assistant", "content": "b"}]},
    "gemini": {"contents": [{"role": "user", "parts": [{"text": "q"}]}, {"role": "model", "parts": [{"text": "a"}]}]},
}


def lines(*records):
    return "".join(json.dumps(r) + "\n" for r in records)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_format_is_detected(write, name):
    path = write("a.jsonl", lines(SAMPLES[name], SAMPLES[name]))
    assert detect_format(str(path)).name == name


def test_detection_skips_unreadable_records_and_follows_the_majority(write):
    # Alpaca records score higher one by one (two keys), but most records are chat.
    path = write("a.jsonl", "{bad\n" + lines(*[SAMPLES["alpaca"]] * 2, *[SAMPLES["chat"]] * 3))
    assert detect_format(str(path)).name == "chat"


def test_detection_reads_only_the_sample(write):
    path = write("a.jsonl", lines(*[SAMPLES["chat"]] * 3, *[SAMPLES["gemini"]] * 10))
    assert detect_format(str(path), sample=3).name == "chat"
    assert detect_format(str(path)).name == "gemini"


def test_no_match_lists_formats_and_keys(write):
    path = write("a.jsonl", lines({"question": "q", "answer": "a"}))
    with pytest.raises(DataError) as info:
        detect_format(str(path))
    text = str(info.value)
    assert f"{path}: cannot tell the data format; the first record has keys: answer, question" in text
    assert "format chat: keys messages (optional: tools, parallel_tool_calls)" in text
    assert "format openai-dpo: keys input, preferred_output, non_preferred_output" in text
    assert "--format" in info.value.hint


def test_no_valid_records(write):
    with pytest.raises(NoValidRecords, match="no readable records"):
        detect_format(str(write("a.jsonl", "{bad\n[1]\n")))


def test_iter_examples_sets_source_and_collects_problems(write):
    path = write("a.jsonl", lines(SAMPLES["chat"]) + "\n{bad\n" + lines(SAMPLES["chat"]))
    problems = []
    examples = list(iter_examples(str(path), problems=problems))
    assert [e.source for e in examples] == [Source(str(path), 1), Source(str(path), 4)]
    assert [(p.file, p.line) for p in problems] == [(str(path), 3)]
    assert problems[0].message.startswith("invalid JSON:")
    # Without a problems list the bad record is just skipped.
    assert len(list(iter_examples(str(path)))) == 2


def test_iter_examples_with_named_format(write):
    path = write("a.jsonl", lines(SAMPLES["alpaca"]))
    problems = []
    assert list(iter_examples(str(path), "chat", problems)) == []
    assert [p.message for p in problems] == [
        "record is alpaca data, but this file holds chat (one file must hold one format)"]
    with pytest.raises(PluginError, match="unknown data format 'nope'"):
        list(iter_examples(str(path), "nope"))


def test_iter_examples_is_lazy(write):
    path = write("a.jsonl", lines(*[SAMPLES["chat"]] * 5))
    stream = iter_examples(str(path))
    assert next(stream).source.line == 1
