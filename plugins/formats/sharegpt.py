"""ShareGPT: ``{"conversations": [{"from": "human", "value": "..."}, ...], "system"?: "..."}``.

Speakers follow LLaMA-Factory: ``function_call`` turns hold ``{"name", "arguments"}`` JSON and
become assistant tool calls; ``observation`` (or ``tool``) turns answer the latest call.
"""

from __future__ import annotations

import json
from typing import Any

from ftx.example import Example, Message
from ftx.formats import CannotConvert, DataFormat, RecordInvalid

from .messages import check_conversation, check_tools, is_nonempty_list, is_object, missing, text_value

SPEAKERS = {"human": "user", "gpt": "assistant", "system": "system", "tool": "tool",
            "function_call": "assistant", "observation": "tool"}
TURN_KEYS = ("from", "value", "weight")


class ShareGPTFormat(DataFormat):
    name = "sharegpt"
    description = "ShareGPT conversations (from human/gpt/system/tool/function_call/observation)"
    kind = "chat"
    keys = ("conversations",)
    optional_keys = ("system", "tools")

    def parse(self, record: dict[str, Any]) -> Example:
        problems: list = []
        meta = self.split_keys(record, problems)
        tools = None
        if record.get("tools") is not None:
            raw_tools = record["tools"]
            if isinstance(raw_tools, str):  # LLaMA-Factory stores tools as a JSON string
                try:
                    raw_tools = json.loads(raw_tools)
                except json.JSONDecodeError as exc:
                    problems.append(("tools", f"tools is not valid JSON: {exc.msg}"))
            if isinstance(raw_tools, list):  # bare function definitions -> OpenAI's wrapped form
                raw_tools = [{"type": "function", "function": t} if isinstance(t, dict) and "function" not in t
                             else t for t in raw_tools]
            if not problems:
                tools = check_tools(raw_tools, "tools", problems)
        items: list[tuple[str, Message | None]] = []
        if record.get("system") is not None:
            system = text_value(record["system"], "system", problems, what="system", allow_empty=True)
            if system and system.strip():
                items.append(("system", Message(role="system", content=system)))
        turns = record.get("conversations")
        if "conversations" not in record:
            missing(problems, "conversations")
        elif is_nonempty_list(turns, "conversations", "turns", problems):
            calls = 0
            for i, turn in enumerate(turns):
                message = self._turn(turn, f"conversations[{i}]", problems, calls)
                if message is not None and message.tool_calls:
                    calls += len(message.tool_calls)
                items.append((f"conversations[{i}]", message))
            check_conversation(items, "conversations", problems, role_key="from")
        if problems:
            raise RecordInvalid(problems)
        return Example(messages=[m for _, m in items if m is not None], kind="chat", tools=tools, meta=meta)

    def _turn(self, turn: Any, at: str, problems: list, calls: int) -> Message | None:
        if not is_object(turn, at, "turn", TURN_KEYS, problems):
            return None
        speaker = turn.get("from")
        if speaker is None:
            missing(problems, f"{at}.from")
        elif speaker not in SPEAKERS:
            problems.append((f"{at}.from", f"unknown speaker {speaker!r}; expected one of {', '.join(SPEAKERS)}"))
            speaker = None
        if "value" not in turn:
            missing(problems, f"{at}.value")
            return None
        value = text_value(turn["value"], f"{at}.value", problems, what="value")
        if speaker is None or value is None:
            return None
        message = Message(role=SPEAKERS[speaker], content=value)
        if speaker == "function_call":
            message.content = None
            message.tool_calls = _tool_calls(value, f"{at}.value", problems, calls)
        elif message.role == "tool":
            # ShareGPT has no call ids: an observation answers the most recent call.
            message.tool_call_id = f"call_{calls - 1}" if calls else None
            if not calls:
                problems.append((f"{at}.from", "an observation must follow a function_call turn"))
        if turn.get("weight") is not None:
            if message.role != "assistant":
                problems.append((f"{at}.weight", "weight is only allowed on gpt turns"))
            elif isinstance(turn["weight"], bool) or turn["weight"] not in (0, 1):
                problems.append((f"{at}.weight", f"weight must be 0 or 1, not {turn['weight']!r}"))
            else:
                message.weight = int(turn["weight"])
        return message

    def dump(self, example: Example) -> dict[str, Any]:
        if example.kind == "preference":
            raise CannotConvert("a preference pair has no form in sharegpt data")
        turns: list[dict[str, Any]] = []
        for m in example.messages:
            if m.role == "tool":
                turns.append({"from": "observation", "value": m.content or ""})
                continue
            speaker = {"system": "system", "user": "human", "assistant": "gpt"}[m.role]
            if m.content or not m.tool_calls:
                turns.append({"from": speaker, "value": m.content or ""})
            for call in m.tool_calls or ():
                function = call.get("function", {})
                turns.append({"from": "function_call", "value": json.dumps(
                    {"name": function.get("name"), "arguments": json.loads(function.get("arguments") or "{}")},
                    ensure_ascii=False)})
            if m.weight is not None and m.role == "assistant":
                turns[-1]["weight"] = m.weight
        out: dict[str, Any] = {"conversations": turns}
        if example.tools:
            out["tools"] = example.tools
        return out


def _tool_calls(value: str, at: str, problems: list, first: int) -> list[dict[str, Any]] | None:
    try:
        decoded = json.loads(value)
    except json.JSONDecodeError as exc:
        problems.append((at, f"function_call value is not valid JSON: {exc.msg}"))
        return None
    calls = decoded if isinstance(decoded, list) else [decoded]
    out = []
    for n, call in enumerate(calls):
        if not isinstance(call, dict) or not isinstance(call.get("name"), str) or not call["name"]:
            problems.append((at, "function_call value must be JSON with 'name' and 'arguments'"))
            return None
        arguments = call.get("arguments", {})
        out.append({"id": f"call_{first + n}", "type": "function",
                    "function": {"name": call["name"],
                                 "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments)}})
    return out
