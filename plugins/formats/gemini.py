"""Vertex AI / Gemini supervised tuning JSONL.

``{"systemInstruction"?: {"role"?: ..., "parts": [{"text": ...}]},
"contents": [{"role": "user" | "model", "parts": [{"text": ...}]}, ...]}``. Turns alternate,
starting with user and ending with model. Only text parts are supported.
"""

from __future__ import annotations

from typing import Any

from ftx.data.readers import type_name
from ftx.example import Example, Message
from ftx.formats import CannotConvert, DataFormat, RecordInvalid

from .messages import is_nonempty_list, is_object, missing

ROLES = {"user": "user", "model": "assistant"}


class GeminiFormat(DataFormat):
    name = "gemini"
    description = "Vertex AI / Gemini tuning JSONL (contents with user/model parts)"
    kind = "chat"
    keys = ("contents",)
    optional_keys = ("systemInstruction",)

    def parse(self, record: dict[str, Any]) -> Example:
        problems: list = []
        meta = self.split_keys(record, problems)
        messages: list[Message] = []
        if record.get("systemInstruction") is not None:
            system = self._system(record["systemInstruction"], problems)
            if system is not None:
                messages.append(Message(role="system", content=system))
        contents = record.get("contents")
        if "contents" not in record:
            missing(problems, "contents")
        elif is_nonempty_list(contents, "contents", "turns", problems):
            roles = []
            for i, turn in enumerate(contents):
                role, text = self._turn(turn, f"contents[{i}]", problems)
                roles.append(role)
                if role is not None and text is not None:
                    messages.append(Message(role=ROLES[role], content=text))
            _check_order(roles, problems)
        if problems:
            raise RecordInvalid(problems)
        return Example(messages=messages, kind="chat", meta=meta)

    def _system(self, value: Any, problems: list) -> str | None:
        if not is_object(value, "systemInstruction", "systemInstruction", ("role", "parts"), problems):
            return None
        if "role" in value and not isinstance(value["role"], str):
            problems.append(("systemInstruction.role", "role must be a string"))
        if "parts" not in value:
            missing(problems, "systemInstruction.parts")
            return None
        return _parts(value["parts"], "systemInstruction.parts", problems)

    def _turn(self, turn: Any, at: str, problems: list) -> tuple[str | None, str | None]:
        if not is_object(turn, at, "turn", ("role", "parts"), problems):
            return None, None
        role = turn.get("role")
        if role is None:
            missing(problems, f"{at}.role")
        elif role not in ROLES:
            problems.append((f"{at}.role", f"unknown role {role!r}; expected user or model"))
            role = None
        if "parts" not in turn:
            missing(problems, f"{at}.parts")
            return role, None
        return role, _parts(turn["parts"], f"{at}.parts", problems)

    def dump(self, example: Example) -> dict[str, Any]:
        if example.kind == "preference":
            raise CannotConvert("a preference pair has no form in gemini data")
        messages = list(example.messages)
        out: dict[str, Any] = {}
        if messages and messages[0].role == "system":
            out["systemInstruction"] = {"role": "system", "parts": [{"text": messages.pop(0).content}]}
        contents = []
        for i, m in enumerate(messages):
            if m.role == "tool" or m.tool_calls:
                raise CannotConvert("tool calls cannot be represented in gemini data")
            if m.weight == 0:
                raise CannotConvert("gemini trains every model turn; an assistant message has weight 0")
            role = {"user": "user", "assistant": "model"}.get(m.role)
            if role is None:
                raise CannotConvert(f"a {m.role} message in the middle has no form in gemini data")
            if contents and contents[-1]["role"] == role:
                raise CannotConvert(f"gemini needs alternating user/model turns; two {m.role} messages follow "
                                    "each other")
            contents.append({"role": role, "parts": [{"text": m.content}]})
        if not contents or contents[0]["role"] != "user" or contents[-1]["role"] != "model":
            raise CannotConvert("gemini needs turns that start with user and end with model")
        out["contents"] = contents
        return out


def _parts(value: Any, at: str, problems: list) -> str | None:
    """Join the text parts; report empty, non-text and malformed parts."""
    if not isinstance(value, list):
        problems.append((at, f"parts must be a list, not {type_name(value)}"))
        return None
    if not value:
        problems.append((at, "parts is empty"))
        return None
    texts = []
    for j, part in enumerate(value):
        where = f"{at}[{j}]"
        if not isinstance(part, dict):
            problems.append((where, f"part must be an object, not {type_name(part)}"))
            continue
        other = [k for k in part if k != "text"]
        if other:
            problems.append((where, f"unsupported part {other[0]!r}: only text parts are supported"))
            continue
        text = part.get("text")
        if text is None:
            missing(problems, f"{where}.text")
        elif not isinstance(text, str):
            problems.append((f"{where}.text", "text must be a string"))
        elif not text.strip():
            problems.append((f"{where}.text", "text is empty" if not text else "text is only whitespace"))
        else:
            texts.append(text)
    return "".join(texts) if len(texts) == len(value) else None


def _check_order(roles: list[str | None], problems: list) -> None:
    if any(r is None for r in roles):
        return  # an unusable role already reported; order checks would only repeat it
    if roles[0] != "user":
        problems.append(("contents[0].role", f"the first turn must be from user, not {roles[0]}"))
    for i in range(1, len(roles)):
        if roles[i] == roles[i - 1]:
            problems.append((f"contents[{i}].role",
                             f"roles must alternate between user and model; contents[{i - 1}] is also {roles[i]}"))
    if roles[-1] != "model":
        problems.append((f"contents[{len(roles) - 1}].role", f"the last turn must be from model, not {roles[-1]}"))
