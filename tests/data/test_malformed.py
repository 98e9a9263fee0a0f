"""Every kind of malformed input is reported at its exact line, with the field and the reason."""

from __future__ import annotations

import json

import pytest

from ftx.data.validate import validate_file


def U(content="hi", **kw):
    return {"role": "user", "content": content, **kw}


def A(content="hello", **kw):
    return {"role": "assistant", "content": content, **kw}


def S(content="be brief", **kw):
    return {"role": "system", "content": content, **kw}


def call(id="c1", name="lookup", arguments='{"q": 1}', **kw):
    return {"id": id, "type": "function", "function": {"name": name, "arguments": arguments}, **kw}


CHAT = {"messages": [U(), A()]}
SHAREGPT = {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]}
ALPACA = {"instruction": "Add.", "input": "1 1", "output": "2"}
PC = {"prompt": "1+1=", "completion": "2"}
PREF = {"prompt": "Pick.", "chosen": "good", "rejected": "bad"}
DPO = {"input": {"messages": [U()]}, "preferred_output": [A("good")], "non_preferred_output": [A("bad")]}
GEMINI = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}, {"role": "model", "parts": [{"text": "yo"}]}]}


def gem(*turns):
    return {"contents": [{"role": r, "parts": p} for r, p in turns]}


def t(text="x"):
    return [{"text": text}]


def jsonl(valid, bad):
    """valid, blank line, valid, BAD, valid: the bad record is on line 4."""
    good = json.dumps(valid).encode()
    bad = bad if isinstance(bad, bytes) else (bad if isinstance(bad, str) else json.dumps(bad)).encode()
    return b"\n".join([good, b"", good, bad, good]) + b"\n"


# (id, file name, --format, content, line, field, reason)
CASES = [
    ("invalid-json", "a.jsonl", "auto", jsonl(CHAT, '{"messages": [}'), 4, None,
     "invalid JSON: Expecting value (column 15)"),
    ("truncated-line", "a.jsonl", "auto", jsonl(CHAT, '{"messages": [{"role": "user", "content": "hi"'), 4, None,
     "invalid JSON: Expecting ',' delimiter (column 47)"),
    ("list-record", "a.jsonl", "auto", jsonl(CHAT, "[1, 2]"), 4, None, "record is a list, not an object"),
    ("string-record", "a.jsonl", "auto", jsonl(CHAT, '"hello"'), 4, None, "record is a string, not an object"),
    ("null-record", "a.jsonl", "auto", jsonl(CHAT, "null"), 4, None, "record is null, not an object"),
    ("undecodable-utf8", "a.jsonl", "auto", jsonl(CHAT, b'{"messages": \xff\xfe}'), 4, None,
     "not valid UTF-8: byte 0xff at column 14"),
    ("missing-messages", "a.jsonl", "auto", jsonl(CHAT, {"id": 7}), 4, "messages", "missing required key"),
    ("messages-not-list", "a.jsonl", "auto", jsonl(CHAT, {"messages": "hi"}), 4, "messages",
     "messages must be a list of messages, not a string"),
    ("messages-empty", "a.jsonl", "auto", jsonl(CHAT, {"messages": []}), 4, "messages", "messages is empty"),
    ("message-not-object", "a.jsonl", "auto", jsonl(CHAT, {"messages": [U(), "hello"]}), 4, "messages[1]",
     "message must be an object, not a string"),
    ("unknown-message-key", "a.jsonl", "auto", jsonl(CHAT, {"messages": [U(foo=1), A()]}), 4, "messages[0].foo",
     "unknown key 'foo'"),
    ("bad-role", "a.jsonl", "auto", jsonl(CHAT, {"messages": [U(), {"role": "bot", "content": "x"}]}), 4,
     "messages[1].role", "unknown role 'bot'; expected system, user, assistant or tool"),
    ("missing-role", "a.jsonl", "auto", jsonl(CHAT, {"messages": [{"content": "hi"}, A()]}), 4, "messages[0].role",
     "missing required key"),
    ("system-not-first", "a.jsonl", "auto", jsonl(CHAT, {"messages": [U(), A(), S(), U(), A()]}), 4,
     "messages[2].role", "a system message must be the first message"),
    ("starts-with-assistant", "a.jsonl", "auto", jsonl(CHAT, {"messages": [S(), A(), U(), A()]}), 4,
     "messages[1].role", "the conversation must start with a user message, not assistant"),
    ("no-assistant", "a.jsonl", "auto", jsonl(CHAT, {"messages": [S(), U()]}), 4, "messages",
     "no assistant message: nothing to train on"),
    ("all-weight-zero", "a.jsonl", "auto", jsonl(CHAT, {"messages": [U(), A(weight=0)]}), 4, "messages",
     "every assistant message has weight 0: nothing to train on"),
    ("empty-content", "a.jsonl", "auto", jsonl(CHAT, {"messages": [U(), A("")]}), 4, "messages[1].content",
     "content is empty"),
    ("whitespace-content", "a.jsonl", "auto", jsonl(CHAT, {"messages": [U(" \n\t"), A()]}), 4,
     "messages[0].content", "content is only whitespace"),
    ("number-content", "a.jsonl", "auto", jsonl(CHAT, {"messages": [U(42), A()]}), 4, "messages[0].content",
     "content must be a string"),
    ("image-content", "a.jsonl", "auto",
     jsonl(CHAT, {"messages": [U([{"type": "image_url", "image_url": {"url": "x"}}]), A()]}), 4,
     "messages[0].content", "content must be a string"),
    ("missing-content", "a.jsonl", "auto", jsonl(CHAT, {"messages": [{"role": "user"}, A()]}), 4,
     "messages[0].content", "missing required key"),
    ("weight-2", "a.jsonl", "auto", jsonl(CHAT, {"messages": [U(), A(weight=2)]}), 4, "messages[1].weight",
     "weight must be 0 or 1, not 2"),
    ("weight-on-user", "a.jsonl", "auto", jsonl(CHAT, {"messages": [U(weight=1), A()]}), 4, "messages[0].weight",
     "weight is only allowed on assistant messages"),
    ("tool-call-without-id", "a.jsonl", "auto",
     jsonl(CHAT, {"messages": [U(), {"role": "assistant", "tool_calls": [
         {"type": "function", "function": {"name": "f", "arguments": "{}"}}]}, A()]}), 4,
     "messages[1].tool_calls[0].id", "missing required key"),
    ("tool-args-object", "a.jsonl", "auto",
     jsonl(CHAT, {"messages": [U(), {"role": "assistant", "tool_calls": [call(arguments={"q": 1})]}, A()]}), 4,
     "messages[1].tool_calls[0].function.arguments", "arguments must be a JSON string, not an object"),
    ("tool-args-bad-json", "a.jsonl", "auto",
     jsonl(CHAT, {"messages": [U(), {"role": "assistant", "tool_calls": [call(arguments="{q: 1}")]}, A()]}), 4,
     "messages[1].tool_calls[0].function.arguments",
     "arguments is not valid JSON: Expecting property name enclosed in double quotes"),
    ("tool-call-bad-type", "a.jsonl", "auto",
     jsonl(CHAT, {"messages": [U(), {"role": "assistant", "tool_calls": [{**call(), "type": "fn"}]}, A()]}), 4,
     "messages[1].tool_calls[0].type", "type must be 'function', not 'fn'"),
    ("tool-message-without-id", "a.jsonl", "auto",
     jsonl(CHAT, {"messages": [U(), {"role": "assistant", "tool_calls": [call()]},
                               {"role": "tool", "content": "42"}, A()]}), 4,
     "messages[2].tool_call_id", "a tool message needs a tool_call_id"),
    ("tool-message-unknown-id", "a.jsonl", "auto",
     jsonl(CHAT, {"messages": [U(), {"role": "assistant", "tool_calls": [call()]},
                               {"role": "tool", "content": "42", "tool_call_id": "zzz"}, A()]}), 4,
     "messages[2].tool_call_id", "tool_call_id 'zzz' matches no earlier tool call"),
    ("tool-calls-on-user", "a.jsonl", "auto", jsonl(CHAT, {"messages": [U(tool_calls=[call()]), A()]}), 4,
     "messages[0].tool_calls", "tool_calls are only allowed on assistant messages"),
    ("other-format-record", "a.jsonl", "auto", jsonl(CHAT, PREF), 4, None,
     "record is preference data, but this file holds chat (one file must hold one format)"),
    ("sharegpt-bad-from", "s.jsonl", "auto",
     jsonl(SHAREGPT, {"conversations": [{"from": "human", "value": "hi"}, {"from": "bot", "value": "x"}]}), 4,
     "conversations[1].from",
     "unknown speaker 'bot'; expected one of human, gpt, system, tool, function_call, observation"),
    ("sharegpt-empty-value", "s.jsonl", "auto",
     jsonl(SHAREGPT, {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": ""}]}), 4,
     "conversations[1].value", "value is empty"),
    ("sharegpt-starts-with-gpt", "s.jsonl", "auto",
     jsonl(SHAREGPT, {"conversations": [{"from": "gpt", "value": "hi"}, {"from": "human", "value": "x"}]}), 4,
     "conversations[0].from", "the conversation must start with a user message, not assistant"),
    ("alpaca-missing-output", "al.jsonl", "auto", jsonl(ALPACA, {"instruction": "Add.", "input": "1 1"}), 4,
     "output", "missing required key"),
    ("alpaca-output-not-string", "al.jsonl", "auto", jsonl(ALPACA, {**ALPACA, "output": 2}), 4, "output",
     "output must be a string"),
    ("alpaca-empty-instruction", "al.jsonl", "auto", jsonl(ALPACA, {**ALPACA, "instruction": ""}), 4,
     "instruction", "instruction is empty"),
    ("pc-non-string", "pc.jsonl", "auto", jsonl(PC, {"prompt": 5, "completion": "2"}), 4, "prompt",
     "prompt must be a string or a list of messages"),
    ("pc-empty-completion", "pc.jsonl", "auto", jsonl(PC, {"prompt": "1+1=", "completion": ""}), 4, "completion",
     "completion is empty"),
    ("pc-mixed-shapes", "pc.jsonl", "auto", jsonl(PC, {"prompt": [U()], "completion": "2"}), 4, "completion",
     "prompt and completion must both be strings or both be message lists"),
    ("pref-chosen-equals-rejected", "p.jsonl", "auto", jsonl(PREF, {**PREF, "rejected": "good"}), 4, "rejected",
     "rejected is identical to chosen"),
    ("pref-missing-rejected", "p.jsonl", "auto", jsonl(PREF, {"prompt": "Pick.", "chosen": "good"}), 4,
     "rejected", "missing required key"),
    ("pref-chosen-user-turn", "p.jsonl", "auto", jsonl(PREF, {**PREF, "chosen": [U("good")]}), 4,
     "chosen[0].role", "chosen turns must be from the assistant, not user"),
    ("dpo-preferred-not-list", "d.jsonl", "auto", jsonl(DPO, {**DPO, "preferred_output": "good"}), 4,
     "preferred_output", "preferred_output must be a list of messages, not a string"),
    ("dpo-two-preferred", "d.jsonl", "auto", jsonl(DPO, {**DPO, "preferred_output": [A("a"), A("b")]}), 4,
     "preferred_output", "preferred_output must hold exactly one assistant message, not 2"),
    ("dpo-input-ends-with-assistant", "d.jsonl", "auto", jsonl(DPO, {**DPO, "input": {"messages": [U(), A()]}}), 4,
     "input.messages[1].role", "input.messages must end with a user message, not assistant"),
    ("gemini-not-alternating", "g.jsonl", "auto", jsonl(GEMINI, gem(("user", t()), ("user", t()), ("model", t()))),
     4, "contents[1].role", "roles must alternate between user and model; contents[0] is also user"),
    ("gemini-empty-parts", "g.jsonl", "auto", jsonl(GEMINI, gem(("user", t()), ("model", []))), 4,
     "contents[1].parts", "parts is empty"),
    ("gemini-last-user", "g.jsonl", "auto", jsonl(GEMINI, gem(("user", t()), ("model", t()), ("user", t()))), 4,
     "contents[2].role", "the last turn must be from model, not user"),
    ("gemini-first-model", "g.jsonl", "auto", jsonl(GEMINI, gem(("model", t()), ("user", t()), ("model", t()))), 4,
     "contents[0].role", "the first turn must be from user, not model"),
    ("gemini-bad-role", "g.jsonl", "auto", jsonl(GEMINI, gem(("user", t()), ("assistant", t()))), 4,
     "contents[1].role", "unknown role 'assistant'; expected user or model"),
    ("gemini-empty-text", "g.jsonl", "auto", jsonl(GEMINI, gem(("user", t()), ("model", t("  ")))), 4,
     "contents[1].parts[0].text", "text is only whitespace"),
    ("gemini-function-part", "g.jsonl", "auto",
     jsonl(GEMINI, gem(("user", t()), ("model", [{"functionCall": {"name": "f"}}]))), 4,
     "contents[1].parts[0]", "unsupported part 'functionCall': only text parts are supported"),
    ("bom-then-bad-record", "a.jsonl", "auto", b"\xef\xbb\xbf" + jsonl(CHAT, {"messages": [U(), A(weight=5)]}), 4,
     "messages[1].weight", "weight must be 0 or 1, not 5"),
    ("crlf-line-endings", "a.jsonl", "auto", jsonl(CHAT, "[]").replace(b"\n", b"\r\n"), 4, None,
     "record is a list, not an object"),
    ("csv-missing-cell", "a.csv", "auto", b"instruction,input,output\nAdd.,1 1,2\n\nSub.,2 1,1\nMul.,2 2\nDiv.,4 2,2\n",
     5, None, "row has 2 fields, the header has 3"),
    ("csv-empty-output", "a.csv", "auto", b"instruction,input,output\nAdd.,1 1,2\nSub.,2 1,1\nMul.,2 2,\n", 4,
     "output", "output is empty"),
    ("csv-undecodable", "a.csv", "auto", b"instruction,input,output\nAdd.,1 1,2\nSub.,2 1,1\nMul.,\xff,4\n", 4, None,
     "not valid UTF-8: byte 0xff at column 6"),
    ("csv-bad-json-cell", "a.csv", "auto",
     b'messages\n"[{""role"": ""user"", ""content"": ""hi""}, {""role"": ""assistant"", ""content"": ""yo""}]"\n'
     b'"[{""role"": ""user"", ""content"": ""hi""}]"\n', 3, "messages", "no assistant message: nothing to train on"),
    ("json-array-non-object", "a.json", "auto",
     ("[\n" + json.dumps(CHAT) + ",\n" + json.dumps(CHAT, indent=1) + ",\n  42,\n" + json.dumps(CHAT) + "\n]\n").encode(),
     15, None, "record is a number, not an object"),
    ("json-array-bad-element", "a.json", "auto",
     ("[\n" + json.dumps(CHAT) + ",\n" + json.dumps({"messages": [U(), A(weight=3)]}, indent=2) + "\n]").encode(),
     3, "messages[1].weight", "weight must be 0 or 1, not 3"),
    ("json-array-syntax-error", "a.json", "auto",
     ("[\n" + json.dumps(CHAT) + ",\n" + json.dumps(CHAT) + ",\n" + '{"messages": [}' + "\n]\n").encode(),
     4, None, "invalid JSON: Expecting value (column 15)"),
    ("json-array-missing-comma", "a.json", "auto",
     ("[\n" + json.dumps(CHAT) + "\n" + json.dumps(CHAT) + "\n]\n").encode(),
     3, None, "invalid JSON: expected ',' or ']', found '{' (column 1)"),
    ("json-array-truncated", "a.json", "auto", ("[\n" + json.dumps(CHAT) + ",\n" + '{"messages": [').encode(),
     3, None, "invalid JSON: Expecting value (column 15)"),
]


@pytest.mark.parametrize("name,filename,fmt,content,line,field,reason", CASES, ids=[c[0] for c in CASES])
def test_malformed_record_reported_at_exact_line(write, name, filename, fmt, content, line, field, reason):
    path = write(filename, content)
    report = validate_file(str(path), fmt=fmt)
    found = [(p.line, p.field, p.message) for p in report.problems]
    assert (line, field, reason) in found, found
    # Nothing is blamed on the valid records around it, and the bad one is counted once.
    assert {p.line for p in report.problems} == {line}, found
    assert report.invalid == 1
    assert report.valid == report.records - 1 >= 1
    assert all(p.file == str(path) for p in report.problems)


def test_table_covers_enough_cases():
    assert len({c[0] for c in CASES}) == len(CASES) >= 30


def test_problem_prints_as_file_line_field_reason(write):
    path = write("a.jsonl", jsonl(CHAT, {"messages": [U(), A(weight=2)]}))
    report = validate_file(str(path))
    assert [str(p) for p in report.problems] == [f"{path}:4: messages[1].weight: weight must be 0 or 1, not 2"]


def test_every_bad_record_is_reported(write):
    lines, expected = [], []
    for i in range(1, 601):
        if i % 3 == 0:
            lines.append(json.dumps({"messages": [U(), A(weight=i)]}))
            expected.append(i)
        elif i % 7 == 0:
            lines.append("{broken")
            expected.append(i)
        else:
            lines.append(json.dumps(CHAT))
    path = write("many.jsonl", "\n".join(lines) + "\n")
    report = validate_file(str(path))
    assert [p.line for p in report.problems] == expected
    assert report.invalid == len(expected) == report.problems_total
    assert report.valid == 600 - len(expected)

    capped = validate_file(str(path), max_problems=10)
    assert len(capped.problems) == 10 and capped.problems_total == len(expected)
    assert [p.line for p in capped.problems] == expected[:10]


def test_one_record_reports_all_its_problems(write):
    bad = {"messages": [U(weight=1, extra=True), {"role": "bot", "content": ""}, A(weight=7)]}
    path = write("a.jsonl", jsonl(CHAT, bad))
    found = {(p.field, p.message) for p in validate_file(str(path)).problems}
    assert found == {
        ("messages[0].extra", "unknown key 'extra'"),
        ("messages[0].weight", "weight is only allowed on assistant messages"),
        ("messages[1].role", "unknown role 'bot'; expected system, user, assistant or tool"),
        ("messages[1].content", "content is empty"),
        ("messages[2].weight", "weight must be 0 or 1, not 7"),
    }
