"""Converters: round trips, targets, and all-or-nothing writes."""

from __future__ import annotations

import json

import pytest

from ftx.data.convert import convert_file
from ftx.data.load import iter_examples
from ftx.errors import DataError, PluginError


def lines(*records):
    return "".join(json.dumps(r) + "\n" for r in records)


def read_jsonl(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


CHATS = [
    {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "q1"},
                  {"role": "assistant", "content": "a1"}, {"role": "user", "content": "q2"},
                  {"role": "assistant", "content": "a2"}]},
    {"messages": [{"role": "user", "content": "héllo"}, {"role": "assistant", "content": "hi"}]},
]


def test_chat_to_gemini_and_back(write, tmp_path):
    src = write("chat.jsonl", lines(*CHATS))
    report = convert_file(str(src), str(tmp_path / "g.jsonl"), to="gemini")
    assert (report.examples, report.from_format, report.to_format) == (2, "chat", "gemini")
    gemini = read_jsonl(tmp_path / "g.jsonl")
    assert gemini[0] == {"systemInstruction": {"role": "system", "parts": [{"text": "S"}]},
                         "contents": [{"role": "user", "parts": [{"text": "q1"}]},
                                      {"role": "model", "parts": [{"text": "a1"}]},
                                      {"role": "user", "parts": [{"text": "q2"}]},
                                      {"role": "model", "parts": [{"text": "a2"}]}]}
    assert "héllo" in (tmp_path / "g.jsonl").read_text(encoding="utf-8")
    back = convert_file(str(tmp_path / "g.jsonl"), str(tmp_path / "back.jsonl"), to="chat")
    assert back.from_format == "gemini"
    assert read_jsonl(tmp_path / "back.jsonl") == CHATS


@pytest.mark.parametrize("record,messages", [
    ({"instruction": "Add.", "input": "1 1", "output": "2"},
     [{"role": "user", "content": "Add.\n\n1 1"}, {"role": "assistant", "content": "2"}]),
    ({"conversations": [{"from": "system", "value": "S"}, {"from": "human", "value": "q"},
                        {"from": "gpt", "value": "a"}]},
     [{"role": "system", "content": "S"}, {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]),
    ({"prompt": "1+1=", "completion": "2"},
     [{"role": "user", "content": "1+1="}, {"role": "assistant", "content": "2"}]),
])
def test_formats_to_openai_chat(write, tmp_path, record, messages):
    src = write("src.jsonl", lines(record, record))
    report = convert_file(str(src), str(tmp_path / "out.jsonl"), to="chat")
    assert report.examples == 2 and report.to_format == "chat"
    assert read_jsonl(tmp_path / "out.jsonl") == [{"messages": messages}] * 2


def test_preference_to_openai_dpo(write, tmp_path):
    src = write("p.jsonl", lines({"prompt": "Q", "chosen": "good", "rejected": "bad"}))
    convert_file(str(src), str(tmp_path / "dpo.jsonl"), to="openai-dpo")
    assert read_jsonl(tmp_path / "dpo.jsonl") == [{
        "input": {"messages": [{"role": "user", "content": "Q"}]},
        "preferred_output": [{"role": "assistant", "content": "good"}],
        "non_preferred_output": [{"role": "assistant", "content": "bad"}]}]


def test_json_array_output_reads_back(write, tmp_path):
    src = write("chat.jsonl", lines(*CHATS))
    convert_file(str(src), str(tmp_path / "out.json"), to="sharegpt")
    assert len(json.loads((tmp_path / "out.json").read_text())) == 2
    assert [len(e.messages) for e in iter_examples(str(tmp_path / "out.json"))] == [5, 2]


def _assert_untouched(tmp_path, dst, before):
    assert dst.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_invalid_record_writes_nothing(write, tmp_path):
    src = write("chat.jsonl", lines(CHATS[0]) + "{bad\n" + lines(
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 3}]}))
    dst = write("out.jsonl", "precious\n")
    with pytest.raises(DataError) as info:
        convert_file(str(src), str(dst), to="gemini")
    assert [(p.line, p.field) for p in info.value.problems] == [(2, None), (3, "messages[1].weight")]
    assert "nothing was written" in info.value.hint
    _assert_untouched(tmp_path, dst, b"precious\n")


def test_unrepresentable_example_writes_nothing(write, tmp_path):
    tool_chat = {"messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "tool_calls": [{"id": "c", "type": "function",
                                              "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c", "content": "r"}, {"role": "assistant", "content": "a"}]}
    src = write("chat.jsonl", lines(CHATS[1], tool_chat, CHATS[1], tool_chat))
    dst = write("out.jsonl", "old")
    with pytest.raises(DataError) as info:
        convert_file(str(src), str(dst), to="gemini")
    assert [(p.line, p.message) for p in info.value.problems] == [
        (2, "cannot convert to gemini: tool calls cannot be represented in gemini data"),
        (4, "cannot convert to gemini: tool calls cannot be represented in gemini data")]
    _assert_untouched(tmp_path, dst, b"old")


def test_preference_cannot_become_chat(write, tmp_path):
    src = write("p.jsonl", lines({"prompt": "Q", "chosen": "a", "rejected": "b"}))
    with pytest.raises(DataError, match="preference pair has no form in chat"):
        convert_file(str(src), str(tmp_path / "out.jsonl"), to="chat")
    assert not (tmp_path / "out.jsonl").exists()


def test_failure_while_writing_leaves_no_temp_file(write, tmp_path, monkeypatch):
    src = write("chat.jsonl", lines(*CHATS))
    dst = write("out.jsonl", "before")
    from ftx.data import convert

    calls = []
    real = convert.dump_checked

    def flaky(target, example):
        calls.append(1)
        if len(calls) == 4:  # pass one checks two examples; fail on the second written one
            raise OSError("disk full")
        return real(target, example)

    monkeypatch.setattr(convert, "dump_checked", flaky)
    with pytest.raises(OSError):
        convert_file(str(src), str(dst), to="chat")
    _assert_untouched(tmp_path, dst, b"before")


def test_bad_targets(write, tmp_path):
    src = write("chat.jsonl", lines(*CHATS))
    with pytest.raises(PluginError, match="unknown data format 'nope'"):
        convert_file(str(src), str(tmp_path / "o.jsonl"), to="nope")
    with pytest.raises(DataError, match="cannot write .csv"):
        convert_file(str(src), str(tmp_path / "o.csv"), to="chat")
    with pytest.raises(DataError, match="no examples to convert"):
        convert_file(str(write("e.jsonl", "")), str(tmp_path / "o.jsonl"), to="chat", fmt="chat")
