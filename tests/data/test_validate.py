"""validate_file: counts, file-level problems (objective, mixed kinds, empty) and the report."""

from __future__ import annotations

import json

import pytest

from ftx.data.validate import validate_file
from ftx.errors import DataError, PluginError

CHAT = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
PREF = {"prompt": "q", "chosen": "a", "rejected": "b"}


def lines(*records):
    return "".join(json.dumps(r) + "\n" for r in records)


def test_clean_file_report(write):
    path = write("a.jsonl", lines(*[CHAT] * 5))
    report = validate_file(str(path))
    assert (report.path, report.format, report.records, report.valid, report.invalid) == (str(path), "chat", 5, 5, 0)
    assert report.ok and report.problems == [] and report.problems_total == 0 and report.kinds == {"chat": 5}
    assert json.loads(json.dumps(report.to_dict()))["kinds"] == {"chat": 5}


def test_dpo_objective_on_sft_data(write):
    path = write("a.jsonl", lines(*[CHAT] * 3))
    report = validate_file(str(path), objective="dpo")
    assert [(p.line, p.message) for p in report.problems] == [
        (1, "objective dpo needs preference pairs (prompt, chosen, rejected), but this file holds chat examples")]
    assert report.invalid == 0 and not report.ok
    assert validate_file(str(path), objective="sft").ok


def test_sft_objective_on_preference_data(write):
    path = write("p.jsonl", lines(PREF, PREF))
    report = validate_file(str(path), objective="sft")
    assert [p.message for p in report.problems] == [
        "objective sft needs chat or prompt/completion examples, but this file holds preference pairs"]
    assert validate_file(str(path), objective="dpo").ok


def test_mixed_kinds_are_a_problem(write):
    conversational = {"prompt": [{"role": "user", "content": "q"}],
                      "completion": [{"role": "assistant", "content": "a"}]}
    path = write("pc.jsonl", lines(*[{"prompt": "q", "completion": "a"}] * 3, conversational))
    report = validate_file(str(path))
    assert report.kinds == {"completion": 3, "chat": 1} and report.invalid == 0
    assert [(p.line, p.message) for p in report.problems] == [
        (4, "mixes chat examples (1, the first here) with prompt/completion examples (3); one file must hold one kind")]


def test_mixed_formats_are_reported_per_record(write):
    path = write("a.jsonl", lines(CHAT, CHAT, PREF, CHAT, PREF))
    report = validate_file(str(path))
    assert [p.line for p in report.problems] == [3, 5] and report.invalid == 2


def test_empty_file(write):
    report = validate_file(str(write("a.jsonl", "\n")))
    assert report.records == 0 and report.format == "unknown"
    assert [str(p) for p in report.problems] == [f"{report.path}: the file holds no records"]
    report = validate_file(str(write("b.jsonl", "")), fmt="chat")
    assert report.format == "chat" and report.problems[0].message == "the file holds no records"


def test_every_record_unreadable(write):
    path = write("a.jsonl", "{bad\n[1]\n")
    report = validate_file(str(path))
    assert report.format == "unknown" and (report.records, report.invalid) == (2, 2)
    assert [p.line for p in report.problems] == [1, 2]


def test_named_format_is_used_as_given(write):
    path = write("a.jsonl", lines(CHAT))
    report = validate_file(str(path), fmt="sharegpt")
    assert report.format == "sharegpt" and report.invalid == 1
    assert report.problems[0].message == "record is chat data, but this file holds sharegpt (one file must hold one format)"
    with pytest.raises(PluginError):
        validate_file(str(path), fmt="nope")


def test_unreadable_file_raises(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        validate_file(str(tmp_path / "missing.jsonl"))


def test_plugin_parse_crash_is_a_problem_not_a_traceback(write, monkeypatch):
    from ftx.components import get_format

    chat = get_format("chat")
    monkeypatch.setattr(type(chat), "parse", lambda self, record: 1 / 0)
    report = validate_file(str(write("a.jsonl", lines(CHAT))), fmt="chat")
    assert report.problems[0].message == "format 'chat' failed on this record: ZeroDivisionError: division by zero"
