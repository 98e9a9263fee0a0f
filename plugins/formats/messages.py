"""Checks shared by the formats that hold OpenAI-style messages (chat, TRL, OpenAI DPO).

Each check appends ``(field, reason)`` pairs to ``problems`` instead of raising, so one pass
over a record reports everything wrong with it.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from ftx.data.readers import type_name
from ftx.example import Message, PlainMessages

Problems = list[tuple[str | None, str]]

MESSAGE_KEYS = ("role", "content", "name", "weight", "tool_calls", "tool_call_id")
# `developer` is OpenAI's newer name for the system role; it is read as system (and written
# back as system), since every backend ftx targets understands "system".
ROLE_ALIASES = {"system": "system", "developer": "system", "user": "user",
                "assistant": "assistant", "tool": "tool"}


# Roles a message of only role and content may have without a problem (a tool message needs a
# tool_call_id).
_PLAIN_ROLES = {k: v for k, v in ROLE_ALIASES.items() if v != "tool"}


def missing(problems: Problems, field: str) -> None:
    problems.append((field, "missing required key"))


def is_nonempty_list(value: Any, field: str, items: str, problems: Problems, *, name: str | None = None) -> bool:
    """Whether ``value`` is a non-empty list; reports it when not (``NAME must be a list of
    ITEMS``, ``NAME is empty``; ``name`` defaults to ``field``)."""
    name = name or field
    if not isinstance(value, list):
        problems.append((field, f"{name} must be a list of {items}, not {type_name(value)}"))
        return False
    if not value:
        problems.append((field, f"{name} is empty"))
        return False
    return True


def is_object(value: Any, field: str, what: str, known: Sequence[str], problems: Problems) -> bool:
    """Whether ``value`` is a JSON object; reports it when not (as ``what``), and each of its keys
    not in ``known`` (at ``field.KEY``)."""
    if not isinstance(value, dict):
        problems.append((field, f"{what} must be an object, not {type_name(value)}"))
        return False
    for key in value:
        if key not in known:
            problems.append((f"{field}.{key}", f"unknown key {key!r}"))
    return True


def text_value(value: Any, field: str, problems: Problems, *, what: str = "content",
               allow_empty: bool = False) -> str | None:
    """A non-empty string (or OpenAI text parts, joined); report anything else."""
    if isinstance(value, list) and value and all(
            isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
            and set(p) <= {"type", "text"} for p in value):
        value = "".join(p["text"] for p in value)
    if not isinstance(value, str):
        problems.append((field, f"{what} must be a string"))
        return None
    if not allow_empty:
        if value == "":
            problems.append((field, f"{what} is empty"))
        elif not value.strip():
            problems.append((field, f"{what} is only whitespace"))
    return value


def plain_conversation(raw: Any) -> PlainMessages | None:
    """The messages of a conversation that is only ``{role, content}`` messages with nothing to
    report (see :func:`parse_message`'s fast path), obeying every rule of
    :func:`check_conversation` with ``need_assistant``, marked :class:`~ftx.example.PlainMessages`;
    None for anything else, which then takes the detailed checks
    (tests/data/test_chat_plain_parse.py: same results)."""
    if type(raw) is not list or not raw:
        return None
    out: list[Message] = []
    for m in raw:
        if type(m) is not dict or len(m) != 2:
            return None
        role, content = m.get("role"), m.get("content")
        if type(role) is not str or type(content) is not str or role not in _PLAIN_ROLES or not content.strip():
            return None
        out.append(Message(_PLAIN_ROLES[role], content))
    # check_conversation's rules for such messages: system only first, then a user turn first,
    # and an assistant turn (no weights here, so it is trained on).
    first = 1 if out[0].role == "system" else 0
    if first >= len(out) or out[first].role != "user":
        return None
    has_assistant = False
    for m in out[first:]:
        if m.role == "system":
            return None
        if m.role == "assistant":
            has_assistant = True
    return PlainMessages(out) if has_assistant else None


def parse_message(raw: Any, where: str, problems: Problems, *, allow_weight: bool = True) -> Message | None:
    """Check one message; return it (role normalised) when its role is usable, else None."""
    # Fast path for the common message, a role and a text with nothing to report; anything else
    # takes the detailed checks below (tests/data/test_message_fast_path.py: same results).
    if type(raw) is dict and len(raw) == 2:
        role, content = raw.get("role"), raw.get("content")
        if type(role) is str and type(content) is str and role in _PLAIN_ROLES and content.strip():
            role = _PLAIN_ROLES[role]
            return Message(role, content)
    if not is_object(raw, where, "message", MESSAGE_KEYS, problems):
        return None
    role = None
    if raw.get("role") is None:
        missing(problems, f"{where}.role")
    elif not isinstance(raw["role"], str) or raw["role"] not in ROLE_ALIASES:  # a list role is unhashable
        problems.append((f"{where}.role", f"unknown role {raw['role']!r}; expected system, user, assistant or tool"))
    else:
        role = ROLE_ALIASES[raw["role"]]
    message = Message(role=role or "")

    tool_calls = raw.get("tool_calls")
    if tool_calls is not None:
        if role != "assistant" and role is not None:
            problems.append((f"{where}.tool_calls", "tool_calls are only allowed on assistant messages"))
        message.tool_calls = parse_tool_calls(tool_calls, f"{where}.tool_calls", problems)

    content = raw.get("content")
    if content is None:
        if not (role == "assistant" and tool_calls):
            missing(problems, f"{where}.content")
    else:
        message.content = text_value(content, f"{where}.content", problems,
                                     allow_empty=role == "assistant" and bool(tool_calls))

    if raw.get("name") is not None:
        if isinstance(raw["name"], str) and raw["name"].strip():
            message.name = raw["name"]
        else:
            problems.append((f"{where}.name", "name must be a non-empty string"))

    weight = raw.get("weight")
    if weight is not None:
        if not allow_weight:
            problems.append((f"{where}.weight", "weight is not allowed here"))
        elif role is not None and role != "assistant":
            problems.append((f"{where}.weight", "weight is only allowed on assistant messages"))
        elif isinstance(weight, bool) or weight not in (0, 1):
            problems.append((f"{where}.weight", f"weight must be 0 or 1, not {weight!r}"))
        else:
            message.weight = int(weight)

    call_id = raw.get("tool_call_id")
    if role == "tool":
        if call_id is None:
            problems.append((f"{where}.tool_call_id", "a tool message needs a tool_call_id"))
        elif not isinstance(call_id, str) or not call_id:
            problems.append((f"{where}.tool_call_id", "tool_call_id must be a non-empty string"))
        else:
            message.tool_call_id = call_id
    elif call_id is not None and role is not None:
        problems.append((f"{where}.tool_call_id", "tool_call_id is only allowed on tool messages"))
    return message if role is not None else None


def parse_tool_calls(value: Any, where: str, problems: Problems) -> list[dict[str, Any]] | None:
    """Check OpenAI tool calls: id, type "function", function.name, function.arguments (JSON text)."""
    if not isinstance(value, list) or not value:
        problems.append((where, "tool_calls must be a non-empty list"))
        return None
    for j, call in enumerate(value):
        at = f"{where}[{j}]"
        if not is_object(call, at, "tool call", ("id", "type", "function"), problems):
            continue
        if call.get("id") is None:
            missing(problems, f"{at}.id")
        elif not isinstance(call["id"], str) or not call["id"]:
            problems.append((f"{at}.id", "id must be a non-empty string"))
        if call.get("type") is None:
            missing(problems, f"{at}.type")
        elif call["type"] != "function":
            problems.append((f"{at}.type", f"type must be 'function', not {call['type']!r}"))
        function = call.get("function")
        if function is None:
            missing(problems, f"{at}.function")
            continue
        if not is_object(function, f"{at}.function", "function", ("name", "arguments"), problems):
            continue
        name = function.get("name")
        if name is None:
            missing(problems, f"{at}.function.name")
        elif not isinstance(name, str) or not name.strip():
            problems.append((f"{at}.function.name", "name must be a non-empty string"))
        arguments = function.get("arguments")
        if arguments is None:
            missing(problems, f"{at}.function.arguments")
        elif not isinstance(arguments, str):
            problems.append((f"{at}.function.arguments",
                             f"arguments must be a JSON string, not {type_name(arguments)}"))
        else:
            try:
                json.loads(arguments)
            except json.JSONDecodeError as exc:
                problems.append((f"{at}.function.arguments", f"arguments is not valid JSON: {exc.msg}"))
    return value


def parse_messages(raw: Any, where: str, problems: Problems, *,
                   allow_weight: bool = True) -> list[tuple[str, Message]] | None:
    """Check a list of messages; return (field, message) pairs, or None if it is not a list."""
    if not is_nonempty_list(raw, where, "messages", problems, name=where.rsplit(".", 1)[-1]):
        return None
    out = []
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        out.append((at, parse_message(item, at, problems, allow_weight=allow_weight)))
    return out


def check_conversation(items: Sequence[tuple[str, Message | None]], where: str, problems: Problems, *,
                       role_key: str = "role", need_assistant: bool = True,
                       end_with_user: bool = False) -> None:
    """Order rules for a whole conversation.

    System only first; the first other turn from the user; tool results answer an earlier
    tool call; something for the model to learn unless ``need_assistant`` is False. Skipped
    when a role is unusable, since every later rule would only repeat that problem.
    """
    if not items or any(m is None for _, m in items):
        return
    messages = [(f, m) for f, m in items if m is not None]
    for i, (field, m) in enumerate(messages):
        if m.role == "system" and i > 0:
            problems.append((f"{field}.{role_key}", "a system message must be the first message"))
    talk = [(f, m) for f, m in messages if m.role != "system"]
    if not talk:
        problems.append((where, "the conversation has only system messages"))
        return
    if talk[0][1].role != "user":
        problems.append((f"{talk[0][0]}.{role_key}",
                         f"the conversation must start with a user message, not {talk[0][1].role}"))
    call_ids: set[str] = set()
    for field, m in talk:
        for call in m.tool_calls or ():
            if isinstance(call, dict) and isinstance(call.get("id"), str):
                call_ids.add(call["id"])
        if m.role == "tool" and m.tool_call_id is not None and m.tool_call_id not in call_ids:
            problems.append((f"{field}.tool_call_id", f"tool_call_id {m.tool_call_id!r} matches no earlier tool call"))
    if end_with_user and talk[-1][1].role != "user":
        problems.append((f"{talk[-1][0]}.{role_key}", f"{where} must end with a user message, not {talk[-1][1].role}"))
    if need_assistant:
        assistants = [m for _, m in talk if m.role == "assistant"]
        if not assistants:
            problems.append((where, "no assistant message: nothing to train on"))
        elif all(m.weight == 0 for m in assistants):
            problems.append((where, "every assistant message has weight 0: nothing to train on"))


def check_tools(value: Any, where: str, problems: Problems) -> list[dict[str, Any]] | None:
    """OpenAI function tool definitions: a list of {type: function, function: {name, ...}}."""
    if not isinstance(value, list):
        problems.append((where, f"tools must be a list, not {type_name(value)}"))
        return None
    for i, tool in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(tool, dict):
            problems.append((at, f"tool must be an object, not {type_name(tool)}"))
            continue
        if tool.get("type") != "function":
            problems.append((f"{at}.type", "type must be 'function'"))
        function = tool.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
            problems.append((f"{at}.function.name", "missing function name"))
    return value


def assistant_turns(raw: Any, where: str, problems: Problems, *, allow_weight: bool = False) -> list[Message] | None:
    """A response side (chosen, completion...): a string or a list of assistant messages."""
    if isinstance(raw, str):
        text = text_value(raw, where, problems, what=where)
        return [Message(role="assistant", content=text)] if text is not None else None
    if not isinstance(raw, list):
        problems.append((where, f"{where} must be a string or a list of messages, not {type_name(raw)}"))
        return None
    items = parse_messages(raw, where, problems, allow_weight=allow_weight)
    if items is None:
        return None
    out = []
    for field, m in items:
        if m is not None and m.role != "assistant":
            problems.append((f"{field}.role", f"{where} turns must be from the assistant, not {m.role}"))
        out.append(m)
    return out if all(m is not None for m in out) else None


def prompt_turns(raw: Any, where: str, problems: Problems) -> list[Message] | None:
    """A prompt side: a string (one user turn) or a conversation ending with the user."""
    if isinstance(raw, str):
        text = text_value(raw, where, problems, what=where)
        return [Message(role="user", content=text)] if text is not None else None
    if not isinstance(raw, list):
        problems.append((where, f"{where} must be a string or a list of messages, not {type_name(raw)}"))
        return None
    items = parse_messages(raw, where, problems, allow_weight=False)
    if items is None:
        return None
    check_conversation(items, where, problems, need_assistant=False, end_with_user=True)
    out = [m for _, m in items]
    return out if all(m is not None for m in out) else None  # type: ignore[return-value]


def same_turns(a: list[Message], b: list[Message]) -> bool:
    return [m.to_openai() for m in a] == [m.to_openai() for m in b]


def dump_messages(messages: list[Message]) -> list[dict[str, Any]]:
    return [m.to_openai() for m in messages]
