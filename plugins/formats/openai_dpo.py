"""OpenAI preference fine-tuning (DPO) JSONL.

``{"input": {"messages": [...], "tools"?: [...]}, "preferred_output": [assistant message],
"non_preferred_output": [assistant message]}``. OpenAI trains one reply per example, so each
output holds exactly one assistant message and the input ends with the user.
"""

from __future__ import annotations

from typing import Any

from ftx.data.readers import type_name
from ftx.example import Example
from ftx.formats import CannotConvert, DataFormat, RecordInvalid

from .messages import (assistant_turns, check_conversation, check_tools, dump_messages, missing,
                       parse_messages, same_turns)

INPUT_KEYS = ("messages", "tools", "parallel_tool_calls")


class OpenAIDPOFormat(DataFormat):
    name = "openai-dpo"
    description = "OpenAI preference fine-tuning JSONL (input, preferred_output, non_preferred_output)"
    kind = "preference"
    keys = ("input", "preferred_output", "non_preferred_output")

    def parse(self, record: dict[str, Any]) -> Example:
        problems, meta = self.checked_keys(record)
        prompt, tools = self._input(record["input"], problems)
        sides = []
        for key in ("preferred_output", "non_preferred_output"):
            value = record[key]
            if not isinstance(value, list):
                problems.append((key, f"{key} must be a list of messages, not {type_name(value)}"))
                sides.append(None)
                continue
            turns = assistant_turns(value, key, problems)
            if turns is not None and len(turns) != 1:
                problems.append((key, f"{key} must hold exactly one assistant message, not {len(turns)}"))
            sides.append(turns)
        chosen, rejected = sides
        if not problems and same_turns(chosen, rejected):  # type: ignore[arg-type]
            problems.append(("non_preferred_output", "non_preferred_output is identical to preferred_output"))
        if problems:
            raise RecordInvalid(problems)
        return Example(messages=prompt, kind="preference", chosen=chosen, rejected=rejected,  # type: ignore[arg-type]
                       tools=tools, meta=meta)

    def _input(self, value: Any, problems: list):
        if not isinstance(value, dict):
            problems.append(("input", f"input must be an object with 'messages', not {type_name(value)}"))
            return None, None
        for key in value:
            if key not in INPUT_KEYS:
                problems.append((f"input.{key}", f"unknown key {key!r}"))
        tools = check_tools(value["tools"], "input.tools", problems) if value.get("tools") is not None else None
        if "parallel_tool_calls" in value and not isinstance(value["parallel_tool_calls"], bool):
            problems.append(("input.parallel_tool_calls", "parallel_tool_calls must be true or false"))
        if "messages" not in value:
            missing(problems, "input.messages")
            return None, tools
        items = parse_messages(value["messages"], "input.messages", problems, allow_weight=False)
        if items is None:
            return None, tools
        check_conversation(items, "input.messages", problems, need_assistant=False, end_with_user=True)
        return [m for _, m in items], tools

    def dump(self, example: Example) -> dict[str, Any]:
        if example.kind != "preference":
            raise CannotConvert(f"a {example.kind} example has no preferred/non-preferred pair")
        for side in ("chosen", "rejected"):
            turns = getattr(example, side) or []
            if len(turns) != 1:
                raise CannotConvert(f"openai-dpo holds exactly one reply per side; {side} has {len(turns)} turns")
        if not example.messages or example.messages[-1].role != "user":
            raise CannotConvert("openai-dpo needs the prompt to end with a user message")
        given: dict[str, Any] = {"messages": dump_messages(example.messages)}
        if example.tools:
            given["tools"] = example.tools
        return {"input": given, "preferred_output": dump_messages(example.chosen or []),
                "non_preferred_output": dump_messages(example.rejected or [])}
