"""The built-in formats: parsing into Example, the rules they enforce, and dumping back."""

from __future__ import annotations

import json

import pytest

from ftx.components import formats, get_format
from ftx.example import Example, Message
from ftx.formats import CannotConvert, RecordInvalid


def fmt(name):
    return get_format(name)


def roles(example):
    return [(m.role, m.content) for m in example.messages]


def problems_of(name, record):
    with pytest.raises(RecordInvalid) as info:
        fmt(name).parse(record)
    return info.value.problems


def test_all_builtin_formats_are_registered_and_writable():
    table = formats()
    expected = {"chat", "alpaca", "prompt-completion", "sharegpt", "preference", "openai-dpo", "gemini"}
    assert expected <= set(table)
    for name in expected:
        assert table[name].can_dump and table[name].plugin == "formats" and table[name].description


# -- chat ---------------------------------------------------------------------------------

def test_chat_parses_tools_developer_role_and_text_parts():
    record = {
        "messages": [
            {"role": "developer", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "what is "}, {"type": "text", "text": "2+2?"}],
             "name": "ann"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "calc", "arguments": '{"x": "2+2"}'}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "4"},
            {"role": "assistant", "content": "4", "weight": 1},
        ],
        "tools": [{"type": "function", "function": {"name": "calc", "parameters": {}}}],
        "parallel_tool_calls": False,
        "id": "row-7",
    }
    ex = fmt("chat").parse(record)
    assert ex.kind == "chat" and ex.objective == "sft"
    assert roles(ex) == [("system", "be brief"), ("user", "what is 2+2?"), ("assistant", None), ("tool", "4"),
                         ("assistant", "4")]
    assert ex.messages[1].name == "ann" and ex.messages[3].tool_call_id == "c1" and ex.messages[4].weight == 1
    assert ex.tools == record["tools"] and ex.meta == {"id": "row-7", "parallel_tool_calls": False}
    dumped = fmt("chat").dump(ex)
    assert dumped["messages"][0] == {"role": "system", "content": "be brief"}
    assert dumped["messages"][2] == {"role": "assistant", "tool_calls": record["messages"][2]["tool_calls"]}
    assert dumped["tools"] == record["tools"] and dumped["parallel_tool_calls"] is False
    assert fmt("chat").parse(dumped).messages == ex.messages


def test_chat_partial_weights_still_train():
    ex = fmt("chat").parse({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b",
                                                                            "weight": 0},
                                         {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]})
    assert [m.weight for m in ex.messages] == [None, 0, None, None]


def test_chat_reports_bad_tools_definition_and_flag():
    got = problems_of("chat", {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
                               "tools": [{"type": "function", "function": {}}], "parallel_tool_calls": "yes"})
    assert ("tools[0].function.name", "missing function name") in got
    assert ("parallel_tool_calls", "parallel_tool_calls must be true or false") in got


def test_chat_cannot_dump_preference():
    ex = fmt("preference").parse({"prompt": "p", "chosen": "a", "rejected": "b"})
    with pytest.raises(CannotConvert, match="openai-dpo"):
        fmt("chat").dump(ex)


# -- alpaca -------------------------------------------------------------------------------

def test_alpaca_builds_system_user_assistant():
    ex = fmt("alpaca").parse({"instruction": "Translate.", "input": "Hallo", "output": "Hello", "system": "S",
                              "category": "mt"})
    assert roles(ex) == [("system", "S"), ("user", "Translate.\n\nHallo"), ("assistant", "Hello")]
    assert ex.meta == {"category": "mt"}
    ex = fmt("alpaca").parse({"instruction": "Say hi.", "input": "  ", "output": "hi"})
    assert roles(ex) == [("user", "Say hi."), ("assistant", "hi")]


def test_alpaca_dump_round_trip_and_refusal():
    ex = fmt("alpaca").parse({"instruction": "Say hi.", "output": "hi", "system": "S"})
    assert fmt("alpaca").dump(ex) == {"instruction": "Say hi.", "input": "", "output": "hi", "system": "S"}
    multi = Example(messages=[Message("user", "a"), Message("assistant", "b"), Message("user", "c"),
                              Message("assistant", "d")])
    with pytest.raises(CannotConvert, match="one instruction"):
        fmt("alpaca").dump(multi)


# -- prompt-completion --------------------------------------------------------------------

def test_prompt_completion_strings_are_completion_kind():
    ex = fmt("prompt-completion").parse({"prompt": "The sky is", "completion": " blue."})
    assert ex.kind == "completion" and roles(ex) == [("user", "The sky is"), ("assistant", " blue.")]
    assert fmt("prompt-completion").dump(ex) == {"prompt": "The sky is", "completion": " blue."}


def test_prompt_completion_conversational_is_chat_kind():
    record = {"prompt": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}],
              "completion": [{"role": "assistant", "content": "A"}]}
    ex = fmt("prompt-completion").parse(record)
    assert ex.kind == "chat" and roles(ex) == [("system", "S"), ("user", "Q"), ("assistant", "A")]
    assert fmt("prompt-completion").dump(ex) == record


def test_prompt_completion_conversational_rules():
    got = problems_of("prompt-completion", {"prompt": [{"role": "user", "content": "Q"}],
                                            "completion": [{"role": "user", "content": "A"}]})
    assert ("completion[0].role", "completion turns must be from the assistant, not user") in got


# -- sharegpt -----------------------------------------------------------------------------

def test_sharegpt_maps_speakers_and_function_calls():
    record = {"system": "S", "conversations": [
        {"from": "human", "value": "weather?"},
        {"from": "function_call", "value": json.dumps({"name": "weather", "arguments": {"city": "Oslo"}})},
        {"from": "observation", "value": "rain"},
        {"from": "gpt", "value": "It rains."},
    ], "tools": json.dumps([{"name": "weather", "parameters": {}}])}
    ex = fmt("sharegpt").parse(record)
    assert [m.role for m in ex.messages] == ["system", "user", "assistant", "tool", "assistant"]
    call = ex.messages[2].tool_calls[0]
    assert call["function"] == {"name": "weather", "arguments": '{"city": "Oslo"}'}
    assert ex.messages[3].tool_call_id == call["id"]
    assert ex.tools == [{"type": "function", "function": {"name": "weather", "parameters": {}}}]
    back = fmt("sharegpt").parse(fmt("sharegpt").dump(ex))
    assert back.messages == ex.messages


def test_sharegpt_observation_needs_a_call():
    got = problems_of("sharegpt", {"conversations": [{"from": "human", "value": "a"},
                                                     {"from": "observation", "value": "b"},
                                                     {"from": "gpt", "value": "c"}]})
    assert ("conversations[1].from", "an observation must follow a function_call turn") in got


# -- preference and openai-dpo ------------------------------------------------------------

def test_preference_strings_and_lists():
    ex = fmt("preference").parse({"prompt": "Q", "chosen": "good", "rejected": "bad", "score": 3})
    assert ex.kind == "preference" and ex.objective == "dpo"
    assert roles(ex) == [("user", "Q")] and ex.chosen[0].content == "good" and ex.rejected[0].content == "bad"
    assert ex.completion_messages() == ex.chosen and ex.meta == {"score": 3}
    assert fmt("preference").dump(ex) == {"prompt": "Q", "chosen": "good", "rejected": "bad"}

    record = {"prompt": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}],
              "chosen": [{"role": "assistant", "content": "good"}],
              "rejected": [{"role": "assistant", "content": "bad"}]}
    ex = fmt("preference").parse(record)
    assert roles(ex) == [("system", "S"), ("user", "Q")]
    assert fmt("preference").dump(ex) == record


def test_preference_implicit_prompt_is_the_shared_opening():
    q = {"role": "user", "content": "Q"}
    ex = fmt("preference").parse({"chosen": [q, {"role": "assistant", "content": "good"}],
                                  "rejected": [q, {"role": "assistant", "content": "bad"}]})
    assert roles(ex) == [("user", "Q")]
    assert [m.content for m in ex.chosen] == ["good"] and [m.content for m in ex.rejected] == ["bad"]


def test_preference_prompt_must_end_with_user():
    got = problems_of("preference", {"prompt": [{"role": "user", "content": "Q"},
                                                {"role": "assistant", "content": "A"}],
                                     "chosen": "x", "rejected": "y"})
    assert ("prompt[1].role", "prompt must end with a user message, not assistant") in got


def test_openai_dpo_round_trip_with_tools():
    record = {"input": {"messages": [{"role": "user", "content": "Q"}],
                        "tools": [{"type": "function", "function": {"name": "f"}}]},
              "preferred_output": [{"role": "assistant", "content": "good"}],
              "non_preferred_output": [{"role": "assistant", "content": "bad"}]}
    ex = fmt("openai-dpo").parse(record)
    assert ex.kind == "preference" and ex.tools == record["input"]["tools"]
    assert fmt("openai-dpo").dump(ex) == record
    # Through the TRL shape and back, nothing is lost.
    assert fmt("openai-dpo").dump(fmt("preference").parse(fmt("preference").dump(ex))) == record


def test_openai_dpo_refuses_what_it_cannot_hold():
    multi = Example(messages=[Message("user", "Q")], kind="preference",
                    chosen=[Message("assistant", "a"), Message("assistant", "b")], rejected=[Message("assistant", "c")])
    with pytest.raises(CannotConvert, match="exactly one reply"):
        fmt("openai-dpo").dump(multi)
    with pytest.raises(CannotConvert):
        fmt("openai-dpo").dump(Example(messages=[Message("user", "Q"), Message("assistant", "A")]))


def test_openai_dpo_unknown_input_key():
    got = problems_of("openai-dpo", {"input": {"messages": [{"role": "user", "content": "Q"}], "extra": 1},
                                     "preferred_output": [{"role": "assistant", "content": "a"}],
                                     "non_preferred_output": [{"role": "assistant", "content": "b"}]})
    assert got == [("input.extra", "unknown key 'extra'")]


# -- gemini -------------------------------------------------------------------------------

def test_gemini_parses_system_instruction_and_joins_parts():
    record = {"systemInstruction": {"role": "system", "parts": [{"text": "S"}]},
              "contents": [{"role": "user", "parts": [{"text": "a"}, {"text": "b"}]},
                           {"role": "model", "parts": [{"text": "c"}]}]}
    ex = fmt("gemini").parse(record)
    assert roles(ex) == [("system", "S"), ("user", "ab"), ("assistant", "c")]
    assert fmt("gemini").dump(ex) == {"systemInstruction": {"role": "system", "parts": [{"text": "S"}]},
                                      "contents": [{"role": "user", "parts": [{"text": "ab"}]},
                                                   {"role": "model", "parts": [{"text": "c"}]}]}


@pytest.mark.parametrize("messages,reason", [
    ([Message("user", "q"), Message("assistant", None, tool_calls=[
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]),
      Message("tool", "r", tool_call_id="c"), Message("assistant", "a")], "tool calls cannot be represented"),
    ([Message("user", "q"), Message("user", "q2"), Message("assistant", "a")], "alternating"),
    ([Message("user", "q"), Message("assistant", "a", weight=0), Message("user", "q"), Message("assistant", "b")],
     "weight 0"),
    ([Message("user", "q"), Message("assistant", "a"), Message("user", "q")], "end with model"),
])
def test_gemini_dump_refusals(messages, reason):
    with pytest.raises(CannotConvert, match=reason):
        fmt("gemini").dump(Example(messages=messages))


def test_detect_scores_need_the_identifying_keys():
    assert fmt("chat").detect({"messages": []}) > 0 and fmt("chat").detect({"contents": []}) == 0
    assert fmt("openai-dpo").detect({"input": {}, "preferred_output": [], "non_preferred_output": []}) > \
        fmt("alpaca").detect({"instruction": "", "output": ""})
