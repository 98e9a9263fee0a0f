"""OpenAI chat fine-tuning JSONL: ``{"messages": [...], "tools"?: [...], "parallel_tool_calls"?: bool}``."""

from __future__ import annotations

from typing import Any

from ftx.example import Example, PlainMessages
from ftx.formats import CannotConvert, DataFormat, PlainChatRecord, RecordInvalid

from .messages import check_conversation, check_tools, dump_messages, missing, parse_messages, plain_conversation


class ChatFormat(DataFormat):
    name = "chat"
    description = "OpenAI chat fine-tuning JSONL (messages, optional tools)"
    kind = "chat"
    keys = ("messages",)
    optional_keys = ("tools", "parallel_tool_calls")

    def parse(self, record: dict[str, Any]) -> Example:
        if type(record) is dict and len(record) == 1:  # the common record, only plain messages: the same Example, checked faster
            plain = plain_conversation(record.get("messages"))
            if plain is not None:
                return Example(messages=plain, kind="chat", tools=None, meta={})
        problems: list = []
        meta = self.split_keys(record, problems)
        tools = None
        if record.get("tools") is not None:
            tools = check_tools(record["tools"], "tools", problems)
        if "parallel_tool_calls" in record:
            if isinstance(record["parallel_tool_calls"], bool):
                meta["parallel_tool_calls"] = record["parallel_tool_calls"]
            else:
                problems.append(("parallel_tool_calls", "parallel_tool_calls must be true or false"))
        items = None
        if "messages" not in record:
            missing(problems, "messages")
        else:
            items = parse_messages(record["messages"], "messages", problems)
            if items is not None:
                check_conversation(items, "messages", problems)
        if problems or items is None:
            raise RecordInvalid(problems)
        return Example(messages=[m for _, m in items], kind="chat", tools=tools, meta=meta)

    def dump(self, example: Example) -> dict[str, Any]:
        messages = example.messages
        meta = example.meta
        if (type(messages) is PlainMessages and example.kind != "preference" and not example.tools
                and (not meta or type(meta.get("parallel_tool_calls")) is not bool)
                and type(self).dump is ChatFormat.dump):
            # What the general path below writes for such messages, marked for the short paths
            # after it (tests/providers/openai/test_plain_records.py: same records and bytes). Not
            # for a subclass's dump calling this one: it may change the record it gets.
            wire = []
            for m in messages:  # a loop, not a comprehension: no frame per example (Python 3.11)
                wire.append({"role": m.role, "content": m.content})
            record = PlainChatRecord()
            record["messages"] = wire
            return record
        if example.kind == "preference":
            raise CannotConvert("a preference pair has no form in chat data (write openai-dpo or preference)")
        out: dict[str, Any] = {"messages": dump_messages(example.messages)}
        if example.tools:
            out["tools"] = example.tools
        if isinstance(example.meta.get("parallel_tool_calls"), bool):
            out["parallel_tool_calls"] = example.meta["parallel_tool_calls"]
        return out
