"""The ``qa`` format: ``{"q": question, "a": answer}``, optionally with ``context``."""

from __future__ import annotations

from typing import Any

from ftx.example import Example, Message
from ftx.formats import CannotConvert, DataFormat, RecordInvalid


class QaFormat(DataFormat):
    name = "qa"
    description = "question / answer pairs: {q, a} (optional context)"
    kind = "chat"
    keys = ("q", "a")
    optional_keys = ("context",)

    def parse(self, record: dict[str, Any]) -> Example:
        problems: list[tuple[str | None, str]] = []
        meta = self.split_keys(record, problems)
        for key in ("q", "a"):
            value = record.get(key)
            if key not in record:
                problems.append((key, "required key is missing"))
            elif not isinstance(value, str) or not value.strip():
                problems.append((key, "must be a non-empty string"))
        context = record.get("context")
        if context is not None and not isinstance(context, str):
            problems.append(("context", "must be a string"))
        if problems:
            raise RecordInvalid(problems)
        question = f"{context}\n\n{record['q']}" if context else record["q"]
        return Example(messages=[Message(role="user", content=question),
                                 Message(role="assistant", content=record["a"])], meta=meta)

    def dump(self, example: Example) -> dict[str, Any]:
        roles = [m.role for m in example.messages]
        if example.kind != "chat" or roles != ["user", "assistant"]:
            raise CannotConvert(f"qa holds one question and one answer; this example has turns {', '.join(roles)}")
        return {"q": example.messages[0].content, "a": example.messages[1].content}
