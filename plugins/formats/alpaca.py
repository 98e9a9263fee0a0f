"""Alpaca instruction data: ``instruction``, optional ``input``, ``output`` (optional ``system``)."""

from __future__ import annotations

from typing import Any

from ftx.example import Example, Message
from ftx.formats import CannotConvert, DataFormat, RecordInvalid

from .messages import missing, text_value


class AlpacaFormat(DataFormat):
    name = "alpaca"
    description = "instruction / input / output (Stanford Alpaca)"
    kind = "chat"
    keys = ("instruction", "output")
    optional_keys = ("input", "system")

    def parse(self, record: dict[str, Any]) -> Example:
        problems: list = []
        meta = self.split_keys(record, problems)
        text: dict[str, str | None] = {}
        for key in ("instruction", "output"):
            if key not in record:
                missing(problems, key)
            else:
                text[key] = text_value(record[key], key, problems, what=key)
        for key in ("input", "system"):
            if record.get(key) is not None:
                text[key] = text_value(record[key], key, problems, what=key, allow_empty=True)
        if problems:
            raise RecordInvalid(problems)
        prompt = text["instruction"] or ""
        if (text.get("input") or "").strip():
            prompt = f"{prompt}\n\n{text['input']}"
        messages = []
        if (text.get("system") or "").strip():
            messages.append(Message(role="system", content=text["system"]))
        messages += [Message(role="user", content=prompt), Message(role="assistant", content=text["output"])]
        return Example(messages=messages, kind="chat", meta=meta)

    def dump(self, example: Example) -> dict[str, Any]:
        if example.kind == "preference":
            raise CannotConvert("a preference pair has no form in alpaca data")
        messages = list(example.messages)
        system = messages.pop(0).content if messages and messages[0].role == "system" else None
        roles = [m.role for m in messages]
        if roles != ["user", "assistant"] or any(m.tool_calls or m.weight == 0 for m in messages):
            raise CannotConvert("alpaca holds one instruction and one plain reply; "
                                f"this example has turns {', '.join(roles)}")
        out = {"instruction": messages[0].content, "input": "", "output": messages[1].content}
        if system:
            out["system"] = system
        return out
